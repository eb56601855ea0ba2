package org.jxen.arch;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
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

    @Test
    void lowerLayersKnowNothingOfHigherOnes() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("libc").definedBy("org.jxen.libc..")
                .layer("ring").definedBy("org.jxen.ring..")
                .layer("xenstore").definedBy("org.jxen.xenstore..")
                .layer("hypervisor").definedBy("org.jxen.hypervisor..")
                .layer("xenstored").definedBy("org.jxen.xenstored..")
                .layer("xenbus").definedBy("org.jxen.xenbus..")
                .layer("kernel").definedBy("org.jxen.kernel..")
                .layer("drivers").definedBy("org.jxen.drivers..")
                .layer("toolstack").definedBy("org.jxen.toolstack..")
                .layer("bench").definedBy("org.jxen.bench..")
                .layer("cli").definedBy("org.jxen.cli..")
                .layer("docs").definedBy("org.jxen.docs..")
                .layer("system").definedBy("org.jxen.system..")
                .layer("arch").definedBy("org.jxen.arch..")
                .whereLayer("libc").mayOnlyAccessLayers()
                .whereLayer("ring").mayOnlyAccessLayers("libc")
                .whereLayer("xenstore").mayOnlyAccessLayers("libc")
                .whereLayer("hypervisor").mayOnlyAccessLayers("libc")
                .whereLayer("xenstored").mayOnlyAccessLayers("libc", "ring", "xenstore")
                .whereLayer("xenbus").mayOnlyAccessLayers("libc", "ring", "xenstore", "hypervisor")
                .whereLayer("kernel").mayOnlyAccessLayers("libc", "ring", "xenstore", "hypervisor", "xenbus")
                .whereLayer("drivers").mayOnlyAccessLayers("libc", "ring", "xenstore", "hypervisor", "xenbus", "kernel")
                .whereLayer("toolstack").mayOnlyAccessLayers("libc", "ring", "xenstore", "hypervisor", "xenstored",
                        "xenbus", "kernel", "drivers")
                .whereLayer("bench").mayOnlyAccessLayers("libc", "ring", "xenstore", "hypervisor", "xenstored",
                        "xenbus", "kernel", "drivers", "toolstack")
                .whereLayer("cli").mayOnlyAccessLayers("libc", "ring", "xenstore", "hypervisor", "xenstored",
                        "xenbus", "kernel", "drivers", "toolstack", "bench")
                .whereLayer("arch").mayNotBeAccessedByAnyLayer()
                .whereLayer("docs").mayNotBeAccessedByAnyLayer()
                .whereLayer("system").mayNotBeAccessedByAnyLayer()
                .check(classes);
    }

    @Test
    void packagesFormNoCycles() {
        slices().matching("org.jxen.(**)").should().beFreeOfCycles().check(classes);
    }
}
