package org.jxen.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import org.jxen.toolstack.ControlException;
import org.jxen.toolstack.DomainConfig;
import org.jxen.toolstack.Libxl;
import org.jxen.toolstack.XlCreate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * xl's domain commands (xl_info.c's list, xl_vmcontrol.c's destroy, shutdown, reboot, pause, unpause,
 * xl_misc.c's rename, domid and domname, xl_info.c's vm-list, xl_mem.c's mem-max and mem-set), each printing what xl
 * prints. The host does the work over its control socket ({@code DomainRequests}); mem-max and mem-set write the
 * store themselves, as libxl does.
 */
final class XlDomainCommands {
    static final String HEADER = "Name                                        ID   Mem VCPUs\tState\tTime(s)";

    private XlDomainCommands() {}

    static List<Object> all() {
        return List.of(new ListDomains(), new Destroy(), new Shutdown(), new Reboot(), new Pause(), new Unpause(),
                new Rename(), new DomId(), new DomName(), new VmList(), new MemMax(), new MemSet(), new VcpuSet(), new Sysrq(),
                new ConfigUpdate());
    }

    /** xl_info.c's row: name, id, MiB, vCPUs, the six state letters, CPU seconds. */
    static String row(String line) {
        String[] f = line.split("\t");
        return String.format(Locale.ROOT, "%-40s %5d %5d %5d     %s  %8.1f", f[0], Integer.parseInt(f[1]),
                Long.parseLong(f[2]), Integer.parseInt(f[3]), f[4], Double.parseDouble(f[5]));
    }

    @Command(name = "list")
    static final class ListDomains implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Option(names = {"-l", "--long"})
        boolean details;
        @Option(names = {"-v", "--verbose"})
        boolean verbose;
        @Parameters(paramLabel = "DOM", arity = "0..*")
        List<String> doms = new ArrayList<>();

        @Override
        public Integer call() {
            if (doms.size() > 1) {
                // xl list takes one domain: more prints its help, and fails.
                spec.commandLine().getOut().print(XlCmdTable.help("list"));
                spec.commandLine().getOut().flush();
                return 1;
            }
            String request = (details ? "list-long" : verbose ? "list-verbose" : "list")
                    + (doms.isEmpty() ? "" : " " + doms.getFirst());
            List<String> rows;
            try {
                rows = xl.control().call(request);
            } catch (ControlException | IOException e) {
                return XlCommand.fail(spec, e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            if (details) {
                rows.forEach(out::println);
            } else if (verbose) {
                // xl_info.c's list_domains with verbose: the uuid, the shutdown reason, the XSM label (none here).
                out.println(HEADER + "   UUID                            Reason-Code\tSecurity Label");
                for (String r : rows) {
                    String[] f = r.split("\t");
                    out.println(row(r) + " " + f[6] + String.format(Locale.ROOT, " %8s %16s", f[7], "-"));
                }
            } else {
                out.println(HEADER);
                for (String r : rows) out.println(row(r));
            }
            out.flush();
            return 0;
        }
    }

    /** An xl command that is one control request about one domain: {@code VERB DOM}, its answer printed. */
    abstract static class OneDomainRequest implements Callable<Integer> {
        private final String verb;
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DOM")
        String dom;

        OneDomainRequest(String verb) {
            this.verb = verb;
        }

        @Override
        public Integer call() {
            return XlCommand.request(xl, spec, verb + " " + dom);
        }

        /**
         * The request as xl's pause_domain and unpause_domain make it: libxl's refusal is printed and ignored (status
         * 0); a DOM that names no domain is find_domain's failure, status 1.
         */
        int callIgnoringLibxlFailure() {
            try {
                xl.control().call(verb + " " + dom);
                return 0;
            } catch (ControlException e) {
                XlCommand.fail(spec, e.getMessage());
                return e.getMessage().startsWith("libxl: ") ? 0 : 1;
            } catch (IOException e) {
                return XlCommand.fail(spec, e.getMessage());
            }
        }
    }

    @Command(name = "destroy")
    static final class Destroy extends OneDomainRequest {
        @Option(names = "-f", description = "Permit destroying domain 0 (only with a disaggregated hardware domain).")
        boolean force;

        Destroy() {
            super("destroy");
        }

        @Override
        public Integer call() {
            // xl's main_destroy: dom0 only with -f, and then libxl refuses it here (dom0 is the toolstack's own).
            boolean dom0 = dom.equals("0") || dom.equals("Domain-0");
            if (dom0 && !force) {
                return XlCommand.fail(spec, "Not destroying domain 0; use -f to force.\n"
                        + "This can only be done when using a disaggregated hardware domain and toolstack.\n");
            }
            int rc = super.call();
            return rc != 0 && dom0 ? XlCommand.fail(spec, "destroy failed (rc=-3)") : rc;
        }
    }

    /** xl's pause_domain and unpause_domain ignore libxl's answer: a refusal is printed, the status is 0. */
    @Command(name = "pause")
    static final class Pause extends OneDomainRequest {
        Pause() {
            super("pause");
        }

        @Override
        public Integer call() {
            return callIgnoringLibxlFailure();
        }
    }

    @Command(name = "unpause")
    static final class Unpause extends OneDomainRequest {
        Unpause() {
            super("unpause");
        }

        @Override
        public Integer call() {
            return callIgnoringLibxlFailure();
        }
    }

    @Command(name = "rename")
    static final class Rename implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(index = "0", paramLabel = "DOM")
        String dom;
        @Parameters(index = "1", paramLabel = "NEWNAME")
        String name;

        @Override
        public Integer call() {
            try {
                // xl's find_domain first: an unknown DOM is its own error.
                xl.control().call("list " + dom);
            } catch (ControlException | IOException e) {
                return XlCommand.fail(spec, e.getMessage());
            }
            try {
                // The host refuses a bad name itself, but one with a space would reach it as two words.
                if (!name.matches("[A-Za-z0-9_.-]+")) throw new ControlException("invalid domain name \"" + name + "\"");
                xl.control().call("rename " + dom + " " + name);
                return 0;
            } catch (ControlException e) {
                // libxl's reason, then xl's line.
                XlCommand.fail(spec, "libxl: error: " + e.getMessage());
                return XlCommand.fail(spec, "Can't rename domain '" + dom + "'.");
            } catch (IOException e) {
                return XlCommand.fail(spec, e.getMessage());
            }
        }
    }

    /** xl_misc.c's main_sysrq: one key, written to the guest's control/sysrq (libxl_send_sysrq). */
    @Command(name = "sysrq")
    static final class Sysrq extends DomainDeviceCommand {
        @Parameters(index = "1", paramLabel = "KEY")
        String key;

        @Override
        int run(org.jxen.xenstore.client.XsClient xs, Libxl libxl, int domid) throws IOException {
            if (key.length() != 1) {
                spec.commandLine().getErr().printf("Invalid sysrq.%n%n");
                spec.commandLine().getErr().print(XlCmdTable.help("sysrq"));
                spec.commandLine().getErr().flush();
                return 1;
            }
            libxl.sendSysrq(domid, key.charAt(0));
            return 0;
        }
    }

    /**
     * xl_misc.c's main_config_update: the config (file, or -f, then KEY=VALUE lines) parsed here, then stored
     * with the host for the domain's next reboot, which builds the new domain from it instead of the domain's own.
     */
    @Command(name = "config-update")
    static final class ConfigUpdate implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DOM [CONFIG] [KEY=VALUE]", arity = "0..*")
        List<String> args = new ArrayList<>();
        @Option(names = {"-f", "--defconfig"}, paramLabel = "FILE")
        String defconfig;
        @Option(names = "-d")
        boolean debug;
        @Option(names = "-q")
        boolean quiet;

        @Override
        public Integer call() {
            var err = spec.commandLine().getErr();
            if (args.isEmpty()) {
                err.println("xl config-update requires a domain argument");
                err.print(XlCmdTable.help("config-update"));
                err.flush();
                return 1;
            }
            err.println("WARNING: xl now has better capability to manage domain configuration, avoid using this command when possible");
            err.flush();
            String dom = args.getFirst();
            if (!dom.matches("[A-Za-z0-9_.-]+")) return XlCommand.fail(spec, Libxl.invalidDomain(dom));
            String domid;
            try {
                domid = xl.control().call("list " + dom).getFirst().split("\t")[1]; // xl's find_domain
            } catch (ControlException | IOException e) {
                return XlCommand.fail(spec, e.getMessage());
            }
            String config = defconfig;
            List<String> overrides = new ArrayList<>();
            for (String a : args.subList(1, args.size())) {
                if (a.indexOf('=') < 0 && config == null && overrides.isEmpty()) config = a;
                else overrides.add(a);
            }
            if (config == null) return XlCommand.fail(spec, "Config file not specified");
            String file = XlCreate.readConfig(config, err);
            if (file == null) return 1;
            String text = XlCreate.withOverrides(file, overrides);
            java.nio.file.Path cwd = java.nio.file.Path.of("").toAbsolutePath();
            DomainConfig cfg = XlCreate.parse(config, file, overrides, cwd, err);
            if (cfg == null) return 1;
            if (debug || xl.dryRun) {
                spec.commandLine().getOut().println(XlCreate.dryRunJson(cfg));
                spec.commandLine().getOut().flush();
            }
            if (xl.dryRun) return 0;
            err.println("setting dom" + domid + " configuration");
            err.flush();
            if (cwd.toString().indexOf('\n') >= 0) return XlCommand.fail(spec, "the working directory's name has a newline");
            byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            try {
                xl.control().call("config-update " + domid + " " + bytes.length + " " + cwd, bytes, l -> { });
                return 0;
            } catch (ControlException e) {
                XlCommand.fail(spec, "libxl: error: " + e.getMessage());
                return XlCommand.fail(spec, "failed to update configuration");
            } catch (IOException e) {
                return XlCommand.fail(spec, e.getMessage());
            }
        }
    }

    /**
     * xl's domid/domname conversion over the host's list (name, then id, in each row): prints field {@code 1 - by}
     * of the domain whose field {@code by} is {@code key}, else xl's line for no such domain.
     */
    private static int convert(XlCommand xl, CommandSpec spec, int by, String key, String notFound) {
        List<String> rows = XlInfoCommands.call(xl, spec, "list");
        if (rows == null) return 1;
        for (String r : rows) {
            String[] f = r.split("\t");
            if (f[by].equals(key)) {
                spec.commandLine().getOut().println(f[1 - by]);
                spec.commandLine().getOut().flush();
                return 0;
            }
        }
        return XlCommand.fail(spec, notFound);
    }

    /**
     * xl vm-list: xl_info.c's list_vm, each domain's uuid, id and name. libxl_list_vm leaves out stubdoms only, so
     * Domain-0 is listed too, whatever xl's help line says.
     */
    @Command(name = "vm-list")
    static final class VmList implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            List<String> rows = XlInfoCommands.call(xl, spec, "list-verbose");
            if (rows == null) return 1;
            PrintWriter out = spec.commandLine().getOut();
            out.println("UUID                                  ID    name");
            for (String r : rows) {
                String[] f = r.split("\t");
                out.println(String.format(Locale.ROOT, "%s  %d    %-30s", f[6], Integer.parseInt(f[1]), f[0]));
            }
            out.flush();
            return 0;
        }
    }

    /** xl domid NAME: libxl_name_to_domid, which matches names only ("1" is not domain 1). */
    @Command(name = "domid")
    static final class DomId implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            return convert(xl, spec, 0, name, "Can't get domid of domain name '" + name
                    + "', maybe this domain does not exist.");
        }
    }

    /** xl domname ID: the id read as strtol reads it (leading digits; none at all is an invalid id). */
    @Command(name = "domname")
    static final class DomName implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\s*([+-]?\\d+)").matcher(id);
            if (!m.lookingAt()) {
                XlCommand.fail(spec, "Invalid domain id.");
                return XlCommand.fail(spec, "");
            }
            // xl keeps strtol's long in a uint32_t: -1 is 4294967295, and a number past a long saturates.
            long parsed;
            try {
                parsed = Long.parseLong(m.group(1));
            } catch (NumberFormatException e) {
                parsed = m.group(1).startsWith("-") ? Long.MIN_VALUE : Long.MAX_VALUE;
            }
            String domid = Integer.toUnsignedString((int) parsed);
            return convert(xl, spec, 1, domid, "Can't get domain name of domain id '" + domid
                    + "', maybe this domain does not exist.");
        }
    }

    /**
     * xl_vcpu.c's main_vcpuset: the count parsed as strtoul reads it, refused above the host's CPUs unless
     * {@code -i} (and only when it would raise the domain's online count), then libxl_set_vcpuonline.
     */
    @Command(name = "vcpu-set")
    static final class VcpuSet extends DomainDeviceCommand {
        @Parameters(index = "1", paramLabel = "VCPUS")
        String count;
        @Option(names = {"-i", "--ignore-host"})
        boolean ignoreHost;

        @Override
        int run(org.jxen.xenstore.client.XsClient xs, Libxl libxl, int domid) throws IOException {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\s*\\+?([0-9]+)").matcher(count);
            long n;
            try {
                n = m.lookingAt() ? Long.parseLong(m.group(1)) : -1;
            } catch (NumberFormatException e) {
                n = Long.MAX_VALUE;
            }
            if (n < 0 || n > Integer.MAX_VALUE) return fail("Error: Invalid argument " + count + " as VCPU number.");
            if (n == 0) return fail("Error: Cannot set 0 VCPUs.");
            if (!ignoreHost) {
                // libxl_get_max_cpus: the host's CPUs (xl info's nr_cpus), not this process's.
                int online;
                int hostCpus = 0;
                try {
                    online = Integer.parseInt(xl.control().call("list " + domid).getFirst().split("\t")[3]);
                    for (String f : xl.control().call("info")) {
                        if (f.startsWith("nr_cpus\t")) hostCpus = Integer.parseInt(f.split("\t")[1].strip());
                    }
                } catch (ControlException e) {
                    return fail(e.getMessage());
                }
                if (n > online && n > hostCpus) {
                    return fail("You are overcommmitting! You have " + hostCpus + " physical CPUs and want " + n
                            + " vCPUs! Aborting, use --ignore-host to  continue");
                }
            }
            try {
                libxl.setVcpusOnline(domid, (int) n);
            } catch (org.jxen.toolstack.DeviceException e) {
                fail(prefix() + e.getMessage());
                return fail("libxl_set_vcpuonline failed domid=" + domid + " max_vcpus=" + n + ", rc: -3");
            }
            return 0;
        }
    }

    /** xl mem-max DOM SIZE: the domain's ceiling, written to memory/static-max in KiB (libxl_domain_setmaxmem). */
    @Command(name = "mem-max")
    static final class MemMax extends MemoryCommand {
        MemMax() {
            super("static", Libxl::setMemoryMax);
        }
    }

    /** xl mem-set DOM SIZE: the balloon target, written to memory/target in KiB (libxl_set_memory_target). */
    @Command(name = "mem-set")
    static final class MemSet extends MemoryCommand {
        MemSet() {
            super("dynamic", Libxl::setMemoryTarget);
        }
    }

    /** One of libxl's memory setters. */
    private interface MemorySetter {
        void set(Libxl libxl, int domid, long kib) throws IOException;
    }

    /**
     * xl_mem.c's set_memory_max and set_memory_target: the size parsed (xl's line if it is malformed), the domain
     * found, libxl's setter called; its refusal is libxl's error line, then xl's "cannot set domid N KIND max
     * memory to : SIZE".
     */
    abstract static class MemoryCommand implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(index = "0", paramLabel = "DOM")
        String dom;
        @Parameters(index = "1", paramLabel = "SIZE")
        String size;
        /** xl's main_memset and main_memmax read their two words and ignore any after them. */
        @Parameters(index = "2..*", hidden = true)
        List<String> ignored = new ArrayList<>();
        /** xl's word for the limit in its failure line: static (mem-max) or dynamic (mem-set). */
        private final String kind;
        private final MemorySetter setter;

        MemoryCommand(String kind, MemorySetter setter) {
            this.kind = kind;
            this.setter = setter;
        }

        @Override
        public Integer call() {
            long kib = parseMemSizeKb(size);
            if (kib < 0) return XlCommand.fail(spec, "invalid memory size: " + size);
            return XlDeviceCommands.withXenstore(xl, spec, "libxl: error: ", xs -> {
                var libxl = XlDeviceCommands.libxl(xs, xl, spec, Map.of());
                int domid;
                try {
                    domid = libxl.domid(dom);
                } catch (IllegalArgumentException e) {
                    return XlCommand.fail(spec, e.getMessage()); // xl's find_domain: its own line
                }
                try {
                    if (domid == 0 && kind.equals("dynamic")) {
                        // libxl_set_memory_target fills in dom0's memory nodes first (libxl__fill_dom0_memory_info):
                        // the target from what dom0 has (xl list's Mem), static-max from its ceiling, which for a
                        // dom0 without dom0_mem=max: is the host's memory (xl info's total_memory).
                        long current = Long.parseLong(xl.control().call("list 0").getFirst().split("\t")[2]) * 1024;
                        long total = current;
                        for (String f : xl.control().call("info")) {
                            if (f.startsWith("total_memory\t")) total = Long.parseLong(f.split("\t")[1].strip()) * 1024;
                        }
                        libxl.fillDom0Memory(current, total);
                    }
                    setter.set(libxl, domid, kib);
                } catch (ControlException e) {
                    return XlCommand.fail(spec, e.getMessage());
                } catch (IllegalArgumentException e) {
                    XlCommand.fail(spec, "libxl: error: Domain " + domid + ":" + e.getMessage());
                    return XlCommand.fail(spec, "cannot set domid " + domid + " " + kind + " max memory to : " + size);
                }
                return 0;
            });
        }
    }

    /** xl_parse.c's parse_mem_size_kb: a number of MiB, or with a b, k, m, g or t suffix; -1 if malformed. */
    static long parseMemSizeKb(String mem) {
        var m = java.util.regex.Pattern.compile("([+-]?[0-9]+)([bBkKmMgGtT]?)").matcher(mem);
        if (!m.matches()) return -1;
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            return -1;
        }
        if (n < 0) return -1;
        return switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "t" -> n << 30;
            case "g" -> n << 20;
            case "", "m" -> n << 10;
            case "k" -> n;
            default -> n >> 10;
        };
    }

    /** Shutdown and reboot: xl_vmcontrol.c's main_shutdown_or_reboot. */
    abstract static class ShutdownOrReboot implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Option(names = {"-a", "--all"})
        boolean all;
        @Option(names = {"-w", "--wait"})
        boolean wait;
        /**
         * xl's fallback to an ACPI power event, for an HVM guest without PV drivers: libxl only takes it when the
         * PV control interface is missing, and a PV domain (every jxen guest) always has one, so it changes nothing.
         */
        @Option(names = "-F")
        boolean fallback;
        @Parameters(paramLabel = "DOM", arity = "0..1")
        String dom;

        abstract boolean reboot();

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            if (dom == null && !all) return XlCommand.fail(spec, "You must specify -a or a domain id.\n");
            try {
                List<String> targets = new ArrayList<>();
                if (all) {
                    for (String r : xl.control().call("list")) {
                        String id = r.split("\t")[1];
                        if (!id.equals("0")) targets.add(id);
                    }
                } else {
                    targets.add(dom);
                }
                // xl names the domain by id: resolve a name first (the host answers for an unknown one).
                List<String> ids = new ArrayList<>();
                for (String t : targets) ids.add(all ? t : domid(t));
                for (String id : ids) {
                    err.println((reboot() ? "Rebooting domain " : "Shutting down domain ") + id);
                    err.flush();
                    xl.control().call((reboot() ? "reboot " : "shutdown ") + id);
                }
                if (wait) awaitDeaths(ids, err);
                return 0;
            } catch (ControlException | IOException e) {
                return XlCommand.fail(spec, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
        }

        private String domid(String d) throws IOException, ControlException {
            for (String r : xl.control().call("list " + d)) return r.split("\t")[1];
            throw new ControlException(Libxl.invalidDomain(d));
        }

        /** xl's wait_for_domain_deaths: one line per domain as each shuts down or is destroyed, in that order. */
        private void awaitDeaths(List<String> ids, PrintWriter err) throws InterruptedException {
            err.println("Waiting for " + ids.size() + " domains");
            err.flush();
            LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
            for (String id : ids) {
                Thread.ofVirtual().start(() -> {
                    try {
                        String how = xl.control().call("wait " + id).getFirst();
                        events.add(how.startsWith("shutdown ")
                                ? "Domain " + id + " has been shut down, reason code " + how.substring(9)
                                : "Domain " + id + " has been destroyed");
                    } catch (ControlException | IOException | RuntimeException e) {
                        // Gone before the wait began: it was destroyed.
                        events.add("Domain " + id + " has been destroyed");
                    }
                });
            }
            for (int i = 0; i < ids.size(); i++) {
                err.println(events.take());
                err.flush();
            }
        }
    }

    @Command(name = "shutdown")
    static final class Shutdown extends ShutdownOrReboot {
        @Override
        boolean reboot() {
            return false;
        }
    }

    @Command(name = "reboot")
    static final class Reboot extends ShutdownOrReboot {
        @Override
        boolean reboot() {
            return true;
        }
    }
}
