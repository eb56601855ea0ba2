package org.jxen.kernel;

import java.util.function.Consumer;

/**
 * A console as a terminal (Linux's tty driver under hvc0): bytes written go out to whoever watches the console,
 * and bytes typed there come in. The line discipline on top of it is {@link Tty}.
 */
public interface Terminal {
    /** Queues {@code bytes} for output after everything written or printed before; never blocks. */
    void write(byte[] bytes);

    /**
     * Hands every input byte from now on to {@code input} (null: nobody reads; input then waits where it is).
     * It may run on the domain's event thread, so it must not block.
     */
    void onInput(Consumer<byte[]> input);
}
