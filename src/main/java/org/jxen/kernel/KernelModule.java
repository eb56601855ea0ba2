package org.jxen.kernel;

/** A loadable kernel module (insmod/rmmod): a driver registers with a bus in init and unregisters in exit. */
public interface KernelModule {
    String name();

    void init(Kernel kernel) throws Exception;

    void exit(Kernel kernel) throws Exception;
}
