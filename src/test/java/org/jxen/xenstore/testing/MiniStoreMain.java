package org.jxen.xenstore.testing;

import java.nio.file.Path;

/** Runs a MiniStore on a socket in the given directory until killed (for trying tools by hand). */
public final class MiniStoreMain {
    public static void main(String[] args) throws Exception {
        try (FakeXenstored d = new FakeXenstored(Path.of(args[0]), new MiniStore())) {
            System.out.println(d.socketPath());
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
