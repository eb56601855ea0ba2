package org.jxen.cli;

import java.nio.file.Path;
import org.jxen.toolstack.Host;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** Each test gets its own host in a temporary directory, and runs xl against it ({@link #xl}). */
public abstract class XlHostFixture {
    @TempDir
    protected Path dir;
    protected Host host;
    protected Path run;

    @BeforeEach
    protected void start() throws Exception {
        run = dir.resolve("host");
        host = Host.start(run, false);
    }

    @AfterEach
    protected void stop() {
        host.close();
    }

    /**
     * {@code xl create} of a config {@code name = 'NAME'} followed by {@code body}, written to NAME.cfg in the test's
     * directory; fails the test unless it succeeds, and gives the new domain's id.
     */
    protected int createGuest(String name, String body) throws Exception {
        Path cfg = java.nio.file.Files.writeString(dir.resolve(name + ".cfg"), "name = '" + name + "'\n" + body);
        XlResult c = xl("create", cfg.toString());
        org.assertj.core.api.Assertions.assertThat(c.code()).as(c.err()).isZero();
        return host.guests().stream().filter(g -> g.name().equals(name)).findFirst().orElseThrow().domid();
    }

    /** {@code xl -H RUN args} in this JVM. */
    protected XlResult xl(String... args) {
        return XlResult.run(run, args);
    }
}
