package org.jxen.ring;

/**
 * RING_IDX arithmetic. Xen's indices are free-running unsigned 32-bit counters that wrap; a Java int holds
 * the same bits, subtraction wraps identically, and only comparisons need the unsigned view.
 */
final class RingIndex {
    private RingIndex() {
    }

    /** (RING_IDX)a &lt; (RING_IDX)b. */
    static boolean lessThan(int a, int b) {
        return Integer.compareUnsigned(a, b) < 0;
    }

    /** The unsigned minimum of two distances. */
    static int min(int a, int b) {
        return lessThan(a, b) ? a : b;
    }

    /**
     * Xen's notify rule: the consumer asked to be woken when the producer index passes {@code event}; the
     * producer moved it from {@code oldProd} to {@code newProd}. Notify iff event lies in (old, new], i.e.
     * (new - event) &lt; (new - old) in u32 arithmetic.
     */
    static boolean needsNotify(int oldProd, int newProd, int event) {
        return lessThan(newProd - event, newProd - oldProd);
    }
}
