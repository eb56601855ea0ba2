package org.jxen.xenstored.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.jxen.xenstore.XsType;
import org.junit.jupiter.api.Test;

/** VIRQ_DOM_EXC handling: a shut-down domain is announced on @releaseDomain once, until RESUME. */
class DomainShutdownTest {
    private final EngineHarness h = new EngineHarness();
    private final EngineHarness.Client dom0 = h.dom0();

    @Test
    void shutdownFiresReleaseDomainOnceUntilResume() {
        h.ok(dom0, XsType.INTRODUCE, "5\0" + "100\0" + "7\0");
        h.watch(dom0, "@releaseDomain", "rel");
        h.events(dom0);

        h.engine.domainShutdown(5);
        h.engine.domainShutdown(5);
        assertThat(h.events(dom0)).containsExactly("@releaseDomain\0rel\0");

        h.ok(dom0, XsType.RESUME, "5\0");
        h.engine.domainShutdown(5);
        assertThat(h.events(dom0)).containsExactly("@releaseDomain\0rel\0");
        assertThat(h.engine.introducedDomains()).containsExactly(5);
    }

    @Test
    void shutdownOfAnUnknownDomainIsIgnored() {
        h.watch(dom0, "@releaseDomain", "rel");
        h.events(dom0);
        h.engine.domainShutdown(9);
        assertThat(h.events(dom0)).isEmpty();
    }
}
