package org.jxen.cli.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Edge cases of sanitise_value/unsanitise_value, checked against Debian's xenstore-write/-read 4.17. */
class ValueEscapingTest {
    private static byte[] un(String s) {
        return ValueEscaping.unsanitise(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void unsanitiseIsLenientLikeTheCCode() {
        assertThat(un("a\\x41\\x4g\\x")).containsExactly('a', 'A', 4, 'g', 'x');
        assertThat(un("b\\101\\8\\q\\")).containsExactly('b', 'A', '8', 'q', 0);
        assertThat(un("\\xff\\7")).containsExactly(0xff, 7);
        assertThat(un("\\777")).containsExactly(0xff);
        assertThat(un("tab\\there\\r\\n\\\\")).isEqualTo("tab\there\r\n\\".getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void sanitiseEscapesControlBackslashAndHighBytes() {
        byte[] value = {'a', 0, 7, 8, '\t', '\n', '\r', '\\', 0x7f, (byte) 0xff, '~'};
        assertThat(new String(ValueEscaping.sanitise(value), StandardCharsets.US_ASCII))
                .isEqualTo("a\\000\\007\\x08\\t\\n\\r\\\\\\x7f\\xff~");
    }

    @Test
    void cAtoiSaturatesAndStopsAtTheFirstNonDigit() {
        assertThat(CNumbers.atoi(" -12x")).isEqualTo(-12);
        assertThat(CNumbers.atoi("abc")).isZero();
        assertThat(CNumbers.atoi("4294967297")).isEqualTo(1);
        assertThat(CNumbers.atoi("99999999999999999999")).isEqualTo(-1);
    }
}
