package org.jxen.toolstack;

/** A syntax or meaning error in an xl.cfg file; {@code line} is 1-based (0 when no single line is to blame). */
public final class XlCfgException extends Exception {
    private final int line;
    private final String detail;

    public XlCfgException(int line, String detail) {
        super(line > 0 ? "line " + line + ": " + detail : detail);
        this.line = line;
        this.detail = detail;
    }

    public int line() {
        return line;
    }

    /** The message as xl prints it for a file: {@code FILE:LINE: detail}. */
    public String forFile(String file) {
        return line > 0 ? file + ":" + line + ": " + detail : file + ": " + detail;
    }
}
