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
            // C 4.17's text and place (xenstored_control.c); -a, -f, -c and -s are the tool's sub-operations.
            new Command("live-update", "[-c <cmdline>] [-F] [-t <timeout>] <file>\n    Default timeout is 60 seconds."),
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
        List<String> all = Payloads.splitRaw(payload);
        int n = Payloads.countNuls(payload);
        if (n == 0 || all.isEmpty()) throw new ErrorReply(XsError.EINVAL);
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
                if (args.size() != 1) throw new ErrorReply(XsError.EINVAL);
                LOG.log(Level.INFO, "control print: {0}", args.getFirst());
                yield Payloads.OK;
            }
            case "log" -> {
                if (args.size() != 1 || !(args.getFirst().equals("on") || args.getFirst().equals("off"))) {
                    throw new ErrorReply(XsError.EINVAL);
                }
                io(() -> logSwitch.enable(args.getFirst().equals("on")));
                yield Payloads.OK;
            }
            case "logfile" -> {
                if (args.size() != 1) throw new ErrorReply(XsError.EINVAL);
                io(() -> logSwitch.setFile(Path.of(args.getFirst())));
                yield Payloads.OK;
            }
            case "memreport" -> {
                String report = memReport();
                if (args.isEmpty()) LOG.log(Level.INFO, "memreport\n{0}", report);
                else io(() -> Files.writeString(Path.of(args.getFirst()), report));
                yield Payloads.OK;
            }
            case "live-update" -> engine.liveUpdate().run(c, args);
            case "quota" -> quota(args);
            case "quota-soft" -> quotaSoft(args);
            default -> throw new ErrorReply(XsError.EINVAL, "unknown control command " + cmd);
        };
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private static void io(IoAction a) throws XenStoreException {
        try {
            a.run();
        } catch (IOException e) {
            throw new ErrorReply(XsError.EIO, e.getMessage());
        }
    }

    private static byte[] text(String s) {
        return Payloads.raw(s);
    }

    static String help() {
        StringBuilder sb = new StringBuilder();
        for (Command c : COMMANDS) sb.append(c.name()).append('\t').append(c.params()).append('\n');
        return sb.toString();
    }

    /** One row of C xenstored 4.17's quota tables (xenstored_control.c hard_quotas), in its order. */
    private record QuotaRow(String name, Quota quota, String description) {}

    private static final List<QuotaRow> HARD_QUOTAS = List.of(
            new QuotaRow("nodes", Quota.NODES, "Nodes per domain"),
            new QuotaRow("watches", Quota.WATCHES, "Watches per domain"),
            new QuotaRow("transactions", Quota.TRANSACTIONS, "Transactions per domain"),
            new QuotaRow("outstanding", Quota.OUTSTANDING, "Outstanding requests per domain"),
            new QuotaRow("transaction-nodes", Quota.TRANSACTION_NODES, "Max. number of accessed nodes per transaction"),
            new QuotaRow("memory", Quota.MEMORY, "Total Xenstore memory per domain (error level)"),
            new QuotaRow("node-size", Quota.NODE_SIZE, "Max. size of a node"),
            new QuotaRow("path-max", Quota.PATH_MAX, "Max. length of a node path"),
            new QuotaRow("permissions", Quota.NODE_PERMISSIONS, "Max. number of permissions per node"));
    private static final String SOFT_MEMORY_DESCRIPTION = "Total Xenstore memory per domain (warning level)";

    /** {@code quota}, {@code quota set NAME VAL}, {@code quota DOMID}: C 4.17's texts, byte for byte. */
    private byte[] quota(List<String> args) throws XenStoreException {
        Domains domains = engine.domains();
        if (args.isEmpty()) {
            StringBuilder sb = new StringBuilder("Quota settings:\n");
            for (QuotaRow q : HARD_QUOTAS) sb.append(row(q.name(), domains.global.hard(q.quota()), q.description()));
            return text(sb.toString());
        }
        if (args.getFirst().equals("set")) {
            int val = setValue(args);
            for (QuotaRow q : HARD_QUOTAS) {
                if (q.name().equals(args.get(1))) {
                    domains.global.set(q.quota().wireName, val);
                    return Payloads.OK;
                }
            }
            throw new ErrorReply(XsError.EINVAL);
        }
        if (args.size() != 1) throw new ErrorReply(XsError.EINVAL);
        int domid = XenStoreEngine.cAtoi(args.getFirst());
        if (domains.get(domid) == null) throw new ErrorReply(XsError.ENOENT);
        // domain_get_quota: current use only, "%-16s: %8d" (one column narrower than the settings).
        StringBuilder sb = new StringBuilder("Domain " + Integer.toUnsignedString(domid) + ":\n");
        for (Quota q : List.of(Quota.NODES, Quota.WATCHES, Quota.TRANSACTIONS, Quota.OUTSTANDING, Quota.MEMORY)) {
            sb.append(String.format("%-16s: %8d\n", q.wireName, (int) engine.usage(domid, q)));
        }
        return text(sb.toString());
    }

    private byte[] quotaSoft(List<String> args) throws XenStoreException {
        Domains domains = engine.domains();
        if (args.isEmpty()) {
            return text("Quota settings:\n" + row("memory", domains.global.softMemory(), SOFT_MEMORY_DESCRIPTION));
        }
        if (!args.getFirst().equals("set")) throw new ErrorReply(XsError.EINVAL);
        int val = setValue(args);
        if (!args.get(1).equals("memory")) throw new ErrorReply(XsError.EINVAL);
        domains.global.set(Quota.SOFT_PREFIX + Quota.MEMORY.wireName, val);
        return Payloads.OK;
    }

    /** quota_set's checks: exactly NAME VAL after {@code set}, VAL (atoi) at least 1. */
    private static int setValue(List<String> args) throws XenStoreException {
        if (args.size() != 3) throw new ErrorReply(XsError.EINVAL);
        int val = XenStoreEngine.cAtoi(args.get(2));
        if (val < 1) throw new ErrorReply(XsError.EINVAL);
        return val;
    }

    private static String row(String name, int value, String description) {
        return String.format("%-17s: %8d %s\n", name, value, description);
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
