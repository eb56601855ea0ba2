package org.jxen.system.blk;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** Each test gets its own host with blkback in dom0 ({@link BlkWireHarness}) in a temporary directory. */
abstract class BlkWireFixture {
    @TempDir
    Path dir;
    BlkWireHarness h;

    @BeforeEach
    void start() throws Exception {
        h = new BlkWireHarness(dir);
    }

    @AfterEach
    void stop() {
        h.close();
    }
}
