package org.jxen.cli;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * {@code jxen xenstored}'s options read without picocli, for the daemon's own JVM: picocli's model of a command
 * (its classes, reflection over the annotations, its converters' java.time and regex classes) costs the
 * daemon ~6 MB resident for as long as it runs, about a tenth of its 64 MB bound (docs/xenstored.md,
 * "Memory"). Only plain forms are read here ({@code --name value}, {@code --name=value}, flags), each option
 * once; anything else ({@code --help}, a typo, a bad number, a repeat) returns null and goes to picocli, which
 * gives its usual help and one-line errors. {@code XenstoredArgsTest} holds this to picocli's own reading.
 */
final class XenstoredArgs {
    private XenstoredArgs() {}

    /** The command with {@code args} (after "xenstored") applied, or null if picocli should read them. */
    static XenstoredCommand parse(String[] args) {
        XenstoredCommand c = new XenstoredCommand();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            int eq = a.indexOf('=');
            String name = eq > 0 ? a.substring(0, eq) : a;
            if (!seen.add(name)) return null;
            if (name.equals("--fsync") || name.equals("--supervised")) {
                if (eq > 0) return null;
                if (name.equals("--fsync")) c.fsync = true;
                else c.supervised = true;
                continue;
            }
            String value;
            if (eq > 0) {
                value = a.substring(eq + 1);
            } else {
                if (i + 1 >= args.length || args[i + 1].startsWith("-")) return null;
                value = args[++i];
            }
            try {
                switch (name) {
                    case "--socket" -> c.socket = Path.of(value);
                    case "--run-dir" -> c.runDir = Path.of(value);
                    case "--trace" -> c.trace = Path.of(value);
                    case "--state-dir" -> c.stateDir = Path.of(value);
                    case "--dom0-devices" -> c.dom0Devices = Path.of(value);
                    case "--journal-io" -> c.journalIo = value;
                    case "--snapshot-bytes" -> c.snapshotBytes = Long.parseLong(value);
                    default -> {
                        return null;
                    }
                }
            } catch (RuntimeException e) {
                return null;
            }
        }
        return c;
    }
}
