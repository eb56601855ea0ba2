package org.jxen.arch;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.library.Architectures;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layers of the brief as a dependency graph, checked on main and test classes alike: a package may use
 * its own layer and the layers below it, never one above; {@code ring}, {@code xenstore} and
 * {@code hypervisor} are leaves that know nothing of each other (only of {@code libc}, the FFM bindings);
 * and no two packages, at any depth, depend on each other in a cycle.
 */
class LayeringTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().importPackages("org.jxen");
    }

    /** Lowest first; the three leaves stand side by side and know nothing of each other. */
    private static final List<List<String>> LAYERS = List.of(
            List.of("libc"),
            List.of("ring", "xenstore", "hypervisor"),
            List.of("xenstored"),
            List.of("xenbus"),
            List.of("kernel"),
            List.of("drivers"),
            List.of("toolstack"),
            List.of("bench"),
            List.of("cli"),
            List.of("system", "docs"));

    @Test
    void lowerLayersKnowNothingOfHigherOnes() {
        Architectures.LayeredArchitecture arch = layeredArchitecture().consideringOnlyDependenciesInLayers();
        for (List<String> level : LAYERS) {
            for (String layer : level) arch = arch.layer(layer).definedBy("org.jxen." + layer + "..");
        }
        arch = arch.layer("arch").definedBy("org.jxen.arch..").whereLayer("arch").mayNotBeAccessedByAnyLayer();
        List<String> below = new ArrayList<>();
        for (List<String> level : LAYERS) {
            for (String layer : level) {
                arch = below.isEmpty()
                        ? arch.whereLayer(layer).mayNotAccessAnyLayer()
                        : arch.whereLayer(layer).mayOnlyAccessLayers(below.toArray(String[]::new));
            }
            below.addAll(level);
        }
        arch.check(classes);
    }

    @Test
    void packagesFormNoCycles() {
        slices().matching("org.jxen.(**)").should().beFreeOfCycles().check(classes);
    }
}
