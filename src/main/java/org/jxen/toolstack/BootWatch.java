package org.jxen.toolstack;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.jxen.xenstore.client.XsClient;

/**
 * When is a guest booted? When its kernel has announced {@code control/feature-poweroff = 1}, which a jxen
 * kernel (StandardKernel), like Linux once its initcalls have run, does after its boot modules are loaded, so
 * that a guest whose kernel panics while loading them never announces it. xl create waits for that, or for the
 * domain's end, whichever comes first.
 */
final class BootWatch {
    /** How many of a failed guest's console lines xl create prints. */
    static final int LAST_LINES = 10;
    private static final String FEATURE = "/control/feature-poweroff";

    private BootWatch() {}

    /** True once the guest announced itself, false if {@code end} (its death) or the timeout came first. */
    static boolean await(XsClient xs, int domid, Duration timeout, CompletionStage<?> end)
            throws IOException, InterruptedException {
        String v = XsWait.until(xs, Libxl.home(domid) + FEATURE, timeout, "1"::equals, end);
        return "1".equals(v);
    }

    /** The last {@link #LAST_LINES} lines of a console log, each indented as xl prints quoted output. */
    static List<String> tail(ConsoleLog log) {
        if (log == null) return List.of();
        List<String> all = log.lines();
        return all.subList(Math.max(0, all.size() - LAST_LINES), all.size()).stream().map(l -> "    " + l).toList();
    }
}
