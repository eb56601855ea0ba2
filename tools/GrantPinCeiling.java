import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The Java twin of grant-pin-ceiling.c: 64 x 4 KiB MemorySegment.copy per batch (the primitive of jxen's copy
 * loop and of the bench's floor), with nothing around each copy (group 0), with Xen's pin (CAS of GTF_reading)
 * and unpin (atomic AND) around every op (group 1), and with the pins of a group of ops taken before their copies
 * and dropped after them (groups 16, 64). No checks, no pin counts: the cost of the two atomics alone.
 *
 *   java tools/GrantPinCeiling.java [batches]     (1: a hot 256 KiB set; 128: cycle through 32 MiB)
 *
 * Prints batches per second per group, four rounds, the groups interleaved so drift hits them alike.
 */
public class GrantPinCeiling {
    static final int OPS = 64, PAGE = 4096, GTF_READING = 8;
    static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    static MemorySegment src, dst, entries;

    static void pin(long ref) {
        int v = (int) INT.getVolatile(entries, ref * 8);
        INT.compareAndSet(entries, ref * 8, v, v | GTF_READING);
    }

    static void unpin(long ref) {
        INT.getAndBitwiseAnd(entries, ref * 8, ~GTF_READING);
    }

    static void batch(int group, long first) {
        if (group == 0) {
            for (long i = first; i < first + OPS; i++) MemorySegment.copy(src, i * PAGE, dst, i * PAGE, PAGE);
            return;
        }
        for (long b = first; b < first + OPS; b += group) {
            for (long i = b; i < b + group; i++) pin(i);
            for (long i = b; i < b + group; i++) MemorySegment.copy(src, i * PAGE, dst, i * PAGE, PAGE);
            for (long i = b; i < b + group; i++) unpin(i);
        }
    }

    public static void main(String[] args) {
        int batches = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        Arena arena = Arena.global();
        src = arena.allocate((long) batches * OPS * PAGE, PAGE);
        dst = arena.allocate((long) batches * OPS * PAGE, PAGE);
        entries = arena.allocate((long) batches * OPS * 8, 64);
        src.fill((byte) 1);
        dst.fill((byte) 2);
        int[] groups = {0, 1, 64, 16};
        for (int round = 0; round < 4; round++) {
            StringBuilder line = new StringBuilder();
            long plain = 0;
            for (int g : groups) {
                long n = 0, t0 = System.nanoTime();
                int next = 0;
                while (System.nanoTime() - t0 < 700_000_000L) {
                    for (int j = 0; j < 16; j++) {
                        batch(g, (long) next * OPS);
                        next = (next + 1) % batches;
                    }
                    n += 16;
                }
                long perSecond = n * 1000 / 700;
                if (g == 0) plain = perSecond;
                line.append(String.format("group %2d: %7d/s %3d%%   ", g, perSecond, perSecond * 100 / plain));
            }
            System.out.println(line.toString().strip());
        }
    }
}
