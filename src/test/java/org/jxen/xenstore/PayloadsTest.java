package org.jxen.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PayloadsTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void split() {
        assertThat(Payloads.split(b(""))).isEmpty();
        assertThat(Payloads.split(b("\0"))).containsExactly("");
        assertThat(Payloads.split(b("a\0"))).containsExactly("a");
        assertThat(Payloads.split(b("a\0b\0"))).containsExactly("a", "b");
        assertThat(Payloads.split(b("a\0\0"))).containsExactly("a", "");
        assertThat(Payloads.split(b("\0\0b"))).containsExactly("", "", "b");
        assertThat(Payloads.split(b("a\0b"))).containsExactly("a", "b");
        assertThat(Payloads.split(b("abc"))).containsExactly("abc");
    }

    @Test
    void strings() {
        assertThat(Payloads.strings()).isEmpty();
        assertThat(Payloads.strings("")).containsExactly(0);
        assertThat(Payloads.strings("a", "bc")).containsExactly(b("a\0bc\0"));
        assertThat(Payloads.strings("OK")).containsExactly(Payloads.OK);
        assertThat(Payloads.pathAndValue("/a", b("x\0y"))).containsExactly(b("/a\0x\0y"));
        assertThat(Payloads.pathAndValue("/a", new byte[0])).containsExactly(b("/a\0"));
    }

    @Test
    void nulHelpers() {
        assertThat(Payloads.endsWithNul(b(""))).isFalse();
        assertThat(Payloads.endsWithNul(b("a"))).isFalse();
        assertThat(Payloads.endsWithNul(b("a\0"))).isTrue();
        assertThat(Payloads.countNuls(b("a\0\0b\0"))).isEqualTo(3);
        assertThat(Payloads.countNuls(b("ab"))).isZero();
        assertThat(Payloads.firstNul(b("ab\0c\0"))).isEqualTo(2);
        assertThat(Payloads.firstNul(b("ab"))).isEqualTo(-1);
        assertThat(Payloads.cString(b("ab\0cd"))).isEqualTo("ab");
        assertThat(Payloads.cString(b("ab"))).isEqualTo("ab");
        assertThat(Payloads.text(b("a\0b"))).isEqualTo("a\0b");
    }

    @Test
    void printable() {
        assertThat(Payloads.printable(b(""))).isEmpty();
        assertThat(Payloads.printable(b("/a\0v\0"))).isEqualTo("/a|v|");
        assertThat(Payloads.printable(new byte[] {'a', '\\', 1, (byte) 0xff, 0x7f, ' ', '~'}))
                .isEqualTo("a\\\\\\x01\\xff\\x7f ~");
        assertThat(Payloads.printable(b("\n"))).isEqualTo("\\x0a");
    }
}
