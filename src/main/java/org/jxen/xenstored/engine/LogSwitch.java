package org.jxen.xenstored.engine;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Where CONTROL {@code log on|off} and {@code logfile} act: the daemon's trace, which the daemon around the
 * engine owns ({@link XenStoreEngine#setLogSwitch}). The default has no trace to switch.
 */
public interface LogSwitch {
    LogSwitch NONE = new LogSwitch() {};

    default void enable(boolean on) throws IOException {}

    default void setFile(Path file) throws IOException {
        throw new IOException("no trace support");
    }
}
