package org.jxen.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jxen.drivers.blk.Vdev;
import org.jxen.toolstack.ControlException;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.DeviceInfo;
import org.jxen.toolstack.DevicePaths;
import org.jxen.toolstack.DeviceSpec;
import org.jxen.toolstack.DiskSpec;
import org.jxen.toolstack.Libxl;
import org.jxen.xenstore.client.XsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;

/**
 * xl's block-attach, block-detach and block-list (xl_block.c): {@link Libxl} over the host's xenstored socket
 * like {@link XlDeviceCommands}; the vbd hotplug script is jxen's {@code scripts/hotplug/block}.
 */
final class XlBlockCommands {
    static final String LIST_HEADER = String.format("%-5s %-3s %-6s %-5s %-6s %-8s %-30s", "Vdev", "BE", "handle",
            "state", "evt-ch", "ring-ref", "BE-path");
    private static final String VBD = "vbd";

    private XlBlockCommands() {}

    /** libxl with the vbd hotplug script, which xl cannot add or remove a disk without. */
    private static Libxl withBlockScript(XsClient xs, XlCommand xl, CommandSpec spec) throws DeviceException {
        Path script = DiskSpec.blockScript();
        if (script == null) throw new DeviceException("cannot find scripts/hotplug/block (set JXEN_HOME)");
        return XlDeviceCommands.libxl(xs, xl, spec, Map.of(VBD, script));
    }

    /** The domain's disk VDEV (a name or a number), or null if it has none such. */
    private static DeviceSpec attached(Libxl lookup, int domid, String vdev) throws java.io.IOException {
        int devid;
        try {
            devid = Vdev.devid(vdev);
        } catch (IllegalArgumentException e) {
            return null;
        }
        return lookup.device(domid, VBD, devid);
    }

    /** xl's answer for a VDEV the domain does not have. */
    private static int notConnected(CommandSpec spec, String vdev) {
        return XlCommand.fail(spec, "Error: Device " + vdev + " not connected.");
    }

    @Command(name = "block-attach", description = "Create a new virtual block device (xl disk spec).")
    static final class Attach extends DomainDeviceCommand {
        @Parameters(index = "1..*", arity = "1..*", paramLabel = "DISK-SPEC-COMPONENT")
        List<String> parts;

        @Override
        int run(XsClient xs, Libxl lookup, int domid) throws DeviceException, IOException, InterruptedException {
            DiskSpec disk = DiskSpec.parse(String.join(",", parts));
            if (xl.dryRun) {
                // xl -N: the disk as libxl would get it, and nothing added.
                spec.commandLine().getOut().println(org.jxen.toolstack.XlCreate.dryRunDisk(disk));
                spec.commandLine().getOut().flush();
                return 0;
            }
            try {
                withBlockScript(xs, xl, spec).addDevice(domid, disk.device());
            } catch (DeviceException e) {
                // libxl's line, then xl's.
                fail(prefix() + e.getMessage());
                return fail("libxl_device_disk_add failed.");
            }
            return 0;
        }
    }

    /**
     * xl_block.c's main_blockdetach: libxl_device_disk_safe_remove, which fails and leaves the disk when its
     * backend does not close in time (Xen 4.15 on); with -f libxl_device_disk_destroy, which takes the disk
     * from the guest at once. A failure is libxl's line, then xl's.
     */
    @Command(name = "block-detach", description = "Destroy a domain's virtual block device (VDEV: name or number).")
    static final class Detach extends DomainDeviceCommand {
        @Parameters(index = "1", paramLabel = "VDEV")
        String vdev;
        @picocli.CommandLine.Option(names = {"-f", "--force"}, description = "Do not wait for the domain to release the device.")
        boolean force;

        @Override
        int run(XsClient xs, Libxl lookup, int domid) throws DeviceException, IOException, InterruptedException {
            DeviceSpec disk = attached(lookup, domid, vdev);
            if (disk == null) return notConnected(spec, vdev);
            try {
                withBlockScript(xs, xl, spec).removeDevice(domid, disk, force ? Libxl.Removal.FORCE : Libxl.Removal.SAFE);
            } catch (DeviceException e) {
                fail("libxl: error: Domain " + domid + ":" + e.getMessage());
                return fail("libxl_device_disk_" + (force ? "destroy" : "safe_remove") + " failed.");
            }
            return 0;
        }
    }

    /**
     * xl_block.c's cd-insert: the file is stat'ed first ("Cannot stat file"), then libxl_cdrom_insert, which only
     * an HVM domain's emulated drive takes: a PV guest (every jxen guest) changes a cdrom's medium by block-detach
     * and block-attach, as on Xen.
     */
    @Command(name = "cd-insert", description = "Insert a cdrom into a guest's cd drive (HVM only: refused for PV guests).")
    static final class CdInsert extends DomainDeviceCommand {
        @Parameters(index = "1", paramLabel = "VDEV")
        String vdev;
        @Parameters(index = "2", paramLabel = "PATH")
        String path;

        @Override
        int run(XsClient xs, Libxl lookup, int domid) {
            String file = path.contains(":") ? path.substring(path.lastIndexOf(':') + 1) : path; // "raw:/img"
            if (!java.nio.file.Files.exists(java.nio.file.Path.of(file))) return fail("Cannot stat file: " + file);
            return fail("libxl: error: Domain " + domid + ":cdrom-insert requires an HVM domain");
        }
    }

    /** xl_block.c's cd-eject: libxl_cdrom_insert of an empty medium, refused for a PV guest as cd-insert is. */
    @Command(name = "cd-eject", description = "Eject a cdrom from a guest's cd drive (HVM only: refused for PV guests).")
    static final class CdEject extends DomainDeviceCommand {
        @Parameters(index = "1", paramLabel = "VDEV")
        String vdev;

        @Override
        int run(XsClient xs, Libxl lookup, int domid) {
            return fail("libxl: error: Domain " + domid + ":cdrom-insert requires an HVM domain");
        }
    }

    @Command(name = "block-resize", description = {"Grow a domain's disk image to SIZE while the disk stays attached",
            "(bytes, or with K, M, G or T; a multiple of 512); the guest sees the new size at once.",
            "Shrinking loses what lies past SIZE and needs --shrink."})
    static final class Resize extends DomainDeviceCommand {
        @Parameters(index = "1", paramLabel = "VDEV")
        String vdev;
        @Parameters(index = "2", paramLabel = "SIZE")
        String size;
        @picocli.CommandLine.Option(names = "--shrink", description = "Allow SIZE below the image's size.")
        boolean shrink;

        @Override
        int run(XsClient xs, Libxl lookup, int domid) throws DeviceException, IOException, InterruptedException {
            long bytes;
            try {
                bytes = DiskSize.parse(size);
            } catch (IllegalArgumentException e) {
                return fail("Error: " + e.getMessage());
            }
            DeviceSpec disk = attached(lookup, domid, vdev);
            if (disk == null) return notConnected(spec, vdev);
            String params = xs.readOrNull(DevicePaths.of(domid, disk).backend() + "/params");
            if (params == null) return fail("Error: Device " + vdev + " has no image (params).");
            // The storage is resized first (as an admin runs lvresize), then blkback is told (xen_vbd_resize).
            String refused = DiskSize.resizeImage(Path.of(params.strip()), bytes, shrink);
            if (refused != null) return fail("Error: " + refused);
            try {
                xl.control().call("block-resize " + domid + " " + disk.devid(), null, line -> {});
            } catch (ControlException e) {
                return fail("libxl: error: " + e.getMessage());
            }
            return 0;
        }
    }

    @Command(name = "block-list", description = "List virtual block devices for a domain.")
    static final class ListBlocks extends DeviceListCommand {
        ListBlocks() {
            super(LIST_HEADER, true);
        }

        @Override
        void rows(XsClient xs, Libxl libxl, int domid, PrintWriter out) throws DeviceException, IOException {
            for (DeviceInfo d : libxl.listDevices(domid, VBD)) {
                out.println(String.format("%-5d %-3d %-6d %-5d %-6d %-8d %-30s", d.devid(), d.backendDomid(),
                        d.frontendDomid(), d.state(), d.eventChannel(), d.ringRef(), d.backendPath()));
            }
        }
    }
}
