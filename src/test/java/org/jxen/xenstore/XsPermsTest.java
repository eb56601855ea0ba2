package org.jxen.xenstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class XsPermsTest {

    @ParameterizedTest
    @CsvSource({
        "b5, 5, true, true",
        "r0, 0, true, false",
        "w1, 1, false, true",
        "n65535, 65535, false, false",
        "b00007, 7, true, true",
        "r32752, 32752, true, false",
    })
    void parsesValid(String s, int domid, boolean read, boolean write) {
        XsPerm p = XsPerm.parse(s);
        assertThat(p).isEqualTo(new XsPerm(domid, read, write));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "x1", "b", "n", "b65536", "b99999", "b-1", "b+1", "B1", " b1", "b1 ", "b1x", "b0x1",
            "b1234567", "rw1", "1", "b\u0661"})
    void rejectsInvalid(String s) {
        assertThat(XsPerm.parse(s)).as("'%s'", s).isNull();
    }

    @Test
    void formatting() {
        assertThat(XsPerm.of(3, 'n').toString()).isEqualTo("n3");
        assertThat(XsPerm.of(3, 'r').toString()).isEqualTo("r3");
        assertThat(XsPerm.of(3, 'w').toString()).isEqualTo("w3");
        assertThat(XsPerm.of(65535, 'b').toString()).isEqualTo("b65535");
        assertThat(XsPerm.parse("b00007").toString()).isEqualTo("b7");
        for (char c : "nrwb".toCharArray()) assertThat(XsPerm.of(1, c).letter()).isEqualTo(c);
        assertThatThrownBy(() -> XsPerm.of(1, 'x')).isInstanceOf(IllegalArgumentException.class);
    }

    private static XsPerms perms(String... s) {
        return XsPerms.parse(List.of(s));
    }

    @Test
    void listParsingAndPayload() {
        XsPerms p = perms("r0", "b1", "n2");
        assertThat(p.owner()).isEqualTo(0);
        assertThat(p.size()).isEqualTo(3);
        assertThat(p.toString()).isEqualTo("r0 b1 n2");
        assertThat(p.toPayload()).containsExactly("r0\0b1\0n2\0".getBytes(StandardCharsets.US_ASCII));
        assertThat(p.storedSize()).isEqualTo(24);
        assertThat(XsPerms.parse(List.of())).isNull();
        assertThat(perms("b1", "x2")).isNull();
        assertThat(perms("b1", "")).isNull();
        assertThat(XsPerms.ROOT_DEFAULT.toPayload()).containsExactly("n0\0".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> new XsPerms(List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void withOwner() {
        XsPerms p = perms("r0", "b1", "n2");
        assertThat(p.withOwner(0)).isSameAs(p);
        assertThat(p.withOwner(5).toString()).isEqualTo("r5 b1 n2");
        assertThat(perms("b3").withOwner(1).toString()).isEqualTo("b1");
        assertThat(p.toString()).isEqualTo("r0 b1 n2");
    }

    @Test
    void without() {
        XsPerms p = perms("r0", "b1", "n2", "w1");
        assertThat(p.without(1).toString()).isEqualTo("r0 n2");
        assertThat(p.without(2).toString()).isEqualTo("r0 b1 w1");
        assertThat(p.without(0)).as("the owner entry is never dropped").isNull();
        assertThat(p.without(9)).isNull();
        assertThat(perms("n0").without(0)).isNull();
        assertThat(p.toString()).isEqualTo("r0 b1 n2 w1");
    }
}
