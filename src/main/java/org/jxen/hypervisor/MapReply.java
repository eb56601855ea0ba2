package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The hypervisor approved a map: the caller maps the one page at {@code frame * 4096} of {@code file} itself. In
 * the hypervisor's own process {@code page} is that page as the hypervisor has it mapped (the granter's file stays
 * mapped until the grant is unmapped), so a view there needs no mapping of its own; null from another process.
 */
public record MapReply(int handle, Path file, int frame, MemorySegment page) {
    public MapReply(int handle, Path file, int frame) {
        this(handle, file, frame, null);
    }
}
