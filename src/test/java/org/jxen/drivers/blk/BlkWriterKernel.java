package org.jxen.drivers.blk;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.jxen.xenbus.Kernel;
import org.jxen.xenbus.StandardKernel;

/** A guest that loads blkfront and writes to xvda until it is killed; {@code data/blkwriter} says it started. */
public final class BlkWriterKernel extends StandardKernel {
    @Override
    protected void run(Kernel kernel, String[] args) throws Exception {
        BlkFront front = new BlkFront();
        kernel.load(front);
        BlockFront d = front.disk("xvda").get(60, TimeUnit.SECONDS);
        Random rnd = new Random(1);
        byte[] data = new byte[64 * 1024];
        boolean said = false;
        while (true) {
            rnd.nextBytes(data);
            var fs = new java.util.ArrayList<java.util.concurrent.CompletableFuture<Void>>();
            for (int i = 0; i < 16; i++) fs.add(d.write(rnd.nextInt((int) (d.sectors() / 128)) * 128L, data));
            for (var f : fs) f.get(60, TimeUnit.SECONDS);
            if (!said) {
                kernel.xenstore().write("data/blkwriter", "running");
                said = true;
            }
        }
    }
}
