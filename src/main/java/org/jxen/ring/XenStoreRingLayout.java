package org.jxen.ring;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A flyweight over the 4 KiB xenstore page of xenstore-ring.txt (struct xenstore_domain_interface). Every
 * offset lives here and nowhere else. Index and control fields are read with acquire and written with release
 * semantics, which is what Xen's virt_mb()/virt_wmb() pairs amount to: a producer writes data then
 * release-stores prod; a consumer acquire-loads prod, reads data, then release-stores cons. The page is
 * little-endian, as on every Xen platform.
 */
public final class XenStoreRingLayout {
    public static final int PAGE_SIZE = 4096;
    /** XENSTORE_RING_SIZE: bytes in each of the two rings. */
    public static final int XENSTORE_RING_SIZE = 1024;

    public static final long REQ_OFFSET = 0;
    public static final long RSP_OFFSET = 1024;
    public static final long REQ_CONS_OFFSET = 2048;
    public static final long REQ_PROD_OFFSET = 2052;
    public static final long RSP_CONS_OFFSET = 2056;
    public static final long RSP_PROD_OFFSET = 2060;
    public static final long SERVER_FEATURES_OFFSET = 2064;
    public static final long CONNECTION_OFFSET = 2068;
    public static final long ERROR_OFFSET = 2072;

    /** XENSTORE_SERVER_FEATURE_RECONNECTION. */
    public static final int FEATURE_RECONNECTION = 1;
    /** XENSTORE_SERVER_FEATURE_ERROR. */
    public static final int FEATURE_ERROR = 2;

    /** XENSTORE_CONNECTED. */
    public static final int CONNECTED = 0;
    /** XENSTORE_RECONNECT: the guest asks the server to reset the connection. */
    public static final int RECONNECT = 1;

    /** XENSTORE_ERROR_NONE. */
    public static final int ERROR_NONE = 0;
    /** XENSTORE_ERROR_COMMS: communication problem. */
    public static final int ERROR_COMMS = 1;
    /** XENSTORE_ERROR_RINGIDX: invalid ring index. */
    public static final int ERROR_RING_IDX = 2;
    /** XENSTORE_ERROR_PROTO: protocol violation (e.g. a frame too long). */
    public static final int ERROR_PROTO = 3;

    private static final VarHandle U32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MemorySegment page;
    private final ByteRing requests;
    private final ByteRing responses;

    /** The page must be at least 4096 bytes and 4-byte aligned (atomic access needs aligned fields). */
    public XenStoreRingLayout(MemorySegment page) {
        if (page.byteSize() < PAGE_SIZE) throw new IllegalArgumentException("xenstore page is " + page.byteSize() + " bytes");
        if (page.address() % 4 != 0) throw new IllegalArgumentException("xenstore page is not 4-byte aligned");
        this.page = page;
        this.requests = new ByteRing(page, "request", REQ_OFFSET, XENSTORE_RING_SIZE, REQ_CONS_OFFSET, REQ_PROD_OFFSET);
        this.responses = new ByteRing(page, "response", RSP_OFFSET, XENSTORE_RING_SIZE, RSP_CONS_OFFSET, RSP_PROD_OFFSET);
    }

    public MemorySegment page() {
        return page;
    }

    /** Guest to server: the guest produces, the server consumes. */
    public ByteRing requests() {
        return requests;
    }

    /** Server to guest: the server produces, the guest consumes. */
    public ByteRing responses() {
        return responses;
    }

    private int load(long offset) {
        return (int) U32.getAcquire(page, offset);
    }

    private void store(long offset, int value) {
        U32.setRelease(page, offset, value);
    }

    public int reqCons() {
        return load(REQ_CONS_OFFSET);
    }

    public int reqProd() {
        return load(REQ_PROD_OFFSET);
    }

    public int rspCons() {
        return load(RSP_CONS_OFFSET);
    }

    public int rspProd() {
        return load(RSP_PROD_OFFSET);
    }

    public void setReqCons(int v) {
        store(REQ_CONS_OFFSET, v);
    }

    public void setReqProd(int v) {
        store(REQ_PROD_OFFSET, v);
    }

    public void setRspCons(int v) {
        store(RSP_CONS_OFFSET, v);
    }

    public void setRspProd(int v) {
        store(RSP_PROD_OFFSET, v);
    }

    public int serverFeatures() {
        return load(SERVER_FEATURES_OFFSET);
    }

    public void setServerFeatures(int v) {
        store(SERVER_FEATURES_OFFSET, v);
    }

    public int connection() {
        return load(CONNECTION_OFFSET);
    }

    public void setConnection(int v) {
        store(CONNECTION_OFFSET, v);
    }

    public int error() {
        return load(ERROR_OFFSET);
    }

    public void setError(int v) {
        store(ERROR_OFFSET, v);
    }

    /** Zeroes all four indices (the server's part of a reconnection). */
    public void resetIndices() {
        setReqCons(0);
        setReqProd(0);
        setRspCons(0);
        setRspProd(0);
    }

    /** A readable name for an error field value, for messages. */
    public static String errorName(int error) {
        return switch (error) {
            case ERROR_NONE -> "NONE";
            case ERROR_COMMS -> "COMMS";
            case ERROR_RING_IDX -> "RING_IDX";
            case ERROR_PROTO -> "PROTO";
            default -> "unknown";
        };
    }
}
