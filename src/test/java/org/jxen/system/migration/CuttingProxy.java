package org.jxen.system.migration;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A TCP relay between a migration's source and target that lets {@code budget} bytes of the source's stream
 * through and then runs {@code atCut} (kill a host, or nothing) and closes both connections: a stream that
 * ends mid-way, at a chosen byte, whatever the machine's speed.
 */
final class CuttingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final Thread thread;
    volatile boolean cut;

    CuttingProxy(InetSocketAddress target, long budget, Runnable atCut) throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        thread = Thread.ofPlatform().daemon().name("cutting-proxy").start(() -> {
            try (Socket from = server.accept(); Socket to = new Socket(target.getAddress(), target.getPort())) {
                Thread back = Thread.ofPlatform().daemon().start(() -> pump(to, from, Long.MAX_VALUE));
                pump(from, to, budget);
                cut = true;
                atCut.run();
                back.interrupt();
            } catch (IOException e) {
                // a side went away first
            }
        });
    }

    String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    private static void pump(Socket in, Socket out, long budget) {
        try {
            InputStream i = in.getInputStream();
            OutputStream o = out.getOutputStream();
            byte[] buf = new byte[8192];
            long left = budget;
            while (left > 0) {
                int n = i.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) return;
                o.write(buf, 0, n);
                left -= n;
            }
        } catch (IOException e) {
            // closed
        }
    }

    @Override
    public void close() throws Exception {
        server.close();
        thread.join(10_000);
    }
}
