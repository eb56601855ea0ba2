package org.jxen.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Log-dirty mode on a real mapping: the guest's own writes found by PAGEMAP_SCAN of its write-protected mapping
 * (userfaultfd WP_ASYNC), a grant copy and a writable grant map marked by the hypervisor, each look reporting
 * only what was written since the last.
 */
@org.junit.jupiter.api.Timeout(120)
class LogDirtyTest {
    @TempDir
    Path dir;
    private Hypervisor hv;
    private Hypercalls dom0;
    private Hypercalls guest;
    private Hypercalls other;

    @BeforeEach
    void start() throws Exception {
        hv = new Hypervisor(dir.resolve("hv"), 64);
        dom0 = hv.connect(0);
        int a = dom0.domainControl().createDomain(1024, 1);
        int b = dom0.domainControl().createDomain(64, 1);
        // Running: a paused domain's hypercalls wait for its unpause.
        dom0.domainControl().unpause(a);
        dom0.domainControl().unpause(b);
        guest = hv.connect(a);
        other = hv.connect(b);
    }

    @AfterEach
    void stop() {
        other.close();
        guest.close();
        dom0.close();
        hv.close();
    }

    private static BitSet of(int... frames) {
        BitSet b = new BitSet();
        for (int f : frames) b.set(f);
        return b;
    }

    /** The userfaultfds this process holds. */
    private static long userfaultfds() throws java.io.IOException {
        try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(f -> {
                try {
                    return java.nio.file.Files.readSymbolicLink(f).toString().equals("anon_inode:[userfaultfd]");
                } catch (java.io.IOException gone) {
                    return false;
                }
            }).count();
        }
    }

    @Test
    void anInProcessGuestsWriteTrackerIsMadeOnlyWhenLogDirtyModeIsFirstEnabled() throws Exception {
        long before = userfaultfds();
        hv.enableLogDirty(guest.domid());
        assertThat(userfaultfds()).isEqualTo(before + 1);
        hv.disableLogDirty(guest.domid());
        hv.enableLogDirty(guest.domid());
        assertThat(userfaultfds()).as("made once, kept for the next migration").isEqualTo(before + 1);
        hv.disableLogDirty(guest.domid());
        guest.close();
        assertThat(userfaultfds()).isEqualTo(before);
    }

    @Test
    void theGuestsOwnWritesAreReportedOnceAndProtectedAgain() throws Exception {
        int d = guest.domid();
        guest.frame(7).set(ValueLayout.JAVA_LONG, 0, 1L); // before: not reported
        hv.enableLogDirty(d);
        assertThat(hv.cleanDirty(d)).isEqualTo(new BitSet());
        guest.frame(5).set(ValueLayout.JAVA_LONG, 8, 42L);
        guest.frame(900).set(ValueLayout.JAVA_BYTE, 4095, (byte) 1); // a page never touched before
        guest.frame(7).set(ValueLayout.JAVA_LONG, 0, 2L);
        assertThat(hv.cleanDirty(d)).isEqualTo(of(5, 7, 900));
        assertThat(hv.cleanDirty(d)).as("protected again by the look").isEqualTo(new BitSet());
        guest.frame(5).set(ValueLayout.JAVA_LONG, 16, 43L);
        assertThat(hv.cleanDirty(d)).isEqualTo(of(5));
        assertThat(guest.frame(5).get(ValueLayout.JAVA_LONG, 8)).as("writes went through").isEqualTo(42L);
        hv.disableLogDirty(d);
        HypercallException off = catchThrowableOfType(HypercallException.class, () -> hv.cleanDirty(d));
        assertThat(off.errno()).isEqualTo(Errno.EINVAL);
    }

    @Test
    void grantCopiesAndWritableMapsIntoTheDomainAreMarkedByTheHypervisor() throws Exception {
        int d = guest.domid();
        int dst = guest.grantTable().grantAccess(other.domid(), 12, false);
        int mapped = guest.grantTable().grantAccess(other.domid(), 20, false);
        int readOnly = guest.grantTable().grantAccess(other.domid(), 21, true);
        hv.enableLogDirty(d);
        other.frame(3).set(ValueLayout.JAVA_LONG, 0, 0x77L);
        int[] st = other.grantCopy(List.of(new GrantCopy(new GrantCopy.Frame(3, 0), new GrantCopy.Ref(d, dst, 64), 8)));
        assertThat(st).containsExactly(0);
        GrantMapping rw = other.mapGrant(d, mapped, false);
        GrantMapping ro = other.mapGrant(d, readOnly, true);
        // The copy's frame once; the writable map's frame while it is mapped; never the read-only one.
        assertThat(hv.cleanDirty(d)).isEqualTo(of(12, 20));
        assertThat(hv.cleanDirty(d)).isEqualTo(of(20));
        other.unmapGrant(rw.handle());
        other.unmapGrant(ro.handle());
        assertThat(hv.cleanDirty(d)).as("marked at the unmap").isEqualTo(of(20));
        assertThat(hv.cleanDirty(d)).isEqualTo(new BitSet());
        assertThat(guest.frame(12).get(ValueLayout.JAVA_LONG, 64)).isEqualTo(0x77L);
    }

    @Test
    void logDirtyModeIsForOneUserAtATimeAndEndsWithTheDomain() throws Exception {
        int d = guest.domid();
        hv.enableLogDirty(d);
        HypercallException twice = catchThrowableOfType(HypercallException.class, () -> hv.enableLogDirty(d));
        assertThat(twice.errno()).isEqualTo(Errno.EBUSY);
        dom0.domainControl().destroy(d);
        HypercallException gone = catchThrowableOfType(HypercallException.class, () -> hv.cleanDirty(d));
        assertThat(gone.errno()).isEqualTo(Errno.ESRCH);
    }
}
