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

    private static Map<String, Object> config(Host host, DomainInfo d) throws IOException {
        XsClient xs = host.xenstore();
        String home = Libxl.home(d.domid());
        Map<String, Object> cInfo = new LinkedHashMap<>();
        cInfo.put("type", "pv");
        cInfo.put("name", d.domid() == 0 ? "Domain-0" : host.nameOf(d.domid()));
        String vm = xs.readOrNull(home + "/vm");
        if (vm != null) cInfo.put("uuid", vm.substring(vm.lastIndexOf('/') + 1));

        Map<String, Object> bInfo = new LinkedHashMap<>();
        bInfo.put("max_vcpus", d.vcpus());
        List<Object> avail = new ArrayList<>();
        for (int i = 0; i < d.vcpus(); i++) avail.add(i);
        bInfo.put("avail_vcpus", avail);
        long pagesKiB = DomainRequests.memoryKiB(d);
        bInfo.put("max_memkb", kib(xs.readOrNull(home + "/memory/static-max"), pagesKiB));
        bInfo.put("target_memkb", kib(xs.readOrNull(home + "/memory/target"), pagesKiB));
        GuestConfig cfg = host.config(d.domid());
        if (cfg != null) {
            Map<String, Object> pv = new LinkedHashMap<>();
            if (!cfg.modulePath().isEmpty()) pv.put("kernel", cfg.modulePath().getFirst().toString());
            if (!cfg.kernelArgs().isEmpty()) pv.put("cmdline", String.join(" ", cfg.kernelArgs()));
            if (!pv.isEmpty()) bInfo.put("type.pv", pv);
        }

        Map<String, Object> config = new LinkedHashMap<>();
        config.put("c_info", cInfo);
        config.put("b_info", bInfo);
        List<Object> disks = disks(xs, d.domid());
        if (!disks.isEmpty()) config.put("disks", disks);
        return config;
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
            Map<String, Object> disk = new LinkedHashMap<>();
            String backendId = xs.readOrNull(dir + "/" + dev + "/backend-id");
            if (backendId != null && !backendId.equals("0")) disk.put("backend_domid", Integer.parseInt(backendId));
            String params = xs.readOrNull(be + "/params");
            if (params != null) disk.put("pdev_path", params);
            String vdev = xs.readOrNull(be + "/dev");
            if (vdev != null) disk.put("vdev", vdev);
            disk.put("backend", "phy");
            disk.put("format", "raw");
            disk.put("readwrite", "w".equals(xs.readOrNull(be + "/mode")) ? 1 : 0);
            out.add(disk);
        }
        return out;
    }
}
