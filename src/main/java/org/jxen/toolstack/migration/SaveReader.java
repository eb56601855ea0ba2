package org.jxen.toolstack.migration;

import static org.jxen.toolstack.migration.SaveFormat.*;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Reads a save image ({@link SaveFormat}) written by {@link SaveWriter}: the headers at construction (the
 * config is then {@link #config()}), then {@link #next()} record by record. Everything that is not exactly as
 * written is refused with a {@link SaveImageException} naming it: a foreign or truncated file, another version,
 * an unknown mandatory record, a length past the limits, pages after the checksum, a checksum that does not
 * match. Nothing a restore builds from it may be kept before {@link Record.End} (the checksum comes last).
 */
public final class SaveReader {
    /** One record of the libxc stream. */
    public sealed interface Record {
        /**
         * A PAGE_DATA batch: {@code pfns[i]}'s page is bytes {@code [i * 4096, (i + 1) * 4096)} of data. The data
         * array is the reader's own, reused by the next batch: a caller takes the pages before asking for more.
         */
        record Pages(long[] pfns, byte[] data) implements Record {}

        record Kernel(byte[] record) implements Record {}

        /** The checksum matched and both streams ended. */
        record End() implements Record {}
    }

    private final InputStream in;
    private final CRC32C crc = new CRC32C();
    /** Every batch's pages land here: a new 4 MiB array per batch was zeroed and collected again per 4 MiB read. */
    private byte[] pages;
    private final String config;
    private boolean inLibxc;
    private boolean ended;
    private long offset;

    public SaveReader(InputStream in) throws IOException {
        this.in = in;
        byte[] magic = read(XL_MAGIC.length, "the xl header");
        if (!Arrays.equals(magic, XL_MAGIC)) throw new SaveImageException("not a saved domain (bad magic)");
        ByteBuffer h = le(read(16, "the xl header"));
        int order = h.getInt();
        if (order != XL_BYTEORDER) throw new SaveImageException("saved on a machine of another byte order");
        int mandatory = h.getInt();
        h.getInt(); // optional flags: none we know
        int optionalLength = h.getInt();
        if ((mandatory & ~XL_MANDATORY_FLAG_STREAMV2) != 0) {
            throw new SaveImageException("unsupported mandatory flags 0x" + Integer.toHexString(mandatory)
                    + (((mandatory & XL_MANDATORY_FLAG_JSON) != 0) ? " (a JSON config: saved by Xen's xl, not jxen)" : ""));
        }
        if ((mandatory & XL_MANDATORY_FLAG_STREAMV2) == 0) throw new SaveImageException("not a v2 stream (legacy xl save)");
        if (optionalLength < 4 || optionalLength > MAX_CONFIG + 4) {
            throw new SaveImageException("bad optional data length " + Integer.toUnsignedString(optionalLength));
        }
        ByteBuffer opt = le(read(optionalLength, "the config"));
        int cfgLength = opt.getInt();
        if (cfgLength != optionalLength - 4) throw new SaveImageException("bad config length " + cfgLength);
        byte[] cfg = new byte[cfgLength];
        opt.get(cfg);
        config = new String(cfg, StandardCharsets.UTF_8);

        ByteBuffer libxl = ByteBuffer.wrap(read(16, "the libxl header")).order(ByteOrder.BIG_ENDIAN);
        if (libxl.getLong() != LIBXL_IDENT) throw new SaveImageException("no libxl stream after the xl header");
        int version = libxl.getInt();
        if (version != LIBXL_VERSION) {
            throw new SaveImageException("unsupported libxl stream version " + version + " (jxen reads " + LIBXL_VERSION + ")");
        }
        if (libxl.getInt() != 0) throw new SaveImageException("unsupported libxl stream options (big-endian records)");
        ByteBuffer rec = le(read(8, "a libxl record"));
        int type = rec.getInt();
        if (type != LIBXL_REC_LIBXC_CONTEXT || rec.getInt() != 0) {
            throw new SaveImageException("expected the LIBXC_CONTEXT record, found type " + type);
        }
        inLibxc = true;
        ByteBuffer image = ByteBuffer.wrap(read(24, "the libxc image header")).order(ByteOrder.BIG_ENDIAN);
        if (image.getLong() != LIBXC_MARKER || image.getInt() != LIBXC_ID) throw new SaveImageException("bad libxc image header");
        int xcVersion = image.getInt();
        if (xcVersion != LIBXC_VERSION) {
            throw new SaveImageException("unsupported libxc stream version " + xcVersion + " (jxen reads " + LIBXC_VERSION + ")");
        }
        if (image.getShort() != 0) throw new SaveImageException("unsupported libxc stream options (big-endian records)");
        ByteBuffer dom = le(read(12, "the libxc domain header"));
        int domType = dom.getInt();
        if (domType != DHDR_TYPE_JXEN) {
            throw new SaveImageException("domain type 0x" + Integer.toHexString(domType) + " is not a jxen guest");
        }
        if (dom.getShort() != PAGE_SHIFT) throw new SaveImageException("page size is not 4 KiB");
    }

    /** The guest's config as saved (xl.cfg text). */
    public String config() {
        return config;
    }

    /** The next record; {@link Record.End} once the checksum matched and both streams ended. */
    public Record next() throws IOException {
        if (ended) throw new IllegalStateException("the stream has ended");
        long sum = crc.getValue();
        ByteBuffer head = le(read(8, "a record header"));
        int type = head.getInt();
        int length = head.getInt();
        if (length < 0 || length > MAX_RECORD) {
            throw new SaveImageException("record type 0x" + Integer.toHexString(type) + " claims "
                    + Integer.toUnsignedString(length) + " bytes");
        }
        switch (type) {
            case REC_PAGE_DATA -> {
                if (length < 8) throw new SaveImageException("PAGE_DATA record of " + length + " bytes");
                ByteBuffer b = le(read(8, "a PAGE_DATA record"));
                int count = b.getInt();
                b.getInt();
                if (count <= 0 || count > MAX_BATCH || length != 8 + count * (8L + PAGE_SIZE)) {
                    throw new SaveImageException("PAGE_DATA record of " + length + " bytes for " + count + " pages");
                }
                // The pfn list and the pages read apart: the pages land in their own array, copied once.
                ByteBuffer list = le(read(8 * count, "a PAGE_DATA record"));
                long[] pfns = new long[count];
                for (int i = 0; i < count; i++) {
                    long v = list.getLong();
                    if ((v >>> 60) != 0) throw new SaveImageException("page type " + (v >>> 60) + " is not a normal page");
                    pfns[i] = v & PFN_MASK;
                }
                if (pages == null) pages = new byte[MAX_BATCH * PAGE_SIZE];
                byte[] data = readInto(pages, count * PAGE_SIZE, "a PAGE_DATA record");
                int pad = (8 - (length & 7)) & 7;
                if (pad > 0) read(pad, "a PAGE_DATA record");
                return new Record.Pages(pfns, data);
            }
            case REC_KERNEL -> {
                return new Record.Kernel(body(length, "the kernel record"));
            }
            case REC_CHECKSUM -> {
                ByteBuffer b = le(body(length, "the checksum record"));
                if (length != 8) throw new SaveImageException("checksum record of " + length + " bytes");
                int stored = b.getInt();
                if (stored != (int) sum) {
                    throw new SaveImageException(String.format("corrupt: checksum %08x, computed %08x", stored, (int) sum));
                }
                ByteBuffer end = le(read(8, "the END record"));
                if (end.getInt() != REC_END || end.getInt() != 0) throw new SaveImageException("no END after the checksum");
                inLibxc = false;
                ByteBuffer libxlEnd = le(read(8, "libxl's END record"));
                if (libxlEnd.getInt() != LIBXL_REC_END || libxlEnd.getInt() != 0) {
                    throw new SaveImageException("no libxl END after the libxc stream");
                }
                ended = true;
                return new Record.End();
            }
            case REC_END -> throw new SaveImageException("END without a checksum");
            default -> throw new SaveImageException("unknown mandatory record type 0x" + Integer.toHexString(type));
        }
    }

    private byte[] body(int length, String what) throws IOException {
        byte[] body = read(length, what);
        int pad = (8 - (length & 7)) & 7;
        if (pad > 0) read(pad, what);
        return body;
    }

    private byte[] read(int n, String what) throws IOException {
        return readInto(new byte[n], n, what);
    }

    /** The first {@code n} bytes of {@code b}, read. */
    private byte[] readInto(byte[] b, int n, String what) throws IOException {
        try {
            int off = 0;
            while (off < n) {
                int r = in.read(b, off, n - off);
                if (r < 0) throw new EOFException();
                off += r;
            }
        } catch (EOFException e) {
            throw new SaveImageException("truncated: the stream ends inside " + what + " (at byte " + offset + ")");
        }
        offset += n;
        if (inLibxc) crc.update(b, 0, n);
        return b;
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
