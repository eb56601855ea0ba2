package org.jxen.kernel.userland;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jxen.kernel.Kernel;

/**
 * Any other program {@code xl exec} names: a real process of the host's, run inside the guest's network
 * namespace ({@link Kernel#netns()}), so that {@code ip}, {@code ping}, {@code nc} or {@code iperf3} see the guest's
 * interfaces, addresses and routes. Its output is kept up to a bound (what the toolstack reads back), its exit
 * status returned; a program not found on PATH is 127, as a shell says.
 */
final class Programs {
    /** The most output kept per stream: xl exec returns it through the store. */
    static final int MAX_OUTPUT = 1 << 20;

    private Programs() {}

    static boolean exists(String name) {
        if (name.contains("/")) return new File(name).canExecute();
        String path = System.getenv().getOrDefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && new File(dir, name).canExecute()) return true;
        }
        return false;
    }

    static int run(Kernel kernel, List<String> argv, PrintStream out, PrintStream err) {
        Process p;
        try {
            p = kernel.netns().start(new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))));
        } catch (IOException e) {
            err.println("exec: " + argv.getFirst() + ": " + e.getMessage());
            return 126;
        }
        CompletableFuture<byte[]> stderr = CompletableFuture.supplyAsync(() -> bounded(p.getErrorStream()),
                r -> Thread.ofVirtual().start(r));
        byte[] stdout = bounded(p.getInputStream());
        try {
            int status = p.waitFor();
            out.write(stdout);
            err.write(stderr.join());
            return status;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return 130;
        } catch (IOException e) {
            return 1;
        }
    }

    /** Reads the stream to its end, keeping the first {@link #MAX_OUTPUT} bytes. */
    private static byte[] bounded(InputStream in) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try (in) {
            for (int n; (n = in.read(buf)) > 0; ) {
                if (b.size() < MAX_OUTPUT) b.write(buf, 0, Math.min(n, MAX_OUTPUT - b.size()));
            }
        } catch (IOException e) {
            // the process went away
        }
        return b.toByteArray();
    }
}
