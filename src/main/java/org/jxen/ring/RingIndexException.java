package org.jxen.ring;

import java.io.IOException;

/**
 * A (cons, prod) pair further apart than the ring is large: the peer wrote garbage into the shared page
 * (XSA-38). Nothing read from such a ring can be trusted.
 */
public final class RingIndexException extends IOException {
    private static final long serialVersionUID = 1L;

    public RingIndexException(String ring, int cons, int prod) {
        super(ring + " ring indices out of range: cons=" + Integer.toUnsignedString(cons)
                + " prod=" + Integer.toUnsignedString(prod));
    }
}
