package org.jxen.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.Libxl;
import org.jxen.xenstore.client.XsClient;
import picocli.CommandLine.Parameters;

/**
 * xl's device lists (block-list, network-list): they take one domain or several, and print one header, then each
 * domain's devices in the order given.
 */
abstract class DeviceListCommand extends DomainDeviceCommand {
    @Parameters(index = "1..*", paramLabel = "DOM")
    List<String> more = new ArrayList<>();
    private boolean headerDone;

    /** The list's header line. */
    abstract String header();

    /** Prints domain {@code domid}'s devices, a line each. */
    abstract void rows(XsClient xs, Libxl libxl, int domid, PrintWriter out) throws DeviceException, IOException;

    @Override
    final List<String> moreDomains() {
        return more;
    }

    @Override
    final int run(XsClient xs, Libxl libxl, int domid) throws DeviceException, IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (!headerDone) out.println(header());
        headerDone = true;
        rows(xs, libxl, domid, out);
        out.flush();
        return 0;
    }
}
