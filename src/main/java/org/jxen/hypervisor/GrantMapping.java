package org.jxen.hypervisor;

import java.lang.foreign.MemorySegment;

/** A mapped grant: the handle unmap needs and the 4 KiB page, valid until unmapped (even if the granter dies). */
public record GrantMapping(int handle, int granter, int ref, boolean readonly, MemorySegment page) {
}
