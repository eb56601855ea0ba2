package org.jxen.system.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.cli.XlResult;

/**
 * A host without CAP_NET_ADMIN (dropped with setpriv, as an unprivileged dom0 would lack it): it says once that
 * it cannot make its bridge, a guest with a vif fails to be created with one readable line, and a guest without
 * one is created and works.
 */
class NoNetAdminTest {
    @TempDir
    Path dir;

    @Test
    void aVifFailsWithOneClearLineAndTheRestWorks() throws Exception {
        assumeTrue(NamespacedHost.available(), "needs root and ip netns");
        assumeTrue(NamespacedHost.exec(List.of("setpriv", "--version")).code() == 0, "needs setpriv");
        String ns;
        try (NamespacedHost host = new NamespacedHost(dir,
                List.of("setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--"))) {
            ns = host.ns;
            assertThat(host.output()).contains("jxen host: creating bridge xenbr0 failed (ip exit 2) (needs CAP_NET_ADMIN);"
                    + " guests' vifs will fail, the rest works");
            Path cfg = dir.resolve("g1.cfg");
            Files.writeString(cfg, "name = 'g1'\nvif = [ 'ip=10.0.0.1/24' ]\n");
            XlResult r = host.xl("create", cfg.toString());
            assertThat(r.code()).isEqualTo(1);
            List<String> lines = r.err().lines().filter(l -> !l.startsWith("Parsing config")).toList();
            assertThat(lines).hasSize(1);
            assertThat(lines.getFirst()).contains("creating TAP device vif1.0: Operation not permitted (needs CAP_NET_ADMIN)")
                    .doesNotContain("Exception").doesNotContain("\tat ");
            Path plain = dir.resolve("g2.cfg");
            Files.writeString(plain, "name = 'g2'\n");
            XlResult ok = host.xl("create", plain.toString());
            assertThat(ok.code()).as(ok.err()).isZero();
            XlResult lsmod = host.xl("exec", "g2", "--", "lsmod");
            assertThat(lsmod.code()).as(lsmod.err()).isZero();
            assertThat(host.links()).containsExactly("lo");
        }
        assertThat(NamespacedHost.namespaceExists(ns)).isFalse();
    }
}
