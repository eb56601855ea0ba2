package org.jxen.toolstack;

/**
 * Where libxl puts one device of guest U in XenStore: the frontend directory in the guest's home,
 * {@code /local/domain/U/device/K/N}, and the backend directory in the backend domain B's,
 * {@code /local/domain/B/backend/K/U/N}. Each links to the other ({@code backend}, {@code frontend}).
 */
public record DevicePaths(String frontend, String backend) {

    public static DevicePaths of(int domid, DeviceSpec d) {
        return new DevicePaths(Libxl.deviceDir(domid, d.kind()) + "/" + d.devid(),
                Libxl.home(d.backendDomid()) + "/backend/" + d.kind() + "/" + domid + "/" + d.devid());
    }

    /** The backend's per-guest directory {@code /local/domain/B/backend/K/U}, shared by U's devices of class K. */
    public String backendParent() {
        return parentOf(backend);
    }

    static String parentOf(String path) {
        return path.substring(0, path.lastIndexOf('/'));
    }
}
