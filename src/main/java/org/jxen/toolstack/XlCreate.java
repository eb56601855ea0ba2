package org.jxen.toolstack;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code xl create [CONFIG] [KEY=VALUE ...]} on xl's side (xl_vmcontrol.c main_create/create_domain): read the
 * file, append the {@code KEY=VALUE} arguments as lines after it (so they override what the file says, as the
 * last setting of a key wins), parse it here to report errors and ignored settings before bothering the host,
 * then send it with xl's working directory, against which the host resolves relative paths. The host answers
 * once the guest has booted (with -p, once it is built); a guest that dies booting is an error followed by its
 * last console lines.
 */
public final class XlCreate {
    private XlCreate() {}

    /** The config text as xl builds it: the file, then "\n" + each override + "\n" (xl's extra_config). */
    public static String withOverrides(String file, List<String> overrides) {
        if (overrides.isEmpty()) return file;
        StringBuilder b = new StringBuilder(file).append('\n');
        for (String o : overrides) b.append(o).append('\n');
        return b.toString();
    }

    /**
     * xl create's options that change what it does here: {@code -p} leaves the domain paused (the host answers
     * once it is built, without waiting for a boot that has not begun), {@code -q} leaves out "Parsing config
     * from".
     */
    /**
     * {@code dryRun}: xl create -n (or xl -N create): print the domain config libxl would build, create nothing;
     * {@code debug}: xl create -d, print it and create.
     */
    public record Options(boolean paused, boolean quiet, boolean dryRun, boolean debug, boolean foreground) {
        public Options(boolean paused, boolean quiet) {
            this(paused, quiet, false, false, false);
        }

        public Options(boolean paused, boolean quiet, boolean dryRun) {
            this(paused, quiet, dryRun, false, false);
        }
    }

    /** Runs xl create; returns its exit status, having printed what xl prints; {@code created} gets the new domid. */
    public static int run(ControlClient control, String config, List<String> overrides, Options options,
            PrintWriter out, PrintWriter err, java.util.function.Consumer<String> created) {
        String file = readConfig(config, err);
        if (file == null) return 1;
        String text = withOverrides(file, overrides);
        if (!options.quiet()) {
            err.println("Parsing config from " + config);
            err.flush();
        }
        Path cwd = Path.of("").toAbsolutePath();
        DomainConfig cfg = parse(config, file, overrides, cwd, err);
        if (cfg == null) return 1;
        if (cfg.warningLine() != null) {
            err.println(config + ": " + cfg.warningLine());
            err.flush();
        }
        if (options.dryRun() || options.debug()) {
            // xl's cfg_print_fh: stdout for a dry run, stderr for -d (the domain is made after it).
            PrintWriter fh = options.dryRun() ? out : err;
            fh.println(DomainJson.dryRun(cfg));
            fh.flush();
            if (options.dryRun()) return 0;
        }
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (cwd.toString().indexOf('\n') >= 0) return fail(err, "xl create: the working directory's name has a newline");
        List<String> log = new ArrayList<>();
        try {
            // xl says nothing more on success; the new domain shows in xl list.
            String[] id = {null};
            control.call((options.paused() ? "create-paused " : "create ") + bytes.length + " " + cwd, bytes, l -> {
                if (l.startsWith(ControlServer.LOG_LINE)) log.add(l.substring(ControlServer.LOG_LINE.length()));
                else id[0] = l.split(" ")[0]; // "ID NAME"
            });
            if (id[0] != null) created.accept(id[0]);
            return options.foreground() && id[0] != null ? foreground(control, cfg, Integer.parseInt(id[0]), err) : 0;
        } catch (ControlException e) {
            err.println("libxl: error: " + e.getMessage());
            for (String l : log) err.println(l);
            err.flush();
            return 1;
        } catch (IOException e) {
            return fail(err, e.getMessage());
        }
    }

    /**
     * xl create -F: stay until the domain is gone for good, saying in xl's lines (its daemon's, on stderr) how it
     * ended and what was done: the host does the config's action; a restart is followed to the new domain of the
     * same name. Returns xl's status, 0.
     */
    static int foreground(ControlClient control, DomainConfig cfg, int domid, PrintWriter err) throws IOException, ControlException {
        String name = cfg.guest().name();
        while (true) {
            err.println("Waiting for domain " + name + " (domid " + domid + ") to die [pid " + ProcessHandle.current().pid() + "]");
            err.flush();
            String how = control.call("wait " + domid).getFirst();
            if (!how.startsWith("shutdown ")) {
                err.println("Domain " + domid + " has been destroyed.");
                err.flush();
                return 0;
            }
            int code = Integer.parseInt(how.substring("shutdown ".length()).strip());
            err.println("Domain " + domid + " has shut down, reason code " + code + " 0x" + Integer.toHexString(code));
            ShutdownAction action = switch (code) {
                case 0 -> cfg.onShutdown().poweroff();
                case 1 -> cfg.onShutdown().reboot();
                case 3 -> cfg.onShutdown().crash();
                default -> ShutdownAction.DESTROY;
            };
            err.println("Action for shutdown reason code " + code + " is " + action.xlName);
            if (action == ShutdownAction.DESTROY || action == ShutdownAction.RESTART) {
                err.println("Domain " + domid + " needs to be cleaned up: destroying the domain");
            }
            if (action != ShutdownAction.RESTART && action != ShutdownAction.RENAME_RESTART) {
                err.println("Done. Exiting now");
                err.flush();
                return 0;
            }
            int old = domid;
            domid = -1;
            // The host makes the new domain itself (its reload of the config); xl -F follows it.
            for (int i = 0; i < 600 && domid < 0; i++) {
                try {
                    String row = control.call("list " + name).getFirst();
                    int id = Integer.parseInt(row.split("\t")[1]);
                    if (id != old) domid = id;
                } catch (ControlException e) {
                    // not there yet
                }
                if (domid < 0) {
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return 1;
                    }
                }
            }
            if (domid < 0) {
                err.println("Domain " + name + " was not restarted within 60 s");
                err.flush();
                return 1;
            }
            err.println("Done. Rebooting now");
        }
    }

    /** xl -N block-attach's line: {@code disk: } and the libxl_device_disk JSON. */
    public static String dryRunDisk(DiskSpec d) {
        return "disk: " + DomainJson.disk(d);
    }

    /** xl -N network-attach's line: {@code vif: } and the libxl_device_nic JSON. */
    public static String dryRunNic(VifSpec v) {
        return "vif: " + DomainJson.nic(v);
    }

    /** The libxl_domain_config JSON xl prints for a config with -n (create) or -d (config-update). */
    public static String dryRunJson(DomainConfig cfg) {
        return DomainJson.dryRun(cfg);
    }

    /**
     * The text of config file {@code config} (xl's /dev/null is a config given entirely on the command line), or
     * null after xl's "Failed to read config file" line on {@code err}.
     */
    public static String readConfig(String config, PrintWriter err) {
        try {
            return config.equals("/dev/null") ? "" : Files.readString(Path.of(config), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            fail(err, "Failed to read config file: " + config + ": No such file or directory");
        } catch (AccessDeniedException e) {
            fail(err, "Failed to read config file: " + config + ": Permission denied");
        } catch (java.nio.charset.MalformedInputException e) {
            fail(err, "Failed to read config file: " + config + ": not a text file (UTF-8)");
        } catch (IOException e) {
            String why = Files.isDirectory(Path.of(config)) ? "Is a directory" : String.valueOf(e.getMessage());
            fail(err, "Failed to read config file: " + config + ": " + why);
        }
        return null;
    }

    /**
     * xl's parse_config_data of config file {@code config} (its text {@code file}) with the {@code KEY=VALUE}
     * arguments after it, relative paths from {@code cwd}; null after xl's "Failed to parse config" line, which
     * names the file's line or the argument at fault.
     */
    public static DomainConfig parse(String config, String file, List<String> overrides, Path cwd, PrintWriter err) {
        try {
            return DomainConfig.parse(withOverrides(file, overrides), null, cwd);
        } catch (XlCfgException e) {
            fail(err, "Failed to parse config: " + where(e, config, file, overrides));
            return null;
        }
    }

    /** FILE:LINE: ..., or the KEY=VALUE argument at fault (its lines follow the file's). */
    private static String where(XlCfgException e, String config, String file, List<String> overrides) {
        long fileLines = file.chars().filter(c -> c == '\n').count() + 1;
        int i = (int) (e.line() - fileLines - 1);
        if (e.line() <= fileLines || i < 0 || i >= overrides.size()) return e.forFile(config);
        String detail = e.getMessage().replaceFirst("^line \\d+: ", "");
        // A shell ate the quotes: xl.cfg strings need them on the command line too.
        String hint = detail.matches("unexpected '[A-Za-z]'.*") ? " (on the command line too, strings are quoted: 'KEY=\"VALUE\"')" : "";
        return "command line argument '" + overrides.get(i) + "': " + detail + hint;
    }

    private static int fail(PrintWriter err, String message) {
        err.println(message);
        err.flush();
        return 1;
    }
}
