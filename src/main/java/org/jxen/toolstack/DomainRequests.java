package org.jxen.toolstack;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.ShutdownReason;

/**
 * The control socket's requests about domains ({@link ControlServer} hands them over), each answered with
 * tab-separated data lines that xl formats:
 *
 * <pre>
 * list [DOM]          NAME ID MiB VCPUS FLAGS CPU-SECONDS        (FLAGS: xl's rbpscd, {@link XlState})
 * list-verbose [DOM]  as list, then UUID REASON                  (REASON: the shutdown code in hex, or -)
 * list-long [DOM]     the JSON of xl list -l, line by line
 * info                NAME VALUE                                  (xl info's fields, {@link HostInfo})
 * uptime [DOM ...]    NAME ID SECONDS
 * vcpu-list [DOM ...] NAME ID VCPU CPU STATE CPU-SECONDS ONLINE  (STATE: r, b or p; ONLINE: 1 or 0)
 * pause DOM | unpause DOM | reboot DOM | rename DOM NEWNAME
 * wait DOM            blocks until DOM shuts down ("shutdown CODE") or is destroyed ("destroyed"); by id, also
 *                     for a domain that is already gone
 * </pre>
 */
final class DomainRequests {
    /** A control request's reply lines. */
    interface Sink {
        void line(String line) throws IOException;
    }

    /** DOM as a domain id (ControlServer's lookup: a number, Domain-0 or a guest's name). */
    interface Resolver {
        int resolve(String dom) throws ControlException;
    }

    private final Host host;
    private final Resolver resolver;

    DomainRequests(Host host, Resolver resolver) {
        this.host = host;
        this.resolver = resolver;
    }

    /** Answers {@code req} if it is one of these requests; false if it is not. */
    boolean handle(String[] req, Sink out) throws IOException, ControlException, HypercallException, InterruptedException {
        String[] a = java.util.Arrays.copyOfRange(req, 1, req.length);
        switch (req[0]) {
            case "list" -> {
                for (DomainInfo d : domains(a)) out.line(row(d));
            }
            case "list-verbose" -> {
                for (DomainInfo d : domains(a)) out.line(row(d) + "\t" + uuid(d.domid()) + "\t" + reasonCode(d));
            }
            case "list-long" -> {
                for (String l : DomainJson.of(host, domains(a)).split("\n")) out.line(l);
            }
            case "info" -> {
                for (String[] f : HostInfo.fields(host)) out.line(f[0] + "\t" + f[1]);
            }
            case "uptime" -> {
                Instant now = Instant.now();
                for (DomainInfo d : domains(a)) {
                    long s = Duration.between(host.startTime(d.domid()), now).toSeconds();
                    out.line(name(d.domid()) + "\t" + d.domid() + "\t" + Math.max(0, s));
                }
            }
            case "vcpu-list" -> {
                for (DomainInfo d : domains(a)) vcpus(d, out);
            }
            case "pause" -> pause(resolver.resolve(one(req, a)), true);
            case "unpause" -> pause(resolver.resolve(one(req, a)), false);
            case "reboot" -> host.libxl().requestShutdown(guest(one(req, a), "reboot"), "reboot");
            case "rename" -> {
                if (a.length != 2) throw new ControlException("rename takes 2 arguments");
                host.rename(guest(a[0], "rename"), a[1]);
            }
            case "wait" -> {
                // By id, the domain may be gone already: its death is still known.
                String dom = one(req, a);
                out.line(awaitDeath(dom.matches("[0-9]{1,9}") ? Integer.parseInt(dom) : guest(dom, "wait for")));
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    /**
     * libxl_domain_pause/unpause: a refusal in libxl's words, its LOGED line with strerror's text (unpausing a
     * domain that is not paused, or pausing dom0, the caller itself: EINVAL, as Xen's domctl answers).
     */
    private void pause(int domid, boolean pause) throws ControlException {
        try {
            if (domid == 0) throw new HypercallException(Errno.EINVAL, "dom0 cannot pause itself");
            if (pause) host.pause(domid);
            else host.unpause(domid);
        } catch (HypercallException e) {
            throw new ControlException("libxl: error: Domain " + domid + ":" + (pause ? "Pausing" : "Unpausing")
                    + " domain " + domid + ": " + e.errno().strerror());
        }
    }

    private static String one(String[] req, String[] a) throws ControlException {
        if (a.length != 1) throw new ControlException(req[0] + " takes 1 argument");
        return a[0];
    }

    private int guest(String dom, String verb) throws ControlException {
        int id = resolver.resolve(dom);
        if (id == 0) throw new ControlException("cannot " + verb + " privileged domain 0");
        return id;
    }

    /** All domains, or those named, in the order named. */
    private List<DomainInfo> domains(String[] doms) throws ControlException, HypercallException {
        List<DomainInfo> all = host.domains();
        if (doms.length == 0) return all;
        List<DomainInfo> out = new ArrayList<>();
        for (String dom : doms) {
            int id = resolver.resolve(dom);
            all.stream().filter(d -> d.domid() == id).findFirst().ifPresent(out::add);
        }
        return out;
    }

    private String name(int domid) {
        return domid == 0 ? "Domain-0" : host.nameOf(domid);
    }

    private String row(DomainInfo d) {
        return String.join("\t", name(d.domid()), Integer.toString(d.domid()), Long.toString(memoryKiB(d) / 1024),
                Integer.toString(d.onlineVcpus()), XlState.flags(d), seconds(host.cpuTime(d.domid())));
    }

    /** The domain's uuid, from its vm path as libxl wrote it (dom0's: all zeros, as on Xen). */
    private String uuid(int domid) throws IOException {
        String vm = host.xenstore().readOrNull(Libxl.home(domid) + "/vm");
        if (vm == null) return "00000000-0000-0000-0000-000000000000";
        return vm.substring(vm.lastIndexOf('/') + 1);
    }

    /** xl list -v's Reason-Code: a shut-down domain's reason in hex, else "-". */
    private static String reasonCode(DomainInfo d) {
        return d.state() == DomainState.SHUTDOWN && d.shutdownReason() != null
                ? Integer.toHexString(d.shutdownReason().code) : "-";
    }

    /** A guest's memory is its allocation; dom0's, the host process's resident memory (what dom0 holds). */
    static long memoryKiB(DomainInfo d) {
        if (d.domid() == 0) {
            long rss = residentKiB();
            if (rss > 0) return rss;
        }
        return (long) d.memoryPages() * 4;
    }

    private static long residentKiB() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the hypervisor's count
        }
        return -1;
    }

    private static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.3f", d.toNanos() / 1e9);
    }

    /**
     * xl vcpu-list: a jxen domain runs its guest code on vCPU 0 (its event thread and the commands run on it); the
     * others its kernel brought up (cpu/N/availability online, docs/host.md) are online and idle, blocked with no
     * time of their own, and the rest of its {@code maxvcpus} offline. The CPU column is the physical CPU the
     * domain's process last ran on (Linux's /proc/PID/stat).
     */
    private void vcpus(DomainInfo d, Sink out) throws IOException {
        Host.Guest g = host.guests().stream().filter(x -> x.domid() == d.domid()).findFirst().orElse(null);
        long pid = g != null && g.process() != null ? g.process().pid() : ProcessHandle.current().pid();
        String state = d.state() == DomainState.PAUSED ? "p" : d.state() != DomainState.RUNNING ? "-"
                : d.blocked() ? "b" : "r";
        out.line(String.join("\t", name(d.domid()), Integer.toString(d.domid()), "0", Integer.toString(lastCpu(pid)),
                state, seconds(host.cpuTime(d.domid())), "1"));
        java.util.BitSet up = d.vcpusUp();
        String idle = d.state() == DomainState.PAUSED ? "p" : d.state() != DomainState.RUNNING ? "-" : "b";
        for (int v = 1; v < d.vcpus(); v++) {
            boolean online = up.get(v);
            out.line(String.join("\t", name(d.domid()), Integer.toString(d.domid()), Integer.toString(v),
                    online ? Integer.toString(lastCpu(pid)) : "0", online ? idle : "-", seconds(Duration.ZERO),
                    online ? "1" : "0"));
        }
    }

    /** Field 39 of /proc/PID/stat, counted after the parenthesised command name. */
    private static int lastCpu(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(f[36]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private String awaitDeath(int domid) throws InterruptedException, ControlException {
        try {
            ShutdownReason r = host.death(domid).get();
            return r == null ? "destroyed" : "shutdown " + r.code;
        } catch (ExecutionException e) {
            throw new ControlException("waiting for domain " + domid + ": " + e.getCause().getMessage());
        }
    }
}
