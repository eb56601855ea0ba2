package org.jxen.cli.xenstore;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;
import org.jxen.xenstore.client.UnixSocketChannel;
import org.jxen.xenstore.client.XsClient;
import org.jxen.xenstore.client.XsLocator;

/**
 * xenstore_control.c (4.17): sends CONTROL with the command and its arguments and prints the answer.
 * Statuses: 2 usage, 1 no daemon, 3 command failed (with the daemon's help text when it answered EINVAL).
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
            if (args.getFirst().equals("live-update")) return liveUpdate(xsh, args.subList(1, args.size()), err);
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


    /**
     * {@code live-update [-c cmdline] [-t timeout] [-F] binary}: name the new binary, optionally its command
     * line, then start the update, repeating while the daemon answers BUSY until the timeout (seconds).
     * A failure after the binary was accepted aborts the update. Replacing a xenstore stub domain's kernel
     * needs libxenguest to load it; without a hypervisor interface that fails as the C tool does without
     * /dev/xen/privcmd.
     */
    private static int liveUpdate(XsClient xsh, List<String> args, PrintStream err) {
        String binary = null, cmdline = null;
        int timeout = 60;
        boolean force = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("-c") || a.equals("-t")) {
                if (++i == args.size()) {
                    err.writeBytes(ToolIo.bytes(a.equals("-c") ? "Missing command line value\n" : "Missing timeout value\n"));
                    return 2;
                }
                if (a.equals("-c")) cmdline = args.get(i);
                else timeout = CNumbers.atoi(args.get(i));
            } else if (a.equals("-F")) {
                force = true;
            } else {
                binary = a;
            }
        }
        if (binary == null) {
            err.writeBytes(ToolIo.bytes("Missing binary specification\n"));
            return 2;
        }
        boolean stubdom;
        try {
            stubdom = xsh.exists("/tool/xenstored/domid");
        } catch (IOException e) {
            stubdom = false;
        }
        int rc;
        if (stubdom) {
            err.writeBytes(ToolIo.bytes("xc_interface_open() failed\n"));
            rc = 1;
        } else {
            String failure = liveUpdateStep(xsh, "-f", binary);
            if (failure != null) {
                err.writeBytes(ToolIo.bytes("Setting update binary failed:\n" + failure + "\n"));
                return 3;
            }
            rc = liveUpdateRest(xsh, cmdline, force, timeout, err);
            if (rc == 0) return 0;
        }
        try {
            xsh.control("live-update", "-a");
        } catch (IOException ignored) {
            // the C tool ignores the abort's outcome too
        }
        return rc;
    }

    private static int liveUpdateRest(XsClient xsh, String cmdline, boolean force, int timeout, PrintStream err) {
        if (cmdline != null) {
            String failure = liveUpdateStep(xsh, "-c", cmdline);
            if (failure != null) {
                err.writeBytes(ToolIo.bytes("Setting update binary failed:\n" + failure + "\n"));
                return 3;
            }
        }
        List<String> start = new ArrayList<>(List.of("-s", "-t", Integer.toUnsignedString(timeout)));
        if (force) start.add("-F");
        String answer = "BUSY";
        long begin = System.currentTimeMillis() / 1000;
        while (System.currentTimeMillis() / 1000 - begin < Integer.toUnsignedLong(timeout)) {
            answer = liveUpdateAnswer(xsh, start);
            if (!answer.equals("BUSY")) break;
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!answer.equals("OK")) {
            err.writeBytes(ToolIo.bytes("Starting live update failed:\n" + answer + "\n"));
            return 3;
        }
        return 0;
    }

    /** Null if the daemon answered "OK", else the answer or the error text to show. */
    private static String liveUpdateStep(XsClient xsh, String... args) {
        String answer = liveUpdateAnswer(xsh, List.of(args));
        return answer.equals("OK") ? null : answer;
    }

    private static String liveUpdateAnswer(XsClient xsh, List<String> args) {
        List<String> all = new ArrayList<>();
        all.add("live-update");
        all.addAll(args);
        try {
            return Payloads.cString(xsh.control(all.toArray(String[]::new)));
        } catch (IOException e) {
            return ToolIo.strerror(e);
        }
    }
}
