package org.jxen.drivers.blk;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * A map from grant ref (any int) to a value, open addressing with linear probing over a power-of-two table.
 * blkback looks a ref up for every segment of every request (256 per 1 MiB request); a {@code HashMap<Integer,
 * V>} boxed each key, which on a 1 MiB read allocated 8 KiB of Integers and cost ~10% of the backend's time.
 * Not thread-safe.
 */
final class RefMap<V> {
    private int[] keys = new int[16];
    private Object[] values = new Object[16]; // null: free slot
    private int size;

    int size() {
        return size;
    }

    @SuppressWarnings("unchecked")
    V get(int ref) {
        int mask = keys.length - 1;
        for (int i = slot(ref, mask); ; i = (i + 1) & mask) {
            Object v = values[i];
            if (v == null) return null;
            if (keys[i] == ref) return (V) v;
        }
    }

    /** Adds {@code ref}, which must not be present; {@code value} must not be null. */
    void put(int ref, V value) {
        if (value == null) throw new NullPointerException();
        if (2 * (size + 1) > keys.length) grow();
        insert(ref, value);
        size++;
    }

    void forEachValue(Consumer<? super V> action) {
        for (Object v : values) {
            if (v != null) {
                @SuppressWarnings("unchecked")
                V value = (V) v;
                action.accept(value);
            }
        }
    }

    void clear() {
        Arrays.fill(values, null);
        size = 0;
    }

    private void insert(int ref, Object value) {
        int mask = keys.length - 1;
        int i = slot(ref, mask);
        while (values[i] != null) i = (i + 1) & mask;
        keys[i] = ref;
        values[i] = value;
    }

    private void grow() {
        int[] oldKeys = keys;
        Object[] oldValues = values;
        keys = new int[oldKeys.length * 2];
        values = new Object[oldKeys.length * 2];
        for (int i = 0; i < oldKeys.length; i++) if (oldValues[i] != null) insert(oldKeys[i], oldValues[i]);
    }

    /** Refs are handed out sequentially, so a multiplicative hash spreads neighbours over the table. */
    private static int slot(int ref, int mask) {
        int h = ref * 0x9E3779B9;
        return (h ^ h >>> 16) & mask;
    }
}
