package org.jxen.hypervisor;

/** The domain builder's grant-table seeding (xc_dom_gnttab_init): refs 0 and 1 granted to dom0. */
final class DomainBuilder {
    private DomainBuilder() {
    }

    static void seed(Domain d) {
        GrantEntry.grant(d.grantFile.segment(), DomainLayout.CONSOLE_REF, 0, DomainLayout.CONSOLE_FRAME, false);
        GrantEntry.grant(d.grantFile.segment(), DomainLayout.XENSTORE_REF, 0, DomainLayout.XENSTORE_FRAME, false);
    }
}
