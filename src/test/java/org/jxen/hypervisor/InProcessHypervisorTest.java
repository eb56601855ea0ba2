package org.jxen.hypervisor;

import java.nio.file.Path;

class InProcessHypervisorTest extends HypervisorContract {
    @Override
    protected HvFixture fixture(Path dir) throws Exception {
        return new InProcessFixture(dir, abi());
    }
}
