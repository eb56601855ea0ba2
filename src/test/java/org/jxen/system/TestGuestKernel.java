package org.jxen.system;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.StandardKernel;
import org.jxen.xenstore.client.XsClient;

/**
 * A guest kernel for driver tests: loads the modules of its arguments, each {@code NAME [KEY=VALUE...]} as insmod
 * takes them (no built-in modules, unlike ModularKernel), publishes its
 * {@link Kernel} for tests in the same JVM (insmod/rmmod at run time), and mirrors the tail of its kernel log
 * to {@code data/dmesg} so a test can wait for lines of a guest in its own process through a XenStore watch.
 */
public final class TestGuestKernel extends StandardKernel {
    /** Kernels of in-process guests, by domid; tests clear it between hosts (domids are reused). */
    public static final Map<Integer, CompletableFuture<Kernel>> KERNELS = new ConcurrentHashMap<>();
    private static final int DMESG_TAIL = 1500;

    public static CompletableFuture<Kernel> kernelOf(int domid) {
        return KERNELS.computeIfAbsent(domid, d -> new CompletableFuture<>());
    }

    @Override
    protected void run(Kernel kernel, String[] modules) throws Exception {
        XsClient xs = kernel.xenstore();
        StringBuilder tail = new StringBuilder();
        // printk may run on the event thread, which also delivers the xenstore ring's notifications: a
        // XenStore call there would wait for itself. The mirror is written from a thread of its own.
        ExecutorService mirror = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "dmesg-mirror");
            t.setDaemon(true);
            return t;
        });
        kernel.log().addSink(line -> mirror.execute(() -> {
            tail.append(line).append('\n');
            if (tail.length() > DMESG_TAIL) tail.delete(0, tail.length() - DMESG_TAIL);
            try {
                xs.write("data/dmesg", tail.toString());
            } catch (IOException e) {
                // The kernel is stopping; its log stays in memory.
            }
        }));
        for (String insmod : modules) {
            List<String> words = List.of(insmod.split(" "));
            kernel.insmod(words.getFirst(), words.subList(1, words.size()));
        }
        kernelOf(kernel.domid()).complete(kernel);
    }
}
