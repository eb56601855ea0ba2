package org.jxen.toolstack.migration;

import java.io.IOException;
import java.nio.file.Path;
import java.util.BitSet;
import org.jxen.libc.Libc;

/**
 * The frames of a domain's memory file that hold data: the file is sparse on tmpfs, and a frame never written is
 * a hole, which reads as zeros and which a restored domain's new file has as well. Found with lseek's
 * SEEK_DATA/SEEK_HOLE, without touching (and so allocating) the holes, which a read through a mapping would.
 */
final class PopulatedFrames {
    private PopulatedFrames() {}

    static BitSet of(Path memoryFile, int pages) throws IOException {
        int fd = Libc.open(memoryFile.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0) throw new IOException(memoryFile + ": cannot open (errno " + -fd + ")");
        try {
            BitSet frames = new BitSet(pages);
            long size = (long) pages * SaveFormat.PAGE_SIZE;
            long off = 0;
            while (off < size) {
                long data = Libc.lseek(fd, off, Libc.SEEK_DATA);
                if (data == -Libc.ENXIO || data >= size) break;
                if (data < 0) throw new IOException(memoryFile + ": SEEK_DATA failed (errno " + -data + ")");
                long hole = Libc.lseek(fd, data, Libc.SEEK_HOLE);
                if (hole < 0) throw new IOException(memoryFile + ": SEEK_HOLE failed (errno " + -hole + ")");
                hole = Math.min(hole, size);
                frames.set((int) (data / SaveFormat.PAGE_SIZE), (int) ((hole + SaveFormat.PAGE_SIZE - 1) / SaveFormat.PAGE_SIZE));
                off = hole;
            }
            return frames;
        } finally {
            Libc.close(fd);
        }
    }
}
