package org.jxen.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code xl help [CMD]}: xl's list of commands, or one command's usage; status 0 either way, as xl. */
@Command(name = "help")
final class XlHelpCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Parameters(paramLabel = "CMD", arity = "0..1")
    String command;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        if (command == null || command.equals("help")) {
            out.print(XlCmdTable.full());
        } else {
            // xl looks the word up as it looks up commands: a prefix of one command will do.
            String c = XlCmdTable.lookup(command);
            out.print(c != null && XlCmdTable.entry(c) != null ? XlCmdTable.help(c)
                    : "command \"" + command + "\" not implemented\n");
        }
        out.flush();
        return 0;
    }
}
