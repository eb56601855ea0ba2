package org.jxen.bench;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** One row of the report: a workload at one connection count and pipeline depth. */
public record BenchResult(String workload, int conns, int pipeline, long ops, double seconds,
                          long p50Nanos, long p99Nanos, long errors, long retries, Map<String, Long> errorKinds,
                          double daemonCpuMicrosPerRequest) {

    static BenchResult of(String workload, int conns, int pipeline, double seconds, Tally t, double cpuPerRequest) {
        return new BenchResult(workload, conns, pipeline, t.ops, seconds, t.latency.percentile(50),
                t.latency.percentile(99), t.errors, t.retries, Map.copyOf(t.errorKinds), cpuPerRequest);
    }

    public double opsPerSecond() {
        return seconds > 0 ? ops / seconds : 0;
    }

    public static String markdownHeader() {
        return "| workload | conns | pipeline | ops/s | p50 us | p99 us | errors | retries |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|";
    }

    public String markdownRow() {
        return String.format(Locale.ROOT, "| %s | %d | %d | %.0f | %.1f | %.1f | %d | %d |", workload, conns, pipeline,
                opsPerSecond(), p50Nanos / 1000.0, p99Nanos / 1000.0, errors, retries);
    }

    /** The table, then one line per row that had errors, naming them (an error is never silently dropped). */
    public static String markdown(List<BenchResult> results) {
        boolean cpu = results.stream().anyMatch(r -> !Double.isNaN(r.daemonCpuMicrosPerRequest));
        List<String> header = markdownHeader().lines().toList();
        StringBuilder sb = new StringBuilder(header.get(0)).append(cpu ? " daemon CPU us/request |\n" : "\n")
                .append(header.get(1)).append(cpu ? "---:|\n" : "\n");
        for (BenchResult r : results) {
            sb.append(r.markdownRow());
            if (cpu) sb.append(Double.isNaN(r.daemonCpuMicrosPerRequest) ? " - |" : String.format(Locale.ROOT, " %.2f |", r.daemonCpuMicrosPerRequest));
            sb.append('\n');
        }
        for (BenchResult r : results) {
            if (r.errors > 0) {
                sb.append(String.format(Locale.ROOT, "%nerrors in %s conns=%d pipeline=%d: %s", r.workload, r.conns,
                        r.pipeline, r.errorKinds));
            }
        }
        return sb.toString();
    }

    public String toJson() {
        String kinds = errorKinds.entrySet().stream()
                .map(e -> Json.string(e.getKey()) + ":" + e.getValue())
                .collect(Collectors.joining(",", "{", "}"));
        return String.format(Locale.ROOT,
                "{\"workload\":%s,\"conns\":%d,\"pipeline\":%d,\"ops\":%d,\"seconds\":%.3f,\"ops_per_sec\":%.1f,"
                        + "\"p50_us\":%.3f,\"p99_us\":%.3f,\"errors\":%d,\"retries\":%d,\"error_kinds\":%s%s}",
                Json.string(workload), conns, pipeline, ops, seconds, opsPerSecond(), p50Nanos / 1000.0,
                p99Nanos / 1000.0, errors, retries, kinds,
                Double.isNaN(daemonCpuMicrosPerRequest) ? "" : String.format(Locale.ROOT,
                        ",\"daemon_cpu_us_per_request\":%.3f", daemonCpuMicrosPerRequest));
    }
}
