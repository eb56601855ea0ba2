package org.jxen.toolstack;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jxen.xenstore.client.XsClient;

/**
 * libxl_retrieve_domain_configuration: a live guest's config as it is now, what a save image carries and what a
 * reboot builds the new domain from (libxl keeps the domain's config as JSON and brings it up to date from the
 * store; jxen writes xl.cfg text). The guest's settings as it was created, its uuid as the store has it (so the
 * restored or rebooted domain keeps it), its balloon target, and its devices as they are now, read from the
 * store: hot-plugged ones included, detached ones gone. Paths are absolute: the image may be restored from another
 * directory or host (disk images are shared storage at the same path).
 */
public final class RetrievedConfig {
    private RetrievedConfig() {}

    /** The xl.cfg text of a live guest; IOException naming a device that no xl.cfg setting can describe. */
    public static String xlCfg(Host host, int domid) throws IOException {
        GuestConfig g = host.config(domid);
        if (g == null) throw new IOException("domain " + domid + " is not a guest of this host");
        DomainConfig dc = host.domainConfig(domid);
        XsClient xs = host.xenstore();
        String home = Libxl.home(domid);
        String vm = xs.readOrNull(home + "/vm");
        String uuid = vm == null ? g.uuid() : vm.substring(vm.lastIndexOf('/') + 1);
        StringBuilder b = new StringBuilder();
        line(b, "name", quote(host.nameOf(domid)));
        if (uuid != null) line(b, "uuid", quote(uuid));
        // As libxl_retrieve_domain_configuration: the balloon target as it is now (xl mem-set), whole MiB
        // rounded up, so that the restored guest holds what this one does; maxmem stays the domain's size.
        line(b, "memory", Integer.toString(targetMiB(xs.readOrNull(home + "/memory/target"), g)));
        line(b, "maxmem", Integer.toString(g.maxmemMiB()));
        line(b, "vcpus", Integer.toString(availableVcpus(xs, home, g)));
        line(b, "maxvcpus", Integer.toString(g.maxvcpus()));
        line(b, "inproc", g.ownProcess() ? "0" : "1");
        if (!g.modulePath().isEmpty()) line(b, "kernel", quote(g.modulePath().getFirst().toAbsolutePath().toString()));
        if (g.kernel().equals(GuestConfig.MODULAR_KERNEL)) {
            if (!g.kernelArgs().isEmpty()) line(b, "extra", quote(String.join(" ", g.kernelArgs())));
        } else {
            // Any other kernel comes back as itself (not as the modular kernel xl boots by default), with its
            // argv word for word: its words are its own, not a command line's.
            line(b, "kernel_class", quote(g.kernel()));
            list(b, "kernel_args", g.kernelArgs());
        }
        DomainConfig.GrantLimits grants = dc == null ? DomainConfig.GrantLimits.DEFAULT : dc.grantLimits();
        if (grants.grantFrames() != DomainConfig.GrantLimits.DEFAULT.grantFrames()) {
            line(b, "max_grant_frames", Integer.toString(grants.grantFrames()));
        }
        if (grants.maptrackFrames() != DomainConfig.GrantLimits.DEFAULT.maptrackFrames()) {
            line(b, "max_maptrack_frames", Integer.toString(grants.maptrackFrames()));
        }
        ShutdownAction.OnShutdown on = dc == null ? ShutdownAction.OnShutdown.DESTROY_ALL : dc.onShutdown();
        line(b, "on_poweroff", quote(on.poweroff().xlName));
        line(b, "on_reboot", quote(on.reboot().xlName));
        line(b, "on_crash", quote(on.crash().xlName));
        List<String> disks = new ArrayList<>();
        List<String> vifs = new ArrayList<>();
        List<String> mydevices = new ArrayList<>();
        String devices = home + "/device";
        if (xs.exists(devices)) {
            for (String kind : xs.directory(devices)) {
                for (String id : xs.directory(devices + "/" + kind)) {
                    String fe = devices + "/" + kind + "/" + id;
                    String be = xs.readOrNull(fe + "/backend");
                    String beId = xs.readOrNull(fe + "/backend-id");
                    if (be == null) continue; // a frontend directory its backend never had: nothing to rebuild
                    String backend = beId == null ? "0" : beId.strip();
                    switch (kind) {
                        case "vbd" -> {
                            String params = xs.readOrNull(be + "/params");
                            String dev = xs.readOrNull(be + "/dev");
                            String mode = xs.readOrNull(be + "/mode");
                            if (params == null || dev == null) throw new IOException("disk " + id + " has no params or dev in the store");
                            String access = mode == null ? "rw" : mode.strip().equals("r") ? "ro" : mode.strip().equals("w!") ? "w!" : "rw";
                            String devtype = xs.readOrNull(be + "/device-type");
                            String script = xs.readOrNull(be + "/script");
                            String discard = xs.readOrNull(be + "/discard-enable");
                            disks.add("format=raw, vdev=" + dev.strip() + ", access=" + access + ", backend=" + backend
                                    + ("cdrom".equals(devtype) ? ", devtype=cdrom" : "")
                                    + (script != null && !script.isBlank() ? ", script=" + script.strip() : "")
                                    + ("0".equals(discard == null ? null : discard.strip()) ? ", no-discard" : "")
                                    + ", target=" + params.strip());
                        }
                        case "vif" -> {
                            StringBuilder v = new StringBuilder("devid=" + id + ", backend=" + backend);
                            for (String k : new String[] {"mac", "bridge", "script", "ip", "vifname", "mtu"}) {
                                String val = xs.readOrNull(be + "/" + k);
                                if (val != null && !val.isBlank()) v.append(", ").append(k).append('=').append(val.strip());
                            }
                            String rate = rateSpec(xs.readOrNull(be + "/rate"));
                            if (rate != null) v.append(", rate=").append(rate);
                            if ("0".equals(String.valueOf(xs.readOrNull(fe + "/trusted")).strip())) v.append(", untrusted");
                            vifs.add(v.toString());
                        }
                        case "mydevice" -> mydevices.add("id=" + id + ",backend=" + backend);
                        default -> throw new IOException("device class " + kind + " (device " + id
                                + ") has no xl.cfg setting to restore it from; detach it first");
                    }
                }
            }
        }
        list(b, "disk", disks);
        list(b, "vif", vifs);
        list(b, "mydevice", mydevices);
        return b.toString();
    }

    /**
     * libxl__update_avail_vcpus_xenstore: a PV domain's vCPUs as its {@code cpu/N/availability} nodes say (xl
     * vcpu-set changes them), counted; the config's when the store has none.
     */
    private static int availableVcpus(XsClient xs, String home, GuestConfig g) throws IOException {
        int online = 0;
        boolean any = false;
        for (int cpu = 0; cpu < g.maxvcpus(); cpu++) {
            String a = xs.readOrNull(home + "/cpu/" + cpu + "/availability");
            if (a == null) continue;
            any = true;
            if (a.strip().equals("online")) online++;
        }
        return any && online > 0 ? online : g.vcpus();
    }

    /**
     * The backend's {@code rate} ("BYTES,USECS", what libxl wrote from rate=) as a rate= spec that gives it back:
     * bytes per second at that interval. Null when there is none or it is not libxl's form.
     */
    private static String rateSpec(String node) {
        if (node == null) return null;
        String[] f = node.strip().split(",");
        try {
            long bytes = Long.parseLong(f[0]);
            long usecs = f.length == 2 ? Long.parseLong(f[1]) : 0;
            if (bytes <= 0 || usecs <= 0) return null;
            long perSec = Math.multiplyHigh(bytes, 1_000_000L) == 0 ? bytes * 1_000_000L / usecs : Long.MAX_VALUE;
            if (perSec <= 0xFFFF_FFFFL) return perSec + "B/s@" + usecs + "us";
            if (perSec / 1000 <= 0xFFFF_FFFFL) return (perSec / 1000) + "KB/s@" + usecs + "us";
            return (perSec / 1_000_000) + "MB/s@" + usecs + "us";
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static int targetMiB(String targetKiB, GuestConfig g) {
        try {
            long kib = Long.parseLong(targetKiB == null ? "" : targetKiB.strip());
            return (int) Math.clamp((kib + 1023) / 1024, 1, g.maxmemMiB());
        } catch (NumberFormatException e) {
            return g.memoryMiB();
        }
    }

    private static void line(StringBuilder b, String key, String value) {
        b.append(key).append(" = ").append(value).append('\n');
    }

    private static void list(StringBuilder b, String key, List<String> items) {
        if (items.isEmpty()) return;
        List<String> q = new ArrayList<>();
        for (String i : items) q.add(quote(i));
        line(b, key, "[" + String.join(", ", q) + "]");
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
