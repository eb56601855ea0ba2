package org.jxen.toolstack;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.XsClient;

/**
 * libxl's generic device add and remove (libxl_device.c), over any privileged XenStore connection: the host's
 * own, or an xl process's connection to the host's xenstored socket.
 *
 * <p>Add: one transaction writes the frontend directory {@code /local/domain/U/device/K/N} ({@code backend},
 * {@code backend-id}, {@code state=1}; owned by U, readable by the backend domain B) and the backend directory
 * {@code /local/domain/B/backend/K/U/N} ({@code frontend}, {@code frontend-id}, {@code online=1},
 * {@code state=1}; owned by B, readable by U); then wait for the backend to reach InitWait; then run the class's
 * hotplug script, if it has one, and wait for {@code hotplug-status}. A failed add is cleaned up.
 *
 * <p>Remove: one transaction writes {@code online=0} and backend {@code state=5} (unless already 6); wait for
 * state 6; run the script's remove; delete the frontend then the backend directory. A backend that never
 * reaches Closed is removed by force (frontend first), with a warning.
 */
public final class DeviceManager {
    static final int STATE_INITIALISING = 1;
    static final int STATE_INIT_WAIT = 2;
    static final int STATE_CONNECTED = 4;
    static final int STATE_CLOSING = 5;
    static final int STATE_CLOSED = 6;

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

    /**
     * @param scripts hotplug script per device class (classes without one need none, as mydevice)
     * @param scriptEnv extra environment for the scripts
     * @param warnings where forced removals and the like are reported (xl: stderr; the host: its log)
     */
    public DeviceManager(XsClient xs, Map<String, Path> scripts, Map<String, String> scriptEnv, Timeouts timeouts,
            Consumer<String> warnings) {
        this.xs = xs;
        this.scripts = Map.copyOf(scripts);
        this.scriptEnv = Map.copyOf(scriptEnv);
        this.timeouts = timeouts;
        this.warnings = warnings;
    }

    public static String frontendPath(int domid, DeviceSpec d) {
        return "/local/domain/" + domid + "/device/" + d.kind() + "/" + d.devid();
    }

    public static String backendPath(int domid, DeviceSpec d) {
        return "/local/domain/" + d.backendDomid() + "/backend/" + d.kind() + "/" + domid + "/" + d.devid();
    }

    public void add(int domid, DeviceSpec d) throws IOException, DeviceException, InterruptedException {
        String fe = frontendPath(domid, d);
        String be = backendPath(domid, d);
        String what = d.kind() + " " + d.devid() + " of domain " + domid;
        if (!xs.exists("/local/domain/" + domid)) throw new DeviceException("domain " + domid + " does not exist");
        if (!xs.exists("/local/domain/" + d.backendDomid())) {
            throw new DeviceException("backend domain " + d.backendDomid() + " does not exist");
        }
        XsPerms feperms = XsPerms.of(new XsPerm(domid, false, false), new XsPerm(d.backendDomid(), true, false));
        XsPerms beperms = XsPerms.of(new XsPerm(d.backendDomid(), false, false), new XsPerm(domid, true, false));
        // The backend's per-guest directory (backend/K/U) is made first, outside the transaction: creating it
        // inside would add a child to backend/K, which every concurrent add for another guest also changes, so
        // all of them would conflict with each other (EAGAIN) and re-run one at a time. MKDIR of an existing
        // node changes nothing; the node is the same as the transaction would have made (same connection, same
        // parent), and the transaction still creates it should a concurrent remove have taken it meanwhile.
        xs.mkdir(be.substring(0, be.lastIndexOf('/')));
        boolean written = xs.transaction(tx -> {
            if (tx.exists(fe) || tx.exists(be)) return false;
            tx.mkdir(fe);
            tx.setPerms(fe, feperms);
            tx.write(fe + "/backend", be);
            tx.write(fe + "/backend-id", Integer.toString(d.backendDomid()));
            tx.write(fe + "/state", Integer.toString(STATE_INITIALISING));
            tx.mkdir(be);
            tx.setPerms(be, beperms);
            tx.write(be + "/frontend", fe);
            tx.write(be + "/frontend-id", Integer.toString(domid));
            tx.write(be + "/online", "1");
            for (var e : new java.util.TreeMap<>(d.frontendNodes()).entrySet()) tx.write(fe + "/" + e.getKey(), e.getValue());
            for (var e : new java.util.TreeMap<>(d.backendNodes()).entrySet()) tx.write(be + "/" + e.getKey(), e.getValue());
            tx.write(be + "/state", Integer.toString(STATE_INITIALISING));
            return true;
        });
        if (!written) throw new DeviceException(what + " already exists");
        try {
            awaitInitWait(be, what);
            hotplugAdd(d.kind(), be, what);
        } catch (DeviceException | IOException | InterruptedException e) {
            removePaths(fe, be);
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
        if (s > STATE_CONNECTED) throw new DeviceException("backend " + be + " of " + what + " went to state " + s);
    }

    private void hotplugAdd(String kind, String be, String what) throws IOException, DeviceException, InterruptedException {
        Path script = scripts.get(kind);
        if (script == null) return;
        Process p = new HotplugScript(script, scriptEnv).start("add", be);
        try {
            // A script that fails before writing hotplug-status ends the wait early (libxl checks its exit too).
            String status = XsWait.until(xs, be + "/hotplug-status", timeouts.hotplug(),
                    v -> "connected".equals(v) || "error".equals(v),
                    p.onExit().thenCompose(q -> q.exitValue() != 0
                            ? CompletableFuture.completedFuture(null) : new CompletableFuture<Void>()));
            if ("connected".equals(status)) return;
            String error = xs.readOrNull(be + "/hotplug-error");
            if ("error".equals(status)) {
                throw new DeviceException("hotplug script " + script + " add failed for " + what + ": "
                        + (error != null ? error : "no hotplug-error given"));
            }
            if (!p.isAlive() && p.exitValue() != 0) {
                throw new DeviceException("hotplug script " + script + " add failed for " + what + " (exit "
                        + p.exitValue() + ")" + (error != null ? ": " + error : ""));
            }
            throw new DeviceException("hotplug script " + script + " add for " + what + " did not write hotplug-status"
                    + " within " + seconds(timeouts.hotplug()));
        } finally {
            // libxl kills a script that outlives its timeout; one that reported already is left to finish.
            if (!p.waitFor(1, TimeUnit.SECONDS)) p.destroyForcibly();
        }
    }

    public void remove(int domid, DeviceSpec d) throws IOException, DeviceException, InterruptedException {
        String fe = frontendPath(domid, d);
        String be = backendPath(domid, d);
        String what = d.kind() + " " + d.devid() + " of domain " + domid;
        boolean present = xs.transaction(tx -> {
            boolean beExists = tx.exists(be);
            if (!beExists && !tx.exists(fe)) return false;
            if (beExists) {
                tx.write(be + "/online", "0");
                String s = tx.readOrNull(be + "/state");
                if (s == null) s = "";
                if (stateOf(s) != STATE_CLOSED) tx.write(be + "/state", Integer.toString(STATE_CLOSING));
            }
            return true;
        });
        if (!present) throw new DeviceException("no " + what);
        String state = XsWait.until(xs, be + "/state", timeouts.close(),
                v -> v == null || stateOf(v) == STATE_CLOSED);
        Path script = scripts.get(d.kind());
        if (script != null) {
            int rc = new HotplugScript(script, scriptEnv).run("remove", be, timeouts.hotplug().toMillis());
            if (rc != 0) warnings.accept("hotplug script " + script + " remove for " + what + " failed (exit " + rc + ")");
        }
        if (state == null) {
            warnings.accept("backend " + be + " of " + what + " did not close within " + seconds(timeouts.close())
                    + "; forcing removal (frontend first)");
            xs.rm(fe);
            xs.rm(be);
            removeEmptyParent(be);
            return;
        }
        removePaths(fe, be);
    }

    /**
     * libxl__device_destroy: frontend then backend, in one transaction, and the backend's empty parent in a
     * second, short one. Removing the parent changes backend/K, which every other guest's cleanup changes too:
     * those conflict with each other, so they are kept as small as possible (four requests), and the removal of
     * the device itself, which only conflicts with the same guest's devices, is not re-run with them.
     */
    private void removePaths(String fe, String be) throws IOException {
        xs.transaction(tx -> {
            if (tx.exists(fe)) tx.rm(fe);
            if (tx.exists(be)) tx.rm(be);
            return null;
        });
        removeEmptyParent(be);
    }

    /**
     * Best effort, as libxl__xs_path_cleanup: the device is gone already, and an empty directory left behind is
     * harmless (the next add reuses it, the next removal retries). With a thousand guests detaching at once
     * these cleanups all conflict on backend/K; running out of retries must not fail the detach.
     */
    private void removeEmptyParent(String be) throws IOException {
        String parent = be.substring(0, be.lastIndexOf('/'));
        try {
            xs.transaction(tx -> {
                if (tx.exists(parent) && tx.directory(parent).isEmpty()) tx.rm(parent);
                return null;
            });
        } catch (XenStoreException e) {
            if (e.error() != XsError.EAGAIN) throw e;
            warnings.accept("left empty " + parent + " behind: its removal kept conflicting (" + e.getMessage() + ")");
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
