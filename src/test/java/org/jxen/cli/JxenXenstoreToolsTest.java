package org.jxen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jxen.cli.xenstore.ToolRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jxen xenstore-*}: what the {@code jxen} command line does to the tools' arguments on their way in. The
 * tools themselves are org.jxen.cli.xenstore's tests.
 */
@Timeout(60)
class JxenXenstoreToolsTest {
    @TempDir
    Path dir;

    @Test
    void jxenLeavesAtArgumentsAlone() throws IOException {
        // Expanded as a picocli argument file, "@<file>" would become the key and value it holds, and the
        // tool would go on to connect; kept as one argument, it is an odd operand count: usage.
        Path file = Files.writeString(dir.resolve("argfile"), "/k\nv\n");
        assertThat(jxenMain("xenstore-write", "@" + file)).isEqualTo(new ToolRun("",
                "xenstore-write: Usage: xenstore-write [-h] [-s] [-R] key value [...]\n", 1));
    }

    /** Runs {@code jxen <args>} in-process through picocli with System.out/err captured. */
    private static ToolRun jxenMain(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            status = JxenCommand.commandLine().execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new ToolRun(out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), status);
    }

    @Test
    void jxenDispatchesArgumentsUntouched() {
        // "--" reaches our getopt, which ends option parsing there: "-h" becomes a key, so it is the odd
        // operand count, not -h, that brings the usage text.
        assertThat(jxenMain("xenstore-write", "--", "-h")).isEqualTo(new ToolRun("",
                "xenstore-write: Usage: xenstore-write [-h] [-s] [-R] key value [...]\n", 1));
        assertThat(jxenMain("xenstore", "ls", "-h")).isEqualTo(new ToolRun("",
                "xenstore: Usage: xenstore ls [-h] [-f] [-p] [-s] [path]\n", 1));
    }
}
