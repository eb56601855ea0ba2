package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** xl.cfg syntax (XlCfg) and meaning (DomainConfig), as tables of inputs and results. */
class XlCfgTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            name = "g1"                          | g1
            name = 'g1'                          | g1
            name='g1'   # a comment              | g1
            # leading comment\\nname = "g1"      | g1
            name = "a\\"b"                       | a"b
            name = 'a\\tb'                       | `a	b`
            name = "\\x41\\101"                  | AA
            name = "x"; name = "g2"              | g2
            name = 'g'\\nname += '2'           | g2
            name = 12                            | 12
            """)
    void strings(String text, String expected) throws Exception {
        XlCfg.Value v = XlCfg.parse(text.replace("\\n", "\n")).settings().get("name");
        assertThat(XlCfg.atom(v)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            memory = 64     | 64
            memory = 0x40   | 64
            memory = 0100   | 64
            memory = 0      | 0
            memory = "64"   | 64
            memory = ' 64'  | 64
            """)
    void numbersAreAtomsReadAsStrtolReadsThem(String text, long expected) throws Exception {
        assertThat(XlCfg.number(XlCfg.atom(XlCfg.parse(text).settings().get("memory")))).isEqualTo(expected);
    }

    @Test
    void listsSpanLinesTakeTrailingCommasAndAppend() throws Exception {
        XlCfg cfg = XlCfg.parse("""
                drivers = [ 'a',   # first
                            "b",
                          ]
                drivers += ['c']
                empty = []
                vcpus = 2
                """);
        XlCfg.Lst drivers = (XlCfg.Lst) cfg.settings().get("drivers");
        assertThat(drivers.items()).extracting(v -> ((XlCfg.Str) v).value()).containsExactly("a", "b", "c");
        assertThat(((XlCfg.Lst) cfg.settings().get("empty")).items()).isEmpty();
        assertThat(cfg.settings().get("vcpus").line()).isEqualTo(6);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            name = "g1"\\nmemory 64               | 2 | expected '=' after memory
            name = "g1\\n                         | 1 | unterminated string
            name = 'g1' 'g2'                      | 1 | unexpected ''' after the value of name
            memory =                              | 1 | missing value
            drivers = ['a' 'b']                   | 1 | expected ',' or ']' in list, found '''
            drivers = ['a',\\n\\n                 | 1 | list is not closed with ']'
            drivers = [['a']]                     | 1 | lists cannot be nested
            memory = 12xyz                        | 1 | bad number 12xyz (xl.cfg numbers have no units)
            memory = 128M                         | 1 | bad number 128M (xl.cfg numbers have no units)
            \\n\\n= 3                             | 3 | expected a setting name, found '='
            name = "a\\q"                         | 1 | invalid character after backslash in quoted string: \\q
            memory = 3\\nmemory += [3]            | 2 | can't add [list] to "string" or vice versa (memory +=)
            Name = 'g'                            | 1 | setting names are lower case: Name
            extra = "a" \\\\n  "b"                | 1 | '\\' does not continue a line in xl.cfg: a [list] may span lines, a string may not
            memory = -1                           | 1 | a negative number is not xl.cfg syntax (quoted, '-1' is read as one)
            name = "a\\x4"                        | 1 | invalid digit after backslash hex numerical character escape in quoted string
            """)
    void syntaxErrorsNameTheLine(String text, int line, String message) {
        assertThatThrownBy(() -> XlCfg.parse(text.replace("\\n", "\n")))
                .isInstanceOfSatisfying(XlCfgException.class, e -> {
                    assertThat(e.line()).isEqualTo(line);
                    assertThat(e.getMessage()).isEqualTo("line " + line + ": " + message);
                });
    }

    @Test
    void domainConfigTakesNameMemoryVcpusInprocAndDevices() throws Exception {
        DomainConfig c = DomainConfig.parse("""
                name = "g1"
                memory = 64
                vcpus = 2
                inproc = 1
                mydevice = ['0', 'id=3', 'id=4, backend=0']
                """);
        assertThat(c.guest().name()).isEqualTo("g1");
        assertThat(c.guest().memoryMiB()).isEqualTo(64);
        assertThat(c.guest().vcpus()).isEqualTo(2);
        assertThat(c.guest().ownProcess()).isFalse();
        assertThat(c.guest().kernel()).isEqualTo(GuestConfig.MODULAR_KERNEL);
        assertThat(c.devices()).containsExactly(new DeviceSpec("mydevice", 0, 0), new DeviceSpec("mydevice", 3, 0),
                new DeviceSpec("mydevice", 4, 0));
    }

    @Test
    void defaultsAreAnOwnProcessGuestWith16MiBAndOneVcpu() throws Exception {
        DomainConfig c = DomainConfig.parse("name = 'g'");
        assertThat(c.guest().ownProcess()).isTrue();
        assertThat(c.guest().memoryMiB()).isEqualTo(16);
        assertThat(c.guest().vcpus()).isEqualTo(1);
        assertThat(c.guest().kernelArgs()).isEmpty();
        assertThat(c.devices()).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            memory = 64                                  | 0 | no name = "..." given
            name = 'g'\\ndisk = ['/a.img,qcow2,xvda,w']   | 2 | disk: disk format qcow2 is not supported
            name = 'g'\\npci = ['01:00.0']             | 2 | pci: jxen cannot pass host hardware through to a guest
            name = 3                                     | 1 | domain name '3' is all digits: xl would take it for a domain id
            name = '007'                                 | 1 | domain name '007' is all digits
            name = ['g']                                 | 1 | name is a list but should be a single value
            name = 'a b'                                 | 1 | bad domain name 'a b'
            name = 'g'\\nmemory = 0                      | 2 | memory = 0 is out of range: 1 to 1024 MiB (jxen's limit per domain)
            name = 'g'\\nmemory = 99999999999999999999999 | 2 | memory = 99999999999999999999999 is out of range: 1 to 1024 MiB
            name = 'g'\\nmemory = 0x7fffffffffffffff    | 2 | memory = 0x7fffffffffffffff is out of range: 1 to 1024 MiB
            name = 'g'\\nmemory = 4096                   | 2 | memory = 4096 is out of range: 1 to 1024 MiB (jxen's limit per domain)
            name = 'g'\\nmemory = '-5'                   | 2 | memory = -5 is out of range: 1 to 1024 MiB
            name = 'g'\\nmemory = 12abc                  | 2 | memory = '12abc' is not a valid number
            name = 'g'\\nmemory = '1G'                   | 2 | memory = '1G' is not a valid number (memory is a number of MiB, without a unit)
            name = 'g'\\nmemory = 64\\nmaxmem = 32       | 3 | maxmem = 32 is less than memory = 64
            name = 'g'\\nvcpus = 500                     | 2 | vcpus = 500 is out of range: 1 to 128 vCPUs
            name = 'g'\\non_crash = 'explode'           | 2 | Unknown on_crash action "explode"
            name = 'g'\\non_reboot = 'coredump-restart' | 2 | jxen has no core dumps or soft reset
            name = 'g'\\nuuid = 'nope'                   | 2 | uuid = 'nope' is not a UUID
            name = 'g'\\nkernel = '/boot/nosuch'         | 2 | kernel: /boot/nosuch: No such file or directory
            name = 'g'\\nkernel = '/etc/hostname'        | 2 | is not a jar: jxen boots Java guest kernels
            name = 'g'\\ndrivers = 'x'                   | 2 | drivers is a single value but should be a list, e.g. drivers = ['...']
            name = 'g'\\ndrivers = ['nosuchmodule']      | 2 | no driver module nosuchmodule
            name = 'g'\\nmydevice = ['id=x']             | 2 | id must be a number, not 'x'
            name = 'g'\\nmydevice = ['colour=red']       | 2 | unknown mydevice parameter 'colour'
            """)
    void meaningErrorsNameTheLine(String text, int line, String message) {
        assertThatThrownBy(() -> DomainConfig.parse(text.replace("\\n", "\n"), List.of()))
                .isInstanceOfSatisfying(XlCfgException.class, e -> {
                    assertThat(e.line()).isEqualTo(line);
                    assertThat(e.getMessage()).contains(message);
                    assertThat(e.forFile("g.cfg")).startsWith(line > 0 ? "g.cfg:" + line + ": " : "g.cfg: ");
                });
    }

    @Test
    void everyXlSettingIsAcceptedAndTheIgnoredOnesAreNamedInOneWarning() throws Exception {
        StringBuilder all = new StringBuilder("name = 'g'\n");
        for (String key : DomainConfig.XL_KEYS) {
            if (DomainConfig.HONOURED.contains(key) || DomainConfig.PASSTHROUGH.contains(key)) continue;
            all.append(key).append(" = '1'\n");
        }
        all.append("memroy = 64\n");
        DomainConfig c = DomainConfig.parse(all.toString(), List.of());
        assertThat(DomainConfig.XL_KEYS).hasSizeGreaterThan(150).contains("type", "bootloader", "builder", "vif", "pci",
                "on_watchdog", "maxmem", "cmdline");
        assertThat(c.warnings()).singleElement().asString()
                .startsWith("warning: ignoring settings jxen has no hardware or device for: ")
                .contains("type", "bootloader", "builder", "vif", "sdl")
                .endsWith("; and settings xl does not know: memroy");
    }

    @Test
    void honouredSettingsHaveTheirMeaning() throws Exception {
        DomainConfig c = DomainConfig.parse("""
                name = "full"
                uuid = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
                memory = 0x40
                maxmem = 128
                vcpus = 2
                maxvcpus = 4
                root = "/dev/xvda1"
                extra = "blkfront.max_queues=2"
                on_poweroff = "preserve"
                on_reboot = "rename-restart"
                on_crash = "restart"
                """, List.of());
        GuestConfig g = c.guest();
        assertThat(g.uuid()).isEqualTo("6f9619ff-8b86-d011-b42d-00c04fc964ff");
        assertThat(List.of(g.memoryMiB(), g.maxmemMiB(), g.vcpus(), g.maxvcpus())).containsExactly(64, 128, 2, 4);
        assertThat(g.kernelArgs()).containsExactly("root=/dev/xvda1", "blkfront.max_queues=2");
        assertThat(c.onShutdown()).isEqualTo(new ShutdownAction.OnShutdown(ShutdownAction.PRESERVE,
                ShutdownAction.RENAME_RESTART, ShutdownAction.RESTART));
        assertThat(c.warnings()).isEmpty();

        DomainConfig cmd = DomainConfig.parse("name = 'c'\ncmdline = 'a=1'\nextra = 'b=2'", List.of());
        assertThat(cmd.guest().kernelArgs()).containsExactly("a=1");
        assertThat(cmd.warnings()).containsExactly("Warning: ignoring root= and extra= in favour of cmdline=");
        assertThat(DomainConfig.parse("name = 'd'", List.of()).onShutdown()).isEqualTo(ShutdownAction.OnShutdown.XL_DEFAULTS);
    }

    @Test
    void overridesAreLinesAfterTheFileAndTheLastSettingWins() throws Exception {
        String text = XlCreate.withOverrides("name = 'g'\nmemory = 32", List.of("memory=64", "vcpus=2", "extra=\"x.y=1\""));
        assertThat(text).isEqualTo("name = 'g'\nmemory = 32\nmemory=64\nvcpus=2\nextra=\"x.y=1\"\n");
        DomainConfig c = DomainConfig.parse(text, List.of());
        assertThat(c.guest().memoryMiB()).isEqualTo(64);
        assertThat(c.guest().vcpus()).isEqualTo(2);
        assertThat(c.guest().kernelArgs()).containsExactly("x.y=1");
    }

    @Test
    void windowsLineEndsAndAByteOrderMarkAreTheSameConfig() throws Exception {
        XlCfg cfg = XlCfg.parse("\uFEFFname = 'w'\r\nmemory = 32\r\ndisk = [ 'a.img,raw,xvda,rw',\r\n ]\r\n");
        assertThat(XlCfg.atom(cfg.settings().get("name"))).isEqualTo("w");
        assertThat(XlCfg.atom(cfg.settings().get("memory"))).isEqualTo("32");
        assertThat(((XlCfg.Lst) cfg.settings().get("disk")).items()).hasSize(1);
    }

    @Test
    void settingsKeepTheirOrderOfAppearance() throws Exception {
        assertThat(List.copyOf(XlCfg.parse("b = 1\na = 2").settings().keySet())).containsExactly("b", "a");
    }
    @Test
    void kernelClassAndKernelArgsAreTheKernelAndItsArgvWordForWord() throws Exception {
        DomainConfig c = DomainConfig.parse("name = 's'\nkernel_class = 'org.jxen.kernel.StandardKernel'\n"
                + "kernel_args = ['memdirty mib=1', 'x']\ndrivers = ['seqwrite']", List.of());
        assertThat(c.guest().kernel()).isEqualTo(GuestConfig.STANDARD_KERNEL);
        assertThat(c.guest().kernelArgs()).containsExactly("memdirty mib=1", "x", "modules_load=seqwrite");
        assertThat(c.warnings()).isEmpty();
        assertThat(DomainConfig.parse("name = 'm'", List.of()).guest().kernel()).isEqualTo(GuestConfig.MODULAR_KERNEL);
        assertThatThrownBy(() -> DomainConfig.parse("name = 'b'\nkernel_class = 'not a class'", List.of()))
                .isInstanceOf(XlCfgException.class).hasMessage("line 2: kernel_class: not a Java class name: not a class");
    }
}
