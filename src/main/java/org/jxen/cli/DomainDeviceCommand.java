package org.jxen.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.Libxl;
import org.jxen.xenstore.client.XsClient;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * An xl command on one domain (DOM first), run as libxl runs: over the host's xenstored, with DOM resolved by
 * name or number, and a failure as one line after {@link #prefix} with exit status 1. A subclass says only what
 * it does with the domain.
 */
abstract class DomainDeviceCommand implements Callable<Integer> {
    @ParentCommand
    XlCommand xl;
    @Spec
    CommandSpec spec;
    @Parameters(index = "0", paramLabel = "DOM")
    String dom;

    /** What the command does to domain {@code domid}; {@code lookup} is libxl with no hotplug scripts. */
    abstract int run(XsClient xs, Libxl lookup, int domid) throws DeviceException, IOException, InterruptedException;

    /** What a failure's line starts with. */
    String prefix() {
        return "libxl: error: ";
    }

    /** What the line for a DOM that names no domain starts with: nothing for xl's commands (find_domain's own). */
    String lookupPrefix() {
        return "";
    }

    @Override
    public final Integer call() {
        return XlDeviceCommands.withXenstore(xl, spec, prefix(), xs -> {
            Libxl lookup = libxl(xs, Map.of());
            int domid;
            try {
                domid = lookup.domid(dom);
            } catch (IllegalArgumentException e) {
                return fail(lookupPrefix() + e.getMessage()); // xl's find_domain: its own line, not libxl's
            }
            return run(xs, lookup, domid);
        });
    }

    /** libxl over this command's connection with these hotplug scripts per device class. */
    Libxl libxl(XsClient xs, Map<String, Path> scripts) {
        return XlDeviceCommands.libxl(xs, xl, spec, scripts);
    }

    /** Says {@code line} on stderr; exit status 1. */
    int fail(String line) {
        return XlCommand.fail(spec, line);
    }
}
