package org.jxen.kernel;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The line discipline of a console (Linux's n_tty in canonical mode with its default flags): input is collected
 * into lines and echoed as typed; CR is read as NL (ICRNL, since a raw terminal sends CR for Enter); DEL and
 * BS erase a character, ^U the line, ^C discards the line (echoed {@code ^C}), ^D on an empty line is end of
 * file; escape sequences (arrow keys) and other control characters are dropped, since there is no line
 * editing beyond erase. Output is passed through unchanged: the guest writes '\n' and the terminal of
 * {@code xl console} adds the CR.
 */
public final class Tty {
    static final byte CR = '\r', NL = '\n', DEL = 0x7f, BS = 0x08, INTR = 0x03, EOF = 0x04, KILL = 0x15, ESC = 0x1b;
    private static final byte[] ERASE = {BS, ' ', BS};
    private static final Object END_OF_FILE = new Object();

    private final Terminal terminal;
    private final LinkedBlockingQueue<Object> lines = new LinkedBlockingQueue<>();
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    /** 0: text; 1: after ESC; 2: inside a CSI sequence (ESC [ ... final byte). */
    private int escape;

    public Tty(Terminal terminal) {
        this.terminal = terminal;
    }

    /** Starts reading the terminal's input. */
    public void open() {
        terminal.onInput(this::input);
    }

    /** Stops reading it: input typed from now on stays with the console. */
    public void close() {
        terminal.onInput(null);
    }

    /** The next line typed, without its end; null at end of file (^D on an empty line). */
    public String readLine() throws InterruptedException {
        Object o = lines.take();
        return o == END_OF_FILE ? null : (String) o;
    }

    /** Output to the terminal, each write passed on as it comes. */
    public PrintStream out() {
        return new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                terminal.write(new byte[] {(byte) b});
            }

            @Override
            public void write(byte[] b, int off, int len) {
                if (len > 0) terminal.write(java.util.Arrays.copyOfRange(b, off, off + len));
            }
        }, true, StandardCharsets.UTF_8);
    }

    /**
     * Bytes from the terminal: runs on the console's event thread, so it only echoes and queues. The echo of a
     * line goes out before the line is handed on, so the shell's answer comes after it on the screen.
     */
    synchronized void input(byte[] bytes) {
        ByteArrayOutputStream echo = new ByteArrayOutputStream();
        for (byte b : bytes) take(b, echo);
        flushEcho(echo);
    }

    private void flushEcho(ByteArrayOutputStream echo) {
        if (echo.size() > 0) terminal.write(echo.toByteArray());
        echo.reset();
    }

    private void endLine(ByteArrayOutputStream echo, Object line) {
        flushEcho(echo);
        lines.add(line);
    }

    private void take(byte b, ByteArrayOutputStream echo) {
        if (escape == 1) {
            escape = b == '[' ? 2 : 0;
            return;
        }
        if (escape == 2) {
            if (b >= 0x40 && b <= 0x7e) escape = 0;
            return;
        }
        switch (b) {
            case CR, NL -> {
                echo.write(NL);
                endLine(echo, line.toString(StandardCharsets.UTF_8));
                line.reset();
            }
            case DEL, BS -> eraseChar(echo);
            case KILL -> {
                while (line.size() > 0) eraseChar(echo);
            }
            case INTR -> {
                echo.writeBytes("^C\n".getBytes(StandardCharsets.US_ASCII));
                line.reset();
                endLine(echo, "");
            }
            case EOF -> {
                if (line.size() == 0) endLine(echo, END_OF_FILE);
            }
            case ESC -> escape = 1;
            default -> {
                if ((b & 0xff) < 0x20 && b != '\t') return;
                line.write(b);
                echo.write(b);
            }
        }
    }

    /** Removes the last character (all bytes of a UTF-8 sequence) and rubs it out on the screen. */
    private void eraseChar(ByteArrayOutputStream echo) {
        byte[] b = line.toByteArray();
        int n = b.length;
        if (n == 0) return;
        do {
            n--;
        } while (n > 0 && (b[n] & 0xc0) == 0x80);
        line.reset();
        line.write(b, 0, n);
        echo.writeBytes(ERASE);
    }
}
