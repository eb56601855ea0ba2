package org.jxen.toolstack;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.ShutdownReason;

/**
 * What the host knows of each guest beyond the hypervisor's domain info: when it was started (xl uptime), the
 * config it was built from (xl list -l), the in-process view through which its vCPU threads' CPU time is read
 * (xl list's Time(s)), and how it ended, for those who wait for that (xl shutdown -w).
 */
final class DomainRuntime {
    /** How a domain ended: its shutdown reason, or null when it was destroyed without one. */
    record Death(int domid, ShutdownReason reason) {}

    private final Instant hostStart = Instant.now();
    private final Map<Integer, Instant> started = new ConcurrentHashMap<>();
    private final Map<Integer, GuestConfig> configs = new ConcurrentHashMap<>();
    private final Map<Integer, Hypercalls> inProcess = new ConcurrentHashMap<>();
    private final Map<Integer, CompletableFuture<Death>> deaths = new ConcurrentHashMap<>();
    private final Map<Integer, ShutdownReason> reasons = new ConcurrentHashMap<>();

    void started(int domid, GuestConfig cfg) {
        reasons.remove(domid);
        started.put(domid, Instant.now());
        configs.put(domid, cfg);
        deaths.put(domid, new CompletableFuture<>());
    }

    void inProcess(int domid, Hypercalls hc) {
        inProcess.put(domid, hc);
    }

    /**
     * The domain shut down with {@code reason}; the host destroys it next, and waiters (xl shutdown -w) learn
     * the reason once it is gone, so that an xl list after them no longer shows it. A toolstack that keeps a
     * shut-down domain (on_poweroff = preserve) would call {@link #destroyed} never: it completes the wait with
     * {@link #kept} instead.
     */
    void shutDown(int domid, ShutdownReason reason) {
        reasons.put(domid, reason);
    }

    /** A domain that shut down and stays (preserved): its waiters learn now how it ended. */
    void kept(int domid) {
        CompletableFuture<Death> f = deaths.get(domid);
        if (f != null) f.complete(new Death(domid, reasons.get(domid)));
    }

    /**
     * The domain is gone. Its death stays known (until its id is used again), so that one who asks just after
     * (xl shutdown -w, whose request may reach the host after the domain went) learns how it ended.
     */
    void destroyed(int domid) {
        started.remove(domid);
        configs.remove(domid);
        inProcess.remove(domid);
        CompletableFuture<Death> f = deaths.get(domid);
        if (f != null) f.complete(new Death(domid, reasons.remove(domid)));
    }

    /** Completes when the domain shuts down or is destroyed; already complete for a domain never known here. */
    CompletableFuture<Death> death(int domid) {
        CompletableFuture<Death> f = deaths.get(domid);
        return f != null ? f : CompletableFuture.completedFuture(new Death(domid, null));
    }

    GuestConfig config(int domid) {
        return configs.get(domid);
    }

    /** When the guest was started; for dom0, when the host was. */
    Instant startTime(int domid) {
        return domid == 0 ? hostStart : started.getOrDefault(domid, hostStart);
    }

    /** CPU time of a guest: its process's, or its vCPU threads' in this JVM. */
    Duration cpuTime(int domid, Process process) {
        if (process != null) return processCpu(process.toHandle());
        Hypercalls hc = inProcess.get(domid);
        return hc == null ? Duration.ZERO : Duration.ofNanos(hc.cpuNanos());
    }

    /** dom0's: the host process's CPU time less what its in-process guests used. */
    Duration dom0CpuTime() {
        Duration d = processCpu(ProcessHandle.current());
        for (Hypercalls hc : inProcess.values()) d = d.minusNanos(hc.cpuNanos());
        return d.isNegative() ? Duration.ZERO : d;
    }

    private static Duration processCpu(ProcessHandle p) {
        Optional<Duration> d = p.info().totalCpuDuration();
        return d.orElse(Duration.ZERO);
    }
}
