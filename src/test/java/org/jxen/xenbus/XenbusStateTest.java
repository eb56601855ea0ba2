package org.jxen.xenbus;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class XenbusStateTest {
    @Test
    void wireValuesAreXenbusH() {
        assertThat(XenbusState.values()).extracting(s -> s.value).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8);
        assertThat(XenbusState.INIT_WAIT.format()).isEqualTo("2");
        assertThat(XenbusState.RECONFIGURED.format()).isEqualTo("8");
        assertThat(XenbusState.INIT_WAIT.toString()).isEqualTo("InitWait");
    }

    @Test
    void parsesDecimalText() {
        for (XenbusState s : XenbusState.values()) assertThat(XenbusState.parse(s.format())).isEqualTo(s);
        assertThat(XenbusState.parse(" 4\n")).isEqualTo(XenbusState.CONNECTED);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "9", "-1", "x", "4x", "0x4", "99999999999999"})
    void anythingElseIsUnknown(String text) {
        assertThat(XenbusState.parse(text)).isEqualTo(XenbusState.UNKNOWN);
    }

    @Test
    void missingIsUnknown() {
        assertThat(XenbusState.parse(null)).isEqualTo(XenbusState.UNKNOWN);
    }

    @Test
    void otherEndEventsAreGuardedByPathPrefix() {
        String be = "/local/domain/0/backend/vif/1/0";
        assertThat(XenbusBus.isOtherendEvent(be, be + "/state")).isTrue();
        assertThat(XenbusBus.isOtherendEvent(be, "/local/domain/7/backend/vif/1/0/state")).isFalse();
        assertThat(XenbusBus.isOtherendEvent(be, "/local/domain/0/backend/vif/1/state")).isFalse();
        assertThat(XenbusBus.isOtherendEvent(null, be + "/state")).isFalse();
        assertThat(XenbusBus.isOtherendEvent("", be + "/state")).isFalse();
    }
}
