package org.jxen.xenstored;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.XsMessage;
import org.jxen.xenstore.XsType;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reconnecting client whose daemon dies with requests unanswered: once a daemon listens again, it replays what
 * is safe to do twice, ends transactions with EAGAIN and fails the rest with an IOException. The first "daemon" reads the requests and closes without answering, as a killed one does.
 */
class XsClientReconnectTest {
    @TempDir
    Path dir;

    @Test
    void requestsInFlightAreReplayedOrFailed() throws Exception {
        Path socket = dir.resolve("socket");
        ServerSocketChannel fake = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        fake.bind(UnixDomainSocketAddress.of(socket));
        CompletableFuture<SocketChannel> accepted = CompletableFuture.supplyAsync(() -> {
            try {
                return fake.accept();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        XsClient client = XsClient.reconnecting(socket);
        SocketChannel conn = accepted.get(30, TimeUnit.SECONDS);

        CompletableFuture<XsMessage> write = client.request(XsMessage.of(XsType.WRITE, 0, 0, Payloads.pathAndValue("/a", "1".getBytes())));
        CompletableFuture<XsMessage> inTx = client.request(XsMessage.of(XsType.WRITE, 0, 7, Payloads.pathAndValue("/b", "2".getBytes())));
        CompletableFuture<XsMessage> commit = client.request(XsMessage.of(XsType.TRANSACTION_END, 0, 7, Payloads.strings("T")));
        CompletableFuture<XsMessage> control = client.request(XsMessage.of(XsType.CONTROL, 0, 0, Payloads.strings("print", "x")));
        // The daemon read them all, then died.
        ByteBuffer in = ByteBuffer.allocate(4096);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (in.position() < 4 * 16 && System.nanoTime() < deadline) conn.read(in);
        conn.close();
        fake.close();
        Files.delete(socket);

        try (XenStoredServer server = XenStoredServer.start(new XenStoredServer.Options(socket, null))) {
            assertThat(write.get(60, TimeUnit.SECONDS).type()).as("replayed").isEqualTo(XsType.WRITE.code);
            assertThat(XsError.fromPayload(inTx.get(60, TimeUnit.SECONDS).payload())).isEqualTo(XsError.EAGAIN);
            assertThat(XsError.fromPayload(commit.get(60, TimeUnit.SECONDS).payload())).isEqualTo(XsError.EAGAIN);
            ExecutionException unknown = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> control.get(60, TimeUnit.SECONDS));
            assertThat(unknown.getCause()).isInstanceOf(IOException.class)
                    .hasMessageContaining("restarted before answering CONTROL; it may or may not have been done");
            assertThat(client.readString("/a")).isEqualTo("1");
            // At least once: a reconnection can land in the dying listener's backlog and need another.
            int first = client.reconnections();
            assertThat(first).isGreaterThanOrEqualTo(1);

        } finally {
            client.close();
        }
    }
}
