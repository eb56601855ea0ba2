package org.jxen.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The layers of the brief, lowest first: a package may use its own layer and lower ones, never higher ones.
 * Checked on the sources' imports and fully qualified references, so a violation fails the build.
 */
class LayeringTest {
    private static final Map<String, Integer> RANK = Map.of(
            "xenstore", 1, "xenstored", 2, "hypervisor", 3, "ring", 4, "xenbus", 5,
            "drivers", 6, "toolstack", 7, "bench", 8, "cli", 9);
    private static final Pattern REF = Pattern.compile("\\borg\\.jxen\\.([a-z]+)\\b");

    @Test
    void lowerLayersKnowNothingOfHigherOnes() throws IOException {
        Path root = Path.of("src/main/java/org/jxen");
        List<String> violations = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(p -> p.toString().endsWith(".java")).toList();
        }
        assertThat(files).isNotEmpty();
        for (Path f : files) {
            String layer = root.relativize(f).getName(0).toString();
            Integer own = RANK.get(layer);
            assertThat(own).as("package org.jxen.%s of %s has a layer", layer, f).isNotNull();
            Matcher m = REF.matcher(Files.readString(f));
            while (m.find()) {
                Integer used = RANK.get(m.group(1));
                if (used != null && used > own) violations.add(f + " uses org.jxen." + m.group(1));
            }
        }
        assertThat(violations).isEmpty();
    }
}
