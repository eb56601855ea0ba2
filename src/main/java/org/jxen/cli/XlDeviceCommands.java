package org.jxen.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.DeviceSpec;
import org.jxen.toolstack.Libxl;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code xl device-attach/-detach}: jxen's generic form of xl's per-class commands (block-attach,
 * network-attach, ...). As xl links libxl, they run {@link Libxl} in the xl process, over a connection of its
 * own to the host's {@code xenstored/socket} (a privileged, dom0 connection): the same code the host runs for a
 * config's devices.
 */
final class XlDeviceCommands {
    private XlDeviceCommands() {}

    /** What an xl command does once connected to the host's xenstored; returns the exit status. */
    interface WithXenstore {
        int run(XsClient xs) throws DeviceException, IOException, InterruptedException;
    }

    /**
     * Connects to the host's xenstored directly, as libxl does, runs {@code body}, and reports a failure on
     * stderr after {@code prefix}, as xl does, with exit status 1.
     */
    static int withXenstore(XlCommand xl, CommandSpec spec, String prefix, WithXenstore body) {
        String tooLong = org.jxen.toolstack.UserErrors.socketPathProblem(xl.xenstoredSocket(), "host directory (-H)");
        if (tooLong != null) return XlCommand.fail(spec, prefix + "cannot reach the jxen host's xenstored: " + tooLong);
        UnixSocketChannel channel;
        try {
            channel = UnixSocketChannel.connect(xl.xenstoredSocket());
        } catch (IOException e) {
            return XlCommand.fail(spec, prefix + "cannot reach the jxen host's xenstored at " + xl.xenstoredSocket()
                    + " (is `jxen host` running?): " + e.getMessage());
        }
        try (XsClient xs = new XsClient(channel)) {
            return body.run(xs);
        } catch (DeviceException | IOException | IllegalArgumentException e) {
            return XlCommand.fail(spec, prefix + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    /** libxl over xl's connection, with these hotplug scripts per device class; warnings go to stderr. */
    static Libxl libxl(XsClient xs, XlCommand xl, CommandSpec spec, Map<String, Path> scripts) {
        return Libxl.forXenstored(xs, xl.xenstoredSocket(), scripts, w -> XlCommand.fail(spec, "libxl: warning: " + w));
    }

    /** {@code --hotplug-script}, if given, for device class {@code kind}. */
    private static Map<String, Path> scripts(String kind, Path script) {
        return script == null ? Map.of() : Map.of(kind, script);
    }

    @Command(name = "device-attach", description = "Attach a device of CLASS (e.g. mydevice) to a domain.")
    static final class Attach extends DomainDeviceCommand {
        @Parameters(index = "1", paramLabel = "CLASS")
        String kind;
        @Parameters(index = "2", paramLabel = "ID", arity = "0..1", description = "Device id (default: the next free one).")
        Integer devid;
        @Option(names = "--backend", paramLabel = "DOMID", description = "Backend domain (default 0).")
        int backend;
        @Option(names = "--hotplug-script", paramLabel = "PATH", description = "Run PATH add|remove with XENBUS_PATH set.")
        Path script;

        @Override
        int run(XsClient xs, Libxl lookup, int domid) throws DeviceException, IOException, InterruptedException {
            int id = devid != null ? devid : lookup.nextDeviceId(domid, kind);
            libxl(xs, scripts(kind, script)).addDevice(domid, new DeviceSpec(kind, id, backend));
            return 0;
        }
    }

    @Command(name = "exec", description = {"Run a guest utility inside DOM: dd, sha256sum, blkbench, insmod, rmmod or lsmod, e.g.",
            "xl exec DOM -- dd if=/dev/xvda of=/tmp/out bs=1M count=4",
            "xl exec DOM -- sha256sum /dev/xvda",
            "xl exec DOM -- blkbench /dev/xvda --rw randread --bs 4k --qd 32 --seconds 5",
            "xl exec DOM -- insmod mydevicefront   (rmmod NAME, lsmod; DOM 0 or Domain-0: in dom0, run by the host)",
            "xl exec DOM -- ping -c 3 10.0.0.2     (any other program: a real process in the guest's network namespace)",
            "Host paths are resolved against this directory and opened by the guest kernel itself (jxen: a guest runs on this host)."})
    static final class Exec extends DomainDeviceCommand {
        @Parameters(index = "1..*", paramLabel = "COMMAND", arity = "1..*")
        java.util.List<String> argv;
        @Option(names = "--timeout", paramLabel = "S", description = "Give up after S seconds (default: wait).")
        double timeout;

        @Override
        String prefix() {
            return "xl exec: ";
        }

        @Override
        String lookupPrefix() {
            return prefix();
        }

        @Override
        int run(XsClient xs, Libxl lookup, int domid) throws DeviceException, IOException, InterruptedException {
            // dom0 has no exec agent: the host runs the command in dom0's kernel (its control socket).
            org.jxen.toolstack.GuestExecClient.Result r;
            try {
                r = domid == 0 ? xl.control().execInDom0(hostPaths(argv))
                        : org.jxen.toolstack.GuestExecClient.run(xs, domid, hostPaths(argv), (long) (timeout * 1000));
            } catch (org.jxen.toolstack.ControlException e) {
                throw new IOException(e.getMessage(), e);
            } catch (org.jxen.toolstack.GuestExecClient.DomainGone gone) {
                ExecFollower.Outcome o = ExecFollower.after(xl, gone, (long) (timeout * 1000), spec.commandLine().getErr());
                if (o.result() == null) return o.status();
                r = o.result();
            }
            spec.commandLine().getOut().print(r.out());
            spec.commandLine().getOut().flush();
            spec.commandLine().getErr().print(r.err());
            spec.commandLine().getErr().flush();
            return r.status();
        }

        /** Host paths relative to xl's directory made absolute (the guest has another working directory). */
        static java.util.List<String> hostPaths(java.util.List<String> argv) {
            java.util.List<String> out = new java.util.ArrayList<>();
            for (int i = 0; i < argv.size(); i++) {
                String a = argv.get(i);
                String cmd = argv.get(0);
                if (i > 0 && cmd.equals("dd") && (a.startsWith("if=") || a.startsWith("of="))) {
                    out.add(a.substring(0, 3) + abs(a.substring(3)));
                } else if (i > 0 && cmd.equals("sha256sum") && !a.startsWith("-")) {
                    out.add(abs(a));
                } else {
                    out.add(a);
                }
            }
            return out;
        }

        private static String abs(String p) {
            if (p.isEmpty() || p.startsWith("/")) return p;
            return Path.of(p).toAbsolutePath().normalize().toString();
        }
    }

    @Command(name = "device-detach", description = "Detach device ID of CLASS from a domain.")
    static final class Detach extends DomainDeviceCommand {
        @Parameters(index = "1", paramLabel = "CLASS")
        String kind;
        @Parameters(index = "2", paramLabel = "ID")
        int devid;
        @Option(names = "--backend", paramLabel = "DOMID", description = "Backend domain (default 0).")
        int backend;
        @Option(names = "--hotplug-script", paramLabel = "PATH", description = "Run PATH remove with XENBUS_PATH set.")
        Path script;

        @Override
        int run(XsClient xs, Libxl lookup, int domid) throws DeviceException, IOException, InterruptedException {
            libxl(xs, scripts(kind, script)).removeDevice(domid, new DeviceSpec(kind, devid, backend));
            return 0;
        }
    }
}
