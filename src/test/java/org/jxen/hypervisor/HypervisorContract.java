package org.jxen.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.tuple;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.jxen.libc.Libc;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The behaviour both implementations must share. Dom0 is always the host's in-process view; guests use the
 * implementation under test, so every guest-side hypercall crosses it.
 */
public abstract class HypervisorContract {
    @TempDir
    Path dir;
    protected HvFixture fx;
    protected Hypercalls dom0;
    protected DomainControl ctl;

    protected abstract HvFixture fixture(Path dir) throws Exception;

    /** The event-channel ABI of every domain in this run; a subclass runs the whole contract on FIFO. */
    protected EventAbi abi() {
        return EventAbi.TWO_LEVEL;
    }

    @BeforeEach
    void start() throws Exception {
        fx = fixture(dir);
        dom0 = fx.dom0();
        ctl = dom0.domainControl();
    }

    @AfterEach
    void stop() throws Exception {
        Path shared = dir.resolve(SharedMemoryDir.LINK).toRealPath();
        assertThat(shared.getParent()).as("domain files live on tmpfs").isEqualTo(SharedMemoryDir.TMPFS);
        fx.close();
        try (var files = Files.list(dir)) {
            assertThat(files.filter(p -> !p.getFileName().toString().equals(RunDir.SOCKET)).toList())
                    .as("the shm link is gone once the hypervisor is closed").isEmpty();
        }
        assertThat(shared).as("and so is the shared directory with every domain file").doesNotExist();
    }

    protected Hypercalls guest() throws Exception {
        int id = ctl.createDomain(16, 1);
        ctl.unpause(id);
        return fx.connect(id);
    }

    protected static void assertErrno(Errno expected, ThrowingCallable call) {
        Throwable t = catchThrowable(call);
        assertThat(t).isInstanceOf(HypercallException.class);
        assertThat(((HypercallException) t).errno()).isEqualTo(expected);
    }

    static void assertGntst(GrantStatus expected, ThrowingCallable call) {
        Throwable t = catchThrowable(call);
        assertThat(t).isInstanceOf(GrantException.class);
        assertThat(((GrantException) t).status()).isEqualTo(expected);
    }

    static int take(BlockingQueue<Integer> q) throws InterruptedException {
        Integer port = q.poll(20, TimeUnit.SECONDS);
        assertThat(port).as("an event arrives").isNotNull();
        return port;
    }

    // ---- domains

    @Test
    void dom0IsPrivilegedAndRunning() throws Exception {
        DomainInfo info = ctl.info(0);
        assertThat(info.privileged()).isTrue();
        assertThat(info.state()).isEqualTo(DomainState.RUNNING);
        assertThat(dom0.domid()).isZero();
    }

    @Test
    void domainIdsCountUpSkipInUseAndWrapBelowTheReserved() throws Exception {
        assertThat(ctl.createDomain(4, 1)).isEqualTo(1);
        assertThat(ctl.createDomain(4, 1)).isEqualTo(2);
        ctl.destroy(1);
        assertThat(ctl.createDomain(4, 1)).as("ids are not reused at once").isEqualTo(3);
        fx.hypervisor().setRover(Hypervisor.DOMID_FIRST_RESERVED - 2);
        assertThat(ctl.createDomain(4, 1)).isEqualTo(0x7FEF);
        assertThat(ctl.createDomain(4, 1)).as("wraps to 1, which is free again").isEqualTo(1);
        assertThat(ctl.createDomain(4, 1)).as("2 and 3 are in use").isEqualTo(4);
    }

    @Test
    void domainsAreCreatedPausedAndPauseCounts() throws Exception {
        int id = ctl.createDomain(8, 2);
        DomainInfo info = ctl.info(id);
        assertThat(info.state()).isEqualTo(DomainState.PAUSED);
        assertThat(info.memoryPages()).isEqualTo(8);
        assertThat(info.vcpus()).isEqualTo(2);
        assertThat(info.privileged()).isFalse();
        ctl.unpause(id);
        assertThat(ctl.info(id).state()).isEqualTo(DomainState.RUNNING);
        assertErrno(Errno.EINVAL, () -> ctl.unpause(id));
        ctl.pause(id);
        ctl.pause(id);
        ctl.unpause(id);
        assertThat(ctl.info(id).state()).isEqualTo(DomainState.PAUSED);
        ctl.unpause(id);
        assertThat(ctl.info(id).state()).isEqualTo(DomainState.RUNNING);
    }

    @Test
    void invalidDomainControlArguments() throws Exception {
        assertErrno(Errno.EINVAL, () -> ctl.createDomain(1, 1));
        assertErrno(Errno.EINVAL, () -> ctl.createDomain(8, 0));
        assertErrno(Errno.ESRCH, () -> ctl.pause(42));
        assertErrno(Errno.ESRCH, () -> ctl.info(42));
        assertErrno(Errno.EINVAL, () -> ctl.destroy(0));
    }

    @Test
    void shutdownKeepsTheFirstReasonAndDestroyRemovesTheDomain() throws Exception {
        Hypercalls g = guest();
        int id = g.domid();
        g.shutdown(ShutdownReason.REBOOT);
        ctl.shutdown(id, ShutdownReason.CRASH);
        DomainInfo info = ctl.info(id);
        assertThat(info.state()).isEqualTo(DomainState.SHUTDOWN);
        assertThat(info.shutdownReason()).isEqualTo(ShutdownReason.REBOOT);
        assertThat(info.crashed()).isFalse();
        ctl.destroy(id);
        assertErrno(Errno.ESRCH, () -> ctl.info(id));
        assertThat(ctl.list()).extracting(DomainInfo::domid).containsExactly(0);
    }

    @Test
    void dom0HearsOfShutdownsAndDestructionsOnVirqDomExc() throws Exception {
        BlockingQueue<Integer> events = new LinkedBlockingQueue<>();
        int virqPort = dom0.bindVirq(Hypercalls.VIRQ_DOM_EXC);
        assertThat(dom0.status(virqPort)).isEqualTo(new ChannelStatus(ChannelState.VIRQ, -1, -1, 3));
        dom0.setEventHandler(events::add, Delivery.BLOCKING);
        assertErrno(Errno.EEXIST, () -> dom0.bindVirq(Hypercalls.VIRQ_DOM_EXC));
        Hypercalls g = guest();
        g.shutdown(ShutdownReason.WATCHDOG);
        assertThat(take(events)).isEqualTo(virqPort);
        assertThat(ctl.info(g.domid()).shutdownReason()).isEqualTo(ShutdownReason.WATCHDOG);
        ctl.destroy(g.domid());
        assertThat(take(events)).isEqualTo(virqPort);
    }

    // ---- security: privilege

    @Test
    void guestsCannotDoDomainControl() throws Exception {
        Hypercalls g = guest();
        Hypercalls other = guest();
        DomainControl gc = g.domainControl();
        assertErrno(Errno.EPERM, () -> gc.createDomain(8, 1));
        assertErrno(Errno.EPERM, () -> gc.destroy(other.domid()));
        assertErrno(Errno.EPERM, () -> gc.pause(other.domid()));
        assertErrno(Errno.EPERM, () -> gc.shutdown(other.domid(), ShutdownReason.POWEROFF));
        assertErrno(Errno.EPERM, () -> gc.info(0));
        assertErrno(Errno.EPERM, () -> gc.list());
        assertErrno(Errno.EPERM, () -> gc.mapForeign(other.domid(), 2));
        assertErrno(Errno.EPERM, () -> gc.allocUnbound(other.domid(), g.domid()));
        assertErrno(Errno.EPERM, () -> gc.status(other.domid(), 1));
        assertErrno(Errno.EPERM, () -> g.bindVirq(Hypercalls.VIRQ_DOM_EXC));
        assertThat(ctl.info(other.domid()).state()).isEqualTo(DomainState.RUNNING);
    }

    @Test
    void dom0MapsForeignFrames() throws Exception {
        Hypercalls g = guest();
        g.frame(5).set(ValueLayout.JAVA_LONG, 0, 0x1234_5678L);
        MemorySegment page = ctl.mapForeign(g.domid(), 5);
        assertThat(page.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(0x1234_5678L);
        assertErrno(Errno.EINVAL, () -> ctl.mapForeign(g.domid(), 16));
    }

    // ---- vCPUs (HYPERVISOR_vcpu_op)

    @Test
    void vcpusComeUpAndGoDownAsTheKernelAsksAndInfoCountsThem() throws Exception {
        int id = ctl.createDomain(16, 3);
        ctl.unpause(id);
        Hypercalls g = fx.connect(id);
        assertThat(ctl.info(id).vcpus()).isEqualTo(3);
        assertThat(ctl.info(id).onlineVcpus()).as("vCPU 0, which the builder brings up").isEqualTo(1);
        assertThat(g.vcpuOp(Hypercalls.VCPUOP_IS_UP, 0)).isEqualTo(1);
        assertThat(g.vcpuOp(Hypercalls.VCPUOP_IS_UP, 2)).isZero();
        assertThat(g.vcpuOp(Hypercalls.VCPUOP_UP, 2)).isZero();
        assertThat(g.vcpuOp(Hypercalls.VCPUOP_IS_UP, 2)).isEqualTo(1);
        assertThat(ctl.info(id).onlineVcpus()).isEqualTo(2);
        assertThat(ctl.info(id).vcpusUp()).isEqualTo(java.util.BitSet.valueOf(new long[] {0b101}));
        assertThat(ctl.list()).filteredOn(d -> d.domid() == id).singleElement()
                .extracting(d -> d.vcpusUp()).isEqualTo(java.util.BitSet.valueOf(new long[] {0b101}));
        assertThat(g.vcpuOp(Hypercalls.VCPUOP_DOWN, 2)).isZero();
        assertThat(ctl.info(id).onlineVcpus()).isEqualTo(1);
        // A kernel counts its vCPUs by asking until ENOENT; vCPU 0 runs its code and stays up.
        assertErrno(Errno.ENOENT, () -> g.vcpuOp(Hypercalls.VCPUOP_IS_UP, 3));
        assertErrno(Errno.ENOENT, () -> g.vcpuOp(Hypercalls.VCPUOP_UP, -1));
        assertErrno(Errno.EINVAL, () -> g.vcpuOp(Hypercalls.VCPUOP_DOWN, 0));
        assertErrno(Errno.ENOSYS, () -> g.vcpuOp(99, 1));
    }

    // ---- memory reservation (the balloon driver's hypercalls)

    @Test
    void decreaseReservationGivesFramesBackAndPopulateTakesThemAgainAsZeros() throws Exception {
        Hypercalls g = guest();
        g.frame(5).set(ValueLayout.JAVA_LONG, 0, 0xBA11_00F5L);
        g.frame(6).set(ValueLayout.JAVA_LONG, 8, 0x66L);
        g.frame(7).set(ValueLayout.JAVA_LONG, 0, 0x77L);
        g.frame(8).set(ValueLayout.JAVA_LONG, 0, 0x88L);
        assertThat(g.decreaseReservation(new int[] {5, 6})).isEqualTo(2);
        assertThat(ctl.info(g.domid()).memoryPages()).as("tot_pages").isEqualTo(14);
        // Before any read: a read through a mapping of a hole gives the file a page again.
        Path file = fx.hypervisor().runDir().memory(g.domid(), g.layout().serial());
        int fd = Libc.open(file.toString(), Libc.O_RDONLY);
        try {
            assertThat(Libc.lseek(fd, 5L * 4096, Libc.SEEK_DATA)).as("the host has the pages back: a hole")
                    .isEqualTo(7L * 4096);
        } finally {
            Libc.close(fd);
        }
        assertThat(g.frame(5).get(ValueLayout.JAVA_LONG, 0)).as("a frame given back reads as zeros").isZero();
        assertErrno(Errno.EINVAL, () -> ctl.mapForeign(g.domid(), 6));
        // Each stops at the first frame it cannot take, and says how many it did.
        assertThat(g.decreaseReservation(new int[] {7, 5, 8})).as("5 is given already").isEqualTo(1);
        assertThat(g.decreaseReservation(new int[] {16, 8})).as("16 is beyond the domain").isZero();
        assertThat(g.decreaseReservation(new int[] {-1})).isZero();
        assertThat(g.decreaseReservation(new int[0])).isZero();
        assertThat(ctl.info(g.domid()).memoryPages()).isEqualTo(13);
        assertThat(g.frame(8).get(ValueLayout.JAVA_LONG, 0)).as("8 was not given").isEqualTo(0x88L);
        assertThat(g.populatePhysmap(new int[] {5, 6, 9, 7})).as("9 was never given").isEqualTo(2);
        assertThat(g.populatePhysmap(new int[] {7, 7})).as("7 is populated by the first").isEqualTo(1);
        assertThat(ctl.info(g.domid()).memoryPages()).isEqualTo(16);
        assertThat(g.frame(6).get(ValueLayout.JAVA_LONG, 8)).isZero();
        assertThat(g.frame(7).get(ValueLayout.JAVA_LONG, 0)).isZero();
        assertThat(ctl.mapForeign(g.domid(), 6).get(ValueLayout.JAVA_LONG, 8)).as("populated: dom0 maps it again").isZero();
        g.frame(7).set(ValueLayout.JAVA_LONG, 0, 0x7777L);
        assertThat(ctl.mapForeign(g.domid(), 7).get(ValueLayout.JAVA_LONG, 0)).isEqualTo(0x7777L);
        assertErrno(Errno.EINVAL, () -> g.decreaseReservation(new int[MemoryOps.MAX_EXTENTS + 1]));
        assertThat(ctl.info(g.domid()).memoryPages()).isEqualTo(16);
        // A guest's write to a frame it gave back gives the file a page again; populating it makes it zeros.
        assertThat(g.decreaseReservation(new int[] {9})).isEqualTo(1);
        g.frame(9).set(ValueLayout.JAVA_LONG, 0, 0x99L);
        assertThat(g.populatePhysmap(new int[] {9})).isEqualTo(1);
        assertThat(g.frame(9).get(ValueLayout.JAVA_LONG, 0)).isZero();
    }

    @Test
    void aGrantOfAFrameGivenBackIsBadPageToMapAndToCopy() throws Exception {
        Hypercalls a = guest();
        Hypercalls b = guest();
        a.frame(3).set(ValueLayout.JAVA_LONG, 0, 0x33L);
        int ref = a.grantTable().grantAccess(b.domid(), 3, false);
        assertThat(a.decreaseReservation(new int[] {3})).isEqualTo(1);
        assertGntst(GrantStatus.BAD_PAGE, () -> b.mapGrant(a.domid(), ref, false));
        int[] st = b.grantCopy(List.of(
                new GrantCopy(new GrantCopy.Ref(a.domid(), ref, 0), new GrantCopy.Frame(5, 0), 8),
                new GrantCopy(new GrantCopy.Frame(5, 0), new GrantCopy.Ref(a.domid(), ref, 0), 8)));
        assertThat(st).containsExactly(GrantStatus.BAD_PAGE.code, GrantStatus.BAD_PAGE.code);
        assertThat(a.grantTable().flagsAndDomid(ref) & (GrantEntry.GTF_READING | GrantEntry.GTF_WRITING))
                .as("nothing left pinned").isZero();
        assertThat(a.populatePhysmap(new int[] {3})).isEqualTo(1);
        GrantMapping m = b.mapGrant(a.domid(), ref, false);
        assertThat(m.page().get(ValueLayout.JAVA_LONG, 0)).as("populated again: zeros").isZero();
        b.unmapGrant(m.handle());
        assertThat(a.grantTable().endAccess(ref)).isTrue();
    }

    @Test
    void theDomainBuilderLeavesFramesUnpopulatedUntilTheDomainFirstRuns() throws Exception {
        int id = ctl.createDomain(32, 1);
        ctl.unpopulate(id, 20, 8);
        ctl.unpopulate(id, 24, 6); // 24..27 have no page already
        assertThat(ctl.info(id).memoryPages()).isEqualTo(32 - 10);
        assertErrno(Errno.EINVAL, () -> ctl.unpopulate(id, 30, 3));
        assertErrno(Errno.EINVAL, () -> ctl.unpopulate(id, -1, 1));
        assertErrno(Errno.EINVAL, () -> ctl.mapForeign(id, 21));
        ctl.unpause(id);
        Hypercalls g = fx.connect(id);
        assertThat(g.layout().memoryPages()).isEqualTo(32);
        assertThat(g.layout().nrPages()).as("start_info's nr_pages").isEqualTo(22);
        assertThat(g.populatePhysmap(new int[] {29, 20})).isEqualTo(2);
        assertThat(g.populatePhysmap(new int[] {31})).as("31 has its page").isZero();
        assertThat(ctl.info(id).memoryPages()).isEqualTo(24);
        ctl.pause(id);
        assertErrno(Errno.EBUSY, () -> ctl.unpopulate(id, 2, 1));
        assertErrno(Errno.EPERM, () -> g.domainControl().unpopulate(id, 2, 1));
    }

    // ---- grants

    @Test
    void mappedGrantSharesThePageAndBlocksEndAccessUntilUnmapped() throws Exception {
        Hypercalls g = guest();
        int ref = g.grantTable().grantAccess(0, 3, false);
        assertThat(ref).as("refs below 8 are reserved").isEqualTo(GrantTable.NR_RESERVED_ENTRIES);
        GrantMapping m = dom0.mapGrant(g.domid(), ref, false);
        m.page().set(ValueLayout.JAVA_INT, 100, 0xCAFE);
        assertThat(g.frame(3).get(ValueLayout.JAVA_INT, 100)).isEqualTo(0xCAFE);
        int flags = GrantEntry.flags(g.grantTable().flagsAndDomid(ref));
        assertThat(flags & (GrantEntry.GTF_READING | GrantEntry.GTF_WRITING))
                .isEqualTo(GrantEntry.GTF_READING | GrantEntry.GTF_WRITING);
        assertThat(g.grantTable().endAccess(ref)).isFalse();
        dom0.unmapGrant(m.handle());
        assertThat(GrantEntry.flags(g.grantTable().flagsAndDomid(ref))).isEqualTo(GrantEntry.GTF_PERMIT_ACCESS);
        assertThat(g.grantTable().endAccess(ref)).isTrue();
        assertThat(g.grantTable().grantAccess(0, 4, false)).as("freed ref is reused").isEqualTo(ref);
    }

    @Test
    void twoMappingsClearTheFlagsOnlyOnTheLastUnmap() throws Exception {
        Hypercalls g = guest();
        int ref = g.grantTable().grantAccess(0, 3, false);
        GrantMapping w = dom0.mapGrant(g.domid(), ref, false);
        GrantMapping r = dom0.mapGrant(g.domid(), ref, true);
        dom0.unmapGrant(w.handle());
        assertThat(GrantEntry.flags(g.grantTable().flagsAndDomid(ref)))
                .isEqualTo(GrantEntry.GTF_PERMIT_ACCESS | GrantEntry.GTF_READING);
        assertThat(g.grantTable().endAccess(ref)).isFalse();
        dom0.unmapGrant(r.handle());
        assertThat(g.grantTable().endAccess(ref)).isTrue();
    }

    @Test
    void guestMapsAGrantFromAnotherGuest() throws Exception {
        Hypercalls a = guest();
        Hypercalls b = guest();
        a.frame(2).set(ValueLayout.JAVA_LONG, 8, 77L);
        int ref = a.grantTable().grantAccess(b.domid(), 2, true);
        GrantMapping m = b.mapGrant(a.domid(), ref, true);
        assertThat(m.page().get(ValueLayout.JAVA_LONG, 8)).isEqualTo(77L);
        assertThat(m.readonly()).isTrue();
        b.unmapGrant(m.handle());
        assertGntst(GrantStatus.BAD_HANDLE, () -> b.unmapGrant(m.handle()));
    }

    @Test
    void mapErrorsAreXensStatusCodes() throws Exception {
        Hypercalls a = guest();
        Hypercalls b = guest();
        Hypercalls c = guest();
        int roRef = a.grantTable().grantAccess(b.domid(), 2, true);
        int toC = a.grantTable().grantAccess(c.domid(), 2, false);
        int badFrame = a.grantTable().grantAccess(b.domid(), 999, false);
        assertGntst(GrantStatus.GENERAL_ERROR, () -> b.mapGrant(a.domid(), roRef, false));
        assertGntst(GrantStatus.GENERAL_ERROR, () -> b.mapGrant(a.domid(), toC, false));
        assertGntst(GrantStatus.GENERAL_ERROR, () -> b.mapGrant(a.domid(), 200, true));
        assertGntst(GrantStatus.BAD_GNTREF, () -> b.mapGrant(a.domid(), 2048, true));
        assertGntst(GrantStatus.BAD_GNTREF, () -> b.mapGrant(a.domid(), -1, true));
        assertGntst(GrantStatus.BAD_DOMAIN, () -> b.mapGrant(999, 8, true));
        assertGntst(GrantStatus.BAD_PAGE, () -> b.mapGrant(a.domid(), badFrame, false));
        assertGntst(GrantStatus.BAD_HANDLE, () -> b.unmapGrant(12345));
        assertThat(a.grantTable().flagsAndDomid(badFrame) & GrantEntry.GTF_READING)
                .as("a failed map leaves no in-use flag behind").isZero();
        assertThat(a.grantTable().endAccess(roRef)).isTrue();
    }

    @Test
    void dom0MapsTheReservedXenstorePageOfANewDomain() throws Exception {
        Hypercalls g = guest();
        g.frame(DomainLayout.XENSTORE_FRAME).set(ValueLayout.JAVA_INT, 0, 0x5354);
        GrantMapping m = dom0.mapGrant(g.domid(), DomainLayout.XENSTORE_REF, false);
        assertThat(m.page().get(ValueLayout.JAVA_INT, 0)).isEqualTo(0x5354);
        dom0.unmapGrant(m.handle());
        assertGntst(GrantStatus.GENERAL_ERROR, () -> guest().mapGrant(g.domid(), DomainLayout.XENSTORE_REF, true));
        DomainInfo info = ctl.info(g.domid());
        assertThat(g.layout().xenstorePort()).isEqualTo(info.xenstorePort());
        assertThat(dom0.domainControl().status(g.domid(), info.xenstorePort()))
                .isEqualTo(new ChannelStatus(ChannelState.UNBOUND, 0, -1, -1));
    }

    @Test
    void grantCopyReportsPerOpStatus() throws Exception {
        Hypercalls a = guest();
        Hypercalls b = guest();
        a.frame(2).set(ValueLayout.JAVA_LONG, 0, 0xABCDL);
        int src = a.grantTable().grantAccess(b.domid(), 2, true);
        int dst = a.grantTable().grantAccess(b.domid(), 3, false);
        int notMine = a.grantTable().grantAccess(0, 2, false);
        b.frame(4).set(ValueLayout.JAVA_LONG, 16, 0x99L);
        int[] st = b.grantCopy(List.of(
                new GrantCopy(new GrantCopy.Ref(a.domid(), src, 0), new GrantCopy.Frame(5, 8), 8),
                new GrantCopy(new GrantCopy.Frame(4, 16), new GrantCopy.Ref(a.domid(), dst, 32), 8),
                new GrantCopy(new GrantCopy.Ref(a.domid(), src, 4090), new GrantCopy.Frame(5, 0), 8),
                new GrantCopy(new GrantCopy.Frame(4, 0), new GrantCopy.Ref(a.domid(), src, 0), 8),
                new GrantCopy(new GrantCopy.Ref(a.domid(), notMine, 0), new GrantCopy.Frame(5, 0), 8),
                new GrantCopy(new GrantCopy.Frame(16, 0), new GrantCopy.Frame(5, 0), 8),
                new GrantCopy(new GrantCopy.Ref(999, 8, 0), new GrantCopy.Frame(5, 0), 8)));
        assertThat(st).containsExactly(0, 0, GrantStatus.BAD_COPY_ARG.code, GrantStatus.GENERAL_ERROR.code,
                GrantStatus.GENERAL_ERROR.code, GrantStatus.BAD_PAGE.code, GrantStatus.BAD_DOMAIN.code);
        assertThat(b.frame(5).get(ValueLayout.JAVA_LONG, 8)).isEqualTo(0xABCDL);
        assertThat(a.frame(3).get(ValueLayout.JAVA_LONG, 32)).isEqualTo(0x99L);
        assertThat(a.grantTable().endAccess(src)).as("copies leave no pin behind").isTrue();
        assertThat(a.grantTable().endAccess(dst)).isTrue();
    }

    @Test
    void aMixedBatchLongerThanOneHypercallPageKeepsPerOpStatusesAndOrder() throws Exception {
        Hypercalls a = guest();
        Hypercalls b = guest();
        int ro = a.grantTable().grantAccess(b.domid(), 2, true);
        int rw = a.grantTable().grantAccess(b.domid(), 3, false);
        int toDom0 = a.grantTable().grantAccess(0, 2, false);
        // 600 ops: more than a guest process's hypercall page holds (512), so that path posts two chunks.
        int n = 600;
        int[] expected = new int[n];
        CopyBatch batch = new CopyBatch(n);
        for (int i = 0; i < n; i++) {
            a.frame(2).set(ValueLayout.JAVA_BYTE, i % 4096, (byte) i);
            switch (i % 7) {
                case 0 -> batch.add(new GrantCopy(new GrantCopy.Ref(a.domid(), ro, i % 4096),
                        new GrantCopy.Frame(4, i % 4096), 1));
                case 1 -> batch.add(new GrantCopy(new GrantCopy.Frame(5, 0), new GrantCopy.Ref(a.domid(), rw, 8), 8));
                case 2 -> batch.add(new GrantCopy(new GrantCopy.Frame(5, 0), new GrantCopy.Ref(a.domid(), ro, 0), 8));
                case 3 -> batch.add(new GrantCopy(new GrantCopy.Ref(a.domid(), toDom0, 0), new GrantCopy.Frame(6, 0), 8));
                case 4 -> batch.add(new GrantCopy(new GrantCopy.Ref(a.domid(), 100_000, 0), new GrantCopy.Frame(6, 0), 8));
                case 5 -> batch.add(new GrantCopy(new GrantCopy.Frame(5, 4095), new GrantCopy.Frame(6, 0), 2));
                default -> batch.add(new GrantCopy(new GrantCopy.Ref(a.domid(), rw, 0), new GrantCopy.Frame(99, 0), 8));
            }
            expected[i] = switch (i % 7) {
                case 0, 1 -> GrantStatus.OKAY.code;
                case 2, 3 -> GrantStatus.GENERAL_ERROR.code;
                case 4 -> GrantStatus.BAD_GNTREF.code;
                case 5 -> GrantStatus.BAD_COPY_ARG.code;
                default -> GrantStatus.BAD_PAGE.code;
            };
        }
        b.frame(5).set(ValueLayout.JAVA_LONG, 0, 0x0123456789L);
        b.grantCopy(batch);
        assertThat(batch.statuses()).containsExactly(expected);
        assertThat(b.frame(4).get(ValueLayout.JAVA_BYTE, 7)).isEqualTo((byte) 7);
        assertThat(b.frame(4).get(ValueLayout.JAVA_BYTE, 595)).isEqualTo((byte) 595);
        assertThat(b.frame(4).get(ValueLayout.JAVA_BYTE, 1)).as("op 1 was not a copy into frame 4").isZero();
        assertThat(a.frame(3).get(ValueLayout.JAVA_LONG, 8)).isEqualTo(0x0123456789L);
        assertThat(a.frame(2).get(ValueLayout.JAVA_LONG, 0)).as("failed ops write nothing")
                .isEqualTo(0x0706050403020100L);
        assertThat(b.frame(6).get(ValueLayout.JAVA_LONG, 0)).isZero();
        for (int ref : new int[] {ro, rw, toDom0}) {
            assertThat(a.grantTable().endAccess(ref)).as("no pin outlives its op").isTrue();
        }
    }

    @Test
    void aReusedBatchReportsTheStatusesOfItsLatestCall() throws Exception {
        Hypercalls a = guest();
        Hypercalls b = guest();
        int ref = a.grantTable().grantAccess(b.domid(), 2, true);
        a.frame(2).set(ValueLayout.JAVA_INT, 0, 41);
        CopyBatch batch = new CopyBatch(2)
                .add(new GrantCopy(new GrantCopy.Ref(a.domid(), ref, 0), new GrantCopy.Frame(4, 0), 4))
                .add(new GrantCopy(new GrantCopy.Ref(a.domid(), ref, 0), new GrantCopy.Frame(4, 4), -1));
        b.grantCopy(batch);
        assertThat(batch.statuses()).containsExactly(0, GrantStatus.BAD_COPY_ARG.code);
        assertThat(batch.failures()).isEqualTo(1);
        assertThat(b.frame(4).get(ValueLayout.JAVA_INT, 0)).isEqualTo(41);
        assertThat(a.grantTable().endAccess(ref)).isTrue();
        a.frame(2).set(ValueLayout.JAVA_INT, 0, 42);
        b.grantCopy(batch);
        assertThat(batch.statuses()).as("the grant has ended")
                .containsExactly(GrantStatus.GENERAL_ERROR.code, GrantStatus.BAD_COPY_ARG.code);
        assertThat(batch.failures()).isEqualTo(2);
        assertThat(b.frame(4).get(ValueLayout.JAVA_INT, 0)).isEqualTo(41);
        batch.clear();
        assertThat(batch.count()).isZero();
        b.grantCopy(batch);
        assertThat(batch.statuses()).isEmpty();
        assertThat(batch.failures()).isZero();
    }

    @Test
    void grantTableGrowsToItsLimit() throws Exception {
        Hypercalls g = guest();
        GrantTable t = g.grantTable();
        assertThat(t.entries()).isEqualTo(GrantTable.DEFAULT_FRAMES * 512);
        Path file = domainFile(g.domid(), ".gnt");
        assertThat(allocatedBytes(file)).as("pages for the table's frames only, not the largest table's")
                .isEqualTo(GrantTable.DEFAULT_FRAMES * 4096L);
        int last = -1;
        for (int i = GrantTable.NR_RESERVED_ENTRIES; i < GrantTable.MAX_FRAMES * 512; i++) {
            last = t.grantAccess(0, 2, true);
            if (i == GrantTable.DEFAULT_FRAMES * 512) {
                assertThat(t.entries()).isEqualTo((GrantTable.DEFAULT_FRAMES + 1) * 512);
                assertThat(allocatedBytes(file)).as("a frame's pages come with the growth")
                        .isEqualTo((GrantTable.DEFAULT_FRAMES + 1) * 4096L);
                assertThat(GrantEntry.flags(t.flagsAndDomid(GrantTable.NR_RESERVED_ENTRIES)))
                        .as("entries written before the growth are kept").isEqualTo(GrantEntry.GTF_PERMIT_ACCESS
                                | GrantEntry.GTF_READONLY);
            }
        }
        assertThat(last).isEqualTo(GrantTable.MAX_FRAMES * 512 - 1);
        assertThat(t.entries()).isEqualTo(GrantTable.MAX_FRAMES * 512);
        assertThat(allocatedBytes(file)).isEqualTo(GrantTable.FILE_SIZE);
        assertErrno(Errno.ENOSPC, () -> t.grantAccess(0, 2, true));
        GrantMapping m = dom0.mapGrant(g.domid(), last, true);
        dom0.unmapGrant(m.handle());
    }

    @Test
    void pagesStayValidAfterTheGranterDiesUntilUnmapped() throws Exception {
        Hypercalls g = guest();
        int id = g.domid();
        g.frame(2).set(ValueLayout.JAVA_LONG, 0, 4242L);
        int ref = g.grantTable().grantAccess(0, 2, false);
        GrantMapping m = dom0.mapGrant(id, ref, false);
        ctl.destroy(id);
        assertThat(m.page().get(ValueLayout.JAVA_LONG, 0)).isEqualTo(4242L);
        m.page().set(ValueLayout.JAVA_LONG, 8, 1L);
        assertThat(countFiles("d" + id + ".")).as("memory and grant files kept for the mapper").isEqualTo(2);
        dom0.unmapGrant(m.handle());
        assertThat(countFiles("d" + id + ".")).isZero();
    }

    @Test
    void dom0UnmapsTheEventStateOfGuestsThatDied() throws Exception {
        // dom0 signals each guest once (mapping its event page, and on FIFO its control block and event words),
        // then the guest dies: a host that runs for long must not keep every dead guest mapped.
        long before = 0;
        for (int i = 0; i < 100; i++) {
            Hypercalls g = guest();
            int port = dom0.allocUnbound(g.domid());
            g.bindInterdomain(0, port);
            dom0.send(port);
            ctl.destroy(g.domid());
            g.close();
            if (i == 0) before = MapCount.used();
        }
        assertThat(MapCount.used() - before).as("mappings kept for 99 dead guests").isLessThan(60);
    }

    @Test
    void aDestroyedMappersMappingsAreReleased() throws Exception {
        Hypercalls granter = guest();
        Hypercalls mapper = guest();
        int ref = granter.grantTable().grantAccess(mapper.domid(), 2, false);
        mapper.mapGrant(granter.domid(), ref, false);
        assertThat(granter.grantTable().endAccess(ref)).isFalse();
        ctl.destroy(mapper.domid());
        assertThat(granter.grantTable().endAccess(ref)).isTrue();
    }

    @Test
    void aGuestsMappingOutlivesTheGranterGuestUntilItUnmaps() throws Exception {
        Hypercalls a = guest();
        Hypercalls b = guest();
        int aid = a.domid();
        int bid = b.domid();
        int ref = a.grantTable().grantAccess(bid, 2, false);
        GrantMapping m = b.mapGrant(aid, ref, false);
        // The granter's last write before it dies, through its own mapping of its memory.
        a.frame(2).set(ValueLayout.JAVA_LONG, 16, 0x0DEAD_BEEFL);
        ctl.destroy(aid);
        assertErrno(Errno.ESRCH, () -> ctl.info(aid));
        assertThat(m.page().get(ValueLayout.JAVA_LONG, 16)).as("the last content the granter wrote")
                .isEqualTo(0x0DEAD_BEEFL);
        m.page().set(ValueLayout.JAVA_LONG, 24, 0x5EL);
        assertThat(m.page().get(ValueLayout.JAVA_LONG, 24)).as("a rw grant stays writable").isEqualTo(0x5EL);
        assertThat(countFiles("d" + aid + ".")).as("memory and grant files kept for the mapper").isEqualTo(2);
        assertGntst(GrantStatus.BAD_DOMAIN, () -> b.mapGrant(aid, ref, false));
        b.unmapGrant(m.handle());
        assertThat(countFiles("d" + aid + ".")).as("the unmap drops the dead granter's files").isZero();
        assertGntst(GrantStatus.BAD_HANDLE, () -> b.unmapGrant(m.handle()));
        ctl.destroy(bid);
        assertThat(countFiles("d" + bid + ".")).isZero();
        assertThat(ctl.list()).extracting(DomainInfo::domid).containsExactly(0);
    }

    /** A domain's file in the hypervisor's shared directory, by its suffix ({@code .gnt}, {@code .mem}...). */
    protected Path domainFile(int domid, String suffix) throws Exception {
        try (var files = Files.list(dir.resolve(SharedMemoryDir.LINK))) {
            return files.filter(p -> p.getFileName().toString().startsWith("d" + domid + ".")
                    && p.getFileName().toString().endsWith(suffix)).findFirst().orElseThrow();
        }
    }

    /** The bytes a file has pages for (stat's blocks of 512 bytes): what it takes of /dev/shm. */
    protected static long allocatedBytes(Path file) throws Exception {
        Process p = new ProcessBuilder("stat", "-L", "-c", "%b", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor()).as("stat: " + out).isZero();
        return Long.parseLong(out) * 512;
    }

    protected long countFiles(String prefix) throws Exception {
        try (var files = Files.list(dir.resolve(SharedMemoryDir.LINK))) {
            return files.filter(p -> p.getFileName().toString().startsWith(prefix)).count();
        }
    }

    // ---- event channels

    @Test
    void bindInterdomainConnectsBothEndsAndMarksTheBinderPending() throws Exception {
        Hypercalls g = guest();
        int unbound = dom0.allocUnbound(g.domid());
        assertThat(dom0.status(unbound)).isEqualTo(new ChannelStatus(ChannelState.UNBOUND, g.domid(), -1, -1));
        int local = g.bindInterdomain(0, unbound);
        assertThat(g.isPending(local)).isTrue();
        assertThat(dom0.isPending(unbound)).isFalse();
        assertThat(g.status(local)).isEqualTo(new ChannelStatus(ChannelState.INTERDOMAIN, 0, unbound, -1));
        assertThat(dom0.status(unbound)).isEqualTo(new ChannelStatus(ChannelState.INTERDOMAIN, g.domid(), local, -1));
    }

    @Test
    void bindingNeedsAnUnboundPortOfferedToTheBinder() throws Exception {
        Hypercalls g = guest();
        Hypercalls other = guest();
        int forOther = dom0.allocUnbound(other.domid());
        assertErrno(Errno.EINVAL, () -> g.bindInterdomain(0, forOther));
        assertErrno(Errno.EINVAL, () -> g.bindInterdomain(0, 900));
        assertErrno(Errno.EINVAL, () -> g.bindInterdomain(0, 5000));
        assertErrno(Errno.ESRCH, () -> g.bindInterdomain(777, 1));
        int forG = dom0.allocUnbound(g.domid());
        g.bindInterdomain(0, forG);
        assertErrno(Errno.EINVAL, () -> other.bindInterdomain(0, forG));
        assertErrno(Errno.EINVAL, () -> g.bindInterdomain(0, forG));
        int selfOffered = g.allocUnbound(Hypercalls.DOMID_SELF);
        int offeredTo0 = g.allocUnbound(0);
        assertErrno(Errno.EINVAL, () -> g.bindInterdomain(g.domid(), offeredTo0));
        int loop = g.bindInterdomain(g.domid(), selfOffered);
        assertThat(g.status(loop)).isEqualTo(new ChannelStatus(ChannelState.INTERDOMAIN, g.domid(), selfOffered, -1));
    }

    @Test
    void sendRulesAndClose() throws Exception {
        Hypercalls g = guest();
        int unbound = g.allocUnbound(0);
        g.send(unbound);
        assertThat(g.isPending(unbound)).as("send on unbound is dropped").isFalse();
        assertErrno(Errno.EINVAL, () -> g.send(300));
        assertErrno(Errno.EINVAL, () -> g.send(-1));
        assertErrno(Errno.EINVAL, () -> g.send(EventPage.MAX_PORTS));
        assertErrno(Errno.EINVAL, () -> g.closePort(300));
        assertErrno(Errno.EINVAL, () -> g.closePort(0));
        int dom0Port = dom0.bindInterdomain(g.domid(), unbound);
        assertThat(dom0.isPending(dom0Port)).isTrue();
        g.send(unbound);
        assertThat(g.isPending(unbound)).isFalse();
        assertThat(dom0.isPending(dom0Port)).isTrue();
        g.closePort(unbound);
        assertThat(g.status(unbound).state()).isEqualTo(ChannelState.CLOSED);
        assertErrno(Errno.EINVAL, () -> g.send(unbound));
        assertThat(dom0.status(dom0Port)).as("the peer reverts to unbound, offered to us")
                .isEqualTo(new ChannelStatus(ChannelState.UNBOUND, g.domid(), -1, -1));
        int again = g.bindInterdomain(0, dom0Port);
        assertThat(dom0.status(dom0Port).remotePort()).isEqualTo(again);
        assertErrno(Errno.EINVAL, () -> g.status(g.maxChannels()));
    }

    @Test
    void eventsAreDeliveredBothWaysThroughBlockedHandlers() throws Exception {
        Hypercalls g = guest();
        int p0 = dom0.allocUnbound(g.domid());
        int pg = g.bindInterdomain(0, p0);
        AtomicInteger echoed = new AtomicInteger();
        g.setEventHandler(port -> {
            try {
                echoed.incrementAndGet();
                g.send(port);
            } catch (HypercallException e) {
                throw new IllegalStateException(e);
            }
        }, Delivery.BLOCKING);
        BlockingQueue<Integer> back = new LinkedBlockingQueue<>();
        dom0.setEventHandler(back::add, Delivery.BLOCKING);
        // The bind left pg pending, so the guest echoes once before the first ping.
        assertThat(take(back)).isEqualTo(p0);
        int rounds = 2000;
        for (int i = 0; i < rounds; i++) {
            dom0.send(p0);
            assertThat(take(back)).isEqualTo(p0);
        }
        assertThat(echoed.get()).isEqualTo(rounds + 1);
        assertThat(pg).isPositive();
    }

    @Test
    void getdomaininfoSaysBlockedWhileTheEventThreadWaitsAndNotWhileAHandlerRuns() throws Exception {
        Hypercalls g = guest();
        int id = g.domid();
        int p0 = dom0.allocUnbound(id);
        int pg = g.bindInterdomain(0, p0);
        assertThat(ctl.info(id).blocked()).as("no event thread yet: the vCPU is not waiting").isFalse();
        CountDownLatch release = new CountDownLatch(1);
        BlockingQueue<Boolean> blockedInHandler = new LinkedBlockingQueue<>();
        g.setEventHandler(port -> {
            try {
                blockedInHandler.add(ctl.info(id).blocked());
                release.await();
            } catch (HypercallException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, Delivery.BLOCKING);
        // The bind left pg pending: the first upcall runs at once and holds the thread.
        assertThat(blockedInHandler.poll(20, TimeUnit.SECONDS)).isFalse();
        assertThat(ctl.info(id).blocked()).isFalse();
        release.countDown();
        awaitBlocked(id, true);
        ctl.pause(id);
        assertThat(ctl.info(id).blocked()).as("paused, not blocked").isFalse();
        ctl.unpause(id);
        awaitBlocked(id, true);
        dom0.send(p0);
        assertThat(blockedInHandler.poll(20, TimeUnit.SECONDS)).isFalse();
        awaitBlocked(id, true);
        assertThat(pg).isPositive();
    }

    @Test
    void aPausedDomainGetsNoEventsAndItsThreadsWaitAtTheirNextHypercallUntilUnpaused() throws Exception {
        Hypercalls g = guest();
        int id = g.domid();
        int p0 = dom0.allocUnbound(id);
        int pg = g.bindInterdomain(0, p0);
        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        g.setEventHandler(got::add, Delivery.BLOCKING);
        assertThat(take(got)).as("the bind left the port pending").isEqualTo(pg);
        ctl.pause(id);
        dom0.send(p0);
        dom0.send(p0);
        assertThat(g.isPending(pg)).as("held for the paused domain").isTrue();
        // Guest code on a virtual thread (parks while held) and on a platform thread (sleeps on the runstate word).
        java.util.concurrent.atomic.AtomicBoolean ran = new java.util.concurrent.atomic.AtomicBoolean();
        Thread code = Thread.ofVirtual().start(() -> g.runOnVcpu(() -> ran.set(true)));
        Thread sender = Thread.ofPlatform().start(() -> {
            try {
                g.send(pg);
            } catch (HypercallException e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (code.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < deadline) Thread.sleep(1);
        assertThat(code.getState()).as("the guest's thread waits at its hypercall").isEqualTo(Thread.State.TIMED_WAITING);
        assertThat(ran).isFalse();
        assertThat(sender.isAlive()).isTrue();
        assertThat(got).as("nothing delivered while paused").isEmpty();
        assertThat(g.isPending(pg)).isTrue();

        ctl.unpause(id);
        assertThat(take(got)).as("the held sends, coalesced into one upcall").isEqualTo(pg);
        code.join(20_000);
        sender.join(20_000);
        assertThat(ran).isTrue();
        assertThat(dom0.isPending(p0)).as("the guest's send went out after the unpause").isTrue();
    }

    @Test
    void guestCodeOnTheVcpuShowsTheDomainRunningAndCountsItsCpuTime() throws Exception {
        Hypercalls g = guest();
        int id = g.domid();
        int p0 = dom0.allocUnbound(id);
        g.bindInterdomain(0, p0);
        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        g.setEventHandler(got::add, Delivery.BLOCKING);
        take(got);
        awaitBlocked(id, true);
        long before = g.cpuNanos();
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        BlockingQueue<Boolean> blockedWhileRunning = new LinkedBlockingQueue<>();
        g.runOnVcpu(() -> {
            try {
                blockedWhileRunning.add(ctl.info(id).blocked());
            } catch (HypercallException e) {
                throw new IllegalStateException(e);
            }
            // 50 ms of this thread's CPU, measured as the clock measures it.
            long start = mx.getCurrentThreadCpuTime();
            long x = 0;
            while (mx.getCurrentThreadCpuTime() - start < 50_000_000L) x += x * 31 + 7;
            assertThat(x).isNotNull();
        });
        assertThat(blockedWhileRunning.take()).as("a command runs on the vCPU: running, not blocked").isFalse();
        assertThat(g.cpuNanos() - before).isGreaterThanOrEqualTo(50_000_000L);
        awaitBlocked(id, true);
    }

    /**
     * What the domain's event thread spends in its handlers is the domain's CPU time (xl list's Time(s)), whether
     * that thread is a platform thread or a virtual one timed on its carrier.
     */
    @Test
    void theCpuTimeOfTheEventHandlersIsTheDomains() throws Exception {
        Hypercalls g = guest();
        int id = g.domid();
        int p0 = dom0.allocUnbound(id);
        g.bindInterdomain(0, p0);
        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        java.util.concurrent.atomic.AtomicBoolean burn = new java.util.concurrent.atomic.AtomicBoolean();
        g.setEventHandler(port -> {
            if (burn.get()) {
                // 50 ms of the OS thread's CPU, as the clock of the thread that runs the handler measures it.
                java.lang.foreign.MemorySegment ts = org.jxen.libc.ThreadClock.timespec(java.lang.foreign.Arena.ofAuto());
                long start = org.jxen.libc.ThreadClock.nanos(ts);
                long x = 0;
                while (org.jxen.libc.ThreadClock.nanos(ts) - start < 50_000_000L) x += x * 31 + 7;
                assertThat(x).isNotNull();
            }
            got.add(port);
        }, Delivery.BLOCKING);
        take(got);
        awaitBlocked(id, true);
        long before = g.cpuNanos();
        burn.set(true);
        dom0.send(p0);
        take(got);
        awaitBlocked(id, true);
        assertThat(g.cpuNanos() - before).as("the domain's CPU ns").isGreaterThanOrEqualTo(50_000_000L);
    }

    private void awaitBlocked(int id, boolean want) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (ctl.info(id).blocked() != want && System.nanoTime() < deadline) Thread.sleep(1);
        assertThat(ctl.info(id).blocked()).as("domain %d blocked", id).isEqualTo(want);
    }

    @Test
    void pollingDeliveryWorksToo() throws Exception {
        Hypercalls g = guest();
        int p0 = dom0.allocUnbound(g.domid());
        int pg = g.bindInterdomain(0, p0);
        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        g.setEventHandler(got::add, Delivery.POLLING);
        assertThat(take(got)).isEqualTo(pg);
        for (int i = 0; i < 100; i++) {
            dom0.send(p0);
            assertThat(take(got)).isEqualTo(pg);
        }
        g.close();
    }

    @Test
    void suspendWaitsForTheResumeHoldsEventsMeanwhileAndReturnsCancelledOrNew() throws Exception {
        Hypercalls g = guest();
        int id = g.domid();
        int p0 = dom0.allocUnbound(id);
        int pg = g.bindInterdomain(0, p0);
        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        g.setEventHandler(got::add, Delivery.BLOCKING);
        assertThat(take(got)).isEqualTo(pg); // the bind left it pending
        assertErrno(Errno.EINVAL, () -> ctl.resume(id, true)); // running, not suspended

        for (boolean fast : new boolean[] {true, false}) {
            java.util.concurrent.CompletableFuture<Integer> returned = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return g.suspend();
                } catch (HypercallException e) {
                    throw new IllegalStateException(e);
                }
            });
            awaitShutdown(id);
            assertThat(ctl.info(id).shutdownReason()).isEqualTo(ShutdownReason.SUSPEND);
            dom0.send(p0);
            assertThat(got.poll(200, TimeUnit.MILLISECONDS)).as("a suspended domain gets no events").isNull();
            assertThat(returned).isNotDone();
            ctl.resume(id, fast);
            assertThat(returned.get(30, TimeUnit.SECONDS)).as("suspend's return, fast=%s", fast).isEqualTo(fast ? 1 : 0);
            assertThat(take(got)).as("the held event, delivered on resume").isEqualTo(pg);
            assertThat(ctl.info(id).state()).isEqualTo(DomainState.RUNNING);
        }

        // Destroyed while suspended (saved, migrated away): the hypercall ends with ESRCH.
        java.util.concurrent.CompletableFuture<Errno> gone = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                g.suspend();
                return null;
            } catch (HypercallException e) {
                return e.errno();
            }
        });
        awaitShutdown(id);
        ctl.destroy(id);
        assertThat(gone.get(30, TimeUnit.SECONDS)).isEqualTo(Errno.ESRCH);
    }

    private void awaitShutdown(int id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (ctl.info(id).state() != DomainState.SHUTDOWN) {
            assertThat(System.nanoTime()).as("d%d shut down", id).isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    @Test
    void portsInEveryPendingWordAndBothSelectorWordsAreDeliveredOncePerSend() throws Exception {
        Hypercalls g = guest();
        // Bind enough ports that some land in pending word 64 and up (selector word 1), then send on one port of
        // each of a spread of words: the 2-level selector must name each word, and each send is one upcall.
        List<Integer> dom0Ports = new java.util.ArrayList<>();
        Map<Integer, Integer> guestToDom0 = new java.util.HashMap<>();
        int last = 0;
        while (last < 64 * 64 + 70) {
            int p0 = dom0.allocUnbound(g.domid());
            last = g.bindInterdomain(0, p0);
            dom0Ports.add(p0);
            guestToDom0.put(last, p0);
        }
        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        g.setEventHandler(got::add, Delivery.BLOCKING);
        java.util.Set<Integer> bound = new java.util.HashSet<>(guestToDom0.keySet());
        java.util.Set<Integer> initial = new java.util.HashSet<>();
        while (initial.size() < bound.size()) initial.add(take(got)); // every bind left its port pending
        assertThat(initial).isEqualTo(bound);
        int[] chosen = {guestToDom0.keySet().stream().min(Integer::compare).orElseThrow(), 63, 64, 127, 2048, 4095,
                4096, 4100, last};
        for (int gp : chosen) {
            if (!guestToDom0.containsKey(gp)) continue;
            dom0.send(guestToDom0.get(gp));
            assertThat(take(got)).as("a send on guest port %d", gp).isEqualTo(gp);
        }
        assertThat(got.poll(200, TimeUnit.MILLISECONDS)).as("no extra upcall").isNull();
        for (int p0 : dom0Ports) dom0.closePort(p0);
        g.close();
    }

    @Test
    void maskedPortsCoalesceAndUnmaskDelivers() throws Exception {
        Hypercalls g = guest();
        int p0 = dom0.allocUnbound(g.domid());
        int pg = g.bindInterdomain(0, p0);
        g.mask(pg);
        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        CountDownLatch started = new CountDownLatch(1);
        g.setEventHandler(port -> {
            got.add(port);
            started.countDown();
        }, Delivery.BLOCKING);
        dom0.send(p0);
        dom0.send(p0);
        dom0.send(p0);
        assertThat(g.isPending(pg)).isTrue();
        assertThat(got).as("masked: nothing delivered").isEmpty();
        g.unmask(pg);
        assertThat(take(got)).isEqualTo(pg);
        dom0.send(p0);
        assertThat(take(got)).isEqualTo(pg);
        assertThat(got).as("bind + three sends while masked coalesced into one delivery").isEmpty();
        assertThat(started.getCount()).isZero();
    }

    @Test
    void sendsWhileTheHandlerRunsCoalesceIntoOneMoreUpcallAndALaterSendWakesTheBlockedDomain() throws Exception {
        Hypercalls g = guest();
        int id = g.domid();
        int p0 = dom0.allocUnbound(id);
        int pg = g.bindInterdomain(0, p0);
        BlockingQueue<Integer> entered = new LinkedBlockingQueue<>();
        Semaphore leave = new Semaphore(0);
        AtomicInteger upcalls = new AtomicInteger();
        g.setEventHandler(port -> {
            upcalls.incrementAndGet();
            entered.add(port);
            try {
                if (!leave.tryAcquire(20, TimeUnit.SECONDS)) throw new IllegalStateException("never released");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, Delivery.BLOCKING);
        // The bind left pg pending: the first upcall runs at once and is held inside the handler.
        assertThat(take(entered)).isEqualTo(pg);
        dom0.send(p0);
        dom0.send(p0);
        dom0.send(p0);
        assertThat(g.isPending(pg)).as("pending was cleared before the upcall, so a send during it re-pends")
                .isTrue();
        leave.release();
        assertThat(take(entered)).as("one more upcall for the sends during the first").isEqualTo(pg);
        assertThat(g.isPending(pg)).as("that upcall consumed all three sends").isFalse();
        leave.release();
        awaitBlocked(id, true);
        assertThat(upcalls.get()).as("bind + three coalesced sends: two upcalls").isEqualTo(2);
        assertThat(entered).isEmpty();
        // The event thread sleeps in FUTEX_WAIT now; a send must wake it.
        dom0.send(p0);
        assertThat(take(entered)).isEqualTo(pg);
        leave.release();
        awaitBlocked(id, true);
        assertThat(upcalls.get()).isEqualTo(3);
        assertThat(entered).isEmpty();
        assertThat(g.isPending(pg)).isFalse();
    }

    @Test
    void pausedDomainsGetNoUpcallsUntilUnpaused() throws Exception {
        int id = ctl.createDomain(8, 1);
        int p0 = dom0.allocUnbound(id);
        // The guest connects and binds while it runs (a paused domain makes no hypercalls: it would wait for the
        // unpause).
        ctl.unpause(id);
        Hypercalls g = fx.connect(id);
        int pg = g.bindInterdomain(0, p0);
        ctl.pause(id);
        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        g.setEventHandler(got::add, Delivery.BLOCKING);
        dom0.send(p0);
        assertThat(g.isPending(pg)).isTrue();
        assertThat(got).isEmpty();
        ctl.unpause(id);
        assertThat(take(got)).isEqualTo(pg);
    }

    @Test
    void destroyingADomainClosesItsPortsAndItsPeersRevert() throws Exception {
        Hypercalls g = guest();
        int p0 = dom0.allocUnbound(g.domid());
        g.bindInterdomain(0, p0);
        ctl.destroy(g.domid());
        assertThat(dom0.status(p0)).isEqualTo(new ChannelStatus(ChannelState.UNBOUND, g.domid(), -1, -1));
        dom0.send(p0);
    }

    @Test
    void unprivilegedAllocUnboundOnlyForItself() throws Exception {
        Hypercalls g = guest();
        int p = g.allocUnbound(0);
        assertThat(g.status(p)).isEqualTo(new ChannelStatus(ChannelState.UNBOUND, 0, -1, -1));
        int forG = ctl.allocUnbound(g.domid(), 0);
        assertThat(g.status(forG).state()).isEqualTo(ChannelState.UNBOUND);
        assertThat(dom0.bindInterdomain(g.domid(), forG)).isPositive();
    }

    @Test
    void perPortHandlersShareTheEventThreadWithTheDefault() throws Exception {
        Hypercalls g = guest();
        int a0 = dom0.allocUnbound(g.domid());
        int b0 = dom0.allocUnbound(g.domid());
        int a = g.bindInterdomain(0, a0);
        int b = g.bindInterdomain(0, b0);
        BlockingQueue<Integer> onA = new LinkedBlockingQueue<>();
        BlockingQueue<Integer> others = new LinkedBlockingQueue<>();
        g.setEventHandler(others::add, Delivery.BLOCKING);
        assertThat(take(others)).isEqualTo(a);
        assertThat(take(others)).isEqualTo(b);
        g.onEvent(a, onA::add);
        dom0.send(b0);
        dom0.send(a0);
        assertThat(take(onA)).isEqualTo(a);
        assertThat(take(others)).isEqualTo(b);
        assertThat(onA).isEmpty();
    }

    @Test
    void portsRunOutWithEnospc() throws Exception {
        // Room for the whole event array on FIFO (128 pages) besides the guest's own pages.
        int id = ctl.createDomain(16 + EventWord.MAX_ARRAY_PAGES + 1, 1);
        ctl.unpause(id);
        Hypercalls g = fx.connect(id);
        assertThat(g.maxChannels()).isEqualTo(abi() == EventAbi.FIFO ? 131072 : 8192);
        int allocated = 2;
        for (int p = allocated + 1; p < g.maxChannels(); p++) {
            assertThat(g.allocUnbound(0)).isEqualTo(p);
        }
        assertErrno(Errno.ENOSPC, () -> g.allocUnbound(0));
        g.closePort(500);
        assertThat(g.allocUnbound(0)).isEqualTo(500);
    }

    @Test
    void manySendersOnPortsOfEveryPriorityLoseNoWakeUp() throws Exception {
        Hypercalls g = guest();
        int n = 8;
        int rounds = 3000;
        int[] p0 = new int[n];
        int[] pg = new int[n];
        Semaphore[] back = new Semaphore[n];
        for (int i = 0; i < n; i++) {
            p0[i] = dom0.allocUnbound(g.domid());
            pg[i] = g.bindInterdomain(0, p0[i]);
            if (abi() == EventAbi.FIFO) g.setPriority(pg[i], (i * 5) % 16);
            back[i] = new Semaphore(0);
            Semaphore mine = back[i];
            dom0.onEvent(p0[i], port -> mine.release());
        }
        g.setEventHandler(port -> {
            try {
                g.send(port);
            } catch (HypercallException e) {
                throw new IllegalStateException(e);
            }
        }, Delivery.BLOCKING);
        java.util.concurrent.ConcurrentLinkedQueue<String> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
        List<Thread> senders = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            int k = i;
            senders.add(Thread.ofPlatform().start(() -> {
                try {
                    // The bind left the guest's port pending: its echo comes first.
                    if (!back[k].tryAcquire(30, TimeUnit.SECONDS)) failures.add("port " + k + ": no echo of the bind");
                    for (int r = 0; r < rounds && failures.isEmpty(); r++) {
                        dom0.send(p0[k]);
                        if (!back[k].tryAcquire(30, TimeUnit.SECONDS)) failures.add("port " + k + ": round " + r + " lost");
                    }
                } catch (Exception e) {
                    failures.add("port " + k + ": " + e);
                }
            }));
        }
        for (Thread t : senders) t.join();
        assertThat(failures).as("every send woke its receiver, and every echo its sender").isEmpty();
        for (Semaphore b : back) assertThat(b.availablePermits()).as("one echo per send").isZero();
    }

    /**
     * A send orders what the sender wrote before it, as Xen's hypercall does: a ring producer that writes its
     * index (release only) and sends twice in a row, the second send finding the first still pending and linked,
     * must not leave the handler reading the older index and sleeping with the newer one unread.
     */
    @Test
    void whatASenderWroteBeforeASendIsSeenByTheHandlerItWakes() throws Exception {
        Hypercalls g = guest();
        int p0 = dom0.allocUnbound(g.domid());
        g.bindInterdomain(0, p0);
        java.lang.invoke.VarHandle index = ValueLayout.JAVA_INT.varHandle();
        MemorySegment mine = g.frame(5);
        MemorySegment theirs = ctl.mapForeign(g.domid(), 5);
        AtomicInteger seen = new AtomicInteger();
        Object progress = new Object();
        g.setEventHandler(port -> {
            int v = (int) index.getAcquire(mine, 0L);
            if (seen.getAndAccumulate(v, Math::max) < v) {
                synchronized (progress) {
                    progress.notifyAll();
                }
            }
        }, Delivery.BLOCKING);
        int rounds = 20_000;
        int written = 0;
        for (int r = 0; r < rounds; r++) {
            for (int burst = 0; burst < 2; burst++) {
                index.setRelease(theirs, 0L, ++written);
                dom0.send(p0);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            synchronized (progress) {
                while (seen.get() < written && System.nanoTime() < deadline) progress.wait(100);
            }
            assertThat(seen.get()).as("round %d: the handler saw the index written before the last send", r)
                    .isEqualTo(written);
        }
    }

    // ---- the FIFO ABI

    /**
     * A guest on the FIFO ABI whatever the run's ABI, its pages from the top down: the control block in the last
     * frame, event-array page k in frame pages - 2 - k.
     */
    Hypercalls fifoGuest(int pages) throws Exception {
        int id = ctl.createDomain(pages, 1);
        ctl.unpause(id);
        Hypercalls g = fx.connect(id);
        if (g.maxChannels() != EventWord.NR_CHANNELS) {
            assertThat(g.useFifo(EventAbi.topDown(g))).as("link_bits").isEqualTo(17);
        }
        return g;
    }

    static int word(Hypercalls g, int pages, int port) {
        int frame = pages - 2 - port / EventWord.WORDS_PER_PAGE;
        return g.frame(frame).get(ValueLayout.JAVA_INT, (port % EventWord.WORDS_PER_PAGE) * 4L);
    }

    static int ready(Hypercalls g, int pages) {
        return g.frame(pages - 1).get(ValueLayout.JAVA_INT, 0);
    }

    static int head(Hypercalls g, int pages, int q) {
        return g.frame(pages - 1).get(ValueLayout.JAVA_INT, 8 + 4L * q);
    }

    @Test
    void fifoEventWordsAndLinksAreWrittenInTheDomainsOwnMemory() throws Exception {
        int pages = 16;
        Hypercalls g = fifoGuest(pages);
        int[] mine = new int[3];
        int[] theirs = new int[3];
        for (int i = 0; i < 3; i++) {
            theirs[i] = dom0.allocUnbound(g.domid());
            mine[i] = g.bindInterdomain(0, theirs[i]);
        }
        int a = mine[0];
        int b = mine[1];
        int c = mine[2];
        int pl = EventWord.PENDING | EventWord.LINKED;
        // Each bind left its port pending, and Xen's set_pending appended it to queue 7 (the default priority).
        assertThat(word(g, pages, a)).as("a -> b").isEqualTo(pl | b);
        assertThat(word(g, pages, b)).as("b -> c").isEqualTo(pl | c);
        assertThat(word(g, pages, c)).as("c is the tail").isEqualTo(pl);
        assertThat(head(g, pages, 7)).isEqualTo(a);
        assertThat(ready(g, pages)).isEqualTo(1 << 7);
        dom0.send(theirs[1]);
        assertThat(word(g, pages, b)).as("a send to a pending port coalesces").isEqualTo(pl | c);
        assertThat(word(g, pages, g.layout().xenstorePort())).as("an unbound port: nothing").isZero();

        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        g.setEventHandler(got::add, Delivery.BLOCKING);
        assertThat(List.of(take(got), take(got), take(got))).as("queue order").containsExactly(a, b, c);
        awaitBlocked(g.domid(), true);
        assertThat(List.of(word(g, pages, a), word(g, pages, b), word(g, pages, c))).as("consumed and unlinked")
                .containsExactly(0, 0, 0);
        assertThat(ready(g, pages)).isZero();

        g.mask(b);
        assertThat(word(g, pages, b)).isEqualTo(EventWord.MASKED);
        dom0.send(theirs[1]);
        assertThat(word(g, pages, b)).as("masked: pending, not linked").isEqualTo(EventWord.PENDING | EventWord.MASKED);
        assertThat(g.isPending(b)).isTrue();
        assertThat(got.poll(200, TimeUnit.MILLISECONDS)).isNull();
        g.unmask(b);
        assertThat(take(got)).as("unmask links the pending port").isEqualTo(b);
        awaitBlocked(g.domid(), true);
        assertThat(word(g, pages, b)).isZero();
        // The sender end sees the same thing: dom0's own port, on its own ABI.
        assertThat(dom0.isPending(theirs[0])).isFalse();
    }

    @Test
    void aHigherPriorityPortIsDeliveredFirstAndEachQueueInOrder() throws Exception {
        int pages = 16;
        Hypercalls g = fifoGuest(pages);
        int id = g.domid();
        int n = 5;
        int[] p0 = new int[n];
        int[] pg = new int[n];
        for (int i = 0; i < n; i++) {
            p0[i] = dom0.allocUnbound(id);
            pg[i] = g.bindInterdomain(0, p0[i]);
        }
        int[] priority = {15, 7, 3, 0, 7};
        for (int i = 0; i < n; i++) g.setPriority(pg[i], priority[i]);
        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        g.setEventHandler(got::add, Delivery.BLOCKING);
        // The binds linked every port before its priority changed: they come in queue-7 order.
        List<Integer> initial = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) initial.add(take(got));
        assertThat(initial).containsExactly(pg[0], pg[1], pg[2], pg[3], pg[4]);
        awaitBlocked(id, true);

        ctl.pause(id);
        for (int i = 0; i < n; i++) dom0.send(p0[i]);
        assertThat(ready(g, pages)).as("queues 0, 3, 7 and 15 ready")
                .isEqualTo((1 << 0) | (1 << 3) | (1 << 7) | (1 << 15));
        assertThat(head(g, pages, 0)).isEqualTo(pg[3]);
        assertThat(head(g, pages, 3)).isEqualTo(pg[2]);
        assertThat(head(g, pages, 7)).isEqualTo(pg[1]);
        assertThat(word(g, pages, pg[1]) & EventWord.LINK_MASK).as("queue 7: pg1 -> pg4").isEqualTo(pg[4]);
        assertThat(head(g, pages, 15)).isEqualTo(pg[0]);
        ctl.unpause(id);
        List<Integer> order = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) order.add(take(got));
        assertThat(order).as("highest priority first, FIFO within a priority")
                .containsExactly(pg[3], pg[2], pg[1], pg[4], pg[0]);
        assertThat(got.poll(200, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void expandArrayAddsWordsAsPortsAreAllocatedAndItsErrorsAreXens() throws Exception {
        int pages = 40;
        Hypercalls g = fifoGuest(pages);
        // Ports 1 and 2 (xenstore, console) needed one array page; port 1024 is the first of the second page.
        int port0 = 0;
        while (port0 < EventWord.WORDS_PER_PAGE + 5) port0 = g.allocUnbound(0);
        int last = port0;
        int bound = dom0.bindInterdomain(g.domid(), last);
        dom0.send(bound);
        assertThat(word(g, pages, last)).as("port %d's word in the second array page (frame %d)", last, pages - 3)
                .isEqualTo(EventWord.PENDING | EventWord.LINKED);
        assertThat(g.isPending(last)).isTrue();

        assertErrno(Errno.EINVAL, () -> g.expandArray(pages));
        assertErrno(Errno.EINVAL, () -> g.expandArray(-1));
        assertErrno(Errno.EINVAL, () -> g.initControl(5, 0, 0)); // vCPU 0 has its control block
        assertErrno(Errno.ENOENT, () -> g.initControl(5, 0, 1)); // one vCPU
        assertErrno(Errno.EINVAL, () -> g.initControl(5, 4, 0)); // not 8-byte aligned
        assertErrno(Errno.EINVAL, () -> g.initControl(5, 4096 - 72 + 8, 0)); // crosses the page
        assertErrno(Errno.EINVAL, () -> g.setPriority(last, 16));
        assertErrno(Errno.EINVAL, () -> g.setPriority(last + 1, 3)); // closed
        assertErrno(Errno.EINVAL, () -> g.setPriority(EventWord.NR_CHANNELS, 3));
        g.setPriority(last, 0);
        // The array holds at most 128 pages (131072 ports); any frame of the domain's may be one.
        for (int i = 2; i < EventWord.MAX_ARRAY_PAGES; i++) g.expandArray(3);
        assertErrno(Errno.ENOSPC, () -> g.expandArray(4));

        g.resetChannels();
        assertErrno(Errno.EOPNOTSUPP, () -> g.expandArray(3));
        int port = g.allocUnbound(0);
        assertErrno(Errno.ENOSYS, () -> g.setPriority(port, 3));
    }

    @Test
    void aFifoDomainHoldsMoreThan8192PortsAndDeliversOnAllOfThem() throws Exception {
        int pages = 40;
        Hypercalls a = fifoGuest(pages);
        Hypercalls b = fifoGuest(pages);
        int n = 10_000;
        int[] pa = new int[n];
        int[] pb = new int[n];
        for (int i = 0; i < n; i++) {
            pa[i] = a.allocUnbound(b.domid());
            pb[i] = b.bindInterdomain(a.domid(), pa[i]);
        }
        assertThat(pb[n - 1]).isGreaterThan(EventPage.MAX_PORTS);
        assertThat(pa[n - 1]).isGreaterThan(EventPage.MAX_PORTS);
        java.util.Set<Integer> got = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicInteger upcalls = new java.util.concurrent.atomic.AtomicInteger();
        b.setEventHandler(port -> {
            got.add(port);
            upcalls.incrementAndGet();
        }, Delivery.BLOCKING);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (got.size() < n && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(got).as("every bind left its port pending").hasSize(n);
        assertThat(upcalls.get()).isEqualTo(n);
        got.clear();
        int sent = 0;
        for (int i = 0; i < n; i++) {
            if (pa[i] > EventPage.MAX_PORTS || pb[i] > EventPage.MAX_PORTS) {
                a.send(pa[i]);
                sent++;
            }
        }
        assertThat(sent).isPositive();
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (got.size() < sent && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(got).hasSize(sent).allMatch(p -> p > 8000);
        assertThat(upcalls.get()).as("one upcall per send").isEqualTo(n + sent);
    }

    @Test
    void resetClosesEveryPortAndReturnsTheDomainToTwoLevel() throws Exception {
        int pages = 16;
        Hypercalls g = fifoGuest(pages);
        int p0 = dom0.allocUnbound(g.domid());
        int pg = g.bindInterdomain(0, p0);
        BlockingQueue<Integer> got = new LinkedBlockingQueue<>();
        g.setEventHandler(got::add, Delivery.BLOCKING);
        assertThat(take(got)).isEqualTo(pg);
        g.resetChannels();
        assertThat(g.maxChannels()).isEqualTo(EventPage.MAX_PORTS);
        assertThat(g.status(pg).state()).isEqualTo(ChannelState.CLOSED);
        assertThat(g.status(g.layout().xenstorePort()).state()).as("every port").isEqualTo(ChannelState.CLOSED);
        assertThat(dom0.status(p0)).as("the peer waits for us again")
                .isEqualTo(new ChannelStatus(ChannelState.UNBOUND, g.domid(), -1, -1));
        assertErrno(Errno.EINVAL, () -> g.status(EventPage.MAX_PORTS));

        int again = g.bindInterdomain(0, p0);
        assertThat(take(got)).as("delivered on the 2-level ABI").isEqualTo(again);
        dom0.send(p0);
        assertThat(take(got)).isEqualTo(again);
        assertThat(word(g, pages, again)).as("no event word is touched on 2-level").isZero();
        assertThat(ready(g, pages)).isZero();

        // And to FIFO again, on the same pages.
        g.useFifo(EventAbi.topDown(g));
        assertThat(g.maxChannels()).isEqualTo(EventWord.NR_CHANNELS);
        g.mask(again);
        dom0.send(p0);
        assertThat(word(g, pages, again)).isEqualTo(EventWord.PENDING | EventWord.MASKED);
        g.unmask(again);
        assertThat(take(got)).isEqualTo(again);
        assertThat(got.poll(200, TimeUnit.MILLISECONDS)).isNull();
    }

    // ---- shutdown reasons (SCHEDOP_shutdown, SCHEDOP_remote_shutdown)

    /** Binds VIRQ_DOM_EXC and sends dom0's events to {@code events}; returns the VIRQ's port. */
    int bindDomExc(BlockingQueue<Integer> events) throws Exception {
        int port = dom0.bindVirq(Hypercalls.VIRQ_DOM_EXC);
        dom0.setEventHandler(events::add, Delivery.BLOCKING);
        return port;
    }

    /** What getdomaininfo says of a shut-down domain: shut down with that reason, crashed only for CRASH. */
    void assertShutDown(int id, ShutdownReason reason) throws Exception {
        DomainInfo info = ctl.info(id);
        assertThat(info.state()).isEqualTo(DomainState.SHUTDOWN);
        assertThat(info.shutdownReason()).isEqualTo(reason);
        assertThat(info.crashed()).as("xl list's c flag").isEqualTo(reason == ShutdownReason.CRASH);
        assertThat(ctl.list()).filteredOn(i -> i.domid() == id)
                .extracting(DomainInfo::state, DomainInfo::shutdownReason)
                .containsExactly(tuple(DomainState.SHUTDOWN, reason));
    }

    @ParameterizedTest
    @EnumSource(ShutdownReason.class)
    void aGuestsOwnShutdownRecordsItsReasonAndDom0IsTold(ShutdownReason reason) throws Exception {
        BlockingQueue<Integer> events = new LinkedBlockingQueue<>();
        int virqPort = bindDomExc(events);
        Hypercalls g = guest();
        Hypercalls bystander = guest();
        g.shutdown(reason);
        assertThat(take(events)).isEqualTo(virqPort);
        assertShutDown(g.domid(), reason);
        DomainInfo other = ctl.info(bystander.domid());
        assertThat(other.state()).isEqualTo(DomainState.RUNNING);
        assertThat(other.shutdownReason()).isNull();
    }

    @ParameterizedTest
    @EnumSource(ShutdownReason.class)
    void dom0ShutsAGuestDownWithAnyReason(ShutdownReason reason) throws Exception {
        BlockingQueue<Integer> events = new LinkedBlockingQueue<>();
        int virqPort = bindDomExc(events);
        Hypercalls g = guest();
        ctl.shutdown(g.domid(), reason);
        assertThat(take(events)).isEqualTo(virqPort);
        assertShutDown(g.domid(), reason);
    }

    @Test
    void aSuspendedDomainStaysSuspendedForThereIsNoResume() throws Exception {
        BlockingQueue<Integer> events = new LinkedBlockingQueue<>();
        int virqPort = bindDomExc(events);
        Hypercalls g = guest();
        g.shutdown(ShutdownReason.SUSPEND);
        assertThat(take(events)).isEqualTo(virqPort);
        assertShutDown(g.domid(), ShutdownReason.SUSPEND);
        // Xen keeps the first reason until XEN_DOMCTL_resumedomain, which this hypervisor does not offer: a later
        // shutdown, the guest's or dom0's, changes nothing, and unpausing does not resume it either.
        g.shutdown(ShutdownReason.POWEROFF);
        ctl.shutdown(g.domid(), ShutdownReason.CRASH);
        assertErrno(Errno.EINVAL, () -> ctl.unpause(g.domid()));
        assertShutDown(g.domid(), ShutdownReason.SUSPEND);
        ctl.destroy(g.domid());
        assertErrno(Errno.ESRCH, () -> ctl.info(g.domid()));
    }
}
