package org.jxen.toolstack.migration;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.Consumer;
import org.jxen.hypervisor.HypercallException;
import org.jxen.toolstack.ControlException;
import org.jxen.toolstack.ControlRequests;
import org.jxen.toolstack.DeviceException;
import org.jxen.toolstack.DomainConfig;
import org.jxen.toolstack.Host;
import org.jxen.toolstack.XlCfgException;

/**
 * The control socket's save, restore and migrate requests (docs/host.md); each data line is one line xl prints:
 *
 * <pre>
 * save DOM AFTER ACK_MS FILE           AFTER 0: destroy it, 1: keep it running (xl save -c), 2: keep it paused
 *                                      (xl save -p); ACK_MS: the suspend ack timeout
 * restore FILE                         answers "|restored NAME as domain ID"
 * restore-paused FILE                  xl restore -p: the same, the domain left paused
 * restore-config PAUSED LEN FILE       xl restore CONFIG FILE: LEN bytes follow the line, xl's working directory,
 *                                      a NUL, then the config's text, which the domain is built from instead of
 *                                      the image's (PAUSED 1: as restore-paused)
 * migrate DOM LIVE ACK_MS ADDRESS:PORT [RUNDIR]   LIVE 1: pre-copy (--live); RUNDIR: the target's run directory, if xl knows it
 * departure DOMID                      answers "|KIND\tNAME\tWHERE": how a guest this host saved or migrated left
 * </pre>
 * FILE and RUNDIR are absolute and the rest of the line (they may hold spaces). {@code departure} answers for the
 * last {@value #DEPARTURES} domains that left by a save or a migration (KIND {@code saved} or {@code migrated},
 * WHERE the file, the run directory or ADDRESS:PORT), for {@code xl exec} whose domain went away; for any other
 * domain it is refused ("no departure of domain N").
 */
public final class MigrationRequests implements ControlRequests {
    /** How many departures a host remembers. */
    static final int DEPARTURES = 64;
    private final Host host;
    private final java.util.Map<Integer, String> departures = java.util.Collections.synchronizedMap(
            new java.util.LinkedHashMap<>() {
                @Override
                protected boolean removeEldestEntry(java.util.Map.Entry<Integer, String> e) {
                    return size() > DEPARTURES;
                }
            });

    private MigrationRequests(Host host) {
        this.host = host;
    }

    /** Gives {@code host}'s control socket these requests (what every {@code jxen host} does at start). */
    public static void install(Host host) {
        host.addControlRequests(new MigrationRequests(host));
    }

    @Override
    public boolean handle(String[] req, Resolver resolver, Payload payload, Consumer<String> data)
            throws ControlException, InterruptedException {
        switch (req[0]) {
            case "save" -> save(req, resolver, data);
            case "restore" -> restore(path(req, 1), false, null, data);
            case "restore-paused" -> restore(path(req, 1), true, null, data);
            case "restore-config" -> restoreWithConfig(req, payload, data);
            case "migrate" -> migrate(req, resolver, data);
            case "departure" -> departure(req, data);
            default -> {
                return false;
            }
        }
        return true;
    }

    private void save(String[] req, Resolver resolver, Consumer<String> data) throws ControlException, InterruptedException {
        if (req.length < 5) throw new ControlException("save DOM AFTER ACK_MS FILE");
        int domid = resolver.guest(req[1], "save");
        Migration.AfterSave after = switch (req[2]) {
            case "0" -> Migration.AfterSave.DESTROY;
            case "1" -> Migration.AfterSave.RUN;
            case "2" -> Migration.AfterSave.PAUSE;
            default -> throw new ControlException("save: AFTER is 0, 1 or 2, not " + req[2]);
        };
        Duration ack = millis(req[3]);
        Path file = path(req, 4);
        data.accept("Saving to " + file + " new xl format");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE), 1 << 20)) {
            String name = host.nameOf(domid);
            Migration.Result r = Migration.save(host, domid, out, after, ack, data,
                    () -> departures.put(domid, "saved\t" + name + "\t" + file));
            data.accept("saved " + r.pages() + " pages (" + r.bytes() + " bytes); domain " + switch (after) {
                case DESTROY -> "destroyed";
                case RUN -> "resumed (suspend cancelled)";
                case PAUSE -> "left paused (suspend cancelled; xl unpause runs it)";
            });
        } catch (IOException e) {
            try {
                Files.deleteIfExists(file); // no half image left to be mistaken for one
            } catch (IOException ignored) {
                // the error below is what matters
            }
            throw new ControlException(e.getMessage());
        }
    }

    private void restoreWithConfig(String[] req, Payload payload, Consumer<String> data)
            throws ControlException, InterruptedException {
        if (req.length < 4) throw new ControlException("restore-config PAUSED LEN FILE");
        int len;
        try {
            len = Integer.parseInt(req[2]);
        } catch (NumberFormatException e) {
            throw new ControlException("restore-config needs the config's length");
        }
        String sent = new String(payload.read(len), java.nio.charset.StandardCharsets.UTF_8);
        int nul = sent.indexOf('\0');
        if (nul < 0) throw new ControlException("restore-config: no working directory before the config");
        Path base = Path.of(sent.substring(0, nul));
        if (!base.isAbsolute()) throw new ControlException("restore-config: the directory must be absolute: " + base);
        DomainConfig config;
        try {
            config = DomainConfig.parse(sent.substring(nul + 1), host.modulePath(), base);
        } catch (XlCfgException e) {
            throw new ControlException("the config is refused: " + e.getMessage());
        }
        restore(path(req, 3), req[1].equals("1"), config, data);
    }

    /** {@code config}: what the domain is built from, or null for the image's own config. */
    private void restore(Path file, boolean paused, DomainConfig config, Consumer<String> data)
            throws ControlException, InterruptedException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            Host.Guest g = DomainReceiver.receive(host, in, paused, config, domid -> {});
            data.accept("restored " + g.name() + " as domain " + g.domid());
        } catch (NoSuchFileException e) {
            throw new ControlException("cannot open " + file + ": No such file or directory");
        } catch (SaveImageException e) {
            throw new ControlException(file + ": " + e.getMessage());
        } catch (IOException | HypercallException | DeviceException | IllegalArgumentException e) {
            throw new ControlException("restoring " + file + ": " + e.getMessage());
        }
    }

    private void migrate(String[] req, Resolver resolver, Consumer<String> data) throws ControlException, InterruptedException {
        if (req.length < 5) throw new ControlException("migrate DOM LIVE ACK_MS ADDRESS:PORT [RUNDIR]");
        int domid = resolver.guest(req[1], "migrate");
        boolean live = req[2].equals("1");
        Duration ack = millis(req[3]);
        java.net.InetSocketAddress target;
        try {
            target = MigrationListener.parse(req[4]);
        } catch (IllegalArgumentException e) {
            throw new ControlException(e.getMessage());
        }
        try {
            String name = host.nameOf(domid);
            String where = req.length > 5 ? path(req, 5).toString() : req[4];
            Migration.Result r = Migration.migrate(host, domid, target, live, ack, data,
                    () -> departures.put(domid, "migrated\t" + name + "\t" + where));
            data.accept("Migration successful: " + r.pages() + " pages in " + r.pagesPerRound().size() + " round(s) "
                    + r.pagesPerRound() + ", downtime " + r.downtime().toMillis() + " ms, total " + r.total().toMillis() + " ms");
        } catch (IOException e) {
            throw new ControlException(e.getMessage());
        }
    }

    private void departure(String[] req, Consumer<String> data) throws ControlException {
        if (req.length != 2) throw new ControlException("departure DOMID");
        String d;
        try {
            d = departures.get(Integer.parseInt(req[1]));
        } catch (NumberFormatException e) {
            throw new ControlException("bad domain id " + req[1]);
        }
        if (d == null) throw new ControlException("no departure of domain " + req[1]);
        data.accept(d);
    }

    private static Duration millis(String v) throws ControlException {
        try {
            long ms = Long.parseLong(v);
            if (ms <= 0) throw new NumberFormatException();
            return Duration.ofMillis(ms);
        } catch (NumberFormatException e) {
            throw new ControlException("bad suspend timeout " + v);
        }
    }

    private static Path path(String[] req, int from) throws ControlException {
        if (req.length <= from) throw new ControlException(req[0] + ": no file");
        Path p = Path.of(String.join(" ", Arrays.copyOfRange(req, from, req.length)));
        if (!p.isAbsolute()) throw new ControlException("the file must be an absolute path: " + p);
        return p;
    }
}
