package org.jxen.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.DeviceSpec;
import org.jxen.toolstack.Libxl;
import org.jxen.toolstack.VifSpec;
import org.jxen.xenstore.client.XsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * xl's network-attach, network-detach and network-list (xl_nic.c): {@link Libxl} over the host's xenstored socket;
 * the vif's hotplug script is the one its backend's {@code script} node names (jxen's {@code vif-bridge} by
 * default). Run xl in the host's network namespace: the script plugs the host's interface into the bridge.
 */
final class XlNetworkCommands {
    static final String LIST_HEADER = String.format("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s", "Idx", "BE",
            "Mac Addr.", "handle", "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path");
    private static final String VIF = "vif";

    private XlNetworkCommands() {}

    @Command(name = "network-attach", description = "Create a new virtual network device (xl network spec: mac=, bridge=, ip=, ...).")
    static final class Attach extends DomainDeviceCommand {
        @Parameters(index = "1..*", arity = "0..*", paramLabel = "NIC-SPEC-COMPONENT")
        List<String> parts = new ArrayList<>();

        @Override
        int run(XsClient xs, Libxl libxl, int domid) throws DeviceException, IOException, InterruptedException {
            VifSpec vif;
            try {
                vif = VifSpec.parse(String.join(",", parts), -1);
            } catch (IllegalArgumentException e) {
                return fail(e.getMessage()); // xl's parse_nic_config says it itself
            }
            if (xl.dryRun) {
                spec.commandLine().getOut().println(org.jxen.toolstack.XlCreate.dryRunNic(vif));
                spec.commandLine().getOut().flush();
                return 0;
            }
            try {
                libxl.addDevice(domid, vif.device(libxl.nextDeviceId(domid, VIF)));
            } catch (DeviceException e) {
                fail(prefix() + e.getMessage());
                return fail("libxl_device_nic_add failed.");
            }
            return 0;
        }
    }

    @Command(name = "network-detach", description = "Destroy a domain's virtual network device (DEVID or MAC).")
    static final class Detach extends DomainDeviceCommand {
        @Parameters(index = "1", paramLabel = "DEVID|MAC")
        String which;

        @Override
        int run(XsClient xs, Libxl libxl, int domid) throws DeviceException, IOException, InterruptedException {
            DeviceSpec nic = find(xs, libxl, domid, which);
            if (nic == null) return fail("Unknown device " + which + ".");
            libxl.removeDevice(domid, nic);
            return 0;
        }
    }

    /**
     * jxen's network-rate: the backend's {@code rate} written as libxl writes it from {@code rate=} (or removed for
     * {@code unlimited}); netback watches it and applies it at once (xen_net_rate_changed).
     */
    @Command(name = "network-rate", description = "Change a virtual network device's rate limit while it runs.")
    static final class Rate extends DomainDeviceCommand {
        @Parameters(index = "1", paramLabel = "DEVID|MAC")
        String which;
        @Parameters(index = "2", paramLabel = "RATE")
        String rate;

        @Override
        int run(XsClient xs, Libxl libxl, int domid) throws DeviceException, IOException, InterruptedException {
            org.jxen.toolstack.VifRate r = rate.equals("unlimited") ? null : org.jxen.toolstack.VifRate.parse(rate);
            DeviceSpec nic = find(xs, libxl, domid, which);
            String be = nic == null ? null : backendPath(xs, domid, nic.devid());
            if (be == null) return fail("Unknown device " + which + ".");
            if (r == null) xs.rm(be + "/rate");
            else xs.write(be + "/rate", r.xenstoreValue());
            return 0;
        }
    }

    private static String backendPath(XsClient xs, int domid, int devid) throws IOException {
        String be = xs.readOrNull(Libxl.home(domid) + "/device/vif/" + devid + "/backend");
        return be == null ? null : be.strip();
    }

    /** libxl_devid_to_device_nic or, for an argument with a colon, libxl_mac_to_device_nic. */
    private static DeviceSpec find(XsClient xs, Libxl libxl, int domid, String which) throws IOException {
        if (!which.contains(":")) {
            int devid;
            try {
                devid = Integer.parseInt(which.strip());
            } catch (NumberFormatException e) {
                return null;
            }
            return libxl.device(domid, VIF, devid);
        }
        for (var d : libxl.listDevices(domid, VIF)) {
            String mac = xs.readOrNull(Libxl.home(domid) + "/device/vif/" + d.devid() + "/mac");
            if (mac != null && mac.strip().equalsIgnoreCase(which.strip())) return libxl.device(domid, VIF, d.devid());
        }
        return null;
    }

    @Command(name = "network-list", description = "List virtual network interfaces for a domain.")
    static final class ListNics extends DeviceListCommand {
        ListNics() {
            super(LIST_HEADER, false);
        }

        @Override
        void rows(XsClient xs, Libxl libxl, int domid, PrintWriter out) throws DeviceException, IOException {
            for (var d : libxl.listDevices(domid, VIF)) {
                String fe = Libxl.home(domid) + "/device/vif/" + d.devid();
                out.printf("%-3d %-2d %s%6d %5d %6d %5d/%-11d %-30s%n", d.devid(), d.backendDomid(),
                        read(xs, fe + "/mac", "00:00:00:00:00:00"), d.devid(), d.state(),
                        number(read(xs, fe + "/event-channel", "-1")), number(read(xs, fe + "/tx-ring-ref", "-1")),
                        number(read(xs, fe + "/rx-ring-ref", "-1")), d.backendPath());
            }
        }
    }

    private static String read(XsClient xs, String path, String dflt) throws IOException {
        String v = xs.readOrNull(path);
        return v == null ? dflt : v.strip();
    }

    private static int number(String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
