package org.jxen.drivers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.jxen.drivers.balloon.Balloon;
import org.jxen.drivers.blk.back.BlkBack;
import org.jxen.drivers.blk.front.BlkFront;
import org.jxen.drivers.console.HvcConsole;
import org.jxen.drivers.mydevice.MyDeviceBack;
import org.jxen.drivers.mydevice.MyDeviceFront;
import org.jxen.kernel.KernelConsole;
import org.jxen.kernel.KernelModule;
import org.jxen.kernel.KernelRole;
import org.jxen.drivers.net.back.NetBack;
import org.jxen.drivers.net.front.NetFront;
import org.jxen.kernel.ModuleDirectory;
import org.jxen.kernel.UnknownParameterException;
import org.jxen.kernel.userland.ConsoleShell;
import org.jxen.kernel.userland.GuestExec;
import org.jxen.kernel.userland.MemDirty;
import org.jxen.drivers.mydevice.SeqWrite;
import org.junit.jupiter.api.Test;

/**
 * The project's modules as ServiceLoader finds them on the class path (META-INF/services), which of them a
 * guest's and dom0's kernels have built in, and each module's own parameters.
 */
class DriverModulesTest {
    private final ModuleDirectory modules = ModuleDirectory.classPath();

    @Test
    void serviceLoaderFindsEveryModuleOfTheProject() {
        assertThat(modules.names()).containsExactly(BlkBack.NAME, BlkFront.NAME, ConsoleShell.NAME, GuestExec.NAME,
                MemDirty.NAME, MyDeviceBack.NAME, MyDeviceFront.NAME, NetBack.NAME, NetFront.NAME, SeqWrite.NAME, Balloon.NAME);
        assertThat(modules.all().stream().map(m -> (Object) m.getClass()).toList()).containsExactly(BlkFront.class,
                MyDeviceBack.class, BlkBack.class, MyDeviceFront.class, SeqWrite.class, NetFront.class, NetBack.class,
                Balloon.class, GuestExec.class, ConsoleShell.class, MemDirty.class);
        assertThat(modules.find(MyDeviceFront.NAME)).get().isInstanceOf(MyDeviceFront.class);
    }

    @Test
    void aGuestKernelHasTheStandardFrontendsAndTheExecAgentBuiltInAndDom0TheBackends() {
        assertThat(modules.builtIn(KernelRole.GUEST)).extracting(KernelModule::name)
                .containsExactly(BlkFront.NAME, NetFront.NAME, Balloon.NAME, GuestExec.NAME, ConsoleShell.NAME);
        assertThat(modules.builtIn(KernelRole.DOM0)).extracting(KernelModule::name)
                .containsExactly(MyDeviceBack.NAME, BlkBack.NAME, NetBack.NAME);
        // mydevicefront is the blog's loadable module everywhere.
        assertThat(new MyDeviceFront().builtInto(KernelRole.GUEST)).isFalse();
        assertThat(new MyDeviceFront().builtInto(KernelRole.DOM0)).isFalse();
    }

    @Test
    void theConsoleIsAKernelServiceNotAModule() {
        assertThat(modules.services(KernelConsole.class)).singleElement().isInstanceOf(HvcConsole.class);
    }

    @Test
    void blkfrontParsesLinuxXenBlkfrontsParameters() {
        BlkFront f = new BlkFront();
        assertThat(f.params()).isEqualTo(BlkFront.Params.DEFAULT);
        f.parameter("max_queues", "2");
        f.parameter("max_ring_page_order", "1");
        f.parameter("max_indirect_segments", "32");
        f.parameter("feature_persistent", "0");
        assertThat(f.params()).isEqualTo(new BlkFront.Params(2, 1, 32, BlkFront.Params.DEFAULT.poolPages(), false));
        f.parameter("feature_persistent", null);
        assertThat(f.params().featurePersistent()).isTrue();

        BlkFront.Params before = f.params();
        assertThatThrownBy(() -> f.parameter("queues", "2")).isInstanceOfSatisfying(UnknownParameterException.class,
                e -> assertThat(e.parameter()).isEqualTo("queues"));
        for (String[] bad : List.of(new String[] {"max_queues", "0"}, new String[] {"max_queues", "two"},
                new String[] {"max_indirect_segments", "-1"}, new String[] {"feature_persistent", "maybe"},
                new String[] {"max_ring_page_order", null})) {
            assertThatThrownBy(() -> f.parameter(bad[0], bad[1])).as(bad[0] + "=" + bad[1])
                    .isInstanceOf(IllegalArgumentException.class).isNotInstanceOf(UnknownParameterException.class);
        }
        assertThat(f.params()).as("refused values change nothing").isEqualTo(before);
    }

    @Test
    void blkbackParsesLinuxXenBlkbacksParameters() {
        BlkBack b = new BlkBack();
        assertThat(b.params()).isEqualTo(BlkBack.Params.DEFAULT);
        b.parameter("max_indirect_segments", "32");
        b.parameter("max_ring_page_order", "0");
        b.parameter("max_queues", "1");
        b.parameter("feature_persistent", "n");
        b.parameter("max_persistent_grants", "64");
        assertThat(b.params()).isEqualTo(new BlkBack.Params(32, 0, 1, false, 64, true));

        BlkBack.Params before = b.params();
        assertThatThrownBy(() -> b.parameter("log_stats", "1")).isInstanceOf(UnknownParameterException.class);
        for (String[] bad : List.of(new String[] {"max_indirect_segments", "4097"}, new String[] {"max_ring_page_order", "5"},
                new String[] {"max_queues", "65"}, new String[] {"max_queues", "0"}, new String[] {"feature_persistent", "2"})) {
            assertThatThrownBy(() -> b.parameter(bad[0], bad[1])).as(bad[0] + "=" + bad[1])
                    .isInstanceOf(IllegalArgumentException.class).isNotInstanceOf(UnknownParameterException.class);
        }
        assertThat(b.params()).isEqualTo(before);
    }

    @Test
    void modulesWithoutParametersRefuseAny() {
        for (KernelModule m : List.of(new MyDeviceFront(), new MyDeviceBack(), new GuestExec())) {
            assertThatThrownBy(() -> m.parameter("debug", "1")).as(m.name())
                    .isInstanceOf(UnknownParameterException.class).hasMessage("Unknown parameter `debug'");
        }
    }
}
