package org.jxen.cli.xenstore;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.client.XsLocator;

/**
 * xenstore_control.c: sends CONTROL with the command and its arguments and prints the answer. Statuses: 2
 * usage, 1 no daemon, 3 command failed (with the daemon's help text when it answered EINVAL).
 */
public final class XenstoreControlTool {
    private XenstoreControlTool() {}

    public static int run(String argv0, List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
        try {
            return control(argv0, args, env, out, err);
        } finally {
            out.flush();
            err.flush();
        }
    }

    private static int control(String argv0, List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.isEmpty()) {
            err.writeBytes(ToolIo.bytes("Usage:\n" + argv0 + " <command> [<arg>...]\n"));
            return 2;
        }
        XsClient xsh;
        try {
            xsh = new XsClient(UnixSocketChannel.connect(XsLocator.socketPath(env)));
        } catch (IOException e) {
            err.writeBytes(ToolIo.bytes("Failed to contact Xenstored.\n"));
            return 1;
        }
        try {
            byte[] reply;
            try {
                reply = xsh.control(args.toArray(String[]::new));
            } catch (IOException e) {
                if (e instanceof XenStoreException xe && xe.error() == XsError.EINVAL) {
                    try {
                        byte[] help = xsh.control("help");
                        err.writeBytes(ToolIo.bytes("Command not supported. Valid commands are:\n"
                                + Payloads.cString(help) + "\n"));
                    } catch (IOException helpFailed) {
                        err.writeBytes(ToolIo.bytes("Error when executing command.\n"));
                    }
                } else {
                    int errno = e instanceof XenStoreException xe ? xe.error().errno : XsError.EIO.errno;
                    err.writeBytes(ToolIo.bytes("Error " + errno + " when trying to execute command.\n"));
                }
                return 3;
            }
            // The C tool prints the reply as a C string: up to its first NUL.
            int n = Payloads.firstNul(reply);
            byte[] text = n < 0 ? reply : java.util.Arrays.copyOf(reply, n);
            if (text.length > 0) {
                out.writeBytes(text);
                out.write('\n');
            }
            return 0;
        } finally {
            try {
                xsh.close();
            } catch (IOException ignored) {
                // nothing left to report
            }
        }
    }

}
