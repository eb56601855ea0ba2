package org.jxen.xenstored.engine;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jxen.xenstore.Payloads;
import org.jxen.xenstore.XenStoreException;
import org.jxen.xenstore.XsError;

/**
 * CONTROL requests ({@code xenstore-control}): the commands and reply texts of C xenstored where they make
 * sense without a hypervisor. Replies are text with a trailing NUL, or {@code OK}.
 */
final class Control {
    private static final Logger LOG = System.getLogger("jxen.xenstored");

    private record Command(String name, String params) {}

    private static final List<Command> COMMANDS = List.of(
            new Command("check", ""),
            new Command("log", "[on|off]"),
            new Command("logfile", "<file>"),
            new Command("memreport", "[<file>]"),
            new Command("print", "<string>"),
            new Command("quota", "[set <name> <val>|<domid>]"),
            new Command("quota-soft", "[set <name> <val>]"),
            new Command("help", ""));

    private final XenStoreEngine engine;
    private LogSwitch logSwitch = LogSwitch.NONE;

    Control(XenStoreEngine engine) {
        this.engine = engine;
    }

    void setLogSwitch(LogSwitch s) {
        logSwitch = s;
    }

    byte[] run(Connection c, byte[] payload) throws XenStoreException {
        List<String> all = Payloads.split(payload);
        int n = Payloads.countNuls(payload);
        if (n == 0 || all.isEmpty()) throw new XenStoreException(XsError.EINVAL);
        String cmd = all.getFirst();
        List<String> args = all.subList(1, Math.min(all.size(), n));
        return switch (cmd) {
            case "help" -> text(help());
            case "check" -> {
                List<String> problems = engine.check();
                problems.forEach(p -> LOG.log(Level.ERROR, "check: {0}", p));
                yield problems.isEmpty() ? Payloads.OK : text(String.join("\n", problems) + "\n");
            }
            case "print" -> {
                if (args.size() != 1) throw new XenStoreException(XsError.EINVAL);
                LOG.log(Level.INFO, "control print: {0}", args.getFirst());
                yield Payloads.OK;
            }
            case "log" -> {
                if (args.size() != 1 || !(args.getFirst().equals("on") || args.getFirst().equals("off"))) {
                    throw new XenStoreException(XsError.EINVAL);
                }
                io(() -> logSwitch.enable(args.getFirst().equals("on")));
                yield Payloads.OK;
            }
            case "logfile" -> {
                if (args.size() != 1) throw new XenStoreException(XsError.EINVAL);
                io(() -> logSwitch.setFile(Path.of(args.getFirst())));
                yield Payloads.OK;
            }
            case "memreport" -> {
                String report = memReport();
                if (args.isEmpty()) LOG.log(Level.INFO, "memreport\n{0}", report);
                else io(() -> Files.writeString(Path.of(args.getFirst()), report));
                yield Payloads.OK;
            }
            case "quota" -> quota(args);
            case "quota-soft" -> quotaSoft(args);
            default -> throw new XenStoreException(XsError.EINVAL, "unknown control command " + cmd);
        };
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private static void io(IoAction a) throws XenStoreException {
        try {
            a.run();
        } catch (IOException e) {
            throw new XenStoreException(XsError.EIO, e.getMessage());
        }
    }

    private static byte[] text(String s) {
        return Payloads.strings(s);
    }

    static String help() {
        StringBuilder sb = new StringBuilder();
        for (Command c : COMMANDS) sb.append(c.name()).append('\t').append(c.params()).append('\n');
        return sb.toString();
    }

    private byte[] quota(List<String> args) throws XenStoreException {
        Domains domains = engine.domains();
        if (args.isEmpty()) {
            StringBuilder sb = new StringBuilder("Quota settings:\n");
            for (Quota q : Quota.values()) {
                sb.append(String.format("%-17s: %8d %s%n", q.wireName, domains.global.hard(q), q.description));
            }
            return text(sb.toString());
        }
        if (args.getFirst().equals("set")) {
            if (args.size() != 3 || !domains.global.set(args.get(1), XenStoreEngine.atoi(args.get(2)))
                    || args.get(1).startsWith(Quota.SOFT_PREFIX)) {
                throw new XenStoreException(XsError.EINVAL);
            }
            return Payloads.OK;
        }
        if (args.size() != 1) throw new XenStoreException(XsError.EINVAL);
        int domid = XenStoreEngine.domidArg(args.getFirst());
        if (domains.get(domid) == null) throw new XenStoreException(XsError.ENOENT);
        StringBuilder sb = new StringBuilder("Domain " + domid + ":\n");
        for (Quota q : List.of(Quota.NODES, Quota.WATCHES, Quota.TRANSACTIONS, Quota.OUTSTANDING, Quota.MEMORY)) {
            sb.append(String.format("%-17s: %8d (max %8d)%n", q.wireName, engine.usage(domid, q), domains.limit(domid, q)));
        }
        return text(sb.toString());
    }

    private byte[] quotaSoft(List<String> args) throws XenStoreException {
        Domains domains = engine.domains();
        if (args.isEmpty()) {
            return text(String.format("Soft quota settings:\n%-17s: %8d %s%n", Quota.MEMORY.wireName,
                    domains.global.softMemory(), Quota.MEMORY.description));
        }
        if (args.size() != 3 || !args.getFirst().equals("set") || !args.get(1).equals(Quota.MEMORY.wireName)) {
            throw new XenStoreException(XsError.EINVAL);
        }
        domains.global.set(Quota.SOFT_PREFIX + Quota.MEMORY.wireName, XenStoreEngine.atoi(args.get(2)));
        return Payloads.OK;
    }

    private String memReport() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("nodes: %d%n", engine.tree().size()));
        sb.append(String.format("connections: %d%n", engine.connections().size()));
        for (Domain d : engine.domains().all()) {
            sb.append(String.format("domain %d: nodes %d, node bytes %d, watches %d, watch bytes %d%s%n", d.domid,
                    d.nodes, d.nodeMemory, d.watches, d.watchMemory, d.introduced ? ", introduced" : ""));
        }
        for (Connection c : engine.connections()) {
            sb.append(String.format("%s: watches %d, transactions %d, queued %d, dropped events %d%n", c,
                    c.watches.size(), c.transactions.size(), c.output.size(), c.droppedEvents));
        }
        return sb.toString();
    }
}
