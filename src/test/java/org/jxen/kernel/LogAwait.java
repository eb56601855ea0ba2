package org.jxen.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** Waiting for a kernel log line that another thread prints (bus workers log after they change state). */
public final class LogAwait {
    private LogAwait() {}

    public static void line(KernelLog log, String line) throws InterruptedException {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        Consumer<String> sink = q::add;
        log.addSink(sink);
        try {
            if (log.lines().contains(line)) return;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                long left = deadline - System.nanoTime();
                String l = left > 0 ? q.poll(left, TimeUnit.NANOSECONDS) : null;
                assertThat(l).as("waiting for log line \"%s\"; log: %s", line, log.lines()).isNotNull();
                if (l.equals(line)) return;
            }
        } finally {
            log.removeSink(sink);
        }
    }
}
