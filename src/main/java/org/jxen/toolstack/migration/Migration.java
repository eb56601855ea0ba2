package org.jxen.toolstack.migration;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.ShutdownReason;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.Host;

/**
 * The source side of {@code xl migrate} (xl_migrate.c's migrate_domain): connect to the target's listener,
 * wait for its banner, stream the domain ({@link DomainSender}), wait for "ready", give permission, wait for
 * the result, then destroy the source's copy. Until the permission is given any failure resumes the guest here
 * with suspend cancelled (the target destroys its half-built copy when its stream ends early); a target that
 * reports it could not start it likewise. Only a connection lost after the permission leaves the outcome
 * unknown here (xl: "Domain state is now undefined"): the source's copy then stays suspended, so that the guest
 * never runs twice.
 */
public final class Migration {
    /** How long a step of the handshake may take (the target builds devices, runs hotplug scripts). */
    static final Duration STEP_TIMEOUT = Duration.ofSeconds(120);
    /**
     * Socket buffer of either end: what may be in flight when the guest stops, read by the target in its downtime.
     * Small, also because it is what lets a target refuse before the guest is suspended: the target reads no page
     * before its devices are built, so the sender blocks on a full buffer until the target has either built them
     * or refused. With 4 MiB a small guest's whole first round fitted in flight and it was suspended (then
     * cancelled) before the refusal came; the stream was 1.1 GB/s against 0.8 (docs/bench.md). Larger buffers
     * need the target to say so first that it takes pages.
     */
    static final int SOCKET_BUFFER = 256 << 10;

    /** What a migration or save did: pages per round (the last is stop-and-copy), its downtime and total time. */
    public record Result(List<Long> pagesPerRound, long bytes, Duration downtime, Duration total) {
        public long pages() {
            return pagesPerRound.stream().mapToLong(Long::longValue).sum();
        }
    }

    private Migration() {}

    public static Result migrate(Host host, int domid, InetSocketAddress target, boolean live, Duration ackTimeout,
            Consumer<String> progress) throws IOException, InterruptedException {
        return migrate(host, domid, target, live, ackTimeout, progress, () -> { });
    }

    /** {@link #migrate}, running {@code beforeDestroy} once the target runs the guest, before the source's copy goes. */
    public static Result migrate(Host host, int domid, InetSocketAddress target, boolean live, Duration ackTimeout,
            Consumer<String> progress, Runnable beforeDestroy) throws IOException, InterruptedException {
        long start = System.nanoTime();
        String name = host.nameOf(domid);
        try (Socket s = new Socket()) {
            // A small send buffer: the stream's backlog, which the target reads after the guest stopped, stays small.
            s.setSendBufferSize(SOCKET_BUFFER);
            s.connect(target, (int) Duration.ofSeconds(10).toMillis());
            s.setSoTimeout((int) STEP_TIMEOUT.toMillis());
            s.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), 1 << 20);
            MigrationProtocol.expect(in, MigrationProtocol.BANNER);
            DomainSender.Stats st;
            try {
                // The target refuses as soon as it can (a device it cannot build): its ERROR line stops the stream.
                st = DomainSender.send(host, domid, out, live, ackTimeout, progress, () -> {
                    if (in.available() > 0) MigrationProtocol.expect(in, MigrationProtocol.READY);
                });
                out.flush();
                long sent = System.nanoTime();
                MigrationProtocol.expect(in, MigrationProtocol.READY);
                progress.accept(String.format(java.util.Locale.ROOT, "suspended to stream sent %.1f ms, to target ready %.1f ms",
                        (sent - st.suspendedAtNanos()) / 1e6, (System.nanoTime() - st.suspendedAtNanos()) / 1e6));
            } catch (IOException | HypercallException | DeviceException | RuntimeException e) {
                String why = e.getMessage() != null ? e.getMessage() : e.toString();
                if (e instanceof java.net.SocketException) why = targetsReason(s, in, why);
                throw new IOException("migration of " + name + " failed: " + why + "; " + resumeHere(host, domid));
            }
            progress.accept("migration sender: Target has acknowledged transfer.");
            progress.accept("migration sender: Giving target permission to start.");
            MigrationProtocol.send(out, MigrationProtocol.GO);
            int status;
            try {
                MigrationProtocol.expect(in, MigrationProtocol.RESULT);
                status = in.read();
            } catch (IOException e) {
                throw new IOException("Domain state is now undefined: the connection to the target failed after it was"
                        + " cleared to start " + name + " (" + e.getMessage() + "); domain " + domid
                        + " stays suspended here: check the target, then destroy one copy");
            }
            if (status != 0) {
                throw new IOException("migration sender: Target reported startup failure (" + status + "); "
                        + resumeHere(host, domid));
            }
            long running = System.nanoTime();
            progress.accept("migration sender: Target reports successful startup.");
            beforeDestroy.run();
            try {
                host.destroy(domid);
            } catch (HypercallException e) {
                progress.accept("destroying the source's copy: " + e.getMessage());
            }
            return new Result(st.pagesPerRound(), st.bytes(), Duration.ofNanos(running - st.suspendedAtNanos()),
                    Duration.ofNanos(System.nanoTime() - start));
        } catch (java.net.ConnectException e) {
            throw new IOException("cannot connect to the migration target " + target + ": " + e.getMessage());
        }
    }

    /** What becomes of a saved domain: xl save destroys it, -c leaves it running, -p leaves it paused. */
    public enum AfterSave { DESTROY, RUN, PAUSE }

    /**
     * xl save: the domain's image into {@code out}; then it is destroyed, or resumed with suspend cancelled, running
     * (-c) or paused (-p, as save_domain pauses it before libxl_domain_resume). A failure resumes it, so it goes on
     * running here.
     */
    public static Result save(Host host, int domid, OutputStream out, AfterSave after, Duration ackTimeout,
            Consumer<String> progress, Runnable beforeDestroy) throws IOException, InterruptedException {
        long start = System.nanoTime();
        DomainSender.Stats st;
        try {
            st = DomainSender.send(host, domid, out, false, ackTimeout, progress);
            out.flush();
        } catch (IOException | HypercallException | DeviceException | RuntimeException e) {
            String why = e.getMessage() != null ? e.getMessage() : e.toString();
            throw new IOException("saving " + host.nameOf(domid) + " failed: " + why + "; " + resumeHere(host, domid));
        }
        try {
            switch (after) {
                case RUN -> host.resume(domid, true);
                case PAUSE -> {
                    host.pause(domid);
                    host.resume(domid, true);
                }
                case DESTROY -> {
                    beforeDestroy.run();
                    host.destroy(domid);
                }
            }
        } catch (HypercallException e) {
            throw new IOException(e.getMessage());
        }
        long now = System.nanoTime();
        return new Result(st.pagesPerRound(), st.bytes(), Duration.ofNanos(now - st.suspendedAtNanos()),
                Duration.ofNanos(now - start));
    }

    /** After a write failed: the target's ERROR line if it sent one before it closed, else {@code why}. */
    private static String targetsReason(Socket s, InputStream in, String why) {
        try {
            s.setSoTimeout(2000);
            String l = MigrationProtocol.read(in);
            return l.startsWith(MigrationProtocol.ERROR) ? "the target refused it: " + l.substring(MigrationProtocol.ERROR.length()) : why;
        } catch (IOException e) {
            return why;
        }
    }

    /** After a failure: the guest resumes here with suspend cancelled if it had suspended; says where it runs. */
    static String resumeHere(Host host, int domid) {
        try {
            DomainInfo info = host.dom0().domainControl().info(domid);
            if (info.state() == DomainState.SHUTDOWN && info.shutdownReason() == ShutdownReason.SUSPEND) {
                host.resume(domid, true);
                return "the guest runs on here (suspend cancelled)";
            }
            // A paused guest cannot answer a suspend request: it stays as it was, paused.
            if (info.state() == DomainState.PAUSED) return "the guest stays here, paused (it was not suspended)";
            return "the guest runs on here (it was not suspended)";
        } catch (HypercallException | IOException e) {
            return "resuming it here failed: " + e.getMessage();
        }
    }
}
