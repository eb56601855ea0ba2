package org.jxen.toolstack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.jxen.drivers.blk.Vdev;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DiskSpecTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "format=raw, vdev=xvda, access=rw, target=/img/a.img | /img/a.img | xvda | false",
        "/img/a.img,raw,xvda,w                               | /img/a.img | xvda | false",
        "/img/a.img,,xvdb,r                                  | /img/a.img | xvdb | true",
        "phy:/dev/vg/guest,xvdc,w                            | /dev/vg/guest | xvdc | false",
        "file:/img/b.img,hda,ro                              | /img/b.img | hda | true",
        "vdev=xvdz, access=ro, target=/img/with,comma.img    | /img/with,comma.img | xvdz | true",
        "/img/a.img, format=raw, vdev=sdb                    | /img/a.img | sdb | false",
        "target=/img/x.img,vdev=xvda                         | /img/x.img,vdev=xvda | - | -",
    })
    void parses(String spec, String target, String vdev, String ro) {
        if (vdev.equals("-")) {
            // target= eats the rest of the string, so this spec has no vdev
            assertThatThrownBy(() -> DiskSpec.parse(spec)).hasMessageContaining("no vdev");
            return;
        }
        DiskSpec d = DiskSpec.parse(spec);
        assertThat(d.target()).isEqualTo(target);
        assertThat(d.vdev()).isEqualTo(vdev);
        assertThat(d.readOnly()).isEqualTo(Boolean.parseBoolean(ro));
        assertThat(d.format()).isEqualTo("raw");
    }

    @ParameterizedTest
    @CsvSource({"xvda,51712", "xvdb,51728", "xvda1,51713", "xvdp,51952", "xvdq,268439552", "xvdaa,268442112",
        "hda,768", "hdb,832", "hdc,5632", "sda,2048", "sdb,2064", "d0,51712", "d1p2,51730", "51712,51712"})
    void vdevNumbers(String vdev, int devid) {
        assertThat(Vdev.devid(vdev)).isEqualTo(devid);
        if (vdev.startsWith("xvd")) assertThat(Vdev.name(devid)).isEqualTo(vdev);
    }

    /** Linux blkfront's names and minors, the emulated aliases onto xvd (xen_translate_vdev). */
    @ParameterizedTest
    @CsvSource({"51712,xvda,0", "51713,xvda1,1", "51728,xvdb,16", "268439552,xvdq,4096", "268439553,xvdq1,4097",
        "768,xvda,0", "769,xvda,0", "832,xvdb,16", "5632,xvdc,32", "5696,xvdd,48",
        "2048,xvda,0", "2064,xvdb,16", "2065,xvdb1,17", "16656,xvdr,272", "32784,xvddz,2064"})
    void guestNames(int devid, String name, int minor) {
        assertThat(Vdev.guestName(devid)).isEqualTo(new Vdev.GuestName(name, minor));
    }

    @Test
    void numbersLinuxWouldNotNameAreNone() {
        assertThat(Vdev.guestName((9 << 8) | 16)).as("a major blkfront does not translate (md)").isNull();
        assertThat(Vdev.guestName(2 << 28)).as("above the extended range").isNull();
        assertThat(Vdev.name(9 << 8)).isEqualTo(Integer.toString(9 << 8));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/a.img,qcow2,xvda,w          | format qcow2 is not supported",
        "/a.img,raw,xvda,x            | invalid access 'x'",
        "/a.img,raw                   | has no vdev",
        "vdev=xvda                    | has no target",
        "/a.img,raw,xvda,w,extra      | too many positional",
        "bogus=1,/a.img,raw,xvda      | unknown disk spec parameter 'bogus'",
        "/a.img,raw,vda,w             | invalid vdev vda",
        "/a.img,raw,xvda,w,devtype=fd | unknown value for devtype: fd",
    })
    void rejects(String spec, String message) {
        assertThatThrownBy(() -> DiskSpec.parse(spec)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }

    @Test
    void deviceNodesAreWhatLibxlWrites() {
        DeviceSpec d = DiskSpec.parse("format=raw, vdev=xvda, access=ro, target=/nonexistent.img").device();
        assertThat(d.kind()).isEqualTo("vbd");
        assertThat(d.devid()).isEqualTo(51712);
        assertThat(d.backendNodes()).containsEntry("params", "/nonexistent.img").containsEntry("mode", "r")
                .containsEntry("type", "file").containsEntry("device-type", "disk").containsEntry("dev", "xvda");
        assertThat(d.frontendNodes()).containsEntry("virtual-device", "51712").containsEntry("device-type", "disk");
    }

    /** libxl's discard_enable: the flags set it, otherwise it follows access (blkback reads discard-enable). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/a.img,raw,xvda,w                  | 1",
        "/a.img,raw,xvda,r                  | 0",
        "no-discard, vdev=xvda, target=/a.img | 0",
        "/a.img,raw,xvda,w,no-discard       | 0",
        "discard, vdev=xvda, access=ro, target=/a.img | 1",
    })
    void discardFlagsBecomeDiscardEnable(String spec, String enable) {
        DiskSpec d = DiskSpec.parse(spec);
        assertThat(d.discard()).isEqualTo(enable.equals("1"));
        assertThat(d.device().backendNodes()).containsEntry("discard-enable", enable);
    }

    @Test
    void xlCfgDiskListBecomesVbdDevices() throws Exception {
        DomainConfig c = DomainConfig.parse("name = \"g\"\ndisk = ['format=raw, vdev=xvda, access=rw, target=/a.img',\n"
                + "        '/b.img,raw,xvdb,r']\n");
        assertThat(c.devices()).extracting(DeviceSpec::devid).containsExactly(51712, 51728);
        assertThatThrownBy(() -> DomainConfig.parse("name = \"g\"\ndisk = ['/a.img,qcow2,xvda']\n"))
                .isInstanceOf(XlCfgException.class).hasMessageContaining("disk: disk format qcow2");
    }
}
