package org.jxen.toolstack;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.client.XsClient;

/**
 * libxl: the toolstack's XenStore side in one place, over any privileged XenStore connection (the host's own, or
 * an xl process's connection to the host's xenstored socket). The host and {@code jxen xl} both call it; nothing
 * else computes where a domain's or a device's nodes are.
 *
 * <p>Domains (libxl_create.c, libxl_dom.c, libxl_domain.c): what a host's store holds once dom0 is up; a new
 * domain's home {@code /local/domain/U} and {@code /vm/<uuid>} with libxl's permissions, then INTRODUCE; the
 * shutdown request; on destroy the home, the vm path and the backend directories of the domain's devices; xl's
 * lookups of a domain by name or id.
 *
 * <p>Device add (libxl_device.c), for every class ({@link DevicePaths} says where): one transaction writes the
 * frontend directory ({@code backend}, {@code backend-id}, {@code state=1}; owned by U, readable by the backend
 * domain B) and the backend directory ({@code frontend}, {@code frontend-id}, {@code online=1}, {@code state=1};
 * owned by B, readable by U), with the class's own nodes; then wait for the backend to reach InitWait; then run
 * the class's hotplug script, if it has one, and wait for {@code hotplug-status}. A failed add is cleaned up.
 *
 * <p>Device remove: one transaction writes {@code online=0} and backend {@code state=5} (unless already 6); wait
 * for state 6; run the script's remove; delete the frontend then the backend directory. A backend that never
 * reaches Closed is removed by force (frontend first), with a warning.
 */
public final class Libxl {
    static final int STATE_INITIALISING = 1;
    static final int STATE_INIT_WAIT = 2;
    static final int STATE_CONNECTED = 4;
    static final int STATE_CLOSING = 5;
    static final int STATE_CLOSED = 6;

    /**
     * libxl's rwperm nodes of a PV guest's home (libxl__domain_make): the guest's own. One deviation: libxl makes
     * {@code device} dom0's (readable by the guest); here it is the guest's, so that a frontend directory written
     * node by node from dom0 without a chmod (the seed's activate.sh, see xenbus.md) is the guest's as well.
     */
    static final List<String> GUEST_OWNED = List.of("control/shutdown", "control/feature-poweroff",
            "control/feature-reboot", "control/feature-suspend", "control/sysrq", "device",
            "device/suspend/event-channel", "data", "drivers", "feature", "attr", "error");

    /** libxl's LIBXL_INIT_TIMEOUT, LIBXL_HOTPLUG_TIMEOUT and LIBXL_DESTROY_TIMEOUT. */
    public record Timeouts(Duration initWait, Duration hotplug, Duration close) {
        public static final Timeouts LIBXL = new Timeouts(Duration.ofSeconds(10), Duration.ofSeconds(40),
                Duration.ofSeconds(10));
    }

    private final XsClient xs;
    private final Map<String, Path> scripts;
    private final Map<String, String> scriptEnv;
    private final Timeouts timeouts;
    private final Consumer<String> warnings;
    /** Told "SCRIPT ACTION" and the backend path as a hotplug script starts (jxen demo draws it). */
    private volatile java.util.function.BiConsumer<String, String> hotplugListener = (what, be) -> { };

    /**
     * @param scripts hotplug script per device class (classes without one need none, as mydevice)
     * @param scriptEnv extra environment for the scripts
     * @param warnings where forced removals and the like are reported (xl: stderr; the host: its log)
     */
    public Libxl(XsClient xs, Map<String, Path> scripts, Map<String, String> scriptEnv, Timeouts timeouts,
            Consumer<String> warnings) {
        this.xs = xs;
        this.scripts = Map.copyOf(scripts);
        this.scriptEnv = Map.copyOf(scriptEnv);
        this.timeouts = timeouts;
        this.warnings = warnings;
    }

    /**
     * libxl with libxl's timeouts over a connection to the xenstored listening on {@code xenstoredSocket}: the
     * hotplug scripts get {@code XENSTORED_PATH}, so that their xenstore-write finds the same xenstored.
     */
    public static Libxl forXenstored(XsClient xs, Path xenstoredSocket, Map<String, Path> scripts,
            Consumer<String> warnings) {
        return new Libxl(xs, scripts, Map.of("XENSTORED_PATH", xenstoredSocket.toString()), Timeouts.LIBXL, warnings);
    }

    /** Who wants to know when a hotplug script starts: {@code listener} gets "SCRIPT ACTION" and the backend path. */
    public void setHotplugListener(java.util.function.BiConsumer<String, String> listener) {
        this.hotplugListener = listener;
    }

    private static final String DOMAINS = "/local/domain";

    /** A domain's home, {@code /local/domain/U}. */
    public static String home(int domid) {
        return DOMAINS + "/" + domid;
    }

    /** Where a domain's devices of class {@code kind} have their frontend directories. */
    static String deviceDir(int domid, String kind) {
        return home(domid) + "/device/" + kind;
    }

    // ---- domains ----

    /** What a Xen host's store holds once dom0 is up. */
    public void writeHostNodes() throws IOException {
        xs.transaction(tx -> {
            tx.write(home(0) + "/name", "Domain-0");
            tx.write(home(0) + "/domid", "0");
            tx.mkdir("/tool");
            tx.mkdir("/vm");
            return null;
        });
    }

    /**
     * Domain build's store side (libxl__domain_make, libxl__build_post): the domain's home and vm path with
     * libxl's permissions, then INTRODUCE, after which xenstored serves the guest's ring.
     */
    public void buildDomain(int domid, GuestConfig cfg, DomainInfo info) throws IOException {
        writeDomainNodes(domid, cfg, info);
        xs.introduce(domid, DomainLayout.XENSTORE_FRAME, info.xenstorePort());
    }

    /** MD5 digesters, one per thread: {@code MessageDigest.getInstance} looks up the provider every time. */
    private static final ThreadLocal<java.security.MessageDigest> MD5 = ThreadLocal.withInitial(() -> {
        try {
            return java.security.MessageDigest.getInstance("MD5");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    /** {@link UUID#nameUUIDFromBytes} (a version 3 UUID of the name), with this thread's digester. */
    static String nameUuid(String name) {
        byte[] md5 = MD5.get().digest(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        md5[6] = (byte) ((md5[6] & 0x0f) | 0x30);
        md5[8] = (byte) ((md5[8] & 0x3f) | 0x80);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(md5);
        return new UUID(b.getLong(), b.getLong()).toString();
    }

    private void writeDomainNodes(int domid, GuestConfig cfg, DomainInfo info) throws IOException {
        String home = home(domid);
        // xl.cfg's uuid, else one of the name and id (stable for tests; xl would generate a random one).
        String uuid = cfg.uuid() != null ? cfg.uuid() : nameUuid(cfg.name() + "/" + domid);
        String vm = "/vm/" + uuid;
        // libxl__domain_make: the home, the vm path, cpu, memory and control are dom0's, readable by the guest
        // (what is written under them inherits that); the guest's own areas belong to the guest.
        XsPerms readOnly = XsPerms.of(new XsPerm(0, false, false), new XsPerm(domid, true, false));
        XsPerms guestOwned = XsPerms.of(new XsPerm(domid, false, false));
        // Pipelined: every request of the transaction is sent before the first reply is waited for (xenstored
        // answers them in order; the commit waits for all), one round trip where libxl's synchronous calls make
        // thirty-odd: a host creating domains one after another waits on its xenstored less.
        xs.transaction(tx -> {
            tx.mkdirLater(home);
            tx.setPermsLater(home, readOnly);
            tx.mkdirLater(vm);
            tx.setPermsLater(vm, readOnly);
            tx.writeLater(vm + "/uuid", uuid);
            tx.writeLater(vm + "/name", cfg.name());
            // libxl's start time (libxl_vm_get_start_time, xl uptime): seconds and hundredths since the epoch.
            long now = System.currentTimeMillis();
            long hundredths = now % 1000 / 10;
            tx.writeLater(vm + "/start_time", now / 1000 + (hundredths < 10 ? ".0" : ".") + hundredths);
            tx.writeLater(home + "/vm", vm);
            tx.writeLater(home + "/name", cfg.name());
            tx.writeLater(home + "/domid", Integer.toString(domid));
            for (String dir : new String[] {"cpu", "memory", "control"}) tx.mkdirLater(home + "/" + dir);
            // KiB, as libxl writes them: maxmem is the ceiling, memory the balloon target.
            tx.writeLater(home + "/memory/static-max", Long.toString(cfg.maxmemMiB() * 1024L));
            tx.writeLater(home + "/memory/target", Long.toString(cfg.memoryMiB() * 1024L));
            for (int cpu = 0; cpu < cfg.maxvcpus(); cpu++) {
                tx.writeLater(home + "/cpu/" + cpu + "/availability", cpu < cfg.vcpus() ? "online" : "offline");
            }
            tx.writeLater(home + "/store/port", Integer.toString(info.xenstorePort()));
            tx.writeLater(home + "/store/ring-ref", Integer.toString(DomainLayout.XENSTORE_FRAME));
            tx.writeLater(home + "/console/port", Integer.toString(info.consolePort()));
            tx.writeLater(home + "/console/ring-ref", Integer.toString(DomainLayout.CONSOLE_FRAME));
            // The guest answers control/shutdown and announces what it supports in control/feature-*
            // (Linux's drivers/xen/manage.c writes feature-poweroff, -reboot, -suspend).
            for (String dir : GUEST_OWNED) {
                tx.mkdirLater(home + "/" + dir);
                tx.setPermsLater(home + "/" + dir, guestOwned);
            }
            // What the toolstack offers the guest: dom0's, as the rest of control.
            tx.writeLater(home + "/control/platform-feature-multiprocessor-suspend", "1");
            tx.writeLater(home + "/control/platform-feature-xs_reset_watches", "1");
            return null;
        });
    }

    /**
     * Destroy's store side, before the domain itself is destroyed: the home and the vm path (dom0 owns them, so
     * xenstored would keep them) and, as libxl__devices_destroy, the backend directories of the domain's
     * devices, which live in the backends' homes, with their per-guest parents once empty.
     */
    public void destroyDomainNodes(int domid) throws IOException {
        String home = home(domid);
        // libxl__devices_destroy: each device's hotplug script undoes what it did (a vif leaves its bridge, a
        // loop device is freed) while its backend directory, which the script reads, is still there.
        for (String be : xs.transaction(tx -> backendPaths(tx, domid))) {
            String[] parts = be.split("/");
            if (parts.length < 3) continue;
            String kind = parts[parts.length - 3];
            Path script = scriptFor(kind, be);
            if (script != null) {
                hotplugRemove(kind, be, script, hotplugEnv(kind, be, script),
                        kind + " " + parts[parts.length - 1] + " of domain " + domid);
            }
        }
        xs.transaction(tx -> {
            if (tx.exists(home + "/vm")) tx.rm(tx.readString(home + "/vm"));
            for (String be : backendPaths(tx, domid)) {
                if (tx.exists(be)) tx.rm(be);
                String parent = DevicePaths.parentOf(be);
                if (tx.exists(parent) && tx.directory(parent).isEmpty()) tx.rm(parent);
            }
            tx.rm(home);
            return null;
        });
    }

    private void hotplugRemove(String kind, String be, Path script, Map<String, String> env, String what) {
        hotplugListener.accept(script.getFileName() + " " + action(kind, false), be);
        int rc;
        try {
            rc = new HotplugScript(script, scriptEnv).run(action(kind, false), be, env, timeouts.hotplug().toMillis());
        } catch (IOException e) {
            rc = 127; // the script is gone: nothing to undo that it could have done
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (rc != 0) warnings.accept("hotplug script " + script + " remove for " + what + " failed (exit " + rc + ")");
    }

    private static List<String> backendPaths(XsClient.Tx tx, int domid) throws IOException {
        List<String> out = new ArrayList<>();
        String devices = home(domid) + "/device";
        if (!tx.exists(devices)) return out;
        for (String kind : tx.directory(devices)) {
            for (String dev : tx.directory(devices + "/" + kind)) {
                String link = devices + "/" + kind + "/" + dev + "/backend";
                if (tx.exists(link)) out.add(tx.readString(link));
            }
        }
        return out;
    }

    /**
     * libxl_domain_preserve: the shut-down domain is kept under {@code newName}, with a new uuid and vm path, so
     * that a new domain of the old name and uuid can be built beside it.
     */
    public void preserveDomain(int domid, String newName) throws IOException {
        String home = home(domid);
        UUID uuid = UUID.randomUUID();
        String vm = "/vm/" + uuid;
        XsPerms readOnly = XsPerms.of(new XsPerm(0, false, false), new XsPerm(domid, true, false));
        xs.transaction(tx -> {
            String old = tx.readOrNull(home + "/vm");
            if (old != null && tx.exists(old)) tx.rm(old);
            tx.mkdir(vm);
            tx.setPerms(vm, readOnly);
            tx.write(vm + "/uuid", uuid.toString());
            tx.write(vm + "/name", newName);
            tx.write(home + "/vm", vm);
            tx.write(home + "/name", newName);
            return null;
        });
    }

    /** libxl_domain_rename's store side: the name in the domain's home and in its vm path, in one transaction. */
    public void renameDomain(int domid, String name) throws IOException {
        String home = home(domid);
        xs.transaction(tx -> {
            tx.write(home + "/name", name);
            String vm = tx.exists(home + "/vm") ? tx.readString(home + "/vm") : null;
            if (vm != null && tx.exists(vm)) tx.write(vm + "/name", name);
            return null;
        });
    }

    /** libxl's LIBXL_MIN_DOM0_MEM: the lowest balloon target it sets for dom0, in KiB. */
    public static final long MIN_DOM0_KIB = 128 * 1024;

    /**
     * libxl__fill_dom0_memory_info, which libxl_set_memory_target runs for dom0: dom0 is built by no toolstack, so
     * its {@code memory/target} and {@code memory/static-max} exist only once a target has been set; each missing
     * one is written, {@code currentKiB} (what dom0 has now) and {@code maxKiB} (its ceiling), in one transaction.
     */
    public void fillDom0Memory(long currentKiB, long maxKiB) throws IOException {
        String home = home(0);
        xs.transaction(tx -> {
            if (tx.readOrNull(home + "/memory/target") == null) tx.write(home + "/memory/target", Long.toString(currentKiB));
            if (tx.readOrNull(home + "/memory/static-max") == null) {
                tx.write(home + "/memory/static-max", Long.toString(maxKiB));
            }
            return null;
        });
    }

    /**
     * libxl_set_memory_target's store side: the balloon driver's target, {@code memory/target} in KiB, refused
     * above {@code memory/static-max} as libxl refuses it.
     */
    public void setMemoryTarget(int domid, long targetKiB) throws IOException {
        if (domid == 0 && targetKiB < MIN_DOM0_KIB) {
            throw new IllegalArgumentException("New target " + targetKiB + " for dom0 is below the minimum threshold");
        }
        String home = home(domid);
        String max = xs.readOrNull(home + "/memory/static-max");
        if (max == null) throw new IllegalArgumentException("Cannot get memory info from " + home + "/memory/static-max");
        if (targetKiB > Long.parseLong(max)) {
            throw new IllegalArgumentException("memory_dynamic_max must be less than or equal to memory_static_max");
        }
        xs.write(home + "/memory/target", Long.toString(targetKiB));
    }

    /**
     * libxl_domain_setmaxmem's store side (Xen 4.17 writes {@code memory/static-max}, so that a later mem-set may
     * go up to it): refused below the balloon target {@code memory/target}, as libxl refuses it; the two read and
     * written in one transaction.
     */
    public void setMemoryMax(int domid, long maxKiB) throws IOException {
        String home = home(domid);
        xs.transaction(tx -> {
            String target = tx.readOrNull(home + "/memory/target");
            if (target == null) throw new IllegalArgumentException("Cannot get memory info from " + home + "/memory/target");
            long targetKiB;
            try {
                targetKiB = Long.parseUnsignedLong(target);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Invalid memory " + target + " from " + home + "/memory/target");
            }
            if (Long.compareUnsigned(maxKiB, targetKiB) < 0) {
                // libxl's words, its doubled "or" included.
                throw new IllegalArgumentException("memory_static_max must be greater than or or equal to memory_dynamic_max");
            }
            tx.write(home + "/memory/static-max", Long.toString(maxKiB));
            return null;
        });
    }

    /** Asks a guest to shut down ({@code poweroff}, {@code reboot}, ...), as libxl_domain_shutdown does. */
    public void requestShutdown(int domid, String how) throws IOException {
        xs.write(home(domid) + "/control/shutdown", how);
    }

    /**
     * libxl_set_vcpuonline for a PV domain: {@code cpu/N/availability} online for N below {@code count} and offline
     * for the rest of the domain's vCPUs, in one transaction; the guest's kernel brings them up or takes them down.
     * Refused (libxl's line) for 0 or for more than the domain has. Returns how many the domain has.
     */
    public int setVcpusOnline(int domid, int count) throws IOException, DeviceException {
        String cpus = home(domid) + "/cpu";
        int max = xs.exists(cpus) ? xs.directory(cpus).size() : 1;
        if (count == 0) throw new DeviceException("Domain " + domid + ":Requested 0 VCPUs!");
        if (count > max) {
            throw new DeviceException("Domain " + domid + ":Requested " + count + " VCPUs, however maxcpus is " + max + "!");
        }
        xs.transaction(tx -> {
            for (int cpu = 0; cpu < max; cpu++) tx.write(cpus + "/" + cpu + "/availability", cpu < count ? "online" : "offline");
            return null;
        });
        return max;
    }

    /** libxl_send_sysrq: the key in the guest's {@code control/sysrq}, which its kernel acts on and clears. */
    public void sendSysrq(int domid, char key) throws IOException {
        xs.write(home(domid) + "/control/sysrq", String.valueOf(key));
    }

    /**
     * libxl__domain_pvcontrol for a suspend: writes {@code control/shutdown = suspend} and waits for the guest's
     * acknowledgement (any other value, or the node gone). A guest that does not answer within {@code timeout}
     * (libxl: 60 s) has the request taken back in a transaction, unless it answered meanwhile, and a
     * DeviceException says so.
     */
    public void requestSuspend(int domid, Duration timeout) throws IOException, DeviceException, InterruptedException {
        String node = home(domid) + "/control/shutdown";
        xs.write(node, "suspend");
        if (XsWait.until(xs, node, timeout, v -> !"suspend".equals(v)) != null || !xs.exists(node)) return;
        boolean cancelled = xs.transaction(tx -> {
            if (!"suspend".equals(tx.readOrNull(node))) return false;
            tx.write(node, "");
            return true;
        });
        if (cancelled) throw new DeviceException("guest didn't acknowledge suspend, cancelling request");
    }

    /** The name in a domain's home, or null (libxl_domid_to_name). */
    public String domainName(int domid) throws IOException {
        return xs.readOrNull(home(domid) + "/name");
    }

    /**
     * xl's DOM argument as a domain id: a number with a home in the store, or the name in some domain's home
     * (libxl_name_to_domid).
     */
    public int domid(String dom) throws IOException {
        if (dom.matches("[0-9]+")) {
            // Compared as written: "01" or an id beyond int names no domain.
            if (xs.exists(DOMAINS + "/" + dom)) return Integer.parseInt(dom);
        } else {
            for (String id : xs.directory(DOMAINS)) {
                if (dom.equals(xs.readOrNull(DOMAINS + "/" + id + "/name"))) return Integer.parseInt(id);
            }
        }
        throw new IllegalArgumentException(invalidDomain(dom));
    }

    /**
     * xl's find_domain line for a DOM that names no domain. A name no domain has is libxl_name_to_domid's
     * ERROR_INVAL, which xl prints; a number xl takes as it is (libxl_domain_qualifier_to_domid does not look it
     * up) and each command then fails its own way, where jxen says the same line without the code.
     */
    public static String invalidDomain(String dom) {
        return dom + " is an invalid domain identifier" + (dom.matches("[0-9]*") ? "" : " (rc=-6)");
    }

    // ---- devices ----

    public void addDevice(int domid, DeviceSpec d) throws IOException, DeviceException, InterruptedException {
        DevicePaths paths = DevicePaths.of(domid, d);
        String fe = paths.frontend();
        String be = paths.backend();
        String what = d.kind() + " " + d.devid() + " of domain " + domid;
        if (!xs.exists(home(domid))) throw new DeviceException("domain " + domid + " does not exist");
        if (!xs.exists(home(d.backendDomid()))) {
            throw new DeviceException("backend domain " + d.backendDomid() + " does not exist");
        }
        XsPerms feperms = XsPerms.of(new XsPerm(domid, false, false), new XsPerm(d.backendDomid(), true, false));
        XsPerms beperms = XsPerms.of(new XsPerm(d.backendDomid(), false, false), new XsPerm(domid, true, false));
        // The backend's per-guest directory (backend/K/U) is made first, outside the transaction: creating it
        // inside would add a child to backend/K, which every concurrent add for another guest also changes, so
        // all of them would conflict with each other (EAGAIN) and re-run one at a time. MKDIR of an existing
        // node changes nothing; the node is the same as the transaction would have made (same connection, same
        // parent), and the transaction still creates it should a concurrent remove have taken it meanwhile.
        xs.mkdir(paths.backendParent());
        boolean written = xs.transaction(tx -> {
            if (tx.exists(fe) || tx.exists(be)) return false;
            // The rest pipelined, as the domain's build (writeDomainNodes): sent at once, waited for at the commit.
            tx.mkdirLater(fe);
            tx.setPermsLater(fe, feperms);
            tx.writeLater(fe + "/backend", be);
            tx.writeLater(fe + "/backend-id", Integer.toString(d.backendDomid()));
            tx.writeLater(fe + "/state", Integer.toString(STATE_INITIALISING));
            tx.mkdirLater(be);
            tx.setPermsLater(be, beperms);
            tx.writeLater(be + "/frontend", fe);
            tx.writeLater(be + "/frontend-id", Integer.toString(domid));
            tx.writeLater(be + "/online", "1");
            for (var e : new TreeMap<>(d.frontendNodes()).entrySet()) tx.writeLater(fe + "/" + e.getKey(), e.getValue());
            for (var e : new TreeMap<>(d.backendNodes()).entrySet()) tx.writeLater(be + "/" + e.getKey(), e.getValue());
            tx.writeLater(be + "/state", Integer.toString(STATE_INITIALISING));
            return true;
        });
        if (!written) throw new DeviceException(what + " already exists");
        try {
            awaitInitWait(be, what);
            hotplugAdd(d.kind(), be, what, scriptOf(d.kind(), d.backendNodes().get("script")));
        } catch (DeviceException | IOException | InterruptedException e) {
            removePaths(paths);
            throw e;
        }
    }

    private void awaitInitWait(String be, String what) throws IOException, DeviceException, InterruptedException {
        String state = XsWait.until(xs, be + "/state", timeouts.initWait(),
                v -> v == null || stateOf(v) >= STATE_INIT_WAIT);
        if (state == null) {
            throw new DeviceException("backend " + be + " of " + what + " did not reach InitWait within "
                    + seconds(timeouts.initWait()) + " (is its backend driver loaded?)");
        }
        int s = stateOf(state);
        if (s > STATE_CONNECTED) {
            String error = backendError(be);
            throw new DeviceException("backend " + be + " of " + what + " went to state " + s
                    + (error != null ? ": " + error : ""));
        }
    }

    /**
     * The device's hotplug script: the backend's {@code script} node (what libxl runs: a vif's, a disk's
     * {@code script=}), else the one configured for its class; null if it has none.
     */
    private Path scriptFor(String kind, String be) throws IOException {
        return scriptOf(kind, xs.readOrNull(be + "/script"));
    }

    /** The script for a {@code script} node's value (null: no node), read or known from what was written. */
    private Path scriptOf(String kind, String node) {
        if (node != null && !node.isBlank()) return Path.of(node.strip());
        return scripts.get(kind);
    }

    /**
     * libxl__get_hotplug_script_info: a vif's script is run with {@code online}/{@code offline} and
     * {@code vif=vif<domid>.<devid>} (or the backend's {@code vifname}) and {@code script} in its environment;
     * others with {@code add}/{@code remove}.
     */
    private Map<String, String> hotplugEnv(String kind, String be, Path script) throws IOException {
        if (!kind.equals("vif")) return Map.of();
        String vifname = xs.readOrNull(be + "/vifname");
        String[] parts = be.split("/");
        String vif = vifname != null ? vifname.strip() : "vif" + parts[parts.length - 2] + "." + parts[parts.length - 1];
        return Map.of("vif", vif, "script", script.toString(), "netdev", "");
    }

    private static String action(String kind, boolean add) {
        return kind.equals("vif") ? (add ? "online" : "offline") : (add ? "add" : "remove");
    }

    /** What the backend reported on its error node (xenbus_dev_error: "<errno> <message>"), without the errno. */
    private String backendError(String be) throws IOException {
        int at = be.indexOf("/backend/");
        if (at < 0) return null;
        String v = xs.readOrNull(be.substring(0, at) + "/error" + be.substring(at) + "/error");
        return v == null ? null : v.strip().replaceFirst("^[0-9]+ ", "");
    }

    /** Runs {@code script} (null: none) with add/online, as libxl does once the backend reached InitWait. */
    private void hotplugAdd(String kind, String be, String what, Path script)
            throws IOException, DeviceException, InterruptedException {
        if (script == null) return;
        hotplugListener.accept(script.getFileName() + " " + action(kind, true), be);
        HotplugScript.Running run;
        try {
            run = new HotplugScript(script, scriptEnv).start(action(kind, true), be, hotplugEnv(kind, be, script));
        } catch (IOException e) {
            throw new DeviceException("hotplug script " + script + " for " + what + " cannot be run: "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
        }
        Process p = run.process();
        try {
            // A script that fails before writing hotplug-status ends the wait early (libxl checks its exit too).
            String status = XsWait.until(xs, be + "/hotplug-status", timeouts.hotplug(),
                    v -> "connected".equals(v) || "error".equals(v),
                    p.onExit().thenCompose(q -> q.exitValue() != 0
                            ? CompletableFuture.completedFuture(null) : new CompletableFuture<Void>()));
            if ("connected".equals(status)) return;
            String error = xs.readOrNull(be + "/hotplug-error");
            boolean failed = !p.isAlive() && p.exitValue() != 0;
            if ("error".equals(status) || failed) {
                // One report, the same whichever the toolstack saw first: the script's hotplug-error, else its
                // last line of output, else its exit code.
                if (error == null && !p.isAlive()) error = run.lastLine();
                throw new DeviceException("hotplug script " + script + " " + action(kind, true) + " failed for " + what
                        + (error != null ? ": " + error : failed ? " (exit " + p.exitValue() + ")" : ": no hotplug-error given"));
            }
            throw new DeviceException("hotplug script " + script + " " + action(kind, true) + " for " + what + " did not write hotplug-status"
                    + " within " + seconds(timeouts.hotplug()));
        } finally {
            // libxl kills a script that outlives its timeout; one that reported already is left to finish.
            if (!p.waitFor(1, TimeUnit.SECONDS)) p.destroyForcibly();
            run.close();
        }
    }

    /**
     * How a removal treats a backend that does not close (libxl's libxl__force): {@code AUTO} removes the device
     * anyway once the wait is over (libxl_device_*_remove, and block-detach before Xen 4.15); {@code SAFE} fails
     * and leaves the device (libxl_device_disk_safe_remove, xl block-detach since 4.15); {@code FORCE} removes the
     * frontend's directory first, so the guest loses the device at once, and the rest whatever the backend does
     * (libxl_device_*_destroy, xl block-detach -f).
     */
    public enum Removal { AUTO, SAFE, FORCE }

    public void removeDevice(int domid, DeviceSpec d) throws IOException, DeviceException, InterruptedException {
        removeDevice(domid, d, Removal.AUTO);
    }

    public void removeDevice(int domid, DeviceSpec d, Removal how) throws IOException, DeviceException, InterruptedException {
        DevicePaths paths = DevicePaths.of(domid, d);
        String fe = paths.frontend();
        String be = paths.backend();
        String what = d.kind() + " " + d.devid() + " of domain " + domid;
        boolean present = xs.transaction(tx -> {
            boolean beExists = tx.exists(be);
            if (!beExists && !tx.exists(fe)) return false;
            if (how == Removal.FORCE && tx.exists(fe)) tx.rm(fe);
            if (beExists) {
                tx.write(be + "/online", "0");
                String s = tx.readOrNull(be + "/state");
                if (s == null) s = "";
                if (stateOf(s) != STATE_CLOSED) tx.write(be + "/state", Integer.toString(STATE_CLOSING));
            }
            return true;
        });
        if (!present) throw new DeviceException("no " + what);
        Path script = scriptFor(d.kind(), be);
        Map<String, String> env = script == null ? Map.of() : hotplugEnv(d.kind(), be, script);
        String state = XsWait.until(xs, be + "/state", timeouts.close(), v -> v == null || stateOf(v) == STATE_CLOSED);
        // Null is both a state node gone (a backend already removed: done) and the time running out: read again.
        if (state == null) state = xs.readOrNull(be + "/state");
        boolean closed = state == null || stateOf(state) == STATE_CLOSED;
        if (!closed && how == Removal.SAFE) {
            // libxl's device_backend_callback without force: no hotplug script, nothing removed; the backend was
            // asked to close (online 0, Closing) and may still do so.
            throw new DeviceException("unable to remove device with path " + be + " (its backend did not close within "
                    + seconds(timeouts.close()) + ")");
        }
        if (script != null) hotplugRemove(d.kind(), be, script, env, what);
        if (!closed) {
            if (how == Removal.AUTO) {
                warnings.accept("backend " + be + " of " + what + " did not close within " + seconds(timeouts.close())
                        + "; forcing removal (frontend first)");
            }
            xs.rm(fe);
            xs.rm(be);
            removeEmptyParent(paths);
            // Forced from the start, the removal is done but reported as having timed out, as libxl does.
            if (how == Removal.FORCE) {
                throw new DeviceException("unable to remove device with path " + be + " (its backend did not close within "
                        + seconds(timeouts.close()) + "; removed anyway)");
            }
            return;
        }
        removePaths(paths);
    }

    /**
     * libxl__device_destroy: frontend then backend, in one transaction, and the backend's empty parent in a
     * second, short one. Removing the parent changes backend/K, which every other guest's cleanup changes too:
     * those conflict with each other, so they are kept as small as possible (four requests), and the removal of
     * the device itself, which only conflicts with the same guest's devices, is not re-run with them.
     */
    private void removePaths(DevicePaths paths) throws IOException {
        xs.transaction(tx -> {
            if (tx.exists(paths.frontend())) tx.rm(paths.frontend());
            if (tx.exists(paths.backend())) tx.rm(paths.backend());
            return null;
        });
        removeEmptyParent(paths);
    }

    /**
     * Best effort, as libxl__xs_path_cleanup: the device is gone already, and an empty directory left behind is
     * harmless (the next add reuses it, the next removal retries). With a thousand guests detaching at once
     * these cleanups all conflict on backend/K; running out of retries must not fail the detach.
     */
    private void removeEmptyParent(DevicePaths paths) throws IOException {
        String parent = paths.backendParent();
        // libxl retries without end; a few rounds of the client's attempts, as about one removal in a few
        // thousand lost all 64 of one round when a thousand guests detached at once.
        XenStoreException conflict = null;
        for (int round = 0; round < PARENT_CLEANUP_ROUNDS; round++) {
            try {
                xs.transaction(tx -> {
                    if (tx.exists(parent) && tx.directory(parent).isEmpty()) tx.rm(parent);
                    return null;
                });
                return;
            } catch (XenStoreException e) {
                if (e.error() != XsError.EAGAIN) throw e;
                conflict = e;
            }
        }
        warnings.accept("left empty " + parent + " behind: its removal kept conflicting (" + conflict.getMessage()
                + ")");
    }

    /** Rounds of {@link XsClient#MAX_TRANSACTION_ATTEMPTS} for the best-effort removal of a backend's parent. */
    private static final int PARENT_CLEANUP_ROUNDS = 4;

    /** libxl__device_nextid: one more than the highest id among the domain's devices of class {@code kind}. */
    public int nextDeviceId(int domid, String kind) throws IOException {
        int next = 0;
        for (int id : deviceIds(domid, kind)) next = Math.max(next, id + 1);
        return next;
    }

    /**
     * The device of class {@code kind} with id {@code devid}, its backend domain read from the frontend's
     * {@code backend-id} (dom0 when the frontend does not say), or null when neither directory exists.
     */
    public DeviceSpec device(int domid, String kind, int devid) throws IOException {
        String beId = xs.readOrNull(deviceDir(domid, kind) + "/" + devid + "/backend-id");
        DeviceSpec d = new DeviceSpec(kind, devid, beId == null ? 0 : Integer.parseInt(beId.strip()));
        DevicePaths paths = DevicePaths.of(domid, d);
        return xs.exists(paths.frontend()) || xs.exists(paths.backend()) ? d : null;
    }

    /** The domain's devices of class {@code kind} by id, as their frontend directories describe them. */
    public List<DeviceInfo> listDevices(int domid, String kind) throws IOException {
        List<DeviceInfo> out = new ArrayList<>();
        for (int id : deviceIds(domid, kind)) {
            String fe = deviceDir(domid, kind) + "/" + id;
            String evt = read(fe + "/event-channel", read(fe + "/queue-0/event-channel", "-1"));
            String ref = read(fe + "/ring-ref", read(fe + "/ring-ref0",
                    read(fe + "/queue-0/ring-ref", read(fe + "/queue-0/ring-ref0", "-1"))));
            out.add(new DeviceInfo(id, number(read(fe + "/backend-id", "-1")), domid, number(read(fe + "/state", "-1")),
                    number(evt), number(ref), read(fe + "/backend", "")));
        }
        return out;
    }

    /** The numeric entries of the domain's device/K directory, in order. */
    private List<Integer> deviceIds(int domid, String kind) throws IOException {
        String dir = deviceDir(domid, kind);
        List<Integer> ids = new ArrayList<>();
        if (!xs.exists(dir)) return ids;
        for (String n : xs.directory(dir)) if (n.matches("[0-9]+")) ids.add(Integer.parseInt(n));
        ids.sort(null);
        return ids;
    }

    private String read(String path, String dflt) throws IOException {
        String v = xs.readOrNull(path);
        return v == null ? dflt : v;
    }

    private static int number(String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static int stateOf(String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
