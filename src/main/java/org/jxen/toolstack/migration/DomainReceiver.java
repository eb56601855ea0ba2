package org.jxen.toolstack.migration;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.jxen.hypervisor.HypercallException;
import org.jxen.kernel.KernelRecord;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.DomainConfig;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.XlCfgException;

/**
 * The target side of a restore or migration (libxl's domain_create_restore with libxc's restore): the config
 * from the image's header (or one xl restore was given) makes the domain (paused; the image's config keeps its name
 * and uuid), the pages go into its memory as
 * they come, the kernel record into its area at the top, and only once the checksum matched and both streams
 * ended are its devices built and it is started ({@link Host#restore}); a stream refused anywhere destroys what
 * was built.
 */
final class DomainReceiver {
    /** Runs between the devices' build and the unpause (a migration's handshake); throwing abandons the domain. */
    interface BeforeStart {
        void ready(int domid) throws IOException;
    }

    private DomainReceiver() {}

    /** {@code paused}: the domain is left paused, its kernel started at the first xl unpause (xl restore -p). */
    static Host.Guest receive(Host host, InputStream in, boolean paused, BeforeStart beforeStart)
            throws IOException, HypercallException, DeviceException, InterruptedException {
        return receive(host, in, paused, null, beforeStart);
    }

    /**
     * @param config what the domain is built from instead of the image's config (xl restore CONFIG FILE), or null;
     *        its memory must be the image's, whose pages fill it frame for frame
     */
    static Host.Guest receive(Host host, InputStream in, boolean paused, DomainConfig config, BeforeStart beforeStart)
            throws IOException, HypercallException, DeviceException, InterruptedException {
        SaveReader reader = new SaveReader(in);
        DomainConfig dc;
        try {
            // The saved config's paths are absolute (RetrievedConfig).
            dc = DomainConfig.parse(reader.config(), host.modulePath(), Path.of("/"));
        } catch (XlCfgException e) {
            throw new SaveImageException("the image's config is refused: " + e.getMessage());
        }
        if (config != null) {
            // The domain's size (maxmem; memory without it), whose frames the image fills one for one. The
            // balloon target may differ: the restored guest's balloon follows the config's memory.
            int saved = dc.guest().maxmemMiB();
            int given = config.guest().maxmemMiB();
            if (given != saved) {
                throw new SaveImageException("the config's memory (" + given + " MiB) is not the saved domain's ("
                        + saved + " MiB)" + (config.guest().maxmemMiB() != config.guest().memoryMiB()
                        || dc.guest().maxmemMiB() != dc.guest().memoryMiB() ? ", counting maxmem" : ""));
            }
            dc = config;
        }
        return host.restore(dc, new Host.Incoming() {
            @Override
            public void load(int domid, MemorySegment memory) throws IOException {
                loadPages(reader, memory);
            }

            @Override
            public void ready(int domid) throws IOException {
                beforeStart.ready(domid);
            }
        }, paused);
    }

    private static void loadPages(SaveReader reader, MemorySegment memory) throws IOException {
        int pages = (int) (memory.byteSize() / SaveFormat.PAGE_SIZE);
        int recordFrame = KernelRecord.areaFirstFrame(pages);
        MemorySegment area = memory.asSlice((long) recordFrame * SaveFormat.PAGE_SIZE);
        byte[] record = null;
        while (true) {
            SaveReader.Record r = reader.next();
            switch (r) {
                case SaveReader.Record.Pages p -> {
                    long[] pfns = p.pfns();
                    for (int i = 0; i < pfns.length; ) {
                        long pfn = pfns[i];
                        if (pfn >= recordFrame) {
                            throw new SaveImageException("page " + pfn + " is beyond the domain's " + recordFrame + " pages of memory");
                        }
                        if (pfn < DomainSender.FIRST_SENT) {
                            throw new SaveImageException("page " + pfn + " is a ring page, which a stream does not carry");
                        }
                        // A run of consecutive frames (a first round sends memory in order) is one copy.
                        int run = 1;
                        while (i + run < pfns.length && pfns[i + run] == pfn + run && pfn + run < recordFrame) run++;
                        MemorySegment.copy(p.data(), i * SaveFormat.PAGE_SIZE, memory, java.lang.foreign.ValueLayout.JAVA_BYTE,
                                pfn * SaveFormat.PAGE_SIZE, run * SaveFormat.PAGE_SIZE);
                        i += run;
                    }
                }
                case SaveReader.Record.Kernel k -> {
                    if (k.record().length > area.byteSize()) throw new SaveImageException("kernel record larger than its area");
                    // Checked here, so that a damaged record is the restore's error, not a panic of the new guest.
                    try (Arena a = Arena.ofConfined()) {
                        MemorySegment copy = a.allocate(area.byteSize());
                        MemorySegment.copy(k.record(), 0, copy, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, k.record().length);
                        if (KernelRecord.read(copy) == null) throw new SaveImageException("the kernel record has no magic");
                    } catch (IllegalStateException e) {
                        throw new SaveImageException("the kernel record is damaged: " + e.getMessage());
                    }
                    record = k.record();
                }
                case SaveReader.Record.End e -> {
                    if (record == null) throw new SaveImageException("the image has no kernel record");
                    MemorySegment.copy(record, 0, area, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, record.length);
                    return;
                }
            }
        }
    }
}
