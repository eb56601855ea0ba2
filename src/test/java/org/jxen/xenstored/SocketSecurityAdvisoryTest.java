package org.jxen.xenstored;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.xenstored.engine.EngineHarness.assertReply;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Xen security advisories that need the whole daemon on a real Unix socket (the others drive the engine
 * directly: {@code org.jxen.xenstored.engine.SecurityAdvisoryTest}).
 */
class SocketSecurityAdvisoryTest {
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS) // a hang guard, not a timing assertion
    @DisplayName("XSA-420: negative or bogus frame lengths drop only that socket connection")
    void xsa420(@TempDir Path dir) throws IOException {
        try (XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(dir.resolve("socket"), null));
                RawSocketClient watcher = new RawSocketClient(server.socketPath())) {
            assertReply(watcher.call(XsType.WATCH, 1, "@releaseDomain\0r\0"), XsType.WATCH, "OK\0");
            assertReply(watcher.read(), XsType.WATCH_EVENT, "@releaseDomain\0r\0");
            for (int len : new int[] {-1, Integer.MIN_VALUE, 0x7fffffff, 4097}) {
                try (RawSocketClient bad = new RawSocketClient(server.socketPath())) {
                    bad.writeHeaderAndJunk(XsType.WRITE.code, len, 64);
                    assertThat(bad.droppedByDaemon()).as("length %d", len).isTrue();
                }
                // The others are served, and dropping a client is no domain release (XSA-325).
                XsMessage r = watcher.call(XsType.READ, 3, "/tool/xenstored\0");
                assertReply(r, XsType.READ, "");
            }
            int connections = server.onLoop(e -> e.connections().size());
            assertThat(connections).isEqualTo(1);
        }
    }
}
