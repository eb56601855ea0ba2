package org.jxen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstored.XenStoredServer;
import org.junit.jupiter.api.Test;

/** The bench says why devices did not connect, from their error nodes in a real xenstored. */
class HandshakeBenchReasonsTest {
    @Test
    void unconnectedDevicesAreCountedByWhatTheirErrorNodesSay() throws Exception {
        try (XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(null, null));
             XsClient xs = new XsClient(server.connectInProcess(0))) {
            String full = "28 d0 has no free port (all 131071 in use)";
            xs.write("/local/domain/0/error/backend/mydevice/5/0/error", full);
            xs.write("/local/domain/0/error/backend/mydevice/6/2/error", full);
            xs.write("/local/domain/7/error/device/mydevice/1/error", "12 setting up the rings: out of memory");
            String why = HandshakeBench.whyNotConnected(xs, List.of("5/0", "6/2", "7/1", "8/0"));
            assertThat(why).isEqualTo("; their error nodes: 2 x \"backend: " + full + "\""
                    + " 1 x \"frontend: 12 setting up the rings: out of memory\" 1 x \"no error node\"");
        }
    }
}
