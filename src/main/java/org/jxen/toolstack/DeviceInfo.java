package org.jxen.toolstack;

/**
 * One device as its frontend directory describes it (libxl's libxl_vdevinfo, what {@code xl block-list} prints):
 * -1 for a number the frontend has not written (yet), e.g. the ring before the frontend connects.
 *
 * @param eventChannel {@code event-channel}, or queue 0's for a multi-queue frontend
 * @param ringRef {@code ring-ref}, {@code ring-ref0} (a multi-page ring), or queue 0's
 */
public record DeviceInfo(int devid, int backendDomid, int frontendDomid, int state, int eventChannel, int ringRef,
        String backendPath) {}
