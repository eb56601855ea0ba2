package org.jxen.kernel.userland;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import org.jxen.kernel.Disk;
import org.jxen.kernel.Kernel;

/**
 * The guest's userland, as {@code xl exec} and the console shell run it inside a domain: dd, sha256sum, blkbench,
 * kmod's insmod, rmmod and lsmod, and cat, ls and dmesg to look at the kernel ({@link ProcFs}'s files, its log).
 * Each returns an exit status. It uses only the kernel's own interfaces: the block layer's disks
 * ({@link Kernel#disks()}), the module calls ({@link Kernel#insmod}, {@link Kernel#rmmod}, {@link Kernel#lsmod}),
 * its buses and its log.
 */
public final class Utilities {
    /** The commands {@link #run} knows. */
    public static final List<String> COMMANDS = List.of("dd", "sha256sum", "blkbench", "insmod", "rmmod", "lsmod", "cat",
            "ls", "dmesg");

    private Utilities() {}

    public static int run(Kernel kernel, List<String> argv, PrintStream out, PrintStream err) {
        return run(kernel, argv, out, err, Job.NONE);
    }

    /** Whether {@code command} stops at safe points and resumes from its progress (see {@link Job}). */
    static boolean freezable(String command) {
        return command.equals("dd") || command.equals("sha256sum") || command.equals("blkbench");
    }

    static int run(Kernel kernel, List<String> argv, PrintStream out, PrintStream err, Job job) {
        if (argv.isEmpty()) {
            err.println("exec: no command");
            return 127;
        }
        List<String> args = argv.subList(1, argv.size());
        return switch (argv.get(0)) {
            case "dd" -> dd(kernel, args, err, job);
            case "sha256sum" -> sha256sum(kernel, args, out, err, job);
            case "blkbench" -> BlkBench.run(kernel, args, out, err, job);
            case "insmod" -> Kmod.insmod(kernel, args, err);
            case "rmmod" -> Kmod.rmmod(kernel, args, err);
            case "lsmod" -> Kmod.lsmod(kernel, args, out, err);
            case "cat" -> cat(kernel, args, out, err);
            case "ls" -> ls(kernel, args, out, err);
            case "dmesg" -> dmesg(kernel, args, out, err);
            default -> {
                if (Programs.exists(argv.get(0))) yield Programs.run(kernel, argv, out, err);
                err.println("exec: " + argv.get(0) + ": command not found (known: " + String.join(", ", COMMANDS) + ")");
                yield 127;
            }
        };
    }

    /** cat FILE...: the files of {@link ProcFs}, one after the other. */
    static int cat(Kernel kernel, List<String> args, PrintStream out, PrintStream err) {
        if (args.isEmpty()) {
            err.println("cat: a file is required (a guest has no standard input here)");
            return 1;
        }
        int status = 0;
        for (String name : args) {
            ProcFs.Node n = ProcFs.lookup(kernel, name);
            if (n instanceof ProcFs.File f) {
                out.print(f.text().get());
            } else {
                err.println("cat: " + name + ": " + (n == null ? "No such file or directory" : "Is a directory"));
                status = 1;
            }
        }
        out.flush();
        return status;
    }

    /** ls [DIR...]: the entries of {@link ProcFs}'s directories, one a line (a file names itself); / by default. */
    static int ls(Kernel kernel, List<String> args, PrintStream out, PrintStream err) {
        int status = 0;
        List<String> dirs = args.isEmpty() ? List.of("/") : args;
        for (String name : dirs) {
            ProcFs.Node n = ProcFs.lookup(kernel, name);
            if (n == null) {
                err.println("ls: cannot access '" + name + "': No such file or directory");
                status = 2;
                continue;
            }
            if (dirs.size() > 1 && n instanceof ProcFs.Dir) out.println(name + ":");
            if (n instanceof ProcFs.Dir d) {
                for (String e : d.entries().get().keySet()) out.println(e);
            } else {
                out.println(name);
            }
        }
        return status;
    }

    /** dmesg: the kernel log held (the lines printed on the console since boot). */
    static int dmesg(Kernel kernel, List<String> args, PrintStream out, PrintStream err) {
        if (!args.isEmpty()) {
            err.println("dmesg: no options are supported");
            return 1;
        }
        for (String line : kernel.log().lines()) out.println(line);
        return 0;
    }

    /** dd's sizes: a number with c (1), w (2), b (512), K/k/KiB (1024), M/MiB, G/GiB, T/TiB or kB/MB/GB/TB. */
    static long size(String s) {
        String[][] suffixes = {{"KiB", "1024"}, {"MiB", "1048576"}, {"GiB", "1073741824"}, {"TiB", "1099511627776"},
            {"kB", "1000"}, {"KB", "1000"}, {"MB", "1000000"}, {"GB", "1000000000"}, {"TB", "1000000000000"},
            {"K", "1024"}, {"k", "1024"}, {"M", "1048576"}, {"G", "1073741824"}, {"T", "1099511627776"},
            {"c", "1"}, {"w", "2"}, {"b", "512"}};
        long mult = 1;
        for (String[] x : suffixes) {
            if (s.endsWith(x[0]) && s.length() > x[0].length()) {
                mult = Long.parseLong(x[1]);
                s = s.substring(0, s.length() - x[0].length());
                break;
            }
        }
        long v = Long.parseLong(s);
        if (v < 0) throw new NumberFormatException();
        return Math.multiplyExact(v, mult);
    }

    /** How long a resumed dd waits for its disks: a restored domain's frontends are still reconnecting. */
    static final long RESUME_DISK_WAIT_S = 60;

    static int dd(Kernel kernel, List<String> args, PrintStream err) {
        return dd(kernel, args, err, Job.NONE);
    }

    /**
     * dd if= of= [bs= ibs= obs= count= skip= seek= conv=notrunc,fsync,fdatasync status=none|noxfer|progress].
     * Its safe point is before each record, the previous one written (a disk's write acknowledged); its progress
     * there is its positions and counts, from which a restored kernel's dd goes on: every record is written once,
     * none is skipped, and the output is not truncated again.
     */
    static int dd(Kernel kernel, List<String> args, PrintStream err, Job job) {
        String in = null, outName = null;
        long ibs = 512, obs = 512, count = -1, skip = 0, seek = 0;
        boolean notrunc = false, fsync = false, quiet = false;
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                err.println("dd: unrecognized operand '" + a + "'");
                return 1;
            }
            String k = a.substring(0, eq), v = a.substring(eq + 1);
            try {
                switch (k) {
                    case "if" -> in = v;
                    case "of" -> outName = v;
                    case "bs" -> ibs = obs = size(v);
                    case "ibs" -> ibs = size(v);
                    case "obs" -> obs = size(v);
                    case "count" -> count = size(v);
                    case "skip" -> skip = size(v);
                    case "seek" -> seek = size(v);
                    case "conv" -> {
                        for (String c : v.split(",")) {
                            switch (c) {
                                case "notrunc" -> notrunc = true;
                                case "fsync", "fdatasync" -> fsync = true;
                                default -> {
                                    err.println("dd: invalid conversion: '" + c + "'");
                                    return 1;
                                }
                            }
                        }
                    }
                    case "status" -> quiet = v.equals("none");
                    default -> {
                        err.println("dd: unrecognized operand '" + a + "'");
                        return 1;
                    }
                }
            } catch (NumberFormatException | ArithmeticException e) {
                err.println("dd: invalid number: '" + v + "'");
                return 1;
            }
        }
        if (ibs <= 0 || obs <= 0 || ibs > (1 << 30) || obs > (1 << 30)) {
            err.println("dd: invalid block size (1 byte .. 1 GiB)");
            return 1;
        }
        if (in == null || outName == null) {
            err.println("dd: " + (in == null ? "if=" : "of=") + " is required (a guest has no standard input or output here)");
            return 1;
        }
        long t0 = System.nanoTime();
        long fullIn = 0, partIn = 0, fullOut = 0, partOut = 0, bytes = 0;
        int status = 0;
        byte[] resumed = job.resumed();
        long wait = resumed != null ? RESUME_DISK_WAIT_S : Dev.DISK_WAIT_S;
        try (Dev src = openOr(kernel, in, false, err, wait); Dev dst = src == null ? null : openOr(kernel, outName, true, err, wait)) {
            if (src == null || dst == null) return 1;
            long ipos = Math.multiplyExact(skip, ibs);
            long opos = Math.multiplyExact(seek, obs);
            if (resumed != null) {
                java.nio.ByteBuffer p = java.nio.ByteBuffer.wrap(resumed);
                ipos = p.getLong();
                opos = p.getLong();
                fullIn = p.getLong();
                partIn = p.getLong();
                fullOut = p.getLong();
                partOut = p.getLong();
                bytes = p.getLong();
                t0 -= p.getLong(); // the time it ran before the suspend counts, the time it was frozen does not
            } else if (!Dev.isDisk(outName) && !notrunc) {
                dst.truncate(opos);
            }
            if (ipos > src.size()) {
                err.println("dd: '" + in + "': cannot skip to specified offset");
                status = 1;
            } else {
                // Records of ibs bytes in; written out as they come (obs only sets seek's unit).
                byte[] buf = new byte[(int) ibs];
                while (count < 0 || fullIn + partIn < count) {
                    long[] at = {ipos, opos, fullIn, partIn, fullOut, partOut, bytes, System.nanoTime() - t0};
                    try {
                        job.safePoint(() -> {
                            java.nio.ByteBuffer p = java.nio.ByteBuffer.allocate(at.length * 8);
                            for (long v : at) p.putLong(v);
                            return p.array();
                        });
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        err.println("dd: interrupted");
                        status = 130;
                        break;
                    }
                    int n;
                    try {
                        n = src.readAt(ipos, buf, 0, buf.length);
                    } catch (IOException e) {
                        err.println("dd: error reading '" + in + "': " + e.getMessage());
                        status = 1;
                        break;
                    }
                    if (n == 0) break;
                    if (n == ibs) fullIn++; else partIn++;
                    ipos += n;
                    try {
                        dst.writeAt(opos, buf, 0, n);
                    } catch (IOException e) {
                        err.println("dd: error writing '" + outName + "': " + e.getMessage());
                        status = 1;
                        break;
                    }
                    opos += n;
                    bytes += n;
                    job.account(n, n);
                    if (n == obs) fullOut++; else partOut += (n + obs - 1) / obs;
                    if (n < ibs) break;
                }
            }
            if (fsync && status == 0) dst.sync();
        } catch (IOException | ArithmeticException e) {
            err.println("dd: " + e.getMessage());
            status = 1;
        }
        if (!quiet) {
            double s = (System.nanoTime() - t0) / 1e9;
            err.println(fullIn + "+" + partIn + " records in");
            err.println(fullOut + "+" + partOut + " records out");
            err.println(String.format(Locale.ROOT, "%d bytes copied, %.4f s, %.1f MB/s", bytes, s, bytes / 1e6 / Math.max(s, 1e-9)));
        }
        return status;
    }

    private static Dev openOr(Kernel kernel, String name, boolean write, PrintStream err, long diskWaitS) {
        try {
            return Dev.open(kernel, name, write, diskWaitS);
        } catch (IOException e) {
            err.println("dd: failed to open '" + name + "': " + e.getMessage());
            return null;
        }
    }

    /**
     * sha256sum FILE...: {@code <hex>  FILE} per argument; disks read 1 MiB at a time, 4 reads in flight. Its safe
     * point is before each chunk is hashed; its progress there is which argument, the bytes of it hashed and the
     * hash's own state ({@link Sha256}), from which a restored kernel's sha256sum reads on: the digest is that of
     * the whole input, and the lines of the arguments done before are in the output carried over.
     */
    static int sha256sum(Kernel kernel, List<String> args, PrintStream out, PrintStream err, Job job) {
        if (args.isEmpty()) {
            err.println("sha256sum: a file or /dev/xvdX is required (a guest has no standard input here)");
            return 1;
        }
        int status = 0;
        int first = 0;
        Sha256 resumedHash = null;
        long resumedAt = 0;
        byte[] resumed = job.resumed();
        if (resumed != null) {
            java.nio.ByteBuffer p = java.nio.ByteBuffer.wrap(resumed);
            first = p.getInt();
            status = p.getInt();
            resumedAt = p.getLong();
            byte[] state = new byte[Sha256.STATE_BYTES];
            p.get(state);
            resumedHash = Sha256.of(state);
        }
        for (int i = first; i < args.size(); i++) {
            String name = args.get(i);
            Sha256 hash = i == first && resumedHash != null ? resumedHash : new Sha256();
            long from = i == first ? resumedAt : 0;
            int index = i;
            int soFar = status;
            try (Dev d = Dev.open(kernel, name, false, resumed != null ? RESUME_DISK_WAIT_S : Dev.DISK_WAIT_S)) {
                if (from > d.size()) throw new IOException("it shrank to " + d.size() + " bytes below the " + from + " hashed");
                digest(d, hash, from, job, pos -> {
                    java.nio.ByteBuffer p = java.nio.ByteBuffer.allocate(16 + Sha256.STATE_BYTES);
                    return p.putInt(index).putInt(soFar).putLong(pos).put(hash.state()).array();
                });
                out.println(HexFormat.of().formatHex(hash.digest()) + "  " + name);
            } catch (IOException e) {
                err.println("sha256sum: " + name + ": " + e.getMessage());
                status = 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                err.println("sha256sum: interrupted");
                return 130;
            }
        }
        return status;
    }

    /** Hashes {@code d} from byte {@code pos} on into {@code hash}, a safe point before each chunk. */
    private static void digest(Dev d, Sha256 hash, long pos, Job job, java.util.function.LongFunction<byte[]> progress)
            throws IOException, InterruptedException {
        final int chunk = 1 << 20;
        long size = d.size();
        if (d instanceof Dev.BlockDev disk && chunk % disk.ss == 0 && pos % disk.ss == 0) {
            Disk bf = disk.bf;
            ArrayDeque<Object[]> inflight = new ArrayDeque<>();
            long next = pos;
            while (next < size || !inflight.isEmpty()) {
                while (next < size && inflight.size() < 4) {
                    int len = (int) Math.min(chunk, size - next);
                    byte[] b = new byte[len];
                    inflight.add(new Object[] {b, bf.read(next / disk.ss, b, 0, len)});
                    next += len;
                }
                long at = pos;
                job.safePoint(() -> progress.apply(at));
                Object[] head = inflight.poll();
                Dev.await((CompletableFuture<?>) head[1]);
                byte[] b = (byte[]) head[0];
                hash.update(b, 0, b.length);
                pos += b.length;
                job.account(b.length, 0);
            }
        } else {
            byte[] b = new byte[chunk];
            int n;
            while (true) {
                long at = pos;
                job.safePoint(() -> progress.apply(at));
                if ((n = d.readAt(pos, b, 0, b.length)) <= 0) break;
                hash.update(b, 0, n);
                pos += n;
                job.account(n, 0);
            }
        }
    }
}
