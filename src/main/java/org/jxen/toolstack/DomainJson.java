package org.jxen.toolstack;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.xenstore.client.XsClient;

/**
 * {@code xl list -l}: each domain's libxl_domain_config as libxl_retrieve_domain_configuration gives it (the
 * config the domain was created with, brought up to date from the store: its name, memory target and the disks
 * attached now), in the JSON libxl generates, wrapped as xl does in {@code {"domid": N, "config": ...}}. Only
 * fields jxen has are written; libxl omits fields at their defaults as well.
 */
final class DomainJson {
    private DomainJson() {}

    static String of(Host host, List<DomainInfo> domains) throws IOException {
        List<Object> all = new ArrayList<>();
        for (DomainInfo d : domains) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("domid", d.domid());
            one.put("config", config(host, d));
            all.add(one);
        }
        return YajlJson.write(all);
    }

    /**
     * {@code xl create -n}: the libxl_domain_config a config would build, before any domain exists (xl prints it
     * and creates nothing). The uuid is the config's, else a new one, as xl's parse_config_data makes it.
     */
    static String dryRun(DomainConfig dc) {
        GuestConfig g = dc.guest();
        List<Object> disks = new ArrayList<>();
        for (DeviceSpec d : dc.devices()) {
            if (!d.kind().equals("vbd")) continue;
            disks.add(disk(d.backendDomid(), d.backendNodes().get("params"), d.backendNodes().get("dev"),
                    d.backendNodes().get("mode")));
        }
        return YajlJson.write(config(g.name(), g.uuid() != null ? g.uuid() : java.util.UUID.randomUUID().toString(),
                g.maxvcpus(), firstVcpus(g.vcpus()), g.maxmemMiB() * 1024L, g.memoryMiB() * 1024L, g, disks));
    }

    private static Map<String, Object> config(Host host, DomainInfo d) throws IOException {
        XsClient xs = host.xenstore();
        String home = Libxl.home(d.domid());
        String vm = xs.readOrNull(home + "/vm");
        long pagesKiB = DomainRequests.memoryKiB(d);
        return config(d.domid() == 0 ? "Domain-0" : host.nameOf(d.domid()),
                vm != null ? vm.substring(vm.lastIndexOf('/') + 1) : null, d.vcpus(), d.vcpusUp(),
                kib(xs.readOrNull(home + "/memory/static-max"), pagesKiB),
                kib(xs.readOrNull(home + "/memory/target"), pagesKiB), host.config(d.domid()), disks(xs, d.domid()));
    }

    /** c_info, b_info and the disks, in libxl's order; {@code cfg} (null for dom0) gives the PV kernel's fields. */
    /** vCPUs 0 .. n-1: a config's {@code vcpus}, which libxl brings up of its {@code maxvcpus}. */
    private static java.util.BitSet firstVcpus(int n) {
        java.util.BitSet b = new java.util.BitSet();
        b.set(0, n);
        return b;
    }

    private static Map<String, Object> config(String name, String uuid, int vcpus, java.util.BitSet avail, long maxKiB,
            long targetKiB, GuestConfig cfg, List<Object> disks) {
        Map<String, Object> cInfo = new LinkedHashMap<>();
        cInfo.put("type", "pv");
        cInfo.put("name", name);
        if (uuid != null) cInfo.put("uuid", uuid);

        Map<String, Object> bInfo = new LinkedHashMap<>();
        bInfo.put("max_vcpus", vcpus);
        bInfo.put("avail_vcpus", new ArrayList<Object>(avail.stream().boxed().toList()));
        bInfo.put("max_memkb", maxKiB);
        bInfo.put("target_memkb", targetKiB);
        if (cfg != null) {
            Map<String, Object> pv = new LinkedHashMap<>();
            if (!cfg.modulePath().isEmpty()) pv.put("kernel", cfg.modulePath().getFirst().toString());
            if (!cfg.kernelArgs().isEmpty()) pv.put("cmdline", String.join(" ", cfg.kernelArgs()));
            if (!pv.isEmpty()) bInfo.put("type.pv", pv);
        }

        Map<String, Object> config = new LinkedHashMap<>();
        config.put("c_info", cInfo);
        config.put("b_info", bInfo);
        if (!disks.isEmpty()) config.put("disks", disks);
        return config;
    }

    /** xl -N block-attach's libxl_device_disk, as it would be added. */
    static String disk(DiskSpec d) {
        return YajlJson.write(disk(d.backendDomid(), d.target(), d.vdev(), d.readOnly() ? "r" : d.force() ? "w!" : "w"));
    }

    /** xl -N network-attach's libxl_device_nic: the fields the spec gives and the defaults jxen fills in. */
    static String nic(VifSpec v) {
        Map<String, Object> nic = new LinkedHashMap<>();
        if (v.backendDomid() != 0) nic.put("backend_domid", v.backendDomid());
        if (v.devid() >= 0) nic.put("devid", v.devid());
        nic.put("mtu", v.mtu());
        nic.put("mac", v.mac());
        if (v.ip() != null) nic.put("ip", v.ip());
        nic.put("bridge", v.bridge());
        if (v.vifname() != null) nic.put("ifname", v.vifname());
        nic.put("script", v.script());
        nic.put("nictype", "vif");
        return YajlJson.write(nic);
    }

    /** One libxl_device_disk: its backend (when not dom0), image, vdev and mode (as the backend's nodes give them). */
    private static Map<String, Object> disk(int backendDomid, String params, String vdev, String mode) {
        Map<String, Object> disk = new LinkedHashMap<>();
        if (backendDomid != 0) disk.put("backend_domid", backendDomid);
        if (params != null) disk.put("pdev_path", params);
        if (vdev != null) disk.put("vdev", vdev);
        disk.put("backend", "phy");
        disk.put("format", "raw");
        disk.put("readwrite", mode != null && mode.startsWith("w") ? 1 : 0); // "w!": forced shared write
        return disk;
    }

    private static long kib(String node, long dflt) {
        try {
            return node == null ? dflt : Long.parseLong(node);
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    /** libxl_device_disk of each vbd the store has for the domain now (libxl reads them back the same way). */
    private static List<Object> disks(XsClient xs, int domid) throws IOException {
        List<Object> out = new ArrayList<>();
        String dir = Libxl.deviceDir(domid, "vbd");
        if (!xs.exists(dir)) return out;
        for (String dev : xs.directory(dir)) {
            String be = xs.readOrNull(dir + "/" + dev + "/backend");
            if (be == null) continue;
            String backendId = xs.readOrNull(dir + "/" + dev + "/backend-id");
            out.add(disk((int) kib(backendId, 0), xs.readOrNull(be + "/params"),
                    xs.readOrNull(be + "/dev"), xs.readOrNull(be + "/mode")));
        }
        return out;
    }
}
