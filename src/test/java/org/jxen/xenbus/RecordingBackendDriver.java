package org.jxen.xenbus;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A backend driver for bus tests (class "testdev"): records the other-end states it is given, can hold its
 * first callback until released (so events pile up behind it), and walks its state with {@link BackendStates}.
 */
final class RecordingBackendDriver implements XenbusDriver {
    private final java.util.Map<XenbusDevice, BackendStates> states = new java.util.concurrent.ConcurrentHashMap<>();
    final List<XenbusState> seen = new CopyOnWriteArrayList<>();
    final LinkedBlockingQueue<XenbusState> events = new LinkedBlockingQueue<>();
    final CompletableFuture<XenbusDevice> probed = new CompletableFuture<>();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release;

    RecordingBackendDriver(boolean holdFirstCallback) {
        release = new CountDownLatch(holdFirstCallback ? 1 : 0);
    }

    @Override
    public List<String> ids() {
        return List.of("testdev");
    }

    @Override
    public void probe(XenbusDevice dev) throws IOException {
        BackendStates states = new BackendStates(dev, new BackendStates.Hooks() {
            @Override
            public boolean connect(XenbusDevice d) {
                return true;
            }

            @Override
            public void disconnect(XenbusDevice d) {}
        });
        this.states.put(dev, states);
        states.set(XenbusState.INIT_WAIT);
        probed.complete(dev);
    }

    @Override
    public void otherendChanged(XenbusDevice dev, XenbusState state) {
        entered.countDown();
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        seen.add(state);
        events.add(state);
        BackendStates states = this.states.get(dev);
        // Reconfiguring has no path in netback's walk: that is the illegal transition under test.
        if (state == XenbusState.CONNECTED || state == XenbusState.RECONFIGURING) states.set(state);
    }
}
