package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Guest kernel logs travel over the console ring into xenconsoled's per-domain log and file. */
@Timeout(120)
class ConsoleTest {
    private static final int LINES = 400;

    @TempDir
    Path dir;
    private Host host;

    @BeforeEach
    void start() throws Exception {
        host = Host.start(dir, false);
    }

    @AfterEach
    void stop() {
        host.close();
    }

    @ParameterizedTest(name = "own process: {0}")
    @ValueSource(booleans = {false, true})
    void everyLineArrivesInOrderAndTheFileMatches(boolean ownProcess) throws Exception {
        Host.Guest g = host.create(new GuestConfig("chatty", 16, 1, ChattyKernel.class.getName(),
                List.of(Integer.toString(LINES)), ownProcess));
        ConsoleLog log = host.consoleLog(g.domid());
        LinkedBlockingQueue<String> seen = new LinkedBlockingQueue<>();
        CompletableFuture<Void> ended = new CompletableFuture<>();
        List<String> before = log.follow(new ConsoleLog.Follower(seen::add, () -> ended.complete(null)));
        seen.addAll(before);
        awaitLine(seen, "chatty done");

        host.libxl().requestShutdown(g.domid(), "poweroff");
        ended.get(60, TimeUnit.SECONDS);

        List<String> lines = log.lines();
        assertThat(lines.getFirst()).startsWith("Booting jxen kernel on domain " + g.domid());
        List<String> chatty = lines.stream().filter(l -> l.startsWith("chatty line")).toList();
        assertThat(chatty).hasSize(LINES);
        for (int i = 0; i < LINES; i++) assertThat(chatty.get(i)).isEqualTo(String.format("chatty line %05d ä", i));
        assertThat(lines).contains("xenbus: shutdown requested: poweroff", "reboot: Power down");
        List<String> file = Files.readAllLines(dir.resolve("console/guest-chatty.log"), StandardCharsets.UTF_8);
        assertThat(file).isEqualTo(lines);
        assertThat(host.consoleLog(g.domid())).isNull();
    }

    private static void awaitLine(LinkedBlockingQueue<String> q, String wanted) throws InterruptedException {
        while (true) {
            String l = q.poll(60, TimeUnit.SECONDS);
            assertThat(l).as("waiting for console line %s", wanted).isNotNull();
            if (l.equals(wanted)) return;
        }
    }
}
