package org.jxen.toolstack;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import org.jxen.hypervisor.HypercallException;
import org.jxen.kernel.userland.Utilities;

/**
 * The host's control socket ({@code <run-dir>/toolstack.sock}), through which {@code jxen xl} asks for the
 * domain lifecycle operations the host owns. One request per connection:
 *
 * <pre>
 * request:  VERB [ARG ...] '\n'           (one line, UTF-8, arguments separated by single spaces)
 *           create LEN [DIR] '\n' CONFIG  (LEN bytes of xl.cfg text follow the line; DIR: xl's directory)
 *           create-paused LEN [DIR] ...   (xl create -p: built, devices added, left paused; no boot to wait for)
 *           exec DOM LEN '\n' ARGV         (LEN bytes: the arguments, each ended by a NUL; DOM is dom0)
 *           destroy DOM | shutdown DOM | dmesg [DOM] | console DOM
 *           list [DOM] | list-long [DOM] | info | uptime | vcpu-list | pause | unpause | reboot | rename | wait
 *                                          (see {@link DomainRequests})
 * reply:    ('|' TEXT '\n')*  then  'OK' '\n'  or  'ERROR ' MESSAGE '\n'
 *           console: 'OK' '\n' first, then raw bytes both ways (below)
 * </pre>
 *
 * DOM is a domain name or id. {@code create} answers {@code |ID NAME}; {@code list} one {@code |} line per domain
 * with tab-separated name, id, MiB, vCPUs, state flags (xl's rbpscd) and CPU seconds; {@code dmesg} the log
 * lines (dom0's kernel log without DOM or for 0). After {@code console}'s OK the connection is the guest's
 * console, as xenconsoled's pty is: from the host what the console showed so far and then every byte the guest
 * writes, to the host the bytes typed, which go into the console ring's {@code in} buffer; the host closes it
 * when the domain dies, the client when its user leaves. {@code exec} runs a command of the guest userland
 * (insmod, rmmod, lsmod, ...) in dom0's kernel, here in the host (a guest's xl exec goes through its XenStore
 * {@code data/exec} instead); it answers {@code |stdout BASE64}, {@code |stderr BASE64} and {@code |status N}.
 */
public final class ControlServer implements AutoCloseable {
    public static final String SOCKET_NAME = "toolstack.sock";
    static final String DATA = "|";
    static final String OK = "OK";
    static final String ERROR = "ERROR ";
    /** A data line of a failed create: one of the guest's last console lines. */
    public static final String LOG_LINE = "log ";
    /** Largest config accepted by create. */
    static final int MAX_CONFIG = 1 << 20;

    private static final Logger LOG = System.getLogger("jxen.host");

    private final Host host;
    private final Path socket;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private final DomainRequests domainRequests;

    private ControlServer(Host host, Path socket) throws IOException {
        this.host = host;
        this.socket = socket;
        this.domainRequests = new DomainRequests(host, this::resolve);
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        acceptor = Thread.ofPlatform().name("toolstack-control").daemon().start(this::acceptLoop);
    }

    static ControlServer start(Host host, Path socket) throws IOException {
        // A first log line formats a time, which opens the JDK's time-zone data: do that now, while there are
        // descriptors to spare, not when a request fails because the process has none left.
        java.time.ZonedDateTime.now();
        return new ControlServer(host, socket);
    }

    public Path socketPath() {
        return socket;
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                Thread.ofVirtual().name("toolstack-request").start(() -> serveOrRefuse(ch));
            } catch (IOException e) {
                if (server.isOpen()) LOG.log(Level.WARNING, "control socket accept: {0}", e.toString());
            }
        }
    }

    /**
     * A process out of descriptors or threads can fail anywhere in a request, even in loading a class the request
     * needs first: xl still gets one line, and the host goes on.
     */
    private void serveOrRefuse(SocketChannel ch) {
        try {
            serve(ch);
        } catch (Error e) {
            try (ch) {
                ch.write(java.nio.ByteBuffer.wrap((ERROR + oneLine(UserErrors.oneLine(e)) + "\n")
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            } catch (IOException | RuntimeException ignored) {
                // nobody left to tell
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (LineChannel c = new LineChannel(ch)) {
            String request = c.readLine();
            if (request == null) return;
            try {
                if (handle(c, request.split(" "))) c.writeLine(OK);
            } catch (BootFailedException e) {
                // The guest's last console lines first, as data: xl prints them under its error line.
                for (String l : e.lastLines()) data(c, LOG_LINE + l);
                c.writeLine(ERROR + oneLine(e.getMessage()));
            } catch (ControlException | XlCfgException | DeviceException | HypercallException
                    | IllegalArgumentException | IllegalStateException e) {
                c.writeLine(ERROR + oneLine(e.getMessage()));
            } catch (RuntimeException e) {
                // A failure nobody foresaw still answers xl in one line; the trace stays in the host's debug log.
                LOG.log(Level.DEBUG, "control request " + request, e);
                c.writeLine(ERROR + oneLine(UserErrors.oneLine(e)));
            } catch (IOException e) {
                c.writeLine(ERROR + oneLine(e.getMessage() != null ? e.getMessage() : e.toString()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (LinkageError | OutOfMemoryError e) {
                // The process ran out of something (a class that cannot be loaded without a free descriptor, a
                // thread): this request fails in one line, the host goes on.
                c.writeLine(ERROR + oneLine(UserErrors.oneLine(e)));
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "control connection: {0}", e.toString());
        }
    }

    private static String oneLine(String s) {
        return s == null ? "failed" : s.replace('\n', ' ');
    }

    /** Runs a request; false when it took over the connection (console), which then gets no OK at the end. */
    private boolean handle(LineChannel c, String[] req) throws IOException, ControlException, XlCfgException, DeviceException, HypercallException,
            InterruptedException, BootFailedException {
        switch (req[0]) {
            case "create" -> create(c, req, false);
            case "create-paused" -> create(c, req, true);
            case "exec" -> exec(c, req);
            case "config-update" -> configUpdate(c, req);
            case "destroy" -> {
                int domid = guest(args(req, 1)[0], "destroy");
                host.destroy(domid);
            }
            case "shutdown" -> host.libxl().requestShutdown(guest(args(req, 1)[0], "shut down"), "poweroff");
            case "dmesg" -> {
                // dmesg [-c] [DOM]: -c clears what it prints, as xl dmesg -c does Xen's console ring.
                boolean clear = req.length > 1 && req[1].equals("-c");
                int first = clear ? 2 : 1;
                if (req.length > first + 1) throw new ControlException("dmesg takes at most one domain");
                int domid = req.length == first ? 0 : resolve(req[first]);
                List<String> lines;
                if (domid == 0) lines = clear ? host.dom0Kernel().log().drain() : host.dom0Kernel().log().lines();
                else lines = clear ? consoleOf(domid).drain() : consoleOf(domid).lines();
                for (String l : lines) data(c, l);
            }
            case "console" -> {
                console(c, guest(args(req, 1)[0], "attach to the console of"));
                return false;
            }
            case "block-resize" -> {
                String[] a = args(req, 2);
                int domid = guest(a[0], "resize a disk of");
                int devid;
                try {
                    devid = Integer.parseInt(a[1]);
                } catch (NumberFormatException e) {
                    throw new ControlException("block-resize needs a device number, not " + a[1]);
                }
                data(c, "sectors " + host.resizeDisk(domid, devid));
            }
            default -> {
                if (!domainRequests.handle(req, l -> data(c, l)) && !extraRequest(req, payload(c), l -> dataQuietly(c, l))) {
                    throw new ControlException("unknown request " + req[0]);
                }
            }
        }
        return true;
    }

    private static String[] args(String[] req, int n) throws ControlException {
        if (req.length != n + 1) throw new ControlException(req[0] + " takes " + n + " argument" + (n == 1 ? "" : "s"));
        return java.util.Arrays.copyOfRange(req, 1, req.length);
    }

    /** create LEN [DIR]: DIR is xl's working directory, against which the config's relative paths resolve. */
    private void create(LineChannel c, String[] req, boolean paused) throws IOException, ControlException, XlCfgException,
            DeviceException, HypercallException, InterruptedException, BootFailedException {
        DomainConfig cfg = config(c, req, 1);
        if (cfg.warningLine() != null) host.dom0Kernel().printk("toolstack: " + cfg.guest().name() + ": " + cfg.warningLine());
        Host.Guest g = paused ? host.createPaused(cfg) : host.create(cfg);
        data(c, g.domid() + " " + g.name());
    }

    /** config-update DOM LEN [DIR] + the config: stored for the guest's next reboot (xl config-update). */
    private void configUpdate(LineChannel c, String[] req) throws IOException, ControlException, XlCfgException {
        if (req.length < 2) throw new ControlException("config-update needs the domain");
        int domid = guest(req[1], "update the configuration of");
        host.updateConfig(domid, config(c, req, 2));
        host.dom0Kernel().printk("toolstack: setting dom" + domid + " configuration");
    }

    /**
     * The config that follows a request's line: its length is word {@code at}, the words after it xl's working
     * directory, against which relative paths resolve (without them, the host's).
     */
    private DomainConfig config(LineChannel c, String[] req, int at) throws IOException, ControlException, XlCfgException {
        int len;
        try {
            len = Integer.parseInt(req.length > at ? req[at] : "");
        } catch (NumberFormatException e) {
            throw new ControlException(req[0] + " needs the config length");
        }
        if (len < 0 || len > MAX_CONFIG) throw new ControlException("config of " + len + " bytes is too large");
        Path base = req.length > at + 1 ? Path.of(String.join(" ", java.util.Arrays.copyOfRange(req, at + 1, req.length)))
                : Path.of("").toAbsolutePath();
        if (!base.isAbsolute()) throw new ControlException(req[0] + ": the directory must be absolute: " + base);
        String text = new String(c.readExactly(len), StandardCharsets.UTF_8);
        return DomainConfig.parse(text, host.modulePath(), base);
    }

    /** exec 0 LEN + NUL-ended argv: the command runs in dom0's kernel (Utilities), its output comes back whole. */
    private void exec(LineChannel c, String[] req) throws IOException, ControlException {
        String[] a = args(req, 2);
        if (resolve(a[0]) != 0) {
            throw new ControlException("exec here is for dom0; a guest runs xl exec through its data/exec in XenStore");
        }
        int len;
        try {
            len = Integer.parseInt(a[1]);
        } catch (NumberFormatException e) {
            throw new ControlException("exec needs the length of its arguments");
        }
        if (len <= 0 || len > MAX_CONFIG) throw new ControlException("exec arguments of " + len + " bytes");
        String all = new String(c.readExactly(len), StandardCharsets.UTF_8);
        if (!all.endsWith("\0")) throw new ControlException("exec arguments must each end with a NUL");
        List<String> argv = List.of(all.substring(0, all.length() - 1).split("\0", -1));
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int status;
        try (java.io.PrintStream o = new java.io.PrintStream(out, true, StandardCharsets.UTF_8);
                java.io.PrintStream e = new java.io.PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = Utilities.run(host.dom0Kernel(), argv, o, e);
        }
        java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
        data(c, "stdout " + b64.encodeToString(out.toByteArray()));
        data(c, "stderr " + b64.encodeToString(err.toByteArray()));
        data(c, "status " + status);
    }

    /** DOM as a domain id: a number, Domain-0, or a guest's name. */
    private int resolve(String dom) throws ControlException {
        if (dom.equals("Domain-0")) return 0;
        if (dom.matches("[0-9]+")) {
            int id = Integer.parseInt(dom);
            if (id == 0 || host.guests().stream().anyMatch(g -> g.domid() == id)) return id;
        } else {
            for (Host.Guest g : host.guests()) if (g.name().equals(dom)) return g.domid();
        }
        throw new ControlException(Libxl.invalidDomain(dom));
    }

    private int guest(String dom, String verb) throws ControlException {
        int id = resolve(dom);
        if (id == 0) throw new ControlException("cannot " + verb + " privileged domain 0");
        return id;
    }

    private ConsoleLog consoleOf(int domid) throws ControlException {
        ConsoleLog log = host.consoleLog(domid);
        if (log == null) throw new ControlException("domain " + domid + " has no console");
        return log;
    }

    private static final byte[] END = new byte[0];
    private static final byte[] GONE = new byte[0];

    /**
     * xl console: OK, then what the console showed so far and its bytes as they come, while a reader thread
     * types the client's bytes on the console (xenconsoled's pty, both ways); the connection is closed when the
     * domain dies. A client that hangs up (xl's Ctrl-]) stops being followed.
     */
    private void console(LineChannel c, int domid) throws IOException, InterruptedException, ControlException {
        ConsoleLog log = consoleOf(domid);
        LinkedBlockingQueue<byte[]> q = new LinkedBlockingQueue<>();
        ConsoleLog.ByteFollower f = new ConsoleLog.ByteFollower(q::add, () -> q.add(END));
        byte[] before = log.follow(f);
        try {
            c.writeLine(OK);
            // Not interrupted when done: closing the connection ends its read.
            Thread.ofVirtual().name("d" + domid + "-console-in").start(() -> {
                byte[] buf = new byte[1024];
                try {
                    int n;
                    while ((n = c.readSome(buf, 0, buf.length)) > 0) {
                        if (!host.consoleInput(domid, java.util.Arrays.copyOf(buf, n))) break;
                    }
                } catch (IOException e) {
                    // A reset connection is a hangup too.
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                q.add(GONE);
            });
            c.write(before);
            while (true) {
                byte[] b = q.take();
                if (b == END || b == GONE) return;
                c.write(b);
            }
        } finally {
            log.unfollow(f);
        }
    }

    private static void data(LineChannel c, String line) throws IOException {
        c.writeLine(DATA + line);
    }

    /** A request of a part the host was given ({@link Host#addControlRequests}); false if none serves it. */
    private boolean extraRequest(String[] req, ControlRequests.Payload payload, java.util.function.Consumer<String> data)
            throws ControlException, InterruptedException {
        for (ControlRequests r : host.controlRequests()) if (r.handle(req, this::guest, payload, data)) return true;
        return false;
    }

    /** The bytes after a request's line, at most {@link #MAX_CONFIG} of them. */
    private static ControlRequests.Payload payload(LineChannel c) {
        return n -> {
            if (n < 0 || n > MAX_CONFIG) throw new ControlException("a payload of " + n + " bytes is too large");
            try {
                return c.readExactly(n);
            } catch (IOException e) {
                throw new ControlException("reading the request's payload: " + e.getMessage());
            }
        };
    }

    /** A progress line of a long request (save, migrate): an xl that hung up does not stop the request. */
    private static void dataQuietly(LineChannel c, String line) {
        try {
            data(c, line);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "progress line not delivered: {0}", e.toString());
        }
    }

    @Override
    public void close() {
        try {
            server.close();
            acceptor.join(5000);
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "closing control socket: {0}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
