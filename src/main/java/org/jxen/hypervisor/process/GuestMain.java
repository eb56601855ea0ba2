package org.jxen.hypervisor.process;

import java.nio.file.Path;
import java.util.Arrays;
import org.jxen.hypervisor.Hypercalls;
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
        GuestKernel kernel = (GuestKernel) Class.forName(args[2]).getConstructor().newInstance();
        Hypercalls hc = GuestConnection.connect(Path.of(args[0]), Integer.parseInt(args[1]), token);
        int code = 0;
        try {
            kernel.boot(hc, Arrays.copyOfRange(args, 3, args.length));
            hc.shutdown(ShutdownReason.POWEROFF);
        } catch (Exception e) {
            System.err.println("d" + hc.domid() + " kernel panic: " + e);
            hc.shutdown(ShutdownReason.CRASH);
            code = 1;
        }
        hc.close();
        System.exit(code);
    }
}
