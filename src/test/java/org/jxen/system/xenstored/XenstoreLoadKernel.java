package org.jxen.system.xenstored;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.StandardKernel;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.XsClient;

/**
 * A guest that loads xenstored over its ring (in-process, so the test reads what it saw): writes
 * {@code data/load/<i % KEYS>/a} and {@code .../b} = i in one transaction per i (within the guest's node quota),
 * records every i acknowledged; records its
 * {@code data/ping} watch's events; and on request holds a transaction open until told to commit it.
 */
public final class XenstoreLoadKernel extends StandardKernel {
    /** What one guest saw, by domid. */
    public static final class Seen {
        public final List<Integer> acked = new CopyOnWriteArrayList<>();
        public final List<String> errors = new CopyOnWriteArrayList<>();
        public final List<String> pings = new CopyOnWriteArrayList<>();
        public final CountDownLatch txOpen = new CountDownLatch(1);
        public final CountDownLatch txCommit = new CountDownLatch(1);
        /** The first commit's outcome ("OK" or the error name), then "retry OK" once the retry committed. */
        public final CompletableFuture<String> txFirst = new CompletableFuture<>();
        public final CompletableFuture<String> txRetry = new CompletableFuture<>();
        public volatile boolean stop;
    }

    public static final Map<Integer, Seen> SEEN = new ConcurrentHashMap<>();
    /** Keys the load cycles through: 3 nodes each, well inside the 1000-node quota of a guest. */
    public static final int KEYS = 150;

    public static Seen of(int domid) {
        return SEEN.computeIfAbsent(domid, d -> new Seen());
    }

    @Override
    protected void run(Kernel kernel, String[] args) throws Exception {
        XsClient xs = kernel.xenstore();
        Seen seen = of(kernel.domid());
        xs.watch("data/ping", "ping", (path, token) -> {
            // A read from the dispatcher thread: the value tells which write fired the event.
            Thread.ofVirtual().start(() -> {
                try {
                    seen.pings.add(xs.readString("data/ping"));
                } catch (IOException e) {
                    seen.pings.add("(" + e.getMessage() + ")");
                }
            });
        });
        Thread.ofPlatform().daemon().name("xs-load-d" + kernel.domid()).start(() -> {
            for (int i = 0; !seen.stop; i++) {
                int n = i;
                try {
                    xs.transaction(tx -> {
                        tx.write("data/load/" + n % KEYS + "/a", Integer.toString(n));
                        tx.write("data/load/" + n % KEYS + "/b", Integer.toString(n));
                        return null;
                    });
                    seen.acked.add(n);
                } catch (IOException e) {
                    seen.errors.add(n + ": " + e);
                }
            }
        });
        Thread.ofPlatform().daemon().name("xs-tx-d" + kernel.domid()).start(() -> {
            try {
                XsClient.Tx tx = xs.transactionStart();
                tx.write("data/tx", "first");
                seen.txOpen.countDown();
                seen.txCommit.await();
                try {
                    tx.commit();
                    seen.txFirst.complete("OK");
                } catch (XenStoreException e) {
                    seen.txFirst.complete(e.error().name());
                }
                xs.transaction(t -> {
                    t.write("data/tx", "retried");
                    return null;
                });
                seen.txRetry.complete("retry OK");
            } catch (Exception e) {
                seen.txFirst.complete("failed: " + e);
                seen.txRetry.complete("failed: " + e);
            }
        });
    }

    static boolean isEagain(Throwable t) {
        return t instanceof XenStoreException x && x.error() == XsError.EAGAIN;
    }
}
