package org.jxen.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.EventPage;
import org.jxen.hypervisor.EventWord;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * xen_init_IRQ's choice of event-channel ABI, read from the command line before any module: FIFO unless
 * {@code xen.fifo_events} says no, in kstrtobool's words; a value that is no boolean is reported as parse_args
 * reports it and leaves the default.
 */
class EventAbiChoiceTest {
    private static final String TWO_LEVEL = "xen:events: Using 2-level ABI";

    @TempDir
    Path dir;

    private record Booted(int maxChannels, List<String> log) {}

    @Test
    void fifoUnlessTheCommandLineSaysNo() throws Exception {
        try (Hypervisor hv = new Hypervisor(dir, 64)) {
            Hypercalls dom0 = hv.connect(0);
            try {
                Booted none = boot(hv, dom0, "");
                assertThat(none.maxChannels()).isEqualTo(EventWord.NR_CHANNELS);
                assertThat(none.log()).doesNotContain(TWO_LEVEL);

                Booted off = boot(hv, dom0, "xen.fifo_events=0");
                assertThat(off.maxChannels()).isEqualTo(EventPage.MAX_PORTS);
                assertThat(off.log()).containsExactly(TWO_LEVEL);

                assertThat(boot(hv, dom0, "xen.fifo_events=off").maxChannels()).isEqualTo(EventPage.MAX_PORTS);
                assertThat(boot(hv, dom0, "xen.fifo_events=n").maxChannels()).isEqualTo(EventPage.MAX_PORTS);
                assertThat(boot(hv, dom0, "xen.fifo_events").maxChannels()).as("a bare flag is true")
                        .isEqualTo(EventWord.NR_CHANNELS);
                assertThat(boot(hv, dom0, "xen.fifo_events=0 xen.fifo_events=1").maxChannels())
                        .as("the last one given wins").isEqualTo(EventWord.NR_CHANNELS);
                assertThat(boot(hv, dom0, "blkfront.max_indirect=32 xen.other=0").maxChannels())
                        .as("other parameters are not this one").isEqualTo(EventWord.NR_CHANNELS);

                Booted bad = boot(hv, dom0, "xen.fifo_events=maybe");
                assertThat(bad.maxChannels()).as("the default stays").isEqualTo(EventWord.NR_CHANNELS);
                assertThat(bad.log()).containsExactly("xen: `maybe' invalid for parameter `fifo_events'");
            } finally {
                dom0.close();
            }
        }
    }

    /** A fresh domain whose kernel core comes up with {@code cmdline}: the ports it can have, and what it logged. */
    private static Booted boot(Hypervisor hv, Hypercalls dom0, String cmdline) throws Exception {
        DomainControl ctl = dom0.domainControl();
        int id = ctl.createDomain(16, 1);
        ctl.unpause(id);
        try (Hypercalls hc = hv.connect(id)) {
            KernelLog log = new KernelLog();
            new Kernel(hc, null, log, ModuleDirectory.of(EventAbiChoiceTest.class.getClassLoader()),
                    CommandLine.parse(cmdline));
            return new Booted(hc.maxChannels(), log.lines());
        } finally {
            ctl.destroy(id);
        }
    }
}
