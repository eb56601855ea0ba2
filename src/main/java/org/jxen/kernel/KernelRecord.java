package org.jxen.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Flyweight codec of the guest kernel's record: what a jxen kernel holds besides its memory (what a Xen guest
 * keeps in vCPU context and kernel data), written into the domain's own memory at suspend, so that a save
 * image carries it with the pages, and read back by the kernel that resumes from it. Named sections of bytes:
 *
 * <pre>
 * 0   u32 magic "JXKR" (0x524B584A little-endian), zero when there is no record
 * 4   u32 version 1
 * 8   u32 body length
 * 12  u32 CRC32C of the body
 * 16  body: per section u16 name length, name (UTF-8), u32 data length, data
 * </pre>
 * Little-endian throughout, like the rest of a guest's memory.
 */
public final class KernelRecord {
    public static final int MAGIC = 0x524B584A;
    public static final int VERSION = 1;
    public static final int HEADER = 16;
    /** Frames at the top of a domain's memory that hold the record (the frame allocator never hands them out). */
    public static final int AREA_FRAMES = 64;
    private static final int PAGE = 4096;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private KernelRecord() {}

    /** How many frames of a domain of {@code memoryPages} hold the record: 64 (256 KiB), a quarter of a tiny one. */
    public static int areaFrames(int memoryPages) {
        return Math.min(AREA_FRAMES, memoryPages / 4);
    }

    /** The first frame of the record's area: it ends with the domain's memory. */
    public static int areaFirstFrame(int memoryPages) {
        return memoryPages - areaFrames(memoryPages);
    }

    /** The record's area of a domain's whole memory. */
    public static MemorySegment area(MemorySegment memory) {
        int pages = (int) (memory.byteSize() / PAGE);
        return memory.asSlice((long) areaFirstFrame(pages) * PAGE, (long) areaFrames(pages) * PAGE);
    }

    /** Writes {@code sections} into {@code area}; IllegalArgumentException if they do not fit. */
    public static void write(MemorySegment area, Map<String, byte[]> sections) {
        int size = 0;
        for (Map.Entry<String, byte[]> e : sections.entrySet()) {
            size += 2 + e.getKey().getBytes(StandardCharsets.UTF_8).length + 4 + e.getValue().length;
        }
        if (HEADER + (long) size > area.byteSize()) {
            throw new IllegalArgumentException("kernel record of " + (HEADER + size) + " bytes does not fit in "
                    + area.byteSize());
        }
        ByteBuffer body = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        for (Map.Entry<String, byte[]> e : sections.entrySet()) {
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
            if (name.length > 0xFFFF) throw new IllegalArgumentException("section name too long");
            body.putShort((short) name.length).put(name).putInt(e.getValue().length).put(e.getValue());
        }
        CRC32C crc = new CRC32C();
        crc.update(body.array());
        area.set(U32, 0, 0); // no magic until the body is whole
        MemorySegment.copy(MemorySegment.ofArray(body.array()), 0, area, HEADER, size);
        area.set(U32, 4, VERSION);
        area.set(U32, 8, size);
        area.set(U32, 12, (int) crc.getValue());
        area.set(U32, 0, MAGIC);
    }

    /**
     * The record's sections in order, or null when {@code area} holds none (a fresh boot). A record that is
     * there but damaged (another version, a length past the area, a checksum mismatch) is an
     * IllegalStateException naming what is wrong: resuming from it would be worse than not resuming.
     */
    public static Map<String, byte[]> read(MemorySegment area) {
        if (area.get(U32, 0) != MAGIC) return null;
        int version = area.get(U32, 4);
        if (version != VERSION) throw new IllegalStateException("kernel record version " + version + " (this kernel reads 1)");
        int size = area.get(U32, 8);
        if (size < 0 || HEADER + (long) size > area.byteSize()) {
            throw new IllegalStateException("kernel record length " + Integer.toUnsignedString(size) + " past its area");
        }
        byte[] bytes = area.asSlice(HEADER, size).toArray(ValueLayout.JAVA_BYTE);
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        if ((int) crc.getValue() != area.get(U32, 12)) throw new IllegalStateException("kernel record checksum mismatch");
        ByteBuffer body = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        Map<String, byte[]> sections = new LinkedHashMap<>();
        try {
            while (body.hasRemaining()) {
                byte[] name = new byte[Short.toUnsignedInt(body.getShort())];
                body.get(name);
                int n = body.getInt();
                if (n < 0 || n > body.remaining()) throw new IllegalStateException("kernel record section of " + n + " bytes");
                byte[] data = new byte[n];
                body.get(data);
                sections.put(new String(name, StandardCharsets.UTF_8), data);
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalStateException("kernel record section cut short");
        }
        return sections;
    }

    /** Forgets the record (after it was read, or when a suspend was cancelled). */
    public static void clear(MemorySegment area) {
        area.set(U32, 0, 0);
    }
}
