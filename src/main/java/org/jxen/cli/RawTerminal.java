package org.jxen.cli;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The user's terminal in raw mode while {@code xl console} runs, as xenconsole's cfmakeraw: keys go to the guest
 * one by one, unechoed (the guest echoes), Ctrl-C and Ctrl-] included. Output processing stays on, so the
 * guest's '\n' starts a new line. Done with stty on the inherited standard input, which also tells whether it
 * is a terminal at all (stty fails on a pipe: nothing to do). Restored on exit, also by a shutdown hook.
 */
final class RawTerminal {
    private final String saved;
    private final Thread hook;
    private boolean restored;

    private RawTerminal(String saved) {
        this.saved = saved;
        this.hook = new Thread(this::restore, "xl-console-restore-tty");
    }

    /** Raw mode on standard input if it is a terminal; null (nothing changed) otherwise. */
    static RawTerminal enter() {
        String saved = stty("-g");
        if (saved == null || saved.isEmpty()) return null;
        if (stty("raw", "-echo", "opost", "onlcr") == null) return null;
        RawTerminal t = new RawTerminal(saved);
        Runtime.getRuntime().addShutdownHook(t.hook);
        return t;
    }

    synchronized void restore() {
        if (restored) return;
        restored = true;
        stty(saved);
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down
            }
        }
    }

    /** Runs stty on our standard input; its output, or null when it failed (not a terminal, no stty). */
    private static String stty(String... args) {
        List<String> cmd = new ArrayList<>(List.of("stty"));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(Redirect.INHERIT).redirectError(Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor() == 0 ? out : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
