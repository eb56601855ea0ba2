package org.jxen.hypervisor.process;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import org.jxen.hypervisor.Delivery;
import org.jxen.hypervisor.DomainLayout;
import org.jxen.hypervisor.HypercallException;
import org.jxen.hypervisor.Hypercalls;

/**
 * Binds to the dom0 port named in args[0], grants dom0 a read-only page saying hello, publishes ref and port in
 * a mailbox on its xenstore page (which dom0 maps through reserved ref 1) and echoes every event until killed.
 */
public final class EchoKernel implements GuestKernel {
    static final int MAGIC = 0x4A58454E;
    static final long MAGIC_OFF = 0;
    static final long REF_OFF = 4;
    static final long PORT_OFF = 8;
    static final long ECHOES_OFF = 12;

    static String hello(int domid) {
        return "hello from d" + domid;
    }

    @Override
    public void boot(Hypercalls hc, String[] args) throws Exception {
        int port = hc.bindInterdomain(0, Integer.parseInt(args[0]));
        byte[] text = hello(hc.domid()).getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(text, 0, hc.frame(2), ValueLayout.JAVA_BYTE, 0, text.length);
        int ref = hc.grantTable().grantAccess(0, 2, true);
        MemorySegment mailbox = hc.frame(DomainLayout.XENSTORE_FRAME);
        mailbox.set(ValueLayout.JAVA_INT, REF_OFF, ref);
        mailbox.set(ValueLayout.JAVA_INT, PORT_OFF, port);
        ValueLayout.JAVA_INT.varHandle().setRelease(mailbox, MAGIC_OFF, MAGIC);
        hc.setEventHandler(p -> {
            mailbox.set(ValueLayout.JAVA_INT, ECHOES_OFF, mailbox.get(ValueLayout.JAVA_INT, ECHOES_OFF) + 1);
            try {
                hc.send(p);
            } catch (HypercallException e) {
                throw new IllegalStateException(e);
            }
        }, Delivery.BLOCKING);
        new CountDownLatch(1).await();
    }
}
