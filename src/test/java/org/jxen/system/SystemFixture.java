package org.jxen.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import org.jxen.cli.XlHostFixture;
import org.jxen.cli.XlResult;

/** A host per test, driven with xl as a user does: guests created from xl.cfg text, their console read back. */
abstract class SystemFixture extends XlHostFixture {
    static final String LSMOD = "Module                  Size  Used by\n";

    /** A guest from an xl.cfg naming it, with {@code lines} after the name; its domain id. */
    int create(String name, String... lines) throws Exception {
        Path cfg = dir.resolve(name + ".cfg");
        Files.writeString(cfg, "name = '" + name + "'\n" + String.join("\n", lines) + "\n");
        XlResult c = xl("create", cfg.toString());
        assertThat(c.code()).as(c.err()).isZero();
        return host.guests().stream().filter(g -> g.name().equals(name)).findFirst().orElseThrow().domid();
    }

    /** A domain's log (xl dmesg) once a line matching {@code last} is in it. */
    List<String> dmesgUntil(String dom, Predicate<String> last) throws Exception {
        for (int i = 0; i < 1200; i++) {
            XlResult d = xl("dmesg", dom);
            assertThat(d.code()).as(d.err()).isZero();
            List<String> lines = d.out().lines().toList();
            if (lines.stream().anyMatch(last)) return lines;
            Thread.sleep(50);
        }
        throw new AssertionError("no such line in the log of " + dom + ": " + xl("dmesg", dom).out());
    }

    /** Exit status 0, nothing on stderr, exactly {@code out} on stdout. */
    static void ok(XlResult r, String out) {
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).isEqualTo(out);
    }

    /** Exit status 1, nothing on stdout, exactly {@code err} on stderr. */
    static void fails(XlResult r, String err) {
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo(err);
    }
}
