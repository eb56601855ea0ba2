package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * xl's help and its answers to command words: {@code xl help}, {@code xl CMD -h/--help}, "command not
 * implemented" for Xen's commands jxen lacks and for words that are no command, xl's prefix lookup, and xl's
 * messages for a missing argument or an unknown option. No host is needed for any of them.
 */
@Timeout(120)
class XlHelpTest {
    @TempDir
    Path dir;

    private XlResult xl(String... args) {
        return XlResult.run(dir.resolve("nohost"), args);
    }

    @Test
    void xlHelpListsTheCommandsAsXlDoes() {
        XlResult r = xl("help");
        assertThat(r.code()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).startsWith("""
                Usage xl [-vfNtT] [-H DIR] <subcommand> [args]

                xl full list of subcommands:

                 create              Create a domain from config file <filename>
                 config-update       Update a running domain's saved configuration, used when rebuilding the domain after reboot.
                WARNING: xl now has better capability to manage domain configuration, avoid using this command when possible
                 list                List information about all/some domains
                 destroy             Terminate a domain immediately
                 shutdown            Issue a shutdown signal to a domain
                 reboot              Issue a reboot signal to a domain
                 pause               Pause execution of a domain
                 unpause             Unpause a paused domain
                """);
        for (String cmd : XlCmdTable.JXEN.keySet()) assertThat(r.out()).contains("\n " + cmd + " ");
        assertThat(r.out()).contains(" vcpu-list           List the VCPUs for all/some domains\n",
                " uptime              Print uptime for all/some domains\n", " mem-set             Set the current memory usage for a domain\n");
    }

    @Test
    void everyCommandsHelpFlagPrintsItsUsageWithStatusZero() {
        String list = """
                Usage: xl [-vtT] [-H DIR] list [options] [Domain]


                List information about all/some domains.

                Options:

                -l, --long              Output all VM details
                -v, --verbose           Prints out UUIDs and security context
                """;
        assertThat(xl("help", "list").out()).isEqualTo(list);
        assertThat(xl("list", "--help")).isEqualTo(new XlResult(0, list, ""));
        assertThat(xl("list", "-h")).isEqualTo(new XlResult(0, list, ""));
        assertThat(xl("help", "li").out()).as("xl's prefix lookup").isEqualTo(list);
        assertThat(xl("pause", "-h")).isEqualTo(new XlResult(0, """
                Usage: xl [-vtTf] [-H DIR] pause <Domain>

                Pause execution of a domain.

                """, ""));
        for (String cmd : XlCmdTable.JXEN.keySet()) {
            XlResult h = xl(cmd, "--help");
            assertThat(h.code()).as(cmd).isZero();
            assertThat(h.out()).as(cmd).isEqualTo(XlCmdTable.help(cmd)).matches("(?s)Usage: xl \\[-vtTf?N?\\] \\[-H DIR\\] " + java.util.regex.Pattern.quote(cmd) + " .*");
            assertThat(xl(cmd, "-h").out()).as(cmd).isEqualTo(h.out());
        }
    }

    /** A command added to xl without an entry in the table (as a merge may bring one). */
    @picocli.CommandLine.Command(name = "zz-frob", description = "Frob a domain.")
    static final class Frob implements Runnable {
        @picocli.CommandLine.Parameters(paramLabel = "DOM")
        String dom;

        @Override
        public void run() {
        }
    }

    @Test
    void aCommandWithoutATableEntryStillHasXlsHelp() {
        picocli.CommandLine xl = new picocli.CommandLine(new XlCommand());
        xl.addSubcommand(new Frob());
        XlCmdTable.register(xl);
        assertThat(XlCmdTable.help("zz-frob")).isEqualTo("Usage: xl [-vtT] [-H DIR] zz-frob <DOM>\n\nFrob a domain.\n\n");
        assertThat(XlCmdTable.full()).endsWith(" zz-frob             Frob a domain\n");
        assertThat(XlCmdTable.lookup("zz-f")).isEqualTo("zz-frob");
    }

    @Test
    void xlsCommandsThatJxenDoesNotHaveAreNotImplemented() {
        assertThat(xl("migrate-receive")).isEqualTo(new XlResult(1, "", "command not implemented\n"));
        assertThat(xl("sched-credit", "-d", "1")).isEqualTo(new XlResult(1, "", "command not implemented\n"));
        assertThat(xl("pci-attach", "g1", "01:00.0")).isEqualTo(new XlResult(1, "", "command not implemented\n"));
        int missing = 0;
        for (XlCmdTable.Entry e : XlCmdTable.XEN) {
            if (XlCmdTable.JXEN.containsKey(e.name())) continue;
            assertThat(xl(e.name())).as(e.name()).isEqualTo(new XlResult(1, "", "command not implemented\n"));
            missing++;
        }
        long ours = XlCmdTable.JXEN.keySet().stream().filter(n -> XlCmdTable.XEN.stream().noneMatch(e -> e.name().equals(n)))
                .count();
        assertThat(ours).as("jxen's own: block-resize, network-rate, device-attach, device-detach, exec").isEqualTo(5);
        assertThat(missing + XlCmdTable.JXEN.size() - ours).as("Xen's table: every command is jxen's or not implemented")
                .isEqualTo(XlCmdTable.XEN.size());
        assertThat(xl("help", "pci-attach")).isEqualTo(new XlResult(0, "command \"pci-attach\" not implemented\n", ""));
    }

    @Test
    void aWordThatIsNoCommandGetsXlsOwnAnswer() {
        assertThat(xl("frobnicate")).isEqualTo(new XlResult(1, "", "command not implemented\n"));
        assertThat(xl("v")).as("ambiguous: vcpu-list, vcpu-pin, vcpu-set, vm-list, ...")
                .isEqualTo(new XlResult(1, "", "command not implemented\n"));
        assertThat(xl("-z", "list")).isEqualTo(new XlResult(1, "", "xl: invalid option -- 'z'\nunknown global option\n"));
        XlResult none = xl();
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.out()).isEqualTo(XlCmdTable.full());
    }

    @Test
    void anAbbreviatedCommandRunsTheCommand() {
        // xl's cmdtable_lookup: "vcpu-l" names vcpu-list alone; without a host it gets as far as asking for one.
        XlResult r = xl("vcpu-l");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("cannot reach the jxen host at " + dir.resolve("nohost/toolstack.sock"));
    }

    @Test
    void missingArgumentsAndUnknownOptionsAsXlReportsThem() {
        assertThat(xl("pause")).isEqualTo(new XlResult(2, "", """
                'xl pause' requires at least 1 argument.

                Usage: xl [-vtTf] [-H DIR] pause <Domain>

                Pause execution of a domain.

                """));
        XlResult rename = xl("rename", "g1");
        assertThat(rename.code()).isEqualTo(2);
        assertThat(rename.err()).startsWith("'xl rename' requires at least 2 arguments.\n\nUsage: xl [-vtTf] [-H DIR] rename <Domain> <NewDomainName>\n");
        assertThat(xl("list", "-z")).isEqualTo(new XlResult(2, "", "option `z' not supported.\n"));
        assertThat(xl("shutdown", "--frob", "g1")).isEqualTo(new XlResult(2, "", "option `frob' not supported.\n"));
    }

    @Test
    void statusCodesReachTheShellFromARealXlProcess() throws Exception {
        Path host = dir.resolve("nohost");
        XlResult help = XlResult.process(host, dir, "list", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).startsWith("Usage: xl [-vtT] [-H DIR] list [options] [Domain]\n");
        assertThat(XlResult.process(host, dir, "migrate-receive")).isEqualTo(new XlResult(1, "", "command not implemented\n"));
        XlResult missing = XlResult.process(host, dir, "unpause");
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).startsWith("'xl unpause' requires at least 1 argument.\n");
        assertThat(missing.err()).doesNotContain("Exception").doesNotContain("at org.");
    }
}
