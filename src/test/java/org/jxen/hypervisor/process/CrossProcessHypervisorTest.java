package org.jxen.hypervisor.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.Errno;
import org.jxen.hypervisor.GrantCopy;
import org.jxen.hypervisor.GrantEntry;
import org.jxen.hypervisor.GrantMapping;
import org.jxen.hypervisor.HvFixture;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.HypervisorContract;
import org.junit.jupiter.api.Test;

class CrossProcessHypervisorTest extends HypervisorContract {
    @Override
    protected HvFixture fixture(Path dir) throws Exception {
        return new CrossProcessFixture(dir, abi());
    }

    CrossProcessFixture cross() {
        return (CrossProcessFixture) fx;
    }

    @Test
    void aWrongTokenOrASecondConnectionIsRefused() throws Exception {
        int id = ctl.createDomain(8, 1);
        var service = cross().service();
        String token = service.issueToken(id);
        assertErrno(Errno.EACCES, () -> GuestConnection.connect(service.socketPath(), id, "0" + token));
        assertErrno(Errno.EACCES, () -> GuestConnection.connect(service.socketPath(), 0, token));
        try (Hypercalls hc = GuestConnection.connect(service.socketPath(), id, token)) {
            assertThat(hc.domid()).isEqualTo(id);
            assertErrno(Errno.EBUSY, () -> GuestConnection.connect(service.socketPath(), id, token));
        }
    }

    @Test
    void aDroppedConnectionCrashesTheDomainAndReleasesItsMappings() throws Exception {
        int id = ctl.createDomain(8, 1);
        ctl.unpause(id);
        int ref = dom0.grantTable().grantAccess(id, 3, false);
        Hypercalls g = fx.connect(id);
        g.mapGrant(0, ref, false);
        assertThat(dom0.grantTable().endAccess(ref)).isFalse();
        g.close();
        DomainInfo info = awaitShutdown(id);
        assertThat(info.crashed()).isTrue();
        assertThat(dom0.grantTable().endAccess(ref)).isTrue();
    }

    @Test
    void aKilledGranterGuestsPageStaysValidInAGuestMapperUntilItUnmaps() throws Exception {
        Hypercalls a = guest();
        Hypercalls b = guest();
        int aid = a.domid();
        int ref = a.grantTable().grantAccess(b.domid(), 2, false);
        GrantMapping m = b.mapGrant(aid, ref, false);
        a.frame(2).set(ValueLayout.JAVA_LONG, 0, 0x0A11CEL);
        a.close();
        assertThat(awaitShutdown(aid).crashed()).isTrue();
        assertThat(m.page().get(ValueLayout.JAVA_LONG, 0)).isEqualTo(0x0A11CEL);
        // The toolstack reaps the crashed domain; b's mmap of a's memory file must survive that too.
        ctl.destroy(aid);
        assertThat(m.page().get(ValueLayout.JAVA_LONG, 0)).isEqualTo(0x0A11CEL);
        m.page().set(ValueLayout.JAVA_LONG, 8, 0xB0BL);
        assertThat(m.page().get(ValueLayout.JAVA_LONG, 8)).isEqualTo(0xB0BL);
        assertThat(countFiles("d" + aid + ".")).isEqualTo(2);
        b.unmapGrant(m.handle());
        assertThat(countFiles("d" + aid + ".")).isZero();
    }

    @Test
    void aKilledMapperGuestsPinIsClearedInTheGranterGuestsOwnEntry() throws Exception {
        Hypercalls a = guest();
        Hypercalls b = guest();
        int bid = b.domid();
        int ref = a.grantTable().grantAccess(bid, 2, false);
        b.mapGrant(a.domid(), ref, false);
        assertThat(GrantEntry.flags(a.grantTable().flagsAndDomid(ref)))
                .isEqualTo(GrantEntry.GTF_PERMIT_ACCESS | GrantEntry.GTF_READING | GrantEntry.GTF_WRITING);
        b.close();
        assertThat(awaitShutdown(bid).crashed()).isTrue();
        assertThat(GrantEntry.flags(a.grantTable().flagsAndDomid(ref)))
                .as("seen through the granter's own mapping of its table").isEqualTo(GrantEntry.GTF_PERMIT_ACCESS);
        assertThat(a.grantTable().endAccess(ref)).isTrue();
        ctl.destroy(bid);
        assertThat(countFiles("d" + bid + ".")).isZero();
    }

    @Test
    void theHypercallPageIsUnlinkedOnceTheGuestHasMappedIt() throws Exception {
        Hypercalls g = guest();
        assertThat(countFiles("d" + g.domid() + ".")).as("memory, grant table, events; no .hcall").isEqualTo(3);
        int ref = dom0.grantTable().grantAccess(g.domid(), 3, true);
        dom0.frame(3).set(java.lang.foreign.ValueLayout.JAVA_INT, 0, 7);
        assertThat(g.grantCopy(java.util.List.of(new GrantCopy(new GrantCopy.Ref(0, ref, 0),
                new GrantCopy.Frame(4, 0), 4)))).containsExactly(0);
        assertThat(g.frame(4).get(java.lang.foreign.ValueLayout.JAVA_INT, 0)).isEqualTo(7);
        assertThat(dom0.grantTable().endAccess(ref)).isTrue();
    }

    DomainInfo awaitShutdown(int id) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            DomainInfo info = ctl.info(id);
            if (info.state() == DomainState.SHUTDOWN) return info;
            Thread.sleep(10);
        }
        return ctl.info(id);
    }
}
