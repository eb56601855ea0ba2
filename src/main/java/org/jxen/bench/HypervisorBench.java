package org.jxen.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.process.HypervisorService;

/**
 * {@code jxen bench hypervisor}: event-channel latency and throughput, grant map+unmap rate and grant copy
 * bandwidth, each in one JVM and across processes, against a hypervisor started in a temporary run directory
 * that is removed afterwards. Measurements run one after another in {@link #MEASUREMENTS} order.
 */
public final class HypervisorBench {
    /**
     * The FIFO rows come last: a domain's ABI is the domain's, not its view's, so once dom0 is on FIFO every
     * later row would measure FIFO sends.
     */
    public static final List<String> MEASUREMENTS = List.of("notify-inproc-blocking", "notify-inproc-polling",
            "notify-xproc-blocking", "notify-xproc-polling", "map-inproc", "map-xproc", "copy-inproc", "copy-xproc", "copy-inproc-cold",
            "copy-xproc-cold", "notify-inproc-blocking-fifo", "notify-xproc-blocking-fifo");
    /** Room for the cold copy's source frames (8 + 8192) in dom0, which grants them to a guest process. */
    private static final int DOM0_PAGES = 8 + GrantBench.COLD_PAGES + 64;

    public record Config(double seconds, double warmupSeconds, List<String> only) {
        public Config {
            only = List.copyOf(only);
            if (seconds <= 0) throw new IllegalArgumentException("seconds must be positive");
            if (warmupSeconds < 0) throw new IllegalArgumentException("warmup must not be negative");
            for (String m : only) {
                if (!MEASUREMENTS.contains(m)) {
                    throw new IllegalArgumentException("unknown measurement " + m + "; known: " + MEASUREMENTS);
                }
            }
        }
    }

    private final Config config;
    private final PrintStream progress;
    private CacheLineRoundTrip.Placement placement;

    public HypervisorBench(Config config, PrintStream progress) {
        this.config = config;
        this.progress = progress;
    }

    /** One run per measurement: a notify run times a ping-pong and a flood, a copy run grant and plain copies. */
    List<Progress.Step> plan() {
        List<Progress.Step> plan = new ArrayList<>();
        for (String m : MEASUREMENTS) {
            if (config.only().contains(m)) plan.add(new Progress.Step(m, m.startsWith("map-") ? 1 : 2));
        }
        return plan;
    }

    public List<HvRow> run() throws Exception {
        Progress steps = new Progress(progress, "hypervisor", plan(), config.warmupSeconds(), config.seconds());
        List<HvRow> rows = new ArrayList<>();
        double startNs = CacheLineRoundTrip.measure();
        try (ScratchDir scratch = ScratchDir.create("jxen-bench-hv"); // catches what a failed run may leave
             Hypervisor hv = new Hypervisor(scratch.path(), DOM0_PAGES);
             HypervisorService service = HypervisorService.start(hv);
             Hypercalls dom0 = hv.connect(0)) {
            HvBenchContext ctx = new HvBenchContext(hv, service, dom0, config.seconds(), config.warmupSeconds());
            for (String m : MEASUREMENTS) {
                if (!config.only().contains(m)) continue;
                steps.begin(m);
                rows.addAll(measure(ctx, m));
            }
        }
        placement = new CacheLineRoundTrip.Placement(startNs, CacheLineRoundTrip.measure());
        steps.done();
        return rows;
    }

    /** Where the machine put two busy threads before and after {@link #run}, for reading its figures; null before it. */
    public CacheLineRoundTrip.Placement placement() {
        return placement;
    }

    private static List<HvRow> measure(HvBenchContext ctx, String m) throws Exception {
        NotifyBench notify = new NotifyBench(ctx);
        GrantBench grant = new GrantBench(ctx);
        return switch (m) {
            case "notify-inproc-blocking" -> notify.run(false, Delivery.BLOCKING, false);
            case "notify-inproc-polling" -> notify.run(false, Delivery.POLLING, false);
            case "notify-xproc-blocking" -> notify.run(true, Delivery.BLOCKING, false);
            case "notify-xproc-polling" -> notify.run(true, Delivery.POLLING, false);
            case "notify-inproc-blocking-fifo" -> notify.run(false, Delivery.BLOCKING, true);
            case "notify-xproc-blocking-fifo" -> notify.run(true, Delivery.BLOCKING, true);
            case "map-inproc" -> List.of(grant.mapInProcess());
            case "map-xproc" -> List.of(grant.mapCrossProcess());
            case "copy-inproc" -> grant.copyInProcess(GrantBench.HOT_PAGES);
            case "copy-xproc" -> grant.copyCrossProcess(GrantBench.HOT_PAGES);
            case "copy-inproc-cold" -> grant.copyInProcess(GrantBench.COLD_PAGES);
            case "copy-xproc-cold" -> grant.copyCrossProcess(GrantBench.COLD_PAGES);
            default -> throw new IllegalArgumentException(m);
        };
    }

}
