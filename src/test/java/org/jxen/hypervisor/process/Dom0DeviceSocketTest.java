package org.jxen.hypervisor.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jxen.hypervisor.DomainControl;
import org.jxen.hypervisor.DomainState;
import org.jxen.hypervisor.Hypercalls;
import org.jxen.hypervisor.Hypervisor;
import org.jxen.hypervisor.ShutdownReason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** xenstored's view of dom0 (gntdev, evtchn, domain info) over the host's device socket and in-process: the same answers. */
class Dom0DeviceSocketTest {
    @TempDir
    Path dir;

    @Test
    void infosOfMoreDomainsThanOneBatchAnswerAsInfoDoesOverTheSocketAndInProcess() throws Exception {
        try (Hypervisor hv = new Hypervisor(dir.resolve("hv"), 64)) {
            Hypercalls dom0 = hv.connect(0);
            DomainControl ctl = dom0.domainControl();
            Dom0DeviceService service = Dom0DeviceService.start(dom0, hv.controlPlane(0), dir.resolve("dom0.sock"));
            try (Dom0DeviceClient socket = Dom0DeviceClient.connect(service.path()); DeviceAccess local = service.local()) {
                List<Integer> domids = new ArrayList<>();
                for (int i = 0; i < 600; i++) domids.add(ctl.createDomain(2, 1));
                ctl.shutdown(domids.get(7), ShutdownReason.CRASH);
                ctl.shutdown(domids.get(300), ShutdownReason.POWEROFF);
                ctl.destroy(domids.get(599));
                domids.add(31000); // never existed

                List<DeviceAccess.Info> overSocket = socket.infos(domids);
                assertThat(overSocket).hasSize(601);
                assertThat(local.infos(domids)).isEqualTo(overSocket);
                for (int i : new int[] {0, 7, 255, 256, 300, 511, 512, 599, 600}) {
                    assertThat(overSocket.get(i)).as("domain " + domids.get(i)).isEqualTo(socket.info(domids.get(i)));
                }
                assertThat(overSocket.get(7)).isEqualTo(new DeviceAccess.Info(DomainState.SHUTDOWN, ShutdownReason.CRASH.code));
                assertThat(overSocket.get(300)).isEqualTo(new DeviceAccess.Info(DomainState.SHUTDOWN, ShutdownReason.POWEROFF.code));
                assertThat(overSocket.get(599).state()).isIn(null, DomainState.DYING);
                assertThat(overSocket.get(600)).isEqualTo(new DeviceAccess.Info(null, -1));
                assertThat(overSocket.get(256).state()).isNotNull().isNotIn(DomainState.SHUTDOWN, DomainState.DYING);
            } finally {
                service.close();
            }
        }
    }
}
