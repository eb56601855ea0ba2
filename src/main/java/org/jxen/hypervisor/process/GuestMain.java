package org.jxen.hypervisor.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.jxen.hypervisor.DomainHypercalls;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.RunDir;
import org.jxen.hypervisor.ShutdownReason;

/** {@code GuestMain <socket> <domid> <kernel class> [kernel args...]}, token in $JXEN_GUEST_TOKEN. */
public final class GuestMain {
    private GuestMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: GuestMain <socket> <domid> <kernel class> [args...]");
            System.exit(2);
        }
        String token = System.getenv(HypervisorService.TOKEN_ENV);
        if (token == null) {
            System.err.println("GuestMain: $" + HypervisorService.TOKEN_ENV + " is not set");
            System.exit(2);
        }
        int domid = Integer.parseInt(args[1]);
        Path socket = Path.of(args[0]);
        // From here on the guest dies with its host, even while it is still connecting.
        HostWatch.start(domid, socket);
        GuestKernel kernel = (GuestKernel) Class.forName(args[2]).getConstructor().newInstance();
        RemoteControlPlane cp;
        try {
            cp = RemoteControlPlane.connect(socket, domid, token);
        } catch (IOException e) {
            HostWatch.hostGone(domid, "cannot reach the hypervisor at " + socket + ": " + e.getMessage());
            return;
        }
        Path shm = cp.runDir();
        HostWatch.sharedMemory(shm);
        Hypercalls hc;
        try {
            hc = new DomainHypercalls(cp, new RunDir(shm));
        } catch (RuntimeException e) {
            cp.close();
            throw e;
        }
        int code = 0;
        try {
            try {
                kernel.boot(hc, Arrays.copyOfRange(args, 3, args.length));
                hc.shutdown(ShutdownReason.POWEROFF);
            } catch (Exception e) {
                System.err.println("d" + hc.domid() + " kernel panic: " + e);
                hc.shutdown(ShutdownReason.CRASH);
                code = 1;
            }
            hc.close();
        } catch (UncheckedIOException lost) {
            // The hypervisor's end of the connection is gone: so is the host.
            HostWatch.hostGone(domid, "its connection to the hypervisor was lost");
        }
        System.exit(code);
    }
}
