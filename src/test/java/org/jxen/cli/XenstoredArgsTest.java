package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The daemon's own reading of its options gives what picocli's gives, or leaves the arguments to picocli. */
class XenstoredArgsTest {

    private static List<Object> fields(XenstoredCommand c) {
        return java.util.Arrays.asList(c.socket, c.runDir, c.trace, c.stateDir, c.fsync, c.journalIo, c.snapshotBytes,
                c.dom0Devices, c.supervised);
    }

    private static XenstoredCommand picocli(String... args) {
        XenstoredCommand c = new XenstoredCommand();
        new CommandLine(c).parseArgs(args);
        return c;
    }

    @Test
    void readsWhatPicocliReads() {
        List<String[]> cases = List.of(
                new String[] {},
                new String[] {"--socket", "/tmp/x/socket"},
                new String[] {"--socket=/tmp/x/socket", "--trace", "/tmp/t"},
                new String[] {"--run-dir", "/run/xs", "--fsync"},
                new String[] {"--socket", "/a/socket", "--state-dir", "/a/state", "--dom0-devices", "/a/dom0.sock", "--supervised",
                        "--fsync", "--journal-io", "write", "--snapshot-bytes", "4096"},
                new String[] {"--journal-io=mmap", "--snapshot-bytes=123"});
        for (String[] args : cases) {
            XenstoredCommand ours = XenstoredArgs.parse(args);
            assertThat(ours).as(String.join(" ", args)).isNotNull();
            assertThat(fields(ours)).as(String.join(" ", args)).isEqualTo(fields(picocli(args)));
        }
    }

    @Test
    void leavesHelpTyposRepeatsAndBadValuesToPicocli() {
        List<String[]> cases = List.of(
                new String[] {"--help"},
                new String[] {"-h"},
                new String[] {"--version"},
                new String[] {"--sokcet", "/tmp/s"},
                new String[] {"--socket"},
                new String[] {"--socket", "--fsync"},
                new String[] {"--socket", "/a", "--socket", "/b"},
                new String[] {"--snapshot-bytes", "lots"},
                new String[] {"--fsync=true"},
                new String[] {"extra"});
        for (String[] args : cases) {
            assertThat(XenstoredArgs.parse(args)).as(String.join(" ", args)).isNull();
        }
    }
}
