package org.jxen.kernel;

/** The two kernels a distribution builds its Xen PV configuration for: a guest's, and dom0's (the backends'). */
public enum KernelRole {
    GUEST,
    DOM0
}
