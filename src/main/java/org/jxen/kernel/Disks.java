package org.jxen.kernel;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One kernel's block layer registry (Linux's add_disk/del_gendisk): drivers add a disk when it is ready and
 * remove it when it goes; the guest's userland looks disks up by name, waiting for one that is still being
 * connected (as udev waits for /dev/xvda to appear).
 */
public final class Disks {
    private final Map<String, CompletableFuture<Disk>> disks = new ConcurrentHashMap<>();

    /** add_disk: {@code disk} is ready for I/O under its name, replacing any earlier disk of that name. */
    public void add(Disk disk) {
        CompletableFuture<Disk> f = slot(disk.name());
        if (!f.complete(disk)) disks.put(disk.name(), CompletableFuture.completedFuture(disk));
    }

    /** del_gendisk: {@code disk} is gone (a later disk of the same name is kept). */
    public void remove(Disk disk) {
        disks.computeIfPresent(disk.name(), (n, f) -> f.isDone() && f.getNow(null) == disk ? null : f);
    }

    /** The disk called {@code name}, now or once it is added. */
    public CompletableFuture<Disk> await(String name) {
        return slot(name);
    }

    /** The names of the disks present now, sorted. */
    public List<String> names() {
        return disks.entrySet().stream().filter(e -> e.getValue().isDone()).map(Map.Entry::getKey).sorted().toList();
    }

    private CompletableFuture<Disk> slot(String name) {
        return disks.computeIfAbsent(name, n -> new CompletableFuture<>());
    }
}
