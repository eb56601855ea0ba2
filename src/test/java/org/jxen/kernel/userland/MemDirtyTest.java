package org.jxen.kernel.userland;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.kernel.Kernel;
import org.jxen.kernel.KernelLog;
import org.jxen.kernel.ModuleDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * memdirty's writer in a domain of 16 MiB: it says when the domain's memory runs out, and it ends without a word
 * when the domain is destroyed under it. An in-process guest's userland is threads of the host, and a destroy
 * takes their memory away wherever they are (as a VM's vCPUs stop); before, the next write threw "Already
 * closed" at the host's stderr (bench migrate, when a target destroyed a guest whose restored memdirty was still
 * writing).
 */
class MemDirtyTest {
    private static final int PAGES = 16 * 256;

    @TempDir
    Path dir;
    private final List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    private Thread.UncaughtExceptionHandler before;
    private Hypervisor hv;
    private Hypercalls dom0;

    @BeforeEach
    void start() throws Exception {
        before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
        hv = new Hypervisor(dir, 64);
        dom0 = hv.connect(0);
    }

    @AfterEach
    void stop() {
        dom0.close();
        hv.close();
        Thread.setDefaultUncaughtExceptionHandler(before);
    }

    /** memdirty {@code mib} MiB, rewriting {@code perMs} pages a millisecond, in a new domain; its log. */
    private KernelLog run(int id, Hypercalls hc, String mib, String perMs) throws Exception {
        KernelLog log = new KernelLog();
        Kernel kernel = new Kernel(hc, null, log, ModuleDirectory.of(MemDirtyTest.class.getClassLoader()));
        MemDirty writer = new MemDirty();
        writer.parameter("mib", mib);
        writer.parameter("pages_per_ms", perMs);
        writer.init(kernel);
        await().atMost(Duration.ofSeconds(30)).until(() -> log.lines().stream().anyMatch(l -> l.startsWith("memdirty: filled ")));
        return log;
    }

    private static void awaitGone(int id) {
        String name = "d" + id + "-memdirty";
        await().atMost(Duration.ofSeconds(30)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals(name)));
    }

    @Test
    void aDomainDestroyedUnderTheWriterEndsItWithoutAnException() throws Exception {
        DomainControl ctl = dom0.domainControl();
        int id = ctl.createDomain(PAGES, 1);
        ctl.unpause(id);
        Hypercalls hc = hv.connect(id);
        // Rewriting all the time: the destroy finds it mid-write.
        KernelLog log = run(id, hc, "8", "100000");
        assertThat(log.lines()).containsExactly("memdirty: filled 2048 pages");
        // No abandon, no exit: the domain just goes, its memory with it.
        hc.close();
        ctl.destroy(id);
        awaitGone(id);
        assertThat(uncaught).isEmpty();
        assertThat(log.lines()).containsExactly("memdirty: filled 2048 pages");
    }

    @Test
    void moreThanTheDomainHasFillsWhatThereIsAndSaysSo() throws Exception {
        DomainControl ctl = dom0.domainControl();
        int id = ctl.createDomain(PAGES, 1);
        ctl.unpause(id);
        try (Hypercalls hc = hv.connect(id)) {
            KernelLog log = run(id, hc, "64", "0");
            List<String> lines = log.lines();
            assertThat(lines).hasSize(2);
            assertThat(lines.get(0)).matches("memdirty: out of memory after \\d+ pages");
            int got = Integer.parseInt(lines.get(0).replaceAll("\\D", ""));
            assertThat(got).isBetween(PAGES - 256, PAGES - 1); // less the first frames and the kernel record's area
            assertThat(lines.get(1)).isEqualTo("memdirty: filled " + got + " pages");
            awaitGone(id);
            assertThat(uncaught).isEmpty();
        } finally {
            ctl.destroy(id);
        }
    }
}
