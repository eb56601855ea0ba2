package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Coverage-guided fuzzing of the xl.cfg parser and what xl makes of a config ({@link XlCfg},
 * {@link DomainConfig}, the disk specifications): any text either parses or is refused with an
 * {@link XlCfgException} naming a line that exists; nothing else may escape (a config comes from the user,
 * and a bad one must give a message, not a stack trace). Seeds: XlCfgFuzzTestInputs/parse/ (raw config text).
 */
class XlCfgFuzzTest {
    @FuzzTest(maxDuration = "4m")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        long lines = text.chars().filter(c -> c == '\n').count() + 1;
        try {
            XlCfg cfg = XlCfg.parse(text);
            for (XlCfg.Value v : cfg.settings().values()) assertThat((long) v.line()).isBetween(1L, lines);
        } catch (XlCfgException e) {
            assertThat(e.getMessage()).isNotBlank();
        }
        try {
            DomainConfig.parse(text);
        } catch (XlCfgException e) {
            assertThat(e.getMessage()).isNotBlank();
        }
    }
}
