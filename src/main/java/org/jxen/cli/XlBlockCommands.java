package org.jxen.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jxen.drivers.blk.Vdev;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.DeviceManager;
import org.jxen.toolstack.DeviceSpec;
import org.jxen.toolstack.DiskSpec;
import org.jxen.xenstore.client.XsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * xl's block-attach, block-detach and block-list (xl_block.c), over the host's xenstored socket like
 * {@link XlDeviceCommands}; the vbd hotplug script is jxen's {@code scripts/hotplug/block}.
 */
final class XlBlockCommands {
    static final String LIST_HEADER = String.format("%-5s %-3s %-6s %-5s %-6s %-8s %-30s", "Vdev", "BE", "handle",
            "state", "evt-ch", "ring-ref", "BE-path");

    private XlBlockCommands() {}

    private static DeviceManager manager(XsClient xs, XlCommand xl, CommandSpec spec) throws DeviceException {
        Path script = DiskSpec.blockScript();
        if (script == null) throw new DeviceException("cannot find scripts/hotplug/block (set JXEN_HOME)");
        return XlDeviceCommands.manager(xs, xl, spec, "vbd", script);
    }

    @Command(name = "block-attach", description = "Create a new virtual block device (xl disk spec).")
    static final class Attach implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(index = "0", paramLabel = "DOM")
        String dom;
        @Parameters(index = "1..*", arity = "1..*", paramLabel = "DISK-SPEC-COMPONENT")
        List<String> parts;

        @Override
        public Integer call() {
            return XlDeviceCommands.withXenstore(xl, spec, "libxl: error: ", xs -> {
                int domid = XlDeviceCommands.resolve(xs, dom);
                DiskSpec disk = DiskSpec.parse(String.join(",", parts));
                manager(xs, xl, spec).add(domid, disk.device());
                return 0;
            });
        }
    }

    @Command(name = "block-detach", description = "Destroy a domain's virtual block device (VDEV: name or number).")
    static final class Detach implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(index = "0", paramLabel = "DOM")
        String dom;
        @Parameters(index = "1", paramLabel = "VDEV")
        String vdev;

        @Override
        public Integer call() {
            return XlDeviceCommands.withXenstore(xl, spec, "libxl: error: ", xs -> {
                int domid = XlDeviceCommands.resolve(xs, dom);
                int devid;
                try {
                    devid = Vdev.devid(vdev);
                } catch (IllegalArgumentException e) {
                    return XlCommand.fail(spec, "Error: Device " + vdev + " not connected.");
                }
                String be = beBackend(xs, domid, devid);
                int backend = be == null ? 0 : Integer.parseInt(be);
                if (!xs.exists("/local/domain/" + domid + "/device/vbd/" + devid)
                        && !xs.exists("/local/domain/" + backend + "/backend/vbd/" + domid + "/" + devid)) {
                    return XlCommand.fail(spec, "Error: Device " + vdev + " not connected.");
                }
                manager(xs, xl, spec).remove(domid, new DeviceSpec("vbd", devid, backend));
                return 0;
            });
        }
    }

    private static String beBackend(XsClient xs, int domid, int devid) throws IOException {
        String p = "/local/domain/" + domid + "/device/vbd/" + devid + "/backend-id";
        String v = xs.readOrNull(p);
        return v == null ? null : v.strip();
    }

    @Command(name = "block-list", description = "List virtual block devices for a domain.")
    static final class ListBlocks implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(index = "0", paramLabel = "DOM")
        String dom;

        @Override
        public Integer call() {
            return XlDeviceCommands.withXenstore(xl, spec, "libxl: error: ", xs -> {
                int domid = XlDeviceCommands.resolve(xs, dom);
                PrintWriter out = spec.commandLine().getOut();
                for (String line : list(xs, domid)) out.println(line);
                out.flush();
                return 0;
            });
        }
    }

    /** xl block-list's lines: the header, then per device devid, backend domid, frontend domid, state, port, ring-ref, backend path. */
    static List<String> list(XsClient xs, int domid) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add(LIST_HEADER);
        String dir = "/local/domain/" + domid + "/device/vbd";
        if (!xs.exists(dir)) return lines;
        List<Integer> ids = new ArrayList<>();
        for (String n : xs.directory(dir)) if (n.matches("[0-9]+")) ids.add(Integer.parseInt(n));
        ids.sort(null);
        for (int id : ids) {
            String fe = dir + "/" + id;
            String bePath = read(xs, fe + "/backend", "");
            int beId = num(read(xs, fe + "/backend-id", "-1"));
            int state = num(read(xs, fe + "/state", "-1"));
            String evt = read(xs, fe + "/event-channel", read(xs, fe + "/queue-0/event-channel", "-1"));
            String ref = read(xs, fe + "/ring-ref", read(xs, fe + "/ring-ref0",
                    read(xs, fe + "/queue-0/ring-ref", read(xs, fe + "/queue-0/ring-ref0", "-1"))));
            lines.add(String.format("%-5d %-3d %-6d %-5d %-6d %-8d %-30s", id, beId, domid, state, num(evt), num(ref), bePath));
        }
        return lines;
    }

    private static String read(XsClient xs, String path, String dflt) throws IOException {
        String v = xs.readOrNull(path);
        return v == null ? dflt : v;
    }

    private static int num(String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
