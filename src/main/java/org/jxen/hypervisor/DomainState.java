package org.jxen.hypervisor;

/** What xl list shows: a domain is created paused, runs, shuts down (with a reason) and dies when destroyed. */
public enum DomainState {
    RUNNING, PAUSED, SHUTDOWN, DYING
}
