package org.jxen.ring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jxen.ring.RingFrontendProcess.ENTRY_SIZE;
import static org.jxen.ring.RingFrontendProcess.INT;
import static org.jxen.ring.RingFrontendProcess.LE64;
import static org.jxen.ring.RingFrontendProcess.LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RingStressTest} across two processes: the frontend is a JVM of its own ({@link RingFrontendProcess}),
 * this JVM is the backend, and the ring lives in a file both map MAP_SHARED (on tmpfs when there is one), as a
 * granted page is mapped in two domains. The event channel is a futex doorbell per direction
 * ({@link FutexDoorbell}). Each side sleeps on its doorbell only after its final check found nothing pending, so
 * a lost notification leaves both asleep for good, which the @Timeout turns into a failure. There are no timing
 * assertions. The u32 indices wrap early in the run.
 */
class CrossProcessRingStressTest {
    private static final long N = 200_000;
    private static final int START = 0xFFFFFFF0;
    private static final Path TMPFS = Path.of("/dev/shm");

    @TempDir
    Path dir;

    private static Process launchFrontend(Path file) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(RingFrontendProcess.class.getName());
        cmd.add(file.toString());
        cmd.add(Long.toString(N));
        cmd.add(Integer.toUnsignedString(START));
        return new ProcessBuilder(cmd).inheritIO().start();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyRequestAndResponseCrossesOnceInOrderWithoutLostNotifications() throws Exception {
        Path file = Files.isDirectory(TMPFS) && Files.isWritable(TMPFS)
                ? Files.createTempFile(TMPFS, "jxen-ring-", ".shm") : Files.createFile(dir.resolve("ring.shm"));
        Process guest = null;
        try (Arena arena = Arena.ofShared()) {
            Files.write(file, new byte[(int) RingFrontendProcess.FILE_SIZE]); // zeroed, as a fresh page is
            MemorySegment shared = RingFrontendProcess.map(file, arena);
            MemorySegment mailbox = shared.asSlice(0, RingFrontendProcess.RING_OFF);
            FutexDoorbell toBack = new FutexDoorbell(mailbox.asSlice(RingFrontendProcess.TO_BACK_OFF, 4));
            FutexDoorbell toFront = new FutexDoorbell(mailbox.asSlice(RingFrontendProcess.TO_FRONT_OFF, 4));
            boolean[] guestGone = {false};
            guest = launchFrontend(file);
            Process watched = guest;
            // A thread of its own rather than onExit(), whose callbacks may wait for a busy common pool.
            Thread.ofPlatform().daemon().name("frontend-exit").start(() -> {
                while (true) {
                    try {
                        watched.waitFor();
                        break;
                    } catch (InterruptedException e) {
                        // Nobody interrupts this thread; the death must be reported.
                    }
                }
                synchronized (guestGone) {
                    guestGone[0] = true;
                }
                toBack.notifyPeer();
            });

            while ((int) INT.getAcquire(mailbox, RingFrontendProcess.MAGIC_OFF) != RingFrontendProcess.MAGIC) {
                assertThat(guest.isAlive()).as("the frontend is booting").isTrue();
                Thread.sleep(5); // the handshake only: the ring protocol below never polls
            }
            assertThat(mailbox.get(ValueLayout.JAVA_INT, RingFrontendProcess.START_OFF)).isEqualTo(START);
            SharedRingLayout layout = new SharedRingLayout(
                    shared.asSlice(RingFrontendProcess.RING_OFF, SharedRingLayout.PAGE_SIZE), ENTRY_SIZE);
            BackRing back = new BackRing(layout).attach(layout.rspProd());
            assertThat(back.reqCons()).isEqualTo(START);
            toFront.notifyPeer(); // connected: the frontend starts producing

            MemorySegment req = Arena.ofAuto().allocate(ENTRY_SIZE, 8);
            long consumed = 0;
            long sleeps = 0;
            while (consumed < N) {
                while (back.copyNextRequest(req)) {
                    long seq = req.get(LE64, 8);
                    assertThat(seq).as("request %d", consumed).isEqualTo(consumed);
                    back.nextResponse().set(LE64, 0, consumed++);
                }
                if (back.pushResponsesAndCheckNotify()) toFront.notifyPeer();
                if (consumed == N) break;
                if (!back.finalCheckForRequests()) {
                    synchronized (guestGone) {
                        assertThat(guestGone[0]).as("the frontend died after %d requests", consumed).isFalse();
                    }
                    sleeps++;
                    toBack.await();
                }
            }

            assertThat(guest.waitFor()).as("the frontend's exit code").isZero();
            assertThat((long) LONG.getAcquire(mailbox, RingFrontendProcess.RECEIVED_OFF)).isEqualTo(N);
            assertThat((int) INT.getAcquire(mailbox, RingFrontendProcess.STATUS_OFF)).isEqualTo(RingFrontendProcess.DONE);
            assertThat(back.reqCons()).isEqualTo(START + (int) N);
            assertThat(back.unconsumedRequests()).as("no request beyond N").isZero();
            assertThat(layout.reqProd()).isEqualTo(layout.rspProd()).isEqualTo(START + (int) N);
            System.out.printf("cross-process ring: %d requests, backend slept %d times, frontend %d%n", N, sleeps,
                    mailbox.get(ValueLayout.JAVA_INT, RingFrontendProcess.SLEEPS_OFF));
        } finally {
            if (guest != null) {
                guest.destroyForcibly();
                guest.waitFor();
            }
            Files.deleteIfExists(file);
        }
    }
}
