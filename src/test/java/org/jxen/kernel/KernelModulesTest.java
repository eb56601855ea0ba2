package org.jxen.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kernel's module calls on modules of this test, found through ServiceLoader in a service file the test writes:
 * boot with built-in modules and a command line, insmod with parameters, rmmod, lsmod, and their refusals with
 * the log lines Linux prints. Module bookkeeping touches neither hypercalls nor XenStore, so the kernel has none.
 */
class KernelModulesTest {
    @TempDir
    Path dir;
    private URLClassLoader loader;
    private KernelLog log;
    private Kernel kernel;

    /** A module built into guests, with an unsigned and a boolean parameter. */
    public static final class Front implements KernelModule {
        int queues = 4;
        boolean persistent = true;

        @Override
        public String name() {
            return "testfront";
        }

        @Override
        public boolean builtInto(KernelRole role) {
            return role == KernelRole.GUEST;
        }

        @Override
        public void parameter(String key, String value) {
            switch (key) {
                case "queues" -> queues = ModuleParameters.uint(value, 1, 64);
                case "persistent" -> persistent = ModuleParameters.bool(value);
                default -> throw new UnknownParameterException(key);
            }
        }

        @Override
        public void init(Kernel k) {
            k.printk("testfront: queues=" + queues + " persistent=" + persistent);
        }

        @Override
        public void exit(Kernel k) {
            k.printk("testfront: exit");
        }
    }

    /** A module built into dom0, without parameters. */
    public static final class Back implements KernelModule {
        @Override
        public String name() {
            return "testback";
        }

        @Override
        public boolean builtInto(KernelRole role) {
            return role == KernelRole.DOM0;
        }

        @Override
        public void init(Kernel k) {
            k.printk("testback: up");
        }

        @Override
        public void exit(Kernel k) {
            k.printk("testback: down");
        }
    }

    /** A loadable module that greets as the blog's mydevice does. Named by default, after its class: "hello". */
    public static final class Hello implements KernelModule {
        String who = "world";

        @Override
        public void parameter(String key, String value) {
            if (!key.equals("who")) throw new UnknownParameterException(key);
            if (value == null || value.isEmpty()) throw new IllegalArgumentException("who needs a value");
            who = value;
        }

        @Override
        public void init(Kernel k) {
            k.printk("Hello " + who + "!");
        }

        @Override
        public void exit(Kernel k) {
            k.printk("Goodbye " + who + ".");
        }
    }

    /** A loadable module whose init fails. Named by default, after its class: "broken". */
    public static final class Broken implements KernelModule {
        @Override
        public void init(Kernel k) {
            throw new IllegalStateException("no such device");
        }

        @Override
        public void exit(Kernel k) {
            throw new AssertionError("never loaded");
        }
    }

    @BeforeEach
    void directory() throws Exception {
        Path services = Files.createDirectories(dir.resolve("classes/META-INF/services"));
        Files.writeString(services.resolve(KernelModule.class.getName()), String.join("\n",
                "# test modules", Front.class.getName(), Back.class.getName(), Hello.class.getName(),
                Broken.class.getName(), ""));
        loader = new URLClassLoader(new java.net.URL[] {dir.resolve("classes").toUri().toURL()},
                KernelModulesTest.class.getClassLoader());
        log = new KernelLog();
        kernel = new Kernel(null, null, log, ModuleDirectory.of(new OnlyTestModules(loader)));
    }

    @AfterEach
    void close() throws Exception {
        loader.close();
    }

    @Test
    void theDirectoryFindsTheServicesAndWhichAreBuiltIntoWhichKernel() {
        ModuleDirectory d = kernel.moduleDirectory();
        assertThat(d.names()).containsExactly("broken", "hello", "testback", "testfront");
        assertThat(d.all()).extracting(KernelModule::name).containsExactly("testfront", "testback", "hello", "broken");
        assertThat(d.builtIn(KernelRole.GUEST)).extracting(KernelModule::name).containsExactly("testfront");
        assertThat(d.builtIn(KernelRole.DOM0)).extracting(KernelModule::name).containsExactly("testback");
        // With the parent's resources too, the project's own modules are found next to the test's.
        assertThat(ModuleDirectory.of(loader).names()).contains("broken", "hello", "testback", "testfront", "blkfront");
        // Fresh instances each time: the directory holds no module.
        assertThat(d.find("hello").orElseThrow()).isNotSameAs(d.find("hello").orElseThrow());
        assertThat(d.find("nosuch")).isEmpty();
    }

    @Test
    void bootInitialisesTheBuiltInModulesWithTheCommandLinesParametersThenModulesLoad() throws Exception {
        Kernel guest = kernel;
        guest.boot(KernelRole.GUEST, CommandLine.parse(
                "testfront.queues=2 testfront.persistent=off testfront.queues=x testfront.colour=red quiet foo=bar "
                        + "hello.who=boot modules_load=hello,nosuch,testfront"));
        assertThat(log.lines()).containsExactly(
                "testfront: `x' invalid for parameter `queues'",
                "testfront: unknown parameter 'colour' ignored",
                "testfront: queues=2 persistent=false",
                "Unknown kernel command line parameters \"quiet foo=bar\", will be passed to user space.",
                "modprobe hello",
                "Hello boot!",
                "modprobe nosuch",
                "modprobe: FATAL: Module nosuch not found.");
        assertThat(guest.modules()).containsExactly("testfront", "hello");
        assertThat(guest.isBuiltin("testfront")).isTrue();
        assertThat(guest.isBuiltin("hello")).isFalse();
        assertThat(guest.lsmod()).containsExactly("hello");
    }

    @Test
    void dom0BootsItsOwnBuiltIns() throws Exception {
        Kernel dom0 = kernel;
        dom0.boot(KernelRole.DOM0, CommandLine.EMPTY);
        assertThat(log.lines()).containsExactly("testback: up");
        assertThat(dom0.modules()).containsExactly("testback");
        assertThat(dom0.lsmod()).isEmpty();
    }

    @Test
    void insmodGivesParametersRunsInitAndRmmodRunsExit() throws Exception {
        kernel.insmod("hello", List.of("who=jxen"));
        kernel.insmod("testfront", List.of("queues=8", "persistent"));
        assertThat(log.lines()).containsExactly("Hello jxen!", "testfront: queues=8 persistent=true");
        assertThat(kernel.lsmod()).containsExactly("testfront", "hello");
        kernel.rmmod("hello");
        assertThat(log.lines()).endsWith("Goodbye jxen.");
        assertThat(kernel.lsmod()).containsExactly("testfront");
    }

    @Test
    void insmodRefusalsSayWhyAndLoadNothing() throws Exception {
        assertThatThrownBy(() -> kernel.insmod("nosuch", List.of()))
                .isInstanceOfSatisfying(ModuleException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ModuleException.Reason.NOT_FOUND);
                    assertThat(e.getMessage()).isEqualTo("No such file or directory");
                });
        assertThatThrownBy(() -> kernel.insmod("hello", List.of("who=x", "colour=red")))
                .isInstanceOfSatisfying(ModuleException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ModuleException.Reason.UNKNOWN_PARAMETER);
                    assertThat(e.getMessage()).isEqualTo("Unknown parameter `colour'");
                });
        assertThatThrownBy(() -> kernel.insmod("testfront", List.of("queues=65")))
                .isInstanceOfSatisfying(ModuleException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ModuleException.Reason.INVALID_PARAMETERS);
                    assertThat(e.getMessage()).isEqualTo("Invalid parameters");
                });
        assertThatThrownBy(() -> kernel.insmod("hello", List.of("who")))
                .isInstanceOfSatisfying(ModuleException.class,
                        e -> assertThat(e.reason()).isEqualTo(ModuleException.Reason.INVALID_PARAMETERS));
        assertThatThrownBy(() -> kernel.insmod("broken", List.of()))
                .isInstanceOfSatisfying(ModuleException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ModuleException.Reason.INIT_FAILED);
                    assertThat(e.getMessage()).isEqualTo("no such device");
                });
        assertThat(log.lines()).containsExactly("hello: Unknown parameter `colour'",
                "testfront: `65' invalid for parameter `queues'", "hello: `' invalid for parameter `who'");
        assertThat(kernel.modules()).isEmpty();

        kernel.insmod("hello", List.of());
        assertThatThrownBy(() -> kernel.insmod("hello", List.of()))
                .isInstanceOfSatisfying(ModuleException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ModuleException.Reason.EXISTS);
                    assertThat(e.getMessage()).isEqualTo("File exists");
                });
    }

    @Test
    void rmmodRefusesBuiltInAndUnloadedModules() throws Exception {
        kernel.boot(KernelRole.GUEST, CommandLine.EMPTY);
        assertThatThrownBy(() -> kernel.rmmod("testfront"))
                .isInstanceOfSatisfying(ModuleException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ModuleException.Reason.BUILTIN);
                    assertThat(e.getMessage()).isEqualTo("Module testfront is builtin.");
                });
        assertThatThrownBy(() -> kernel.rmmod("hello"))
                .isInstanceOfSatisfying(ModuleException.class, e -> {
                    assertThat(e.reason()).isEqualTo(ModuleException.Reason.NOT_LOADED);
                    assertThat(e.getMessage()).isEqualTo("Module hello is not currently loaded");
                });
        assertThat(kernel.modules()).contains("testfront");
        // Shutdown unloads everything, built-in modules too, the last loaded first.
        kernel.insmod("hello", List.of());
        kernel.unloadAll();
        assertThat(kernel.modules()).isEmpty();
        assertThat(log.lines()).endsWith("Goodbye world.", "testfront: exit");
    }

    @Test
    void commandLineWords() {
        CommandLine c = CommandLine.of(List.of("  blkfront.max_queues=2 quiet", "modules_load=a,b", "x.flag",
                "modules_load=c", "a.b.c=d", ".x=1", "y.=2"));
        assertThat(c.words()).containsExactly("blkfront.max_queues=2", "quiet", "modules_load=a,b", "x.flag",
                "modules_load=c", "a.b.c=d", ".x=1", "y.=2");
        assertThat(c.modulesLoad()).containsExactly("a", "b", "c");
        assertThat(c.parametersOf("blkfront")).containsExactly(new CommandLine.Parameter("blkfront", "max_queues", "2"));
        assertThat(c.parametersOf("x")).containsExactly(new CommandLine.Parameter("x", "flag", null));
        assertThat(c.parametersOf("a")).containsExactly(new CommandLine.Parameter("a", "b.c", "d"));
        assertThat(c.unknown()).containsExactly("quiet", ".x=1", "y.=2");
        assertThat(c).hasToString("blkfront.max_queues=2 quiet modules_load=a,b x.flag modules_load=c a.b.c=d .x=1 y.=2");
        assertThat(CommandLine.parse("").words()).isEmpty();
    }

    @Test
    void parameterValuesAreParsedAsLinuxDoes() {
        assertThat(ModuleParameters.bool(null)).isTrue();
        for (String t : List.of("1", "y", "Y", "on")) assertThat(ModuleParameters.bool(t)).as(t).isTrue();
        for (String f : List.of("0", "n", "N", "off")) assertThat(ModuleParameters.bool(f)).as(f).isFalse();
        assertThatThrownBy(() -> ModuleParameters.bool("yes")).isInstanceOf(IllegalArgumentException.class);
        assertThat(ModuleParameters.uint("32")).isEqualTo(32);
        assertThat(ModuleParameters.uint("0x20")).isEqualTo(32);
        assertThat(ModuleParameters.uint("040")).isEqualTo(32);
        assertThat(ModuleParameters.uint("0")).isZero();
        for (String bad : List.of("", "-1", "x", "1.5", "0x", "4294967296", "2147483648")) {
            assertThatThrownBy(() -> ModuleParameters.uint(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> ModuleParameters.uint(null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(ModuleParameters.uint("4", 1, 4)).isEqualTo(4);
        assertThatThrownBy(() -> ModuleParameters.uint("5", 1, 4)).isInstanceOf(IllegalArgumentException.class);
    }

    /** This test's service file alone, without the project's (whose modules need a real domain to init). */
    static final class OnlyTestModules extends ClassLoader {
        private final URLClassLoader services;

        OnlyTestModules(URLClassLoader services) {
            super(KernelModulesTest.class.getClassLoader());
            this.services = services;
        }

        @Override
        public java.util.Enumeration<java.net.URL> getResources(String name) throws java.io.IOException {
            return services.findResources(name);
        }
    }
}
