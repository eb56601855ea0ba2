package org.jxen.hypervisor;

/** One grant mapping held by a mapper: the granter object, not its id, so a dead granter can still be unpinned. */
record MapTrack(Domain granter, int ref, boolean readonly, int frame) {
}
