package org.jxen.toolstack.migration;

import static org.jxen.toolstack.migration.SaveFormat.*;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * Writes a save image ({@link SaveFormat}): the headers at construction, then pages in batches of up to
 * {@link SaveFormat#MAX_BATCH}, the kernel's record, and {@link #finish} (checksum, the two END records). Not
 * thread-safe; the caller owns the stream.
 */
public final class SaveWriter {
    private final OutputStream out;
    private final CRC32C crc = new CRC32C();
    private final long[] batchPfns = new long[MAX_BATCH];
    private final byte[] batchData = new byte[MAX_BATCH * PAGE_SIZE];
    private int batched;
    private boolean inLibxc;
    private long pagesWritten;

    public SaveWriter(OutputStream out, String config) throws IOException {
        this.out = out;
        byte[] cfg = config.getBytes(StandardCharsets.UTF_8);
        if (cfg.length > MAX_CONFIG) throw new SaveImageException("config of " + cfg.length + " bytes is too large");
        ByteBuffer xl = le(XL_MAGIC.length + 16 + 4 + cfg.length);
        xl.put(XL_MAGIC).putInt(XL_BYTEORDER).putInt(XL_MANDATORY_FLAG_STREAMV2).putInt(0).putInt(4 + cfg.length)
                .putInt(cfg.length).put(cfg);
        write(xl);
        write(ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN).putLong(LIBXL_IDENT).putInt(LIBXL_VERSION).putInt(0));
        record(LIBXL_REC_LIBXC_CONTEXT, new byte[0]);
        inLibxc = true;
        write(ByteBuffer.allocate(24).order(ByteOrder.BIG_ENDIAN).putLong(LIBXC_MARKER).putInt(LIBXC_ID)
                .putInt(LIBXC_VERSION).putShort((short) 0).put(new byte[6]));
        write(le(12).putInt(DHDR_TYPE_JXEN).putShort((short) PAGE_SHIFT).putShort((short) 0)
                .putShort((short) XEN_MAJOR).putShort((short) XEN_MINOR));
    }

    /** Adds page {@code pfn} (4096 bytes of {@code page}) to the current batch. */
    public void page(long pfn, MemorySegment page) throws IOException {
        if (pfn < 0 || pfn > PFN_MASK) throw new IllegalArgumentException("pfn " + pfn);
        batchPfns[batched] = pfn;
        MemorySegment.copy(page, ValueLayout.JAVA_BYTE, 0, batchData, batched * PAGE_SIZE, PAGE_SIZE);
        if (++batched == MAX_BATCH) flushPages();
    }

    /** The guest kernel's record (what it holds besides its memory). */
    public void kernel(byte[] record) throws IOException {
        flushPages();
        record(REC_KERNEL, record);
    }

    /** The checksum over the libxc stream, its END, and libxl's END; then flushes. */
    public void finish() throws IOException {
        flushPages();
        int sum = (int) crc.getValue();
        record(REC_CHECKSUM, le(8).putInt(sum).putInt(0).array());
        record(REC_END, new byte[0]);
        inLibxc = false;
        record(LIBXL_REC_END, new byte[0]);
        out.flush();
    }

    public long pagesWritten() {
        return pagesWritten;
    }

    private void flushPages() throws IOException {
        if (batched == 0) return;
        int n = batched;
        ByteBuffer head = le(8 + 8 * n).putInt(n).putInt(0);
        for (int i = 0; i < n; i++) head.putLong(batchPfns[i] & PFN_MASK); // type 0: a normal page with data
        int length = head.capacity() + n * PAGE_SIZE;
        write(le(8).putInt(REC_PAGE_DATA).putInt(length));
        write(head);
        write(batchData, 0, n * PAGE_SIZE);
        pad(length);
        pagesWritten += n;
        batched = 0;
    }

    private void record(int type, byte[] body) throws IOException {
        write(le(8).putInt(type).putInt(body.length));
        write(body, 0, body.length);
        pad(body.length);
    }

    private void pad(int length) throws IOException {
        int pad = (8 - (length & 7)) & 7;
        if (pad > 0) write(new byte[pad], 0, pad);
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private void write(ByteBuffer b) throws IOException {
        write(b.array(), 0, b.position());
    }

    private void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        if (inLibxc) crc.update(b, off, len);
    }
}
