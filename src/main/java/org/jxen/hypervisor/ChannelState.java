package org.jxen.hypervisor;

/** EVTCHNSTAT_* of event_channel.h; the ordinal is not the code, {@link #code} is. */
public enum ChannelState {
    CLOSED(0), UNBOUND(1), INTERDOMAIN(2), PIRQ(3), VIRQ(4), IPI(5);

    public final int code;
    /** values() copies its array on every call, and every event-channel send asks for a port's state. */
    private static final ChannelState[] ALL = values();

    ChannelState(int code) {
        this.code = code;
    }

    public static ChannelState of(int code) {
        for (ChannelState s : ALL) {
            if (s.code == code) return s;
        }
        throw new IllegalArgumentException("no channel state " + code);
    }
}
