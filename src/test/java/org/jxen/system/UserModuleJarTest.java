package org.jxen.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.jxen.cli.JxenCommand;
import org.jxen.cli.XlResult;
import org.jxen.kernel.KernelModule;
import org.jxen.toolstack.Host;
import org.jxen.xenstore.XsPerm;
import org.jxen.xenstore.XsPerms;
import org.jxen.xenstore.client.XsClient;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A driver module in a user's own jar, built as a user builds it (javac against jxen's classes, a jar with
 * {@code META-INF/services/org.jxen.kernel.KernelModule}): found by dom0 and guests when the host has it on its
 * {@code --module-path}, and by a guest whose xl.cfg names it as {@code kernel =}; loaded, listed and removed
 * with xl exec's insmod, lsmod and rmmod, in guests in the host's JVM and in their own processes.
 */
@Timeout(300)
class UserModuleJarTest extends SystemFixture {
    @TempDir
    static Path build;
    static Path jar;

    /** Compiles src/test/resources/usermodule/HelloModule.java and packs it with its service file. */
    @BeforeAll
    static void buildTheUsersJar() throws Exception {
        Path src = build.resolve("src/org/example/hello/HelloModule.java");
        Files.createDirectories(src.getParent());
        try (InputStream in = UserModuleJarTest.class.getResourceAsStream("/usermodule/HelloModule.java")) {
            Files.copy(in, src);
        }
        Path classes = Files.createDirectories(build.resolve("classes"));
        Path jxenClasses = Path.of(KernelModule.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StringWriter diagnostics = new StringWriter();
        boolean compiled = javac.getTask(diagnostics, null, null,
                List.of("-d", classes.toString(), "-cp", jxenClasses.toString(), "--release", "25"), null,
                javac.getStandardFileManager(null, null, StandardCharsets.UTF_8).getJavaFileObjects(src)).call();
        assertThat(compiled).as(diagnostics.toString()).isTrue();

        jar = build.resolve("hellomod.jar");
        try (JarOutputStream j = new JarOutputStream(Files.newOutputStream(jar)); Stream<Path> files = Files.walk(classes)) {
            j.putNextEntry(new JarEntry("META-INF/services/" + KernelModule.class.getName()));
            j.write("org.example.hello.HelloModule\n".getBytes(StandardCharsets.UTF_8));
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                j.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                j.write(Files.readAllBytes(f));
            }
        }
        // The jar is the user's, not on this JVM's class path.
        assertThat(UserModuleJarTest.class.getClassLoader().getResource("org/example/hello/HelloModule.class")).isNull();
    }

    /** This test's host has the jar on its module path. */
    @Override
    @BeforeEach
    protected void start() throws Exception {
        run = dir.resolve("host");
        host = Host.start(run, false, List.of(jar));
    }

    /**
     * A "hello" device for domain {@code domid}'s frontend bus (no backend drives it: it stays Initialising),
     * written by dom0 as libxl writes a device, so the module's driver has something to probe.
     */
    private void helloDevice(int domid) throws Exception {
        XsClient xs = host.xenstore();
        String be = "/local/domain/0/backend/hello/" + domid + "/0";
        String fe = "/local/domain/" + domid + "/device/hello/0";
        xs.transaction(tx -> {
            tx.write(be + "/state", "1");
            tx.setPerms(be, XsPerms.of(new XsPerm(0, false, false), new XsPerm(domid, true, false)));
            tx.write(fe + "/backend", be);
            tx.write(fe + "/backend-id", "0");
            tx.write(fe + "/state", "1");
            return null;
        });
    }

    private List<String> dom0LinesSince(int before) {
        List<String> all = host.dom0Kernel().log().lines();
        return all.subList(before, all.size());
    }

    @Test
    void theHostsModulePathIsDom0sAndEveryGuestsByDefault() throws Exception {
        // dom0: the host runs kmod in dom0's kernel.
        helloDevice(0);
        int before = host.dom0Kernel().log().lines().size();
        ok(xl("exec", "0", "--", "insmod", "hellomod", "greeting=Salut"), "");
        ok(xl("exec", "0", "--", "lsmod"), LSMOD + "hellomod                   0  0\n");
        ok(xl("exec", "0", "--", "rmmod", "hellomod"), "");
        assertThat(dom0LinesSince(before)).containsExactly("hellomod: Salut from domain 0",
                "hellomod: probe /local/domain/0/device/hello/0", "hellomod: goodbye from domain 0");

        // A guest in the host's JVM and one in its own process, neither naming a kernel.
        for (String inproc : List.of("1", "0")) {
            String name = "g" + inproc;
            int domid = create(name, "inproc = " + inproc);
            helloDevice(domid);
            ok(xl("exec", name, "--", "insmod", "hellomod.ko"), "");
            ok(xl("exec", name, "--", "lsmod"), LSMOD + "hellomod                   0  0\n");
            fails(xl("exec", name, "--", "insmod", "hellomod"), "insmod: ERROR: could not insert module hellomod: File exists\n");
            ok(xl("exec", name, "--", "rmmod", "hellomod"), "");
            fails(xl("exec", name, "--", "insmod", "hellomod", "colour=red"),
                    "insmod: ERROR: could not insert module hellomod: Unknown parameter `colour'\n");
            fails(xl("exec", name, "--", "insmod", "hellomod", "greeting="),
                    "insmod: ERROR: could not insert module hellomod: Invalid parameters\n");
            List<String> log = dmesgUntil(name, l -> l.startsWith("hellomod: `"));
            assertThat(log.subList(log.indexOf("hellomod: Hello from domain " + domid), log.size())).containsExactly(
                    "hellomod: Hello from domain " + domid, "hellomod: probe /local/domain/" + domid + "/device/hello/0",
                    "hellomod: goodbye from domain " + domid, "hellomod: Unknown parameter `colour'",
                    "hellomod: `' invalid for parameter `greeting'");
        }
    }

    @Test
    void aGuestsKernelIsTheJarItsConfigNames() throws Exception {
        // Without --module-path: only guests whose config says kernel = jar have the module.
        host.close();
        host = Host.start(run = dir.resolve("plain"), false);
        fails(xl("exec", "0", "--", "insmod", "hellomod"),
                "insmod: ERROR: could not insert module hellomod: No such file or directory\n");

        int plain = create("plain", "inproc = 1");
        fails(xl("exec", "plain", "--", "insmod", "hellomod"),
                "insmod: ERROR: could not insert module hellomod: No such file or directory\n");
        assertThat(plain).isPositive();

        for (String inproc : List.of("1", "0")) {
            String name = "k" + inproc;
            // drivers = [...] is checked against, and loaded from, the kernel's jar; extra gives its parameter.
            int domid = create(name, "inproc = " + inproc, "kernel = '" + jar + "'", "drivers = ['hellomod']",
                    "extra = 'hellomod.greeting=Boot'");
            ok(xl("exec", name, "--", "lsmod"), LSMOD + "hellomod                   0  0\n");
            ok(xl("exec", name, "--", "rmmod", "hellomod"), "");
            ok(xl("exec", name, "--", "insmod", "hellomod", "greeting=Again"), "");
            List<String> log = dmesgUntil(name, l -> l.equals("hellomod: Again from domain " + domid));
            assertThat(log.subList(log.indexOf("modprobe hellomod"), log.size())).containsExactly("modprobe hellomod",
                    "hellomod: Boot from domain " + domid, "hellomod: goodbye from domain " + domid,
                    "hellomod: Again from domain " + domid);
        }

        // Not the host's: a config naming a module only the jar has, without kernel =, is refused.
        Path cfg = Files.writeString(dir.resolve("nokernel.cfg"), "name = 'nokernel'\ndrivers = ['hellomod']\n");
        XlResult c = xl("create", cfg.toString());
        assertThat(c.code()).isEqualTo(1);
        assertThat(c.err()).contains("libxl: error: line 2: no driver module hellomod (known: ");
        // A kernel that is no jar, or a relative path that names nothing in xl's directory, is a config error.
        Path notJar = Files.writeString(dir.resolve("vmlinuz"), "not a jar");
        for (String[] k : List.of(new String[] {notJar.toString(), "is not a jar: jxen boots Java guest kernels"},
                new String[] {"hellomod.jar", "kernel: " + Path.of("hellomod.jar").toAbsolutePath() + ": No such file or directory"},
                new String[] {dir.resolve("missing.jar").toString(), "No such file or directory"})) {
            Path bad = Files.writeString(dir.resolve("bad.cfg"), "name = 'bad'\nkernel = '" + k[0] + "'\n");
            c = xl("create", bad.toString());
            assertThat(c.code()).isEqualTo(1);
            assertThat(c.err()).startsWith("Parsing config from " + bad + "\nFailed to parse config: " + bad + ":2: ")
                    .contains(k[1]);
        }
    }

    @Test
    void theRealJxenHostTakesModulePath() throws Exception {
        // This test's own jxen host, a process started as a user starts it.
        host.close();
        Path runDir = dir.resolve("cli");
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                JxenCommand.class.getName(), "host", "--run-dir", runDir.toString(), "--module-path", jar.toString()));
        Process p = new ProcessBuilder(org.jxen.testing.OwnNetns.wrap(cmd)).redirectErrorStream(true).start();
        List<String> output = new ArrayList<>();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            for (String line; (line = out.readLine()) != null && !line.startsWith("jxen host: xenstored on "); ) output.add(line);
            Thread.ofPlatform().daemon().start(() -> out.lines().forEach(output::add));

            XlResult r = XlResult.run(runDir, "exec", "Domain-0", "--", "insmod", "hellomod", "greeting=Hi");
            ok(r, "");
            ok(XlResult.run(runDir, "exec", "0", "--", "lsmod"), LSMOD + "hellomod                   0  0\n");
            ok(XlResult.run(runDir, "exec", "0", "--", "rmmod", "hellomod"), "");
            XlResult dmesg = XlResult.run(runDir, "dmesg");
            assertThat(dmesg.out()).endsWith("hellomod: Hi from domain 0\nhellomod: goodbye from domain 0\n");

            // And a guest of that host, in its own process, with the jar on its class path.
            Path cfg = Files.writeString(dir.resolve("cli.cfg"), "name = 'c'\n");
            XlResult c = XlResult.run(runDir, "create", cfg.toString());
            assertThat(c.code()).as(c.err()).isZero();
            ok(XlResult.run(runDir, "exec", "c", "--", "insmod", "hellomod"), "");
            ok(XlResult.run(runDir, "exec", "c", "--", "lsmod"), LSMOD + "hellomod                   0  0\n");
        } finally {
            p.destroy(); // SIGTERM: the host tears down its guest
        }
        assertThat(p.waitFor()).as("output: %s", output).isEqualTo(143);
    }
}
