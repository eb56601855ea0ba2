package org.jxen.ring;

/**
 * The peer published a producer index that cannot be right: more than ring-size entries ahead of what this
 * side has accounted for (RING_REQUEST_PROD_OVERFLOW / RING_RESPONSE_PROD_OVERFLOW). Only a buggy or malicious
 * peer does that, so the ring that threw is halted: every further call on it throws this again, and it never
 * reads or writes the shared ring again. The driver should report the error and tear the connection down.
 */
public final class RingOverflowException extends RuntimeException {
    private final int producer;
    private final int base;
    private final int size;

    public RingOverflowException(String what, int producer, int base, int size) {
        super(what + " producer index " + Integer.toUnsignedString(producer) + " is "
                + Integer.toUnsignedString(producer - base) + " entries past " + Integer.toUnsignedString(base)
                + " on a ring of " + size + "; ring halted");
        this.producer = producer;
        this.base = base;
        this.size = size;
    }

    /** The bogus producer index read from the shared ring. */
    public int producer() {
        return producer;
    }

    /** The private index it was checked against (rsp_prod_pvt for requests, rsp_cons for responses). */
    public int base() {
        return base;
    }

    public int size() {
        return size;
    }
}
