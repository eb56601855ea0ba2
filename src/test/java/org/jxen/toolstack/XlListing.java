package org.jxen.toolstack;

/** For tests that compare xl list output: what a running domain's State column may show. */
public final class XlListing {
    private XlListing() {}

    /** A running domain shows r or b, whichever its event thread was doing: both are right. */
    public static String runningOrBlocked(String listing) {
        return listing.replace("-b----", "r-----");
    }
}
