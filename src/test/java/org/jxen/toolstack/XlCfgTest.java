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
            name = 'a\\tb'                       | a\\tb
            name = "x"; name = "g2"              | g2
            """)
    void strings(String text, String expected) throws Exception {
        XlCfg.Value v = XlCfg.parse(text.replace("\\n", "\n")).settings().get("name");
        assertThat(((XlCfg.Str) v).value()).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            memory = 64     | 64
            memory = 0x40   | 64
            memory = 0      | 0
            """)
    void numbers(String text, long expected) throws Exception {
        assertThat(((XlCfg.Num) XlCfg.parse(text).settings().get("memory")).value()).isEqualTo(expected);
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
            memory = 12abc                        | 1 | bad number 12abc
            \\n\\n= 3                             | 3 | expected a setting name, found '='
            name = "a\\q"                         | 1 | unknown escape \\q in string
            memory += 3                           | 1 | '+=' needs a list for memory
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
            name = 'g'\\nvfb = ['vnc=1']               | 2 | vfb devices are not supported yet
            name = 'g'\\nbogus = 1                       | 2 | unknown setting bogus
            name = 3                                     | 1 | name must be a string
            name = 'a b'                                 | 1 | bad domain name 'a b'
            name = 'g'\\nmemory = 0                      | 2 | memory must be positive, not 0
            name = 'g'\\nmemory = '64'                   | 2 | memory must be a number
            name = 'g'\\ndrivers = 'x'                   | 2 | drivers must be a list, e.g. drivers = ['...']
            name = 'g'\\ndrivers = [3]                   | 2 | drivers entries must be strings
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
    void settingsKeepTheirOrderOfAppearance() throws Exception {
        assertThat(List.copyOf(XlCfg.parse("b = 1\na = 2").settings().keySet())).containsExactly("b", "a");
    }
}
