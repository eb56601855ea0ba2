package org.jxen.kernel;

/**
 * Parsing of module parameter values as Linux's kernel/params.c does it, for modules' {@link
 * KernelModule#parameter} methods. Each throws IllegalArgumentException for a value the type does not take.
 */
public final class ModuleParameters {
    private ModuleParameters() {}

    /** param_set_bool (kstrtobool): 1/y/Y/on or 0/n/N/off; a bare name (null) is true. */
    public static boolean bool(String value) {
        if (value == null) return true;
        return switch (value) {
            case "1", "y", "Y", "on", "ON", "On" -> true;
            case "0", "n", "N", "off", "OFF", "Off" -> false;
            default -> throw new IllegalArgumentException("not a boolean: " + value);
        };
    }

    /** param_set_uint (kstrtouint, base 0): decimal, 0x hexadecimal or 0 octal, at most 2^32-1. */
    public static int uint(String value) {
        long v = unsigned(value, 0xffff_ffffL);
        if (v > Integer.MAX_VALUE) throw new IllegalArgumentException("too large for this parameter: " + value);
        return (int) v;
    }

    /** An unsigned value in {@code [min, max]}, else IllegalArgumentException (a module's own range check). */
    public static int uint(String value, int min, int max) {
        int v = uint(value);
        if (v < min || v > max) throw new IllegalArgumentException(value + " is not in " + min + ".." + max);
        return v;
    }

    private static long unsigned(String value, long max) {
        if (value == null || value.isEmpty()) throw new IllegalArgumentException("a number is needed");
        String s = value.startsWith("+") ? value.substring(1) : value;
        int radix = 10;
        if (s.startsWith("0x") || s.startsWith("0X")) {
            radix = 16;
            s = s.substring(2);
        } else if (s.length() > 1 && s.startsWith("0")) {
            radix = 8;
            s = s.substring(1);
        }
        long v;
        try {
            v = Long.parseLong(s, radix);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a number: " + value);
        }
        if (v < 0 || v > max || s.startsWith("-") || s.startsWith("+")) {
            throw new IllegalArgumentException("out of range: " + value);
        }
        return v;
    }
}
