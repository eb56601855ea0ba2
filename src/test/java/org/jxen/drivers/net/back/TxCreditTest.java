package org.jxen.drivers.net.back;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * netback's credit scheduler on a clock the test moves (no sleeping): tx_credit_exceeded, tx_add_credit and
 * xen_net_rate_changed as Linux does them, and xen_net_read_rate's parsing.
 */
class TxCreditTest {
    static final long MS = 1_000_000;

    @Test
    void unlimitedByDefault() {
        TxCredit c = new TxCredit(0);
        assertThat(c.limited()).isFalse();
        assertThat(c.exceeded(65535, 0)).isZero();
    }

    @Test
    void aWindowsCreditThenWaitForTheNext() {
        TxCredit c = new TxCredit(0);
        c.init(10_000, 50_000); // 10 kB every 50 ms
        assertThat(c.limited()).isTrue();
        int sent = 0;
        while (c.exceeded(1500, 0) == 0) {
            c.consume(1500);
            sent += 1500;
        }
        assertThat(sent).isEqualTo(9000); // 10 000 of credit: six 1500-byte packets
        assertThat(c.exceeded(1500, MS)).isEqualTo(50 * MS); // until the window ends
        assertThat(c.exceeded(1500, 49 * MS)).isEqualTo(50 * MS); // the timer is pending
        assertThat(c.exceeded(1500, 50 * MS)).isZero(); // it fired: credit added
    }

    @Test
    void aBurstReachesAtLeast128KiB() {
        TxCredit c = new TxCredit(0);
        c.init(1000, 1000); // 1000 bytes a ms
        // A second of windows with nothing sent: the credit is capped at max(131072, 1000), enough for a 64 KiB
        // packet, and not more.
        long now = 1000 * MS;
        for (long t = 0; t <= now; t += MS) c.exceeded(200_000, t);
        assertThat(c.exceeded(131072, now)).isZero();
        assertThat(c.exceeded(131073, now)).isEqualTo(now + MS);
    }

    @Test
    void aLiveChangeCutsTheCreditOrFiresThePendingTimer() {
        TxCredit c = new TxCredit(0);
        c.init(-1, 0);
        c.change(2000, 50_000, 0); // from unlimited: what is left is cut to one window
        assertThat(c.exceeded(2000, 0)).isZero();
        c.consume(2000);
        assertThat(c.exceeded(100, 0)).isEqualTo(50 * MS);
        c.change(5000, 10_000, MS); // the pending timer fires now
        assertThat(c.exceeded(4000, MS)).isZero();
        c.change(-1, 0, 2 * MS); // no rate: unlimited
        assertThat(c.limited()).isFalse();
    }

    @Test
    void readRateAsLinux() {
        List<String> warned = new ArrayList<>();
        assertThat(TxCredit.parse("125000,50000", warned::add)).containsExactly(125000, 50000);
        assertThat(TxCredit.parse(null, warned::add)).containsExactly(-1, 0);
        assertThat(warned).isEmpty();
        for (String bad : List.of("", "125000", "125000,", ",5", "1,2,3", "x,5", "5,x", " 5,5")) {
            assertThat(TxCredit.parse(bad, warned::add)).as(bad).containsExactly(-1, 0);
        }
        assertThat(warned).hasSize(8).allMatch("Failed to parse network rate limit. Traffic unlimited."::equals);
    }
}
