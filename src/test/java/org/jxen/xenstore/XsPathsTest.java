package org.jxen.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class XsPathsTest {

    @ParameterizedTest
    @ValueSource(strings = {"/", "/a", "/a/b", "/local/domain/1/device/vif/0", "/A-z_0@9", "/@x", "/a-b/c_d", "/0"})
    void validAbsolute(String path) {
        assertThat(XsPaths.isValidAbsolute(path)).as(path).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a", "a/b", "//", "/a/", "/a//b", "//a", "/a b", "/a.b", "/a\tb", "/\u00e9", "/a:b",
            "/a\\b", "/a*", "@introduceDomain", "/local/domain/1/"})
    void invalidAbsolute(String path) {
        assertThat(XsPaths.isValidAbsolute(path)).as(path).isFalse();
    }

    @Test
    void absolutePathMax() {
        String ok = "/" + "a".repeat(XsWire.ABS_PATH_MAX - 1);
        assertThat(ok).hasSize(3072);
        assertThat(XsPaths.isValidAbsolute(ok)).isTrue();
        assertThat(XsPaths.isValidAbsolute(ok + "b")).isFalse();
        assertThat(XsPaths.isValidAbsolute("/" + "a/".repeat(1535) + "a")).isTrue();
    }

    @ParameterizedTest
    @CsvSource({
        "x, 1, /local/domain/1/x",
        "x/y, 7, /local/domain/7/x/y",
        "/abs, 3, /abs",
        "/, 3, /",
        "'', 3, /local/domain/3/",
        "@introduceDomain, 0, /local/domain/0/@introduceDomain",
        "device/vif, 65535, /local/domain/65535/device/vif",
    })
    void canonicalize(String raw, int domid, String expected) {
        assertThat(XsPaths.canonicalize(raw, domid)).isEqualTo(expected);
    }

    @Test
    void canonicalizedEmptyIsInvalid() {
        assertThat(XsPaths.isValidAbsolute(XsPaths.canonicalize("", 3))).isFalse();
        assertThat(XsPaths.isValidAbsolute(XsPaths.canonicalize("a//b", 3))).isFalse();
    }

    @Test
    void relativeAndSpecial() {
        assertThat(XsPaths.isRelative("x")).isTrue();
        assertThat(XsPaths.isRelative("")).isTrue();
        assertThat(XsPaths.isRelative("/x")).isFalse();
        assertThat(XsPaths.isSpecial("@releaseDomain")).isTrue();
        assertThat(XsPaths.isSpecial("/@x")).isFalse();
        assertThat(XsPaths.isSpecial("")).isFalse();
        assertThat(XsPaths.domainPath(5)).isEqualTo("/local/domain/5");
    }

    @ParameterizedTest
    @CsvSource({
        "/a/b, /a, true",
        "/a, /a, true",
        "/a/b/c, /a, true",
        "/ab, /a, false",
        "/a, /a/b, false",
        "/a, /, true",
        "/, /, true",
        "/b, /a, false",
        "/local/domain/10, /local/domain/1, false",
        "/local/domain/1/x, /local/domain/1, true",
    })
    void isChildOf(String child, String parent, boolean expected) {
        assertThat(XsPaths.isChildOf(child, parent)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({
        "/a, /, a",
        "/a/b, /a, b",
        "/local/domain/1/x, /local/domain/1, x",
    })
    void parentAndBasename(String path, String parent, String base) {
        assertThat(XsPaths.parent(path)).isEqualTo(parent);
        assertThat(XsPaths.basename(path)).isEqualTo(base);
        assertThat(XsPaths.join(parent, base)).isEqualTo(path);
    }

    @Test
    void rootHasNoParent() {
        assertThat(XsPaths.parent("/")).isNull();
        assertThat(XsPaths.basename("/")).isEmpty();
    }

    @ParameterizedTest
    @CsvSource({
        "/local/domain/1/x, 1",
        "/local/domain/1/abc/def, 7",
        "/local/domain/12345/ab, 2",
        "/local/domain/123456/ab, 23",
        "/local/domain/1, 15",
        "/local/domain/1/, 0",
        "/local/domain/x/y, 17",
        "/local/domain//y, 16",
        "/a, 2",
        "/, 1",
        "/vm/local/domain/1/x, 20",
    })
    void quotaLength(String path, int expected) {
        assertThat(XsPaths.quotaLength(path)).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({
        "/local/domain/1/x, 1, x",
        "/local/domain/1, 1, ''",
        "/local/domain/12/x, 1, /local/domain/12/x",
        "/local/domain/2/x, 1, /local/domain/2/x",
        "/a, 1, /a",
    })
    void relativize(String abs, int domid, String expected) {
        assertThat(XsPaths.relativize(abs, domid)).isEqualTo(expected);
    }
}
