package org.jxen.xenstored.engine;

import java.util.Arrays;

/** Hard values for each quota plus the soft memory level; global defaults or one domain's overrides. */
final class QuotaSettings {
    static final int UNSET = -1;

    private final int[] hard = new int[Quota.values().length];
    private int softMemory;

    static QuotaSettings defaults() {
        QuotaSettings s = new QuotaSettings();
        for (Quota q : Quota.values()) s.hard[q.ordinal()] = q.defaultValue;
        s.softMemory = Quota.SOFT_MEMORY_DEFAULT;
        return s;
    }

    static QuotaSettings unset() {
        QuotaSettings s = new QuotaSettings();
        Arrays.fill(s.hard, UNSET);
        s.softMemory = UNSET;
        return s;
    }

    /** Every value as {@code name=value}, by wire name, leaving out unset ones (for the state journal). */
    void forEachSet(java.util.function.BiConsumer<String, Integer> f) {
        for (Quota q : Quota.values()) if (hard[q.ordinal()] != UNSET) f.accept(q.wireName, hard[q.ordinal()]);
        if (softMemory != UNSET) f.accept(Quota.SOFT_PREFIX + Quota.MEMORY.wireName, softMemory);
    }

    boolean anySet() {
        if (softMemory != UNSET) return true;
        for (int v : hard) if (v != UNSET) return true;
        return false;
    }

    /** Takes every value of {@code other}. */
    void copyFrom(QuotaSettings other) {
        System.arraycopy(other.hard, 0, hard, 0, hard.length);
        softMemory = other.softMemory;
    }

    int hard(Quota q) {
        return hard[q.ordinal()];
    }

    int softMemory() {
        return softMemory;
    }

    /** Sets a quota by wire name ({@code nodes}, {@code soft-memory}); false for an unknown name. */
    boolean set(String name, int value) {
        if (name.equals(Quota.SOFT_PREFIX + Quota.MEMORY.wireName)) {
            softMemory = value;
            return true;
        }
        Quota q = Quota.byName(name);
        if (q == null) return false;
        hard[q.ordinal()] = value;
        return true;
    }

    /** Value by wire name, or null for an unknown name. */
    Integer get(String name) {
        if (name.equals(Quota.SOFT_PREFIX + Quota.MEMORY.wireName)) return softMemory;
        Quota q = Quota.byName(name);
        return q == null ? null : hard[q.ordinal()];
    }
}
