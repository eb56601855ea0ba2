package org.jxen.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.Libxl;
import org.jxen.xenstore.client.XsClient;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * xl's device lists (block-list, network-list): one header, then each domain's devices in the order given. A
 * name that is no domain is said on stderr; block-list goes on to the next one and exits 0 (xl_block.c's loop),
 * network-list stops there with status 1 (find_domain).
 */
abstract class DeviceListCommand implements Callable<Integer> {
    @ParentCommand
    XlCommand xl;
    @Spec
    CommandSpec spec;
    @Parameters(arity = "1..*", paramLabel = "DOM")
    List<String> doms = new ArrayList<>();
    private final String header;
    private final boolean skipsUnknownDomains;

    /**
     * @param header the list's header line
     * @param skipsUnknownDomains an unknown domain is skipped (block-list) rather than the end of the command
     */
    DeviceListCommand(String header, boolean skipsUnknownDomains) {
        this.header = header;
        this.skipsUnknownDomains = skipsUnknownDomains;
    }

    /** Prints domain {@code domid}'s devices, a line each. */
    abstract void rows(XsClient xs, Libxl libxl, int domid, PrintWriter out) throws DeviceException, IOException;

    @Override
    public final Integer call() {
        return XlDeviceCommands.withXenstore(xl, spec, "libxl: error: ", xs -> {
            Libxl libxl = XlDeviceCommands.libxl(xs, xl, spec, Map.of());
            PrintWriter out = spec.commandLine().getOut();
            out.println(header);
            out.flush();
            for (String dom : doms) {
                int domid;
                try {
                    domid = libxl.domid(dom);
                } catch (IllegalArgumentException e) {
                    XlCommand.fail(spec, e.getMessage()); // "X is an invalid domain identifier"
                    if (skipsUnknownDomains) continue;
                    return 1;
                }
                rows(xs, libxl, domid, out);
                out.flush();
            }
            return 0;
        });
    }
}
