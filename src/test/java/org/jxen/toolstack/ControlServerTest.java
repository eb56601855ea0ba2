package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The control protocol on the wire, and through ControlClient. */
@Timeout(120)
class ControlServerTest {
    @TempDir
    Path dir;
    private Host host;
    private ControlClient client;

    @BeforeEach
    void start() throws Exception {
        host = Host.start(dir, false);
        client = ControlClient.forRunDir(dir);
    }

    @AfterEach
    void stop() {
        host.close();
    }

    /** Sends raw bytes and returns everything the host answered before closing. */
    private String raw(String request) throws Exception {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(dir.resolve("toolstack.sock")));
            ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            ByteBuffer b = ByteBuffer.allocate(1 << 16);
            while (ch.read(b) >= 0) {
                // read to the end of the reply
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void listOnTheWire() throws Exception {
        // Name, id, MiB (dom0: the host process's resident memory), vCPUs, xl's state letters, CPU seconds.
        assertThat(XlListing.runningOrBlocked(raw("list\n"))).matches("\\|Domain-0\t0\t[0-9]+\t1\tr-----\t[0-9]+\\.[0-9]{3}\nOK\n");
    }

    @Test
    void createSendsTheConfigAfterItsLength() throws Exception {
        String cfg = "name = 'w1'\ninproc = 1\n";
        assertThat(raw("create " + cfg.length() + "\n" + cfg)).isEqualTo("|1 w1\nOK\n");
        assertThat(client.call("list").stream().map(XlListing::runningOrBlocked))
                .anyMatch(l -> l.matches("w1\t1\t16\t1\tr-----\t[0-9]+\\.[0-9]{3}"));
        assertThat(raw("destroy w1\n")).isEqualTo("OK\n");
        assertThat(client.call("list")).hasSize(1);
    }

    @Test
    void errorsAreOneLine() throws Exception {
        assertThat(raw("frobnicate\n")).isEqualTo("ERROR unknown request frobnicate\n");
        assertThat(raw("destroy\n")).isEqualTo("ERROR destroy takes 1 argument\n");
        assertThat(raw("create 12\nname = 3\n   ")).isEqualTo("ERROR line 1: domain name '3' is all digits: xl would take it for a domain id\n");
        assertThat(raw("create x\n")).isEqualTo("ERROR create needs the config length\n");
        assertThat(raw("console 5\n")).isEqualTo("ERROR 5 is an invalid domain identifier\n");
    }

    @Test
    void dmesgWithoutADomainIsDom0sLog() throws Exception {
        List<String> lines = client.call("dmesg");
        assertThat(lines.getFirst()).startsWith("jxen host: dom0 up");
        assertThat(client.call("dmesg Domain-0")).isEqualTo(lines);
        assertThatThrownBy(() -> client.call("dmesg nosuch")).isInstanceOf(ControlException.class)
                .hasMessage("nosuch is an invalid domain identifier (rc=-6)");
    }

    @Test
    void createWithADeviceListAttachesTheDevicesAfterBoot() throws Exception {
        try (TestBackend b = new TestBackend(host.xenstore(), "mydevice", true)) {
            Host.Guest g = host.create(DomainConfig.parse("name = 'dev'\ninproc = 1\nmydevice = ['0', 'id=1']\n"));
            for (int id : new int[] {0, 1}) {
                String be = "/local/domain/0/backend/mydevice/" + g.domid() + "/" + id;
                assertThat(host.xenstore().readString(be + "/state")).isEqualTo("2");
                assertThat(host.xenstore().readString("/local/domain/" + g.domid() + "/device/mydevice/" + id + "/backend"))
                        .isEqualTo(be);
            }
        }
    }

    @Test
    void aConsoleClientThatHangsUpStopsBeingFollowed() throws Exception {
        Host.Guest g = host.create(GuestConfig.of("quiet", false));
        ConsoleLog log = host.consoleLog(g.domid());
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(dir.resolve("toolstack.sock")));
            ch.write(ByteBuffer.wrap("console quiet\n".getBytes(StandardCharsets.UTF_8)));
            awaitFollowers(log, 1);
        }
        awaitFollowers(log, 0);
        assertThat(host.guests()).hasSize(1);
    }

    /** Polls the follower count: registration happens on the host's request thread, with nothing to watch. */
    private static void awaitFollowers(ConsoleLog log, int n) throws InterruptedException {
        for (int i = 0; i < 1200 && log.followers() != n; i++) Thread.sleep(25);
        assertThat(log.followers()).isEqualTo(n);
    }
}
