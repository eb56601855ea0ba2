package org.jxen.drivers.blk.back;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.jxen.hypervisor.Errno;

class DiskImageTest {
    @TempDir
    Path dir;

    private Path image(int bytes) throws Exception {
        Path p = dir.resolve("d.img");
        byte[] b = new byte[bytes];
        new Random(1).nextBytes(b);
        Files.write(p, b);
        return p;
    }

    @Test
    void vectoredReadAndWriteOfNativeAndHeapBuffers() throws Exception {
        Path p = image(64 * 512 + 100); // the trailing partial sector is not part of the disk
        byte[] file = Files.readAllBytes(p);
        try (DiskImage d = DiskImage.open(p, false); Arena a = Arena.ofConfined()) {
            assertThat(d.sectors()).isEqualTo(64);
            MemorySegment[] bufs = {a.allocate(512), MemorySegment.ofArray(new byte[1024]), a.allocate(2048)};
            d.read(3, bufs, 3);
            byte[] got = new byte[3584];
            int at = 0;
            for (MemorySegment b : bufs) {
                MemorySegment.copy(b, ValueLayout.JAVA_BYTE, 0, got, at, (int) b.byteSize());
                at += (int) b.byteSize();
            }
            assertThat(got).isEqualTo(java.util.Arrays.copyOfRange(file, 3 * 512, 3 * 512 + 3584));

            for (MemorySegment b : bufs) b.fill((byte) 0x5A);
            d.write(60, bufs, 2); // native + heap, 3 sectors
            d.flush();
        }
        byte[] after = Files.readAllBytes(p);
        for (int i = 60 * 512; i < 63 * 512; i++) assertThat(after[i]).isEqualTo((byte) 0x5A);
        assertThat(after[63 * 512]).isEqualTo(file[63 * 512]);
    }

    @Test
    void moreBuffersThanIovMax() throws Exception {
        Path p = image(2048 * 512);
        byte[] file = Files.readAllBytes(p);
        try (DiskImage d = DiskImage.open(p, true); Arena a = Arena.ofConfined()) {
            MemorySegment[] bufs = new MemorySegment[2000];
            for (int i = 0; i < bufs.length; i++) bufs[i] = a.allocate(512);
            d.read(10, bufs, bufs.length);
            for (int i = 0; i < bufs.length; i += 333) {
                assertThat(bufs[i].toArray(ValueLayout.JAVA_BYTE))
                        .isEqualTo(java.util.Arrays.copyOfRange(file, (10 + i) * 512, (11 + i) * 512));
            }
        }
    }

    @Test
    void rangeReadOnlyAndClosedErrors() throws Exception {
        Path p = image(16 * 512);
        try (DiskImage d = DiskImage.open(p, true); Arena a = Arena.ofConfined()) {
            assertThat(d.readOnly()).isTrue();
            assertThat(d.inRange(16, 0)).isTrue();
            assertThat(d.inRange(15, 2)).isFalse();
            assertThat(d.inRange(-1, 1)).isFalse();
            assertThat(d.inRange(1, -1)).isFalse();
            assertThatThrownBy(() -> d.read(15, a.allocate(1024))).isInstanceOf(DiskException.class)
                    .extracting(e -> ((DiskException) e).errno()).isEqualTo(Errno.EINVAL.code);
            assertThatThrownBy(() -> d.write(0, a.allocate(512)))
                    .extracting(e -> ((DiskException) e).errno()).isEqualTo(Errno.EROFS.code);
            assertThatThrownBy(() -> d.discard(0, 1))
                    .extracting(e -> ((DiskException) e).errno()).isEqualTo(Errno.EROFS.code);
            assertThatThrownBy(() -> d.read(0, a.allocate(100)))
                    .extracting(e -> ((DiskException) e).errno()).isEqualTo(Errno.EINVAL.code);
            d.close();
            assertThatThrownBy(() -> d.read(0, a.allocate(512)))
                    .extracting(e -> ((DiskException) e).errno()).isEqualTo(Errno.EBADF.code);
        }
        assertThatThrownBy(() -> DiskImage.open(dir.resolve("missing"), true))
                .extracting(e -> ((DiskException) e).errno()).isEqualTo(2); // ENOENT
    }

    @Test
    void discardZeroesAndKeepsTheSize() throws Exception {
        Path p = image(1 << 20);
        try (DiskImage d = DiskImage.open(p, false); Arena a = Arena.ofConfined()) {
            d.discard(8, 1024);
            MemorySegment b = a.allocate(1024 * 512);
            d.read(8, b);
            assertThat(b.toArray(ValueLayout.JAVA_BYTE)).containsOnly((byte) 0);
        }
        assertThat(Files.size(p)).isEqualTo(1 << 20);
    }

    @Test
    void nullDisk() throws Exception {
        try (NullDisk d = new NullDisk(8); Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocate(4096).fill((byte) 1);
            d.write(0, b);
            d.read(0, b);
            assertThat(b.toArray(ValueLayout.JAVA_BYTE)).containsOnly((byte) 0);
            assertThatThrownBy(() -> d.read(1, b)).isInstanceOf(DiskException.class);
        }
    }
}
