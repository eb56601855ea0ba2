package org.jxen.xenbus;

/**
 * xen/include/public/io/xenbus.h's {@code enum xenbus_state}: the value a {@code state} node holds, as decimal
 * text. A missing, unreadable or malformed node reads as {@link #UNKNOWN}, as Linux's xenbus_read_driver_state.
 */
public enum XenbusState {
    UNKNOWN(0, "Unknown"),
    INITIALISING(1, "Initialising"),
    INIT_WAIT(2, "InitWait"),
    INITIALISED(3, "Initialised"),
    CONNECTED(4, "Connected"),
    CLOSING(5, "Closing"),
    CLOSED(6, "Closed"),
    RECONFIGURING(7, "Reconfiguring"),
    RECONFIGURED(8, "Reconfigured");

    /** The wire value. */
    public final int value;
    /** xenbus_strstate's name, used in kernel messages. */
    public final String displayName;

    XenbusState(int value, String displayName) {
        this.value = value;
        this.displayName = displayName;
    }

    public static XenbusState of(int value) {
        for (XenbusState s : values()) {
            if (s.value == value) return s;
        }
        return UNKNOWN;
    }

    /** Decimal text to a state; anything that is not one of the nine values is Unknown. */
    public static XenbusState parse(String text) {
        if (text == null) return UNKNOWN;
        String t = text.strip();
        if (t.isEmpty() || t.length() > 9 || !t.chars().allMatch(Character::isDigit)) return UNKNOWN;
        return of(Integer.parseInt(t));
    }

    /** What is written to a {@code state} node. */
    public String format() {
        return Integer.toString(value);
    }

    @Override
    public String toString() {
        return displayName;
    }
}
