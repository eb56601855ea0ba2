package org.jxen.drivers.blk.back;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.jxen.drivers.blk.Blkif;
import org.jxen.hypervisor.Errno;
import org.jxen.libc.Libc;

/**
 * A raw disk-image file as blkback's physical device. All I/O is libc on a descriptor we opened ourselves
 * (see {@link Libc}): the JDK has no hole punching, and preadv/pwritev let one system call move a whole
 * request between the file and the mapped grant pages without a bounce copy. The image's size is read at
 * open and again when the toolstack resized it ({@link #refreshSectors}); a trailing partial sector is not part
 * of the disk.
 *
 * <p>Thread-safe: positional I/O has no shared file offset, and the per-thread iovec buffer is private.
 */
public final class DiskImage implements BlockDevice {
    private static final ThreadLocal<MemorySegment> IOV =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(Libc.IOVEC_SIZE * Libc.IOV_MAX, 8));

    private final Path path;
    private final int fd;
    private final boolean readOnly;
    private volatile long sectors;
    private volatile boolean closed;

    private DiskImage(Path path, int fd, boolean readOnly, long sectors) {
        this.path = path;
        this.fd = fd;
        this.readOnly = readOnly;
        this.sectors = sectors;
    }

    /** Opens an existing image; {@code readOnly} opens it O_RDONLY, so even a bug here cannot write it. */
    public static DiskImage open(Path path, boolean readOnly) throws DiskException {
        int fd = Libc.open(path.toString(), (readOnly ? Libc.O_RDONLY : Libc.O_RDWR) | Libc.O_CLOEXEC);
        if (fd < 0) throw new DiskException(-fd, "open " + path);
        long size = Libc.size(fd);
        if (size < 0) {
            Libc.close(fd);
            throw new DiskException((int) -size, "lseek");
        }
        return new DiskImage(path, fd, readOnly, size >>> Blkif.SECTOR_SHIFT);
    }

    public Path path() {
        return path;
    }

    @Override
    public long sectors() {
        return sectors;
    }

    /** The image's size now (blkback's vbd_sz after the file grew or shrank). */
    @Override
    public long refreshSectors() throws DiskException {
        long size = Libc.size(fd);
        if (size < 0) throw new DiskException((int) -size, "lseek " + path);
        sectors = size >>> Blkif.SECTOR_SHIFT;
        return sectors;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    /** Hole punching works on most Linux file systems; the first EOPNOTSUPP is reported per request. */
    @Override
    public boolean discardSupported() {
        return !readOnly;
    }

    @Override
    public void read(long sector, MemorySegment[] bufs, int count) throws DiskException {
        transfer(sector, bufs, count, false);
    }

    @Override
    public void write(long sector, MemorySegment[] bufs, int count) throws DiskException {
        if (readOnly) throw new DiskException(Errno.EROFS, path + " is read-only");
        transfer(sector, bufs, count, true);
    }

    @Override
    public void flush() throws DiskException {
        live();
        int e = Libc.fsync(fd);
        if (e != 0) throw new DiskException(e, "fsync " + path);
    }

    @Override
    public void discard(long sector, long count) throws DiskException {
        live();
        if (readOnly) throw new DiskException(Errno.EROFS, path + " is read-only");
        checkRange(sector, count);
        if (count == 0) return;
        int e;
        do {
            e = Libc.fallocate(fd, Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE,
                    sector << Blkif.SECTOR_SHIFT, count << Blkif.SECTOR_SHIFT);
        } while (e == Libc.EINTR);
        if (e != 0) throw new DiskException(e, "punch hole in " + path);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Libc.close(fd);
    }

    private void transfer(long sector, MemorySegment[] bufs, int count, boolean write) throws DiskException {
        live();
        long bytes = 0;
        boolean native_ = true;
        for (int i = 0; i < count; i++) {
            long n = bufs[i].byteSize();
            if ((n & (Blkif.SECTOR_SIZE - 1)) != 0) throw new DiskException(Errno.EINVAL, "buffer of " + n + " bytes");
            bytes += n;
            native_ &= bufs[i].isNative();
        }
        checkRange(sector, bytes >>> Blkif.SECTOR_SHIFT);
        long pos = sector << Blkif.SECTOR_SHIFT;
        if (!native_) {
            for (int i = 0; i < count; i++) {
                bounced(bufs[i], pos, write);
                pos += bufs[i].byteSize();
            }
            return;
        }
        MemorySegment iov = IOV.get();
        for (int i = 0; i < count; ) {
            int n = Math.min(Libc.IOV_MAX, count - i);
            long chunk = 0;
            for (int k = 0; k < n; k++) {
                MemorySegment b = bufs[i + k];
                iov.set(ValueLayout.ADDRESS, k * Libc.IOVEC_SIZE, b);
                iov.set(ValueLayout.JAVA_LONG, k * Libc.IOVEC_SIZE + 8, b.byteSize());
                chunk += b.byteSize();
            }
            long r = write ? Libc.pwritev(fd, iov, n, pos) : Libc.preadv(fd, iov, n, pos);
            if (r == -Libc.EINTR) continue;
            if (r < 0) throw new DiskException((int) -r, (write ? "pwritev " : "preadv ") + path);
            if (r < chunk) finishShort(bufs, i, n, pos, r, write);
            i += n;
            pos += chunk;
        }
    }

    /** A short vectored transfer (file truncated under us, or a signal): finish buffer by buffer. */
    private void finishShort(MemorySegment[] bufs, int first, int n, long pos, long done, boolean write)
            throws DiskException {
        for (int k = first; k < first + n; k++) {
            long size = bufs[k].byteSize();
            if (done >= size) {
                done -= size;
                pos += size;
                continue;
            }
            whole(bufs[k].asSlice(done), pos + done, write);
            pos += size;
            done = 0;
        }
    }

    /** pread/pwrite until {@code buf} is done; end of file on a read is EIO (the image shrank). */
    private void whole(MemorySegment buf, long pos, boolean write) throws DiskException {
        long off = 0;
        while (off < buf.byteSize()) {
            MemorySegment rest = buf.asSlice(off);
            long r = write ? Libc.pwrite(fd, rest, rest.byteSize(), pos + off)
                    : Libc.pread(fd, rest, rest.byteSize(), pos + off);
            if (r == -Libc.EINTR) continue;
            if (r < 0) throw new DiskException((int) -r, (write ? "pwrite " : "pread ") + path);
            if (r == 0) throw new DiskException(Errno.EIO, "unexpected end of " + path);
            off += r;
        }
    }

    private void bounced(MemorySegment buf, long pos, boolean write) throws DiskException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tmp = a.allocate(buf.byteSize(), 8);
            if (write) tmp.copyFrom(buf);
            whole(tmp, pos, write);
            if (!write) buf.copyFrom(tmp);
        }
    }

    private void checkRange(long sector, long count) throws DiskException {
        if (!inRange(sector, count)) {
            throw new DiskException(Errno.EINVAL, "sectors " + Long.toUnsignedString(sector) + "+"
                    + Long.toUnsignedString(count) + " outside " + path + " (" + sectors + " sectors)");
        }
    }

    private void live() throws DiskException {
        if (closed) throw new DiskException(Errno.EBADF, path + " is closed");
    }
}
