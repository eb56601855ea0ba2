package org.jxen.bench;

import java.util.Map;
import java.util.TreeMap;

/** What one thread measured: completed operations, their latencies, failures by name, EAGAIN retries. */
final class Tally {
    final LatencyHistogram latency = new LatencyHistogram();
    long ops;
    long errors;
    long retries;
    final Map<String, Long> errorKinds = new TreeMap<>();

    void completed(long nanos, Operation op) {
        retries += op.retries;
        if (op.error != null) {
            error(op.error);
        } else {
            ops++;
            latency.record(nanos);
        }
    }

    void error(String kind) {
        errors++;
        errorKinds.merge(kind, 1L, Long::sum);
    }

    void add(Tally other) {
        latency.add(other.latency);
        ops += other.ops;
        errors += other.errors;
        retries += other.retries;
        other.errorKinds.forEach((k, v) -> errorKinds.merge(k, v, Long::sum));
    }
}
