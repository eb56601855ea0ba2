package org.jxen.hypervisor.process;

import java.io.IOException;
import java.nio.file.Path;
import org.jxen.hypervisor.DomainHypercalls;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.RunDir;

/** Connects a guest process to the host's {@link HypervisorService}: the control plane over the socket. */
public final class GuestConnection {
    private GuestConnection() {
    }

    public static Hypercalls connect(Path socket, int domid, String token) throws IOException, HypercallException {
        RemoteControlPlane cp = RemoteControlPlane.connect(socket, domid, token);
        try {
            return new DomainHypercalls(cp, new RunDir(cp.runDir()));
        } catch (RuntimeException e) {
            cp.close();
            throw e;
        }
    }
}
