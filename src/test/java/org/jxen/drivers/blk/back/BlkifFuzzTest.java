package org.jxen.drivers.blk.back;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.jxen.drivers.blk.Blkif;
import org.jxen.drivers.blk.back.BlkRig.Rsp;
import org.jxen.ring.RingOverflowException;

/**
 * Coverage-guided fuzzing of blkback's request processing: a guest fills request slots with any 112 bytes
 * (operation, segment counts, grant references, sectors, indirect pages, discard ranges), and blkback must
 * answer each request exactly once, with its id and a blkif status, without throwing and without touching
 * the image outside the disk. Grant references 0..15 are real data pages of the guest, so the fuzzer reaches
 * the I/O paths too. One rig (hypervisor, guest, 1 MiB image) serves every input.
 */
class BlkifFuzzTest {
    private static final int DATA_PAGES = 16;
    private static Path dir;
    private static BlkRig rig;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("blkif-fuzz");
        rig = new BlkRig(Files.createDirectories(dir.resolve("r0")), 1 << 20, false, DATA_PAGES, 64);
    }

    @AfterAll
    static void stop() throws Exception {
        rig.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static void freshRig() {
        try {
            rig.close();
            rig = new BlkRig(Files.createDirectories(dir.resolve("r" + System.nanoTime())), 1 << 20, false, DATA_PAGES, 64);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @FuzzTest(maxDuration = "4m")
    void requests(FuzzedDataProvider data) {
        int count = data.consumeInt(1, 8);
        Map<Long, Integer> sent = new HashMap<>();
        for (int i = 0; i < count && data.remainingBytes() > 0; i++) {
            MemorySegment slot = rig.front.nextRequest();
            byte[] bytes = data.consumeBytes(Blkif.ENTRY_SIZE);
            MemorySegment.copy(bytes, 0, slot, ValueLayout.JAVA_BYTE, 0, bytes.length);
            if (data.consumeBoolean()) {
                // Point segment grant references at real pages now and then: the I/O paths need them.
                slot.set(ValueLayout.JAVA_INT_UNALIGNED, 24, rig.ref(data.consumeInt(0, DATA_PAGES - 1)));
            }
            long id = slot.get(ValueLayout.JAVA_LONG_UNALIGNED, 8);
            sent.merge(id, 1, Integer::sum);
        }
        if (data.remainingBytes() > 0) {
            // Indirect descriptor pages hold whatever the guest wrote into its data pages.
            byte[] page = data.consumeBytes(4096);
            MemorySegment.copy(page, 0, rig.page(data.consumeInt(0, DATA_PAGES - 1)), ValueLayout.JAVA_BYTE, 0, page.length);
        }
        List<Rsp> rsps;
        try {
            rsps = rig.run();
        } catch (RingOverflowException e) {
            // The guest named its own ring page's grant as a data buffer and blkback, as asked, read disk
            // data into it: the guest broke its own ring (found by this test). Not blkback's fault; start over.
            freshRig();
            return;
        }
        if (rig.processor.failure() != null) {
            // blkback saw impossible indices (its defence against such a guest) and halted the ring.
            freshRig();
            return;
        }
        Map<Long, Integer> answered = new HashMap<>();
        for (Rsp r : rsps) {
            assertThat(r.status()).isIn(Blkif.RSP_OKAY, Blkif.RSP_ERROR, Blkif.RSP_EOPNOTSUPP);
            answered.merge(r.id(), 1, Integer::sum);
        }
        assertThat(answered).as("one response per request").isEqualTo(sent);
    }
}
