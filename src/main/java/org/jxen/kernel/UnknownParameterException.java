package org.jxen.kernel;

/** A module was given a parameter it does not have (Linux's parse_args: -ENOENT, "Unknown parameter"). */
public final class UnknownParameterException extends IllegalArgumentException {
    private final String parameter;

    public UnknownParameterException(String parameter) {
        super("Unknown parameter `" + parameter + "'");
        this.parameter = parameter;
    }

    public String parameter() {
        return parameter;
    }
}
