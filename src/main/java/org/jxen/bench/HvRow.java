package org.jxen.bench;

import java.util.List;
import java.util.Locale;

/**
 * One row of {@code bench hypervisor}: a measurement in one mode, its headline value, the operations behind it,
 * latency percentiles when the measurement has them (negative = none) and the target when one applies.
 * Not {@link BenchResult}: that row is shaped by connections and pipelines, which the hypervisor has no notion of.
 */
public record HvRow(String measurement, String mode, double value, String unit, long count, double seconds,
                    long p50Nanos, long p99Nanos, long errors, Target target) {

    /** What the issue asks of this row; {@code met} is decided when the row is made. */
    public record Target(String description, boolean met) {
    }

    public static String markdown(List<HvRow> rows) {
        StringBuilder sb = new StringBuilder("| measurement | mode | value | unit | p50 us | p99 us |\n")
                .append("|---|---|---:|---|---:|---:|\n");
        for (HvRow r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s |%n", r.measurement, r.mode,
                    formatValue(r.value), r.unit, micros(r.p50Nanos), micros(r.p99Nanos)));
        }
        // Targets and errors below the table, so the table keeps the six columns every reader expects.
        boolean header = false;
        for (HvRow r : rows) {
            if (r.target == null) continue;
            if (!header) sb.append("\nTargets:\n");
            header = true;
            sb.append(String.format(Locale.ROOT, "- %s (%s): %s -- %s%n", r.measurement, r.mode,
                    r.target.description, r.target.met ? "met" : "MISSED"));
        }
        for (HvRow r : rows) {
            if (r.errors > 0) sb.append(String.format(Locale.ROOT, "%nerrors in %s (%s): %d", r.measurement, r.mode, r.errors));
        }
        return sb.toString();
    }

    private static String formatValue(double v) {
        return v >= 1000 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String micros(long nanos) {
        return nanos < 0 ? "-" : String.format(Locale.ROOT, "%.2f", nanos / 1000.0);
    }

    public String toJson() {
        String t = target == null ? "" : String.format(Locale.ROOT, ",\"target\":%s,\"target_met\":%b",
                Json.string(target.description), target.met);
        return String.format(Locale.ROOT,
                "{\"measurement\":%s,\"mode\":%s,\"value\":%.3f,\"unit\":%s,\"count\":%d,\"seconds\":%.3f,"
                        + "\"p50_us\":%s,\"p99_us\":%s,\"errors\":%d%s}",
                Json.string(measurement), Json.string(mode), value, Json.string(unit), count, seconds,
                p50Nanos < 0 ? "null" : String.format(Locale.ROOT, "%.3f", p50Nanos / 1000.0),
                p99Nanos < 0 ? "null" : String.format(Locale.ROOT, "%.3f", p99Nanos / 1000.0), errors, t);
    }
}
