package org.jxen.hypervisor.process;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.jxen.hypervisor.ChannelState;
import org.jxen.hypervisor.ChannelStatus;
import org.jxen.hypervisor.DomainInfo;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.MapReply;
import org.jxen.hypervisor.ShutdownReason;

/**
 * The guest-process hypercall protocol on the service's Unix socket. Big-endian, strictly request/response, one
 * request in flight per connection.
 *
 * <pre>
 * frame    = u32 length, body[length]            (length ≤ 1 MiB)
 * request  = u8 op, args...
 * response = i32 status, results...              status 0 ok; > 0 an errno (HypercallException);
 *                                                < 0 a GNTST code (GrantException); no results unless 0
 * string   = u16 length, UTF-8 bytes
 *
 * op                 args                                  results
 * 0 HELLO            i32 domid, string token               i32 domid, serial, pages, u8 privileged,
 *                                                          i32 xenstorePort, consolePort, string runDir
 * 1 ALLOC_UNBOUND    i32 dom, remoteDom                    i32 port
 * 2 BIND_INTERDOMAIN i32 remoteDom, remotePort             i32 port
 * 3 BIND_VIRQ        i32 virq                              i32 port
 * 4 CLOSE_PORT       i32 port                              -
 * 5 STATUS           i32 dom, port                         i32 state code, remoteDom, remotePort, virq
 * 6 MAP_GRANT        i32 granter, ref, u8 readonly         i32 handle, string file, i32 frame
 * 7 UNMAP_GRANT      i32 handle                            -
 * 8                  retired (was GRANT_COPY: copies now go through the hypercall page, see CopyPage)
 * 9 SET_GRANT_FRAMES i32 frames                            i32 frames now
 * 10 SHUTDOWN_SELF   i32 reason                            -
 * 11 CREATE_DOMAIN   i32 pages, vcpus                      i32 domid
 * 12 PAUSE / 13 UNPAUSE / 15 DESTROY   i32 domid           -
 * 14 SHUTDOWN        i32 domid, reason                     -
 * 16 INFO            i32 domid                             info
 * 17 LIST            -                                     i32 n, n × info
 * 18 MAP_FOREIGN     i32 domid, frame                      i32 handle, string file, i32 frame
 * 19 HYPERCALL_PAGE  -                                     string file: a new CopyPage served for this session
 * 20 HYPERCALL_PAGE_MAPPED  -                              -   (the host unlinks the file)
 * 21 RESUME          i32 domid, fast (1 or 0)              -
 * 22 MEMORY_MAPPED   i32 address high, low, tracked (1/0)  -   where the guest mapped its memory, and whether
 *                                                          it is write-tracked (log-dirty mode); the host takes
 *                                                          the pid from the process it launched, not the guest
 * 23 INIT_CONTROL    i64 control_gfn, i32 offset, vcpu     i32 link_bits
 * 24 EXPAND_ARRAY    i64 array_gfn                         -
 * 25 SET_PRIORITY    i32 port, priority                    -
 * 26 RESET_CHANNELS  i32 dom                               -
 * 27 DECREASE_RESERVATION / 28 POPULATE_PHYSMAP  i32 n, n × i32 frame   i32 done
 * 29 UNPOPULATE      i32 domid, first, count               -
 * 30 VCPU_OP         i32 cmd, vcpu                         i32 result (is_up: 1 or 0)
 * 40 SET_GNTTAB_LIMITS  i32 domid, grant frames, maptrack frames   -
 * info = i32 domid, u8 state ordinal, i32 reason or -1, i32 pages, vcpus, i32 n, n × i64 (the vCPUs up, a bitmap),
 *        u8 privileged, i32 xsPort, conPort, u8 blocked
 * </pre>
 * The first request must be HELLO with the token the host gave the process; any failure closes the connection.
 */
final class Rpc {
    static final int MAX_FRAME = 1 << 20;
    /** The most frame numbers a memory op carries: more than the hypervisor takes, so that it says EINVAL itself. */
    static final int MAX_EXTENTS = 4096;
    static final int HELLO = 0;
    static final int ALLOC_UNBOUND = 1;
    static final int BIND_INTERDOMAIN = 2;
    static final int BIND_VIRQ = 3;
    static final int CLOSE_PORT = 4;
    static final int STATUS = 5;
    static final int MAP_GRANT = 6;
    static final int UNMAP_GRANT = 7;
    static final int SET_GRANT_FRAMES = 9;
    static final int SHUTDOWN_SELF = 10;
    static final int CREATE_DOMAIN = 11;
    static final int PAUSE = 12;
    static final int UNPAUSE = 13;
    static final int SHUTDOWN = 14;
    static final int DESTROY = 15;
    static final int INFO = 16;
    static final int LIST = 17;
    static final int MAP_FOREIGN = 18;
    static final int HYPERCALL_PAGE = 19;
    static final int HYPERCALL_PAGE_MAPPED = 20;
    static final int RESUME = 21;
    static final int MEMORY_MAPPED = 22;
    static final int INIT_CONTROL = 23;
    static final int EXPAND_ARRAY = 24;
    static final int SET_PRIORITY = 25;
    static final int RESET_CHANNELS = 26;
    static final int DECREASE_RESERVATION = 27;
    static final int POPULATE_PHYSMAP = 28;
    static final int UNPOPULATE = 29;
    static final int VCPU_OP = 30;
    static final int SET_GNTTAB_LIMITS = 40;

    private Rpc() {
    }

    /** A body under construction. */
    static final class Out {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        final DataOutputStream data = new DataOutputStream(bytes);

        Out i32(int v) throws IOException {
            data.writeInt(v);
            return this;
        }

        Out i64(long v) throws IOException {
            data.writeLong(v);
            return this;
        }

        Out u8(int v) throws IOException {
            data.writeByte(v);
            return this;
        }

        Out str(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            data.writeShort(b.length);
            data.write(b);
            return this;
        }

        Out append(Out other) throws IOException {
            other.bytes.writeTo(data);
            return this;
        }

        void sendTo(DataOutputStream out) throws IOException {
            out.writeInt(bytes.size());
            bytes.writeTo(out);
            out.flush();
        }
    }

    /** A list of ints as the arguments of an op: its length, then each. */
    static int[] counted(int[] values) {
        int[] a = new int[values.length + 1];
        a[0] = values.length;
        System.arraycopy(values, 0, a, 1, values.length);
        return a;
    }

    /** Reads what {@link #counted} wrote; a count beyond {@code max} is refused before anything is allocated. */
    static int[] counted(DataInputStream in, int max) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > max) throw new IllegalArgumentException(n + " values (at most " + max + ")");
        int[] v = new int[n];
        for (int i = 0; i < n; i++) v[i] = in.readInt();
        return v;
    }

    static DataInputStream readFrame(DataInputStream in) throws IOException {
        int len = in.readInt();
        if (len < 0 || len > MAX_FRAME) throw new IOException("frame of " + len + " bytes");
        byte[] body = in.readNBytes(len);
        if (body.length != len) throw new java.io.EOFException("truncated frame");
        return new DataInputStream(new java.io.ByteArrayInputStream(body));
    }

    static String str(DataInputStream in) throws IOException {
        int len = in.readUnsignedShort();
        return new String(in.readNBytes(len), StandardCharsets.UTF_8);
    }

    static void layout(Out out, DomainLayout l, Path runDir) throws IOException {
        out.i32(l.domid()).i32(l.serial()).i32(l.memoryPages()).u8(l.privileged() ? 1 : 0)
                .i32(l.xenstorePort()).i32(l.consolePort()).i32(l.nrPages()).str(runDir.toString());
    }

    static DomainLayout layout(DataInputStream in) throws IOException {
        return new DomainLayout(in.readInt(), in.readInt(), in.readInt(), in.readByte() != 0, in.readInt(),
                in.readInt(), in.readInt());
    }

    static void status(Out out, ChannelStatus s) throws IOException {
        out.i32(s.state().code).i32(s.remoteDom()).i32(s.remotePort()).i32(s.virq());
    }

    static ChannelStatus status(DataInputStream in) throws IOException {
        return new ChannelStatus(ChannelState.of(in.readInt()), in.readInt(), in.readInt(), in.readInt());
    }

    static void mapReply(Out out, MapReply r) throws IOException {
        out.i32(r.handle()).str(r.file().toString()).i32(r.frame());
    }

    static MapReply mapReply(DataInputStream in) throws IOException {
        return new MapReply(in.readInt(), Path.of(str(in)), in.readInt());
    }

    static void info(Out out, DomainInfo i) throws IOException {
        out.i32(i.domid()).u8(i.state().ordinal()).i32(i.shutdownReason() == null ? -1 : i.shutdownReason().code)
                .i32(i.memoryPages()).i32(i.vcpus());
        long[] up = i.vcpusUp().toLongArray();
        out.i32(up.length);
        for (long w : up) out.i64(w);
        out.u8(i.privileged() ? 1 : 0).i32(i.xenstorePort()).i32(i.consolePort()).u8(i.blocked() ? 1 : 0);
    }

    static DomainInfo info(DataInputStream in) throws IOException {
        int domid = in.readInt();
        DomainState state = DomainState.values()[in.readUnsignedByte()];
        int reason = in.readInt();
        int pages = in.readInt();
        int vcpus = in.readInt();
        int words = in.readInt();
        if (words < 0 || words > (Hypervisor.MAX_VCPUS + 63) / 64) throw new IOException("bad vCPU map of " + words + " words");
        long[] up = new long[words];
        for (int w = 0; w < words; w++) up[w] = in.readLong();
        return new DomainInfo(domid, state, reason < 0 ? null : ShutdownReason.of(reason), pages, vcpus,
                java.util.BitSet.valueOf(up), in.readByte() != 0, in.readInt(), in.readInt(), in.readByte() != 0);
    }
}
