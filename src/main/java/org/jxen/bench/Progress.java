package org.jxen.bench;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * What a long bench tells its user on stderr while it runs: first the plan (how many runs, how long in all),
 * then before each run what runs now and how long is left, at the end how long it took against what it said.
 * The times are the bench's own windows (warm-up and measured seconds, times how many windows a run has), so
 * what it announces is what its runs take; setup (booting guests, starting processes) comes on top and shows
 * in the last line. A run the bench did not plan, or one out of order, is a bug: {@link #begin} refuses it.
 */
public final class Progress {
    /** One run: its label, as {@link #begin} names it, and how many warm-up + measured windows it has. */
    public record Step(String label, int windows) {}

    private final PrintStream out;
    private final String bench;
    private final List<Step> plan;
    private final double windowSeconds;
    private final long startNanos = System.nanoTime();
    private int next;

    /** Prints the plan: {@code windowSeconds} is one window's warm-up plus measured seconds. */
    public Progress(PrintStream out, String bench, List<Step> plan, double warmupSeconds, double seconds) {
        this.out = out;
        this.bench = bench;
        this.plan = List.copyOf(plan);
        this.windowSeconds = warmupSeconds + seconds;
        out.printf(Locale.ROOT, "bench %s: %d run%s, %s in all (each window %s s warm-up + %s s measured)%n", bench,
                this.plan.size(), this.plan.size() == 1 ? "" : "s", duration(total()), number(warmupSeconds),
                number(seconds));
        out.flush();
    }

    /** The announced total: every window of every run. */
    public double total() {
        return secondsFrom(0);
    }

    private double secondsFrom(int step) {
        double s = 0;
        for (int i = step; i < plan.size(); i++) s += plan.get(i).windows() * windowSeconds;
        return s;
    }

    /** The next planned run starts: prints it and the time left, this run's included. */
    public void begin(String label) {
        if (next >= plan.size() || !plan.get(next).label().equals(label)) {
            throw new IllegalStateException("bench " + bench + ": run " + label + " was not planned next (plan: " + plan + ")");
        }
        Step s = plan.get(next);
        out.printf(Locale.ROOT, "bench %s: [%d/%d] %s%s, %s left%n", bench, next + 1, plan.size(), label,
                s.windows() == 1 ? "" : " (" + s.windows() + " windows)", duration(secondsFrom(next)));
        out.flush();
        next++;
    }

    /** The last line: how long it took, against what was announced. */
    public void done() {
        double took = (System.nanoTime() - startNanos) / 1e9;
        out.printf(Locale.ROOT, "bench %s: done in %s (announced %s)%n", bench, duration(took), duration(total()));
        out.flush();
    }

    /** 0.25 s, 42 s, 3m 05s, 1h 02m 03s. */
    public static String duration(double seconds) {
        if (seconds < 60) return number(seconds) + " s";
        long s = Math.round(seconds);
        if (s < 3600) return String.format(Locale.ROOT, "%dm %02ds", s / 60, s % 60);
        return String.format(Locale.ROOT, "%dh %02dm %02ds", s / 3600, s / 60 % 60, s % 60);
    }

    /** Up to two decimals, without trailing zeros: 5, 0.5, 0.05. */
    private static String number(double seconds) {
        return new java.math.BigDecimal(seconds).setScale(2, java.math.RoundingMode.HALF_UP).stripTrailingZeros().toPlainString();
    }
}
