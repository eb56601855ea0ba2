package org.jxen.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.jxen.toolstack.ControlException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * xl's reports on the host and its domains: info, uptime, vcpu-list (xl_info.c, xl_vcpu.c) in xl's formats,
 * and dmesg. The host answers with data lines over its control socket ({@code DomainRequests}).
 */
final class XlInfoCommands {
    private XlInfoCommands() {}

    static List<Object> all() {
        return List.of(new Info(), new Uptime(), new VcpuList(), new Dmesg());
    }

    /** A control request's data lines, or an error message on stderr (null returned). */
    static List<String> call(XlCommand xl, CommandSpec spec, String request) {
        try {
            return xl.control().call(request);
        } catch (ControlException | IOException e) {
            XlCommand.fail(spec, e.getMessage());
            return null;
        }
    }

    private static String withDoms(String verb, List<String> doms) {
        return doms.isEmpty() ? verb : verb + " " + String.join(" ", doms);
    }

    /** xl info [NAME]: every field as "%-23s: %s", or (xl's maybe_printf) the values of fields NAME begins. */
    @Command(name = "info")
    static final class Info implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "NAME", arity = "0..1")
        String name;
        @Option(names = {"-n", "--numa"})
        boolean numa;

        @Override
        public Integer call() {
            List<String> fields = XlInfoCommands.call(xl, spec, "info");
            if (fields == null) return 1;
            PrintWriter out = spec.commandLine().getOut();
            java.util.Map<String, String> values = new java.util.HashMap<>();
            for (String f : fields) {
                int tab = f.indexOf('\t');
                values.put(f.substring(0, tab), f.substring(tab + 1));
            }
            for (String f : fields) {
                int tab = f.indexOf('\t');
                String key = f.substring(0, tab);
                String line = String.format("%-23s: %s", key, f.substring(tab + 1));
                // xl's main_info: with -n a NAME is not looked at.
                if (name == null || numa) out.println(line);
                else if (line.startsWith(name)) out.println(f.substring(tab + 1));
                // print_info: the topology and NUMA tables come after the physical info, before Xen's.
                if (numa && key.equals("free_cpus")) numaTables(values, out);
            }
            out.flush();
            return 0;
        }

        /**
         * xl_info.c's output_topologyinfo and output_numainfo for the host xl info describes: one node holding
         * every CPU (each a core of socket 0, as its cores_per_socket and threads_per_core say) and all its memory,
         * no PCI devices (jxen passes none through).
         */
        private static void numaTables(java.util.Map<String, String> info, PrintWriter out) {
            int cpus = Integer.parseInt(info.getOrDefault("nr_cpus", "1").strip());
            out.println("cpu_topology           :");
            out.println("cpu:    core    socket     node");
            for (int i = 0; i < cpus; i++) out.println(String.format("%3d:    %4d     %4d     %4d", i, i, 0, 0));
            out.println("device topology        :");
            out.println("device           node");
            out.println("No device topology data available");
            out.println("numa_info              :");
            out.println("node:    memsize    memfree    distances");
            out.println(String.format("%4d:    %6d     %6d      %d", 0, Long.parseLong(info.getOrDefault("total_memory", "0").strip()),
                    Long.parseLong(info.getOrDefault("free_memory", "0").strip()), 10));
        }
    }

    /** xl uptime [-s] [DOM...]. */
    @Command(name = "uptime")
    static final class Uptime implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Option(names = "-s")
        boolean shortMode;
        @Parameters(paramLabel = "DOM", arity = "0..*")
        List<String> doms = new ArrayList<>();

        @Override
        public Integer call() {
            List<String> rows = XlInfoCommands.call(xl, spec, withDoms("uptime", doms));
            if (rows == null) return 1;
            PrintWriter out = spec.commandLine().getOut();
            if (!shortMode) out.printf("%-33s %4s %s%n", "Name", "ID", "Uptime");
            String now = LocalTime.now().format(DateTimeFormatter.ofPattern("HH:mm:ss"));
            for (String r : rows) {
                String[] f = r.split("\t");
                long up = Long.parseLong(f[2]);
                if (shortMode) out.printf(" %s up %s, %s (%s)%n", now, uptimeString(up, true), f[0], f[1]);
                else out.printf("%-33s %4d %s%n", f[0], Integer.parseInt(f[1]), uptimeString(up, false));
            }
            out.flush();
            return 0;
        }
    }

    /** xl_info.c's uptime_to_string. */
    static String uptimeString(long uptime, boolean shortMode) {
        long day = uptime / 86400;
        long hour = uptime % 86400 / 3600;
        long min = uptime % 3600 / 60;
        long sec = uptime % 60;
        String days = day > 1 ? day + " days, " : day == 1 ? "1 day, " : "";
        return shortMode ? String.format("%s%2d:%02d", days, hour, min)
                : String.format("%s%2d:%02d:%02d", days, hour, min, sec);
    }

    /** xl vcpu-list [DOM...]. */
    @Command(name = "vcpu-list")
    static final class VcpuList implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DOM", arity = "0..*")
        List<String> doms = new ArrayList<>();

        @Override
        public Integer call() {
            List<String> rows = XlInfoCommands.call(xl, spec, withDoms("vcpu-list", doms));
            if (rows == null) return 1;
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-32s %5s %5s %5s %5s %9s %s%n", "Name", "ID", "VCPU", "CPU", "State", "Time(s)",
                    "Affinity (Hard / Soft)");
            for (String r : rows) out.println(vcpuRow(r));
            out.flush();
            return 0;
        }
    }

    /** xl_vcpu.c's print_vcpuinfo; every vCPU may run on every CPU (affinity "all"). */
    static String vcpuRow(String line) {
        String[] f = line.split("\t");
        StringBuilder b = new StringBuilder(String.format("%-32s %5d %5d", f[0], Integer.parseInt(f[1]),
                Integer.parseInt(f[2])));
        if (f[6].equals("0")) {
            b.append(String.format("%5c %3c%cp ", '-', '-', '-'));
        } else {
            b.append(String.format("%5d %3c%c- ", Integer.parseInt(f[3]), f[4].equals("r") ? 'r' : '-',
                    f[4].equals("b") ? 'b' : '-'));
        }
        b.append(String.format(Locale.ROOT, "%9.1f  ", Double.parseDouble(f[5])));
        return b.append("all / all").toString();
    }

    /** xl dmesg: dom0's kernel log (jxen's dom0 kernel stands for Xen's console ring); with DOM, its console log. */
    @Command(name = "dmesg")
    static final class Dmesg implements Callable<Integer> {
        @ParentCommand
        XlCommand xl;
        @Spec
        CommandSpec spec;
        @Parameters(paramLabel = "DOM", arity = "0..1")
        String dom;
        @Option(names = "-c")
        boolean clear;

        @Override
        public Integer call() {
            return XlCommand.request(xl, spec, "dmesg" + (clear ? " -c" : "") + (dom == null ? "" : " " + dom));
        }
    }
}
