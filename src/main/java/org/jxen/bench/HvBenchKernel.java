package org.jxen.bench;

import java.util.Arrays;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.process.GuestKernel;

/**
 * The guest side of the cross-process measurements, run in its own JVM by {@code HypervisorService.launch}.
 * Commands (args[0]):
 * <ul>
 *   <li>{@code echo <port> <BLOCKING|POLLING> [fifo|2l]}: counts deliveries on its port and echoes them while the
 *       host asks for it, until the host writes STOP; on the FIFO event-channel ABI if asked;</li>
 *   <li>{@code map <granter> <ref> <warmup s> <seconds>}: maps and unmaps the grant in a loop;</li>
 *   <li>{@code copy <granter> <ref,ref,...> <first frame> <warmup s> <seconds>}: grant-copies the refs into its
 *       own frames in one hypercall per batch.</li>
 * </ul>
 * Results and readiness go to its {@link BenchPage}; returning powers the domain off.
 */
public final class HvBenchKernel implements GuestKernel {
    /** How often the idle main thread looks for the host's STOP; not on any measured path. */
    private static final long STOP_POLL_MILLIS = 5;

    @Override
    public void boot(Hypercalls hc, String[] args) throws Exception {
        BenchPage page = new BenchPage(hc.frame(BenchPage.FRAME));
        switch (args[0]) {
            case "echo" -> {
                // args[1] (the port) documents the binding; the handler echoes on whichever port fired.
                if (args.length > 3 && args[3].equals("fifo")) hc.useFifo(NotifyBench.topDown(hc));
                hc.setEventHandler(new EchoHandler(hc, page), Delivery.valueOf(args[2]));
                page.markReady();
                while (page.command() != BenchPage.STOP) Thread.sleep(STOP_POLL_MILLIS);
            }
            case "map" -> {
                page.markReady();
                publish(page, TimedLoop.run(seconds(args[3]), seconds(args[4]),
                        GuestOps.mapUnmap(hc, Integer.parseInt(args[1]), Integer.parseInt(args[2]))));
            }
            case "copy" -> {
                int[] refs = Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray();
                page.markReady();
                publish(page, TimedLoop.run(seconds(args[4]), seconds(args[5]),
                        GuestOps.copyBatch(hc, Integer.parseInt(args[1]), refs, Integer.parseInt(args[3]))));
            }
            default -> throw new IllegalArgumentException("unknown bench command " + args[0]);
        }
    }

    private static double seconds(String s) {
        return Double.parseDouble(s);
    }

    private static void publish(BenchPage page, TimedLoop.Result r) {
        page.publish(r);
    }
}
