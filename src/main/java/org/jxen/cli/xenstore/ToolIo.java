package org.jxen.cli.xenstore;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.jxen.xenstore.XenStoreException;

/** The output side of a tool run: stdout, stderr and BSD err.h's message conventions. */
final class ToolIo {
    final PrintStream out;
    final PrintStream err;
    /** program_invocation_short_name: what err()/warn() put before their messages. */
    final String name;

    ToolIo(PrintStream out, PrintStream err, String name) {
        this.out = out;
        this.err = err;
        this.name = name;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    void print(String s) {
        out.writeBytes(bytes(s));
    }

    /** warnx(): "name: message\n". */
    void warnx(String message) {
        err.writeBytes(bytes(name + ": " + message + "\n"));
    }

    /** warn(): "name: message: strerror(errno)\n". */
    void warn(String message, IOException cause) {
        warnx(message + ": " + strerror(cause));
    }

    ToolExit errx(int status, String message) {
        warnx(message);
        return exit(status);
    }

    ToolExit err(int status, String message, IOException cause) {
        warn(message, cause);
        return exit(status);
    }

    ToolExit exit(int status) {
        out.flush();
        err.flush();
        return new ToolExit(status);
    }

    /**
     * The glibc text for the errno libxenstore would have set: the daemon's error, or EBADF, which is what
     * libxenstore reports once its connection is gone.
     */
    static String strerror(IOException e) {
        if (e instanceof XenStoreException xe) return xe.error().message;
        return "Bad file descriptor";
    }
}
