package org.jxen.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SharedMemoryDirTest {
    @TempDir
    Path dir;

    @Test
    void domainMemoryIsOnTmpfsBehindTheRunDirectorysLinkAndGoesWithTheHypervisor() throws Exception {
        Path shared;
        try (Hypervisor hv = new Hypervisor(dir, 16)) {
            shared = hv.runDir().dir();
            assertThat(shared.getParent()).isEqualTo(SharedMemoryDir.TMPFS);
            assertThat(Files.getFileStore(shared).type()).isEqualTo("tmpfs");
            assertThat(Files.readSymbolicLink(dir.resolve("shm"))).isEqualTo(shared);
            assertThat(shared.resolve("d0.1.mem")).isRegularFile();
            assertThat(dir.resolve("d0.1.mem")).doesNotExist();
        }
        assertThat(shared).doesNotExist();
        assertThat(dir.resolve("shm")).doesNotExist();
    }

    @Test
    void aKilledHostsDirectoryIsSweptAndALiveOnesIsKept() throws Exception {
        ProcessHandle me = ProcessHandle.current();
        long start = me.info().startInstant().orElseThrow().toEpochMilli();
        Path dead = SharedMemoryDir.TMPFS.resolve("jxen-2147483646-" + start + "-test");
        Path reused = SharedMemoryDir.TMPFS.resolve("jxen-" + me.pid() + "-" + (start - 1) + "-test");
        Path live = SharedMemoryDir.TMPFS.resolve("jxen-" + me.pid() + "-" + start + "-test");
        Path foreign = SharedMemoryDir.TMPFS.resolve("jxen-notours");
        for (Path p : new Path[] {dead, reused, live, foreign}) {
            Files.createDirectories(p);
            Files.writeString(p.resolve("d1.1.mem"), "x");
        }
        try {
            try (Hypervisor hv = new Hypervisor(dir, 16)) {
                assertThat(dead).as("no such pid").doesNotExist();
                assertThat(reused).as("the pid now belongs to a process started later").doesNotExist();
                assertThat(live).as("this very process").isDirectory();
                assertThat(foreign).as("not a name we give").isDirectory();
            }
        } finally {
            for (Path p : new Path[] {live, foreign}) {
                Files.deleteIfExists(p.resolve("d1.1.mem"));
                Files.deleteIfExists(p);
            }
        }
    }

    @Test
    void aStaleLinkFromAKilledHostIsReplaced() throws Exception {
        Files.createSymbolicLink(dir.resolve("shm"), Path.of("/dev/shm/jxen-gone"));
        try (Hypervisor hv = new Hypervisor(dir, 16)) {
            assertThat(Files.readSymbolicLink(dir.resolve("shm"))).isEqualTo(hv.runDir().dir());
        }
    }
}
