package org.jxen.hypervisor;

import java.nio.file.Path;

/** The hypervisor approved a map: the caller maps the one page at {@code frame * 4096} of {@code file} itself. */
public record MapReply(int handle, Path file, int frame) {
}
