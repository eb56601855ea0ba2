package org.jxen.cli;

import java.nio.file.Path;
import org.jxen.toolstack.Host;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** Each test gets its own host in a temporary directory, and runs xl against it ({@link #xl}). */
abstract class XlHostFixture {
    @TempDir
    Path dir;
    Host host;
    Path run;

    @BeforeEach
    void start() throws Exception {
        run = dir.resolve("host");
        host = Host.start(run, false);
    }

    @AfterEach
    void stop() {
        host.close();
    }

    /** {@code xl -H RUN args} in this JVM. */
    XlResult xl(String... args) {
        return XlResult.run(run, args);
    }
}
