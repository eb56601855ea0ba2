package org.jxen.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * xl's command table (tools/xl/xl_cmdtable.c of Xen 4.23-unstable, as built for x86): every subcommand Xen's xl has, with its
 * description, usage and options as {@code xl help} prints them, and xl's lookup of a command word
 * (cmdtable_lookup: an exact name, or a prefix of exactly one name). jxen implements some of them
 * ({@link #JXEN}: the entries {@code xl help} lists, with the options jxen has) and adds its own at the end
 * (block-resize, device-attach, device-detach, exec);
 * for the others xl answers "command not implemented".
 */
final class XlCmdTable {
    /**
     * One row of xl_cmdtable.c's table, its two flags in its order (can_dryrun, then modifies): they decide the N and
     * the f of the command's usage line.
     */
    record Entry(String name, boolean canDryrun, boolean modifies, String desc, String usage, String options) {}

    private XlCmdTable() {}

    /** Xen's table, in its order. */
    static final List<Entry> XEN = List.of(
            new Entry("create", true, true,
                    "Create a domain from config file <filename>",
                    "<ConfigFile> [options] [vars]",
                    "-c                      Connect to the console after the domain is created.\n-d                      Enable debug messages.\n-e                      Do not wait in the background for the death of the domain.\n-F                      Run in foreground until death of the domain.\n-f FILE, --defconfig=FILE\n                     Use the given configuration file.\n-h                      Print this help.\n-n, --dryrun            Dry run - prints the resulting configuration\n                         (deprecated in favour of global -N option).\n-p                      Leave the domain paused after it is created.\n-q, --quiet             Quiet.\n-V, --vncviewer         Connect to the VNC display after the domain is created.\n-A, --vncviewer-autopass\n                        Pass VNC password to viewer via stdin.\n--ignore-global-affinity-masks Ignore global masks in xl.conf."),
            new Entry("config-update", true, true,
                    "Update a running domain's saved configuration, used when rebuilding the domain after reboot.\nWARNING: xl now has better capability to manage domain configuration, avoid using this command when possible",
                    "<Domain> <ConfigFile> [options] [vars]",
                    "-h                      Print this help.\n-f FILE, --defconfig=FILE\n                     Use the given configuration file.\n-d                      Enable debug messages.\n"),
            new Entry("list", false, false,
                    "List information about all/some domains",
                    "[options] [Domain]\n",
                    "-l, --long              Output all VM details\n-v, --verbose           Prints out UUIDs and security context\n-Z, --context           Prints out security context\n-c, --cpupool           Prints the cpupool the domain is in\n-n, --numa              Prints out NUMA node affinity"),
            new Entry("destroy", false, true,
                    "Terminate a domain immediately",
                    "[options] <Domain>\n",
                    "-f                      Permit destroying domain 0, which will only succeed\n                        when run from disaggregated toolstack domain with a\n                        hardware domain distinct from domain 0."),
            new Entry("shutdown", false, true,
                    "Issue a shutdown signal to a domain",
                    "[options] <-a|Domain>",
                    "-a, --all               Shutdown all guest domains.\n-h                      Print this help.\n-F                      Fallback to ACPI power event for HVM guests with\n                        no PV drivers.\n-w, --wait              Wait for guest(s) to shutdown.\n"),
            new Entry("reboot", false, true,
                    "Issue a reboot signal to a domain",
                    "[options] <-a|Domain>",
                    "-a, --all               Shutdown all guest domains.\n-h                      Print this help.\n-F                      Fallback to ACPI reset event for HVM guests with\n                        no PV drivers.\n-w, --wait              Wait for guest(s) to reboot.\n"),
            new Entry("pci-attach", false, true,
                    "Insert a new pass-through pci device",
                    "<Domain> <PCI_SPEC_STRING>",
                    null),
            new Entry("pci-detach", false, true,
                    "Remove a domain's pass-through pci device",
                    "<Domain> <PCI_SPEC_STRING>",
                    null),
            new Entry("pci-list", false, false,
                    "List pass-through pci devices for a domain",
                    "<Domain>",
                    null),
            new Entry("pci-assignable-add", false, true,
                    "Make a device assignable for pci-passthru",
                    "[options] <BDF>",
                    "-n NAME, --name=NAME    Name the assignable device.\n-h                      Print this help.\n"),
            new Entry("pci-assignable-remove", false, true,
                    "Remove a device from being assignable",
                    "[options] <BDF>|NAME",
                    "-h                      Print this help.\n-r                      Attempt to re-assign the device to the\n                        original driver."),
            new Entry("pci-assignable-list", false, false,
                    "List all the assignable pci devices",
                    "[options]",
                    "-h                      Print this help.\n-n, --show-names        Display assignable device names where\n                        supplied.\n"),
            new Entry("pause", false, true,
                    "Pause execution of a domain",
                    "<Domain>",
                    null),
            new Entry("unpause", false, true,
                    "Unpause a paused domain",
                    "<Domain>",
                    null),
            new Entry("console", false, false,
                    "Attach to domain's console",
                    "[options] <Domain>\n-t <type>       console type, pv , serial or vuart\n-n <number>     console number\n-e <escape>     escape character",
                    null),
            new Entry("vncviewer", false, false,
                    "Attach to domain's VNC server.",
                    "[options] <Domain>\n--autopass               Pass VNC password to viewer via stdin and\n                         -autopass\n--vncviewer-autopass     (consistency alias for --autopass)",
                    null),
            new Entry("save", false, true,
                    "Save a domain state to restore later",
                    "[options] <Domain> <CheckpointFile> [<ConfigFile>]",
                    "-h  Print this help.\n-c  Leave domain running after creating the snapshot.\n-p  Leave domain paused after creating the snapshot.\n-D  Store the domain id in the configuration."),
            new Entry("migrate", false, true,
                    "Migrate a domain to another host",
                    "[options] <Domain> <host>",
                    "-h              Print this help.\n-C <config>     Send <config> instead of config file from creation.\n-s <sshcommand> Use <sshcommand> instead of ssh.  String will be passed\n                to sh. If empty, run <host> instead of ssh <host> xl\n                migrate-receive [-d -e]\n-e              Do not wait in the background (on <host>) for the death\n                of the domain.\n--debug         Print huge (!) amount of debug during the migration process.\n-p              Do not unpause domain after migrating it.\n-D              Preserve the domain id"),
            new Entry("restore", false, true,
                    "Restore a domain from a saved state",
                    "[options] [<ConfigFile>] <CheckpointFile>",
                    "-h                       Print this help.\n-p                       Do not unpause domain after restoring it.\n-e                       Do not wait in the background for the death of the domain.\n-d                       Enable debug messages.\n-V, --vncviewer          Connect to the VNC display after the domain is created.\n-A, --vncviewer-autopass Pass VNC password to viewer via stdin."),
            new Entry("migrate-receive", false, true,
                    "Restore a domain from a saved state",
                    "- for internal use only",
                    null),
            new Entry("suspend", false, true,
                    "Suspend a domain to RAM",
                    "<Domain>",
                    null),
            new Entry("resume", false, true,
                    "Resume a domain from RAM",
                    "<Domain>",
                    null),
            new Entry("dump-core", false, true,
                    "Core dump a domain",
                    "<Domain> <filename>",
                    null),
            new Entry("cd-insert", true, true,
                    "Insert a cdrom into a guest's cd drive",
                    "<Domain> <VirtualDevice> <path>",
                    null),
            new Entry("cd-eject", true, true,
                    "Eject a cdrom from a guest's cd drive",
                    "<Domain> <VirtualDevice>",
                    null),
            new Entry("mem-max", false, true,
                    "Set the maximum amount reservation for a domain",
                    "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>",
                    null),
            new Entry("mem-set", false, true,
                    "Set the current memory usage for a domain",
                    "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>",
                    null),
            new Entry("button-press", false, true,
                    "Indicate an ACPI button press to the domain",
                    "<Domain> <Button>",
                    "<Button> may be 'power' or 'sleep'."),
            new Entry("vcpu-list", false, false,
                    "List the VCPUs for all/some domains",
                    "[Domain, ...]",
                    null),
            new Entry("vcpu-pin", true, true,
                    "Set which CPUs a VCPU can use",
                    "[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>",
                    "-f, --force        undo an override pinning done by the kernel\n--ignore-global-affinity-masks Ignore global masks in xl.conf"),
            new Entry("vcpu-set", false, true,
                    "Set the number of active VCPUs allowed for the domain",
                    "[option] <Domain> <vCPUs>",
                    "-i, --ignore-host  Don't limit the vCPU based on the host CPU count"),
            new Entry("vm-list", false, false,
                    "List guest domains, excluding dom0, stubdoms, etc.",
                    "",
                    null),
            new Entry("info", false, false,
                    "Get information about Xen host",
                    "-n, --numa         List host NUMA topology information",
                    null),
            new Entry("sharing", false, false,
                    "Get information about page sharing",
                    "[Domain]",
                    null),
            new Entry("sched-credit", false, true,
                    "Get/set credit scheduler parameters",
                    "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] [-r RATELIMIT]] [-p CPUPOOL]",
                    "-d DOMAIN, --domain=DOMAIN        Domain to modify\n-w WEIGHT, --weight=WEIGHT        Weight (int)\n-c CAP, --cap=CAP                 Cap (int)\n-s         --schedparam           Query / modify scheduler parameters\n-t TSLICE, --tslice_ms=TSLICE     Set the timeslice, in milliseconds\n-r RLIMIT, --ratelimit_us=RLIMIT  Set the scheduling rate limit, in microseconds\n-m DLY, --migration_delay_us=DLY  Set the migration delay, in microseconds\n-p CPUPOOL, --cpupool=CPUPOOL     Restrict output to CPUPOOL"),
            new Entry("sched-credit2", false, true,
                    "Get/set credit2 scheduler parameters",
                    "[-d <Domain> [-w[=WEIGHT]]] [-p CPUPOOL]",
                    "-d DOMAIN, --domain=DOMAIN     Domain to modify\n-w WEIGHT, --weight=WEIGHT     Weight (int)\n-c CAP,    --cap=CAP           Cap (int)\n-s         --schedparam        Query / modify scheduler parameters\n-r RLIMIT, --ratelimit_us=RLIMIT Set the scheduling rate limit, in microseconds\n-p CPUPOOL, --cpupool=CPUPOOL  Restrict output to CPUPOOL"),
            new Entry("sched-rtds", false, true,
                    "Get/set rtds scheduler parameters",
                    "[-d <Domain> [-v[=VCPUID/all]] [-p[=PERIOD]] [-b[=BUDGET]] [-e[=Extratime]]]",
                    "-d DOMAIN, --domain=DOMAIN     Domain to modify\n-v VCPUID/all, --vcpuid=VCPUID/all    VCPU to modify or output;\n               Using '-v all' to modify/output all vcpus\n-p PERIOD, --period=PERIOD     Period (us)\n-b BUDGET, --budget=BUDGET     Budget (us)\n-e Extratime, --extratime=Extratime Extratime (1=yes, 0=no)\n"),
            new Entry("domid", false, false,
                    "Convert a domain name to domain id",
                    "<DomainName>",
                    null),
            new Entry("domname", false, false,
                    "Convert a domain id to domain name",
                    "<DomainId>",
                    null),
            new Entry("rename", false, true,
                    "Rename a domain",
                    "<Domain> <NewDomainName>",
                    null),
            new Entry("trigger", false, true,
                    "Send a trigger to a domain",
                    "<Domain> <nmi|reset|init|power|sleep|s3resume> [<VCPU>]",
                    null),
            new Entry("sysrq", false, true,
                    "Send a sysrq to a domain",
                    "<Domain> <letter>",
                    null),
            new Entry("debug-keys", false, true,
                    "Send debug keys to Xen",
                    "<Keys>",
                    null),
            new Entry("set-parameters", false, true,
                    "Set hypervisor parameters",
                    "<Params>",
                    null),
            new Entry("dmesg", false, false,
                    "Read and/or clear dmesg buffer",
                    "[-c]",
                    "  -c                        Clear dmesg buffer as well as printing it"),
            new Entry("top", false, false,
                    "Monitor a host and the domains in real time",
                    "",
                    null),
            new Entry("network-attach", true, true,
                    "Create a new virtual network device",
                    "<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>] [accel=<accel>] [mtu=<mtu>]",
                    null),
            new Entry("network-list", false, false,
                    "List virtual network interfaces for a domain",
                    "<Domain(s)>",
                    null),
            new Entry("network-detach", false, true,
                    "Destroy a domain's virtual network device",
                    "<Domain> <DevId|mac>",
                    null),
            new Entry("channel-list", false, false,
                    "List virtual channel devices for a domain",
                    "<Domain(s)>",
                    null),
            new Entry("block-attach", true, true,
                    "Create a new virtual block device",
                    "<Domain> <disk-spec-component(s)>...",
                    null),
            new Entry("block-list", false, false,
                    "List virtual block devices for a domain",
                    "<Domain(s)>",
                    null),
            new Entry("block-detach", false, true,
                    "Destroy a domain's virtual block device",
                    "[option] <Domain> <DevId>",
                    "-f, --force        do not wait for the domain to release the device"),
            new Entry("vtpm-attach", true, true,
                    "Create a new virtual TPM device",
                    "<Domain> [uuid=<uuid>] [backend=<BackDomain>]",
                    null),
            new Entry("vtpm-list", false, false,
                    "List virtual TPM devices for a domain",
                    "<Domain(s)>",
                    null),
            new Entry("vtpm-detach", false, true,
                    "Destroy a domain's virtual TPM device",
                    "<Domain> <DevId|uuid>",
                    null),
            new Entry("vkb-attach", true, true,
                    "Create a new virtual keyboard device",
                    "<Domain> <vkb-spec-component(s)>...",
                    null),
            new Entry("vkb-list", false, false,
                    "List virtual keyboard devices for a domain",
                    "<Domain(s)>",
                    null),
            new Entry("vkb-detach", false, true,
                    "Destroy a domain's virtual keyboard device",
                    "<Domain> <DevId>",
                    null),
            new Entry("vdispl-attach", true, true,
                    "Create a new virtual display device",
                    "<Domain> [backend=<BackDomain>] [be-alloc=<BackAlloc>] [connectors='<Connectors>']",
                    "    BackAlloc  - set to 1 to if backend allocates display buffers\n    Connectors - list of connector's description in ID:WxH format,\n                 where: ID - unique connector ID, W - connector width,\n                 H - connector height: connectors='id0:800x600;id1:1024x768'\n"),
            new Entry("vdispl-list", false, false,
                    "List virtual display devices for a domain",
                    "<Domain(s)>",
                    null),
            new Entry("vdispl-detach", false, true,
                    "Destroy a domain's virtual display device",
                    "<Domain> <DevId>",
                    null),
            new Entry("vsnd-attach", true, true,
                    "Create a new virtual sound device",
                    "<Domain> <vsnd-spec-component(s)>...",
                    null),
            new Entry("vsnd-list", false, false,
                    "List virtual sound devices for a domain",
                    "<Domain(s)>",
                    null),
            new Entry("vsnd-detach", false, true,
                    "Destroy a domain's virtual sound device",
                    "<Domain> <DevId>",
                    null),
            new Entry("uptime", false, false,
                    "Print uptime for all/some domains",
                    "[-s] [Domain]",
                    null),
            new Entry("claims", false, false,
                    "List outstanding claim information about all domains",
                    "",
                    ""),
            new Entry("cpupool-create", true, true,
                    "Create a new CPU pool",
                    "[options] [<ConfigFile>] [Variable=value ...]",
                    "-h, --help                   Print this help.\n-f FILE, --defconfig=FILE    Use the given configuration file.\n-n, --dryrun                 Dry run - prints the resulting configuration.\n                              (deprecated in favour of global -N option).\n\nSee the xlcpupool.cfg(5) manpage for more information."),
            new Entry("cpupool-list", false, false,
                    "List CPU pools on host",
                    "[-c|--cpus] [<CPU Pool>]",
                    "-c, --cpus                     Output list of CPUs used by a pool"),
            new Entry("cpupool-destroy", false, true,
                    "Deactivates a CPU pool",
                    "<CPU Pool>",
                    null),
            new Entry("cpupool-rename", false, true,
                    "Renames a CPU pool",
                    "<CPU Pool> <new name>",
                    null),
            new Entry("cpupool-cpu-add", false, true,
                    "Adds a CPU to a CPU pool",
                    "<CPU Pool> <CPU nr>|node:<node nr>",
                    null),
            new Entry("cpupool-cpu-remove", false, true,
                    "Removes a CPU from a CPU pool",
                    "<CPU Pool> <CPU nr>|node:<node nr>",
                    null),
            new Entry("cpupool-migrate", false, true,
                    "Moves a domain into a CPU pool",
                    "<Domain> <CPU Pool>",
                    null),
            new Entry("cpupool-numa-split", false, true,
                    "Splits up the machine into one CPU pool per NUMA node",
                    "",
                    null),
            new Entry("getenforce", false, false,
                    "Returns the current enforcing mode of the Flask Xen security module",
                    "",
                    null),
            new Entry("setenforce", false, true,
                    "Sets the current enforcing mode of the Flask Xen security module",
                    "<1|0|Enforcing|Permissive>",
                    null),
            new Entry("loadpolicy", false, true,
                    "Loads a new policy into the Flask Xen security module",
                    "<policy file>",
                    null),
            new Entry("remus", false, true,
                    "Enable Remus HA for domain",
                    "[options] <Domain> [<host>]",
                    "-i MS                   Checkpoint domain memory every MS milliseconds (def. 200ms).\n-u                      Disable memory checkpoint compression.\n-s <sshcommand>         Use <sshcommand> instead of ssh.  String will be passed\n                        to sh. If empty, run <host> instead of \n                        ssh <host> xl migrate-receive -r [-e]\n-e                      Do not wait in the background (on <host>) for the death\n                        of the domain.\n-N <netbufscript>       Use netbufscript to setup network buffering instead of the\n                        default script (/etc/xen/scripts/remus-netbuf-setup).\n-F                      Enable unsafe configurations [-b|-n|-d flags]. Use this option\n                        with caution as failover may not work as intended.\n-b                      Replicate memory checkpoints to /dev/null (blackhole).\n                        Works only in unsafe mode.\n-n                      Disable network output buffering. Works only in unsafe mode.\n-d                      Disable disk replication. Works only in unsafe mode.\n-c                      Enable COLO HA. It is conflict with -i and -b, and memory\n                        checkpoint must be disabled.\n-p                      Use COLO userspace proxy."),
            new Entry("devd", false, true,
                    "Daemon that listens for devices and launches backends",
                    "[options]",
                    "-F                      Run in the foreground.\n-p, --pidfile [FILE]    Write PID to pidfile when daemonizing."),
            new Entry("psr-hwinfo", false, true,
                    "Show hardware information for Platform Shared Resource",
                    "[options]",
                    "-m, --cmt       Show Cache Monitoring Technology (CMT) hardware info\n-a, --cat       Show Cache Allocation Technology (CAT) hardware info\n-b, --mba       Show Memory Bandwidth Allocation (MBA) hardware info\n"),
            new Entry("psr-cmt-attach", false, true,
                    "Attach Cache Monitoring Technology service to a domain",
                    "<Domain>",
                    null),
            new Entry("psr-cmt-detach", false, true,
                    "Detach Cache Monitoring Technology service from a domain",
                    "<Domain>",
                    null),
            new Entry("psr-cmt-show", false, true,
                    "Show Cache Monitoring Technology information",
                    "<PSR-CMT-Type> <Domain>",
                    "Available monitor types:\n\"cache-occupancy\":         Show L3 cache occupancy(KB)\n\"total-mem-bandwidth\":     Show total memory bandwidth(KB/s)\n\"local-mem-bandwidth\":     Show local memory bandwidth(KB/s)\n"),
            new Entry("psr-cat-set", false, true,
                    "Set cache capacity bitmasks(CBM) for a domain",
                    "[options] <Domain> <CBM>",
                    "-s <socket>       Specify the socket to process, otherwise all sockets are processed\n-l <level>        Specify the cache level to process, otherwise L3 cache is processed\n-c                Set code CBM if CDP is supported\n-d                Set data CBM if CDP is supported\n"),
            new Entry("psr-cat-show", false, true,
                    "Show Cache Allocation Technology information",
                    "[options] <Domain>",
                    "-l <level>        Specify the cache level to process, otherwise L3 cache is processed\n"),
            new Entry("psr-mba-set", false, true,
                    "Set throttling value (THRTL) for a domain",
                    "[options] <Domain> <THRTL>",
                    "-s <socket>       Specify the socket to process, otherwise all sockets are processed\n"),
            new Entry("psr-mba-show", false, true,
                    "Show Memory Bandwidth Allocation information",
                    "<Domain>",
                    null),
            new Entry("usbctrl-attach", false, true,
                    "Create a virtual USB controller for a domain",
                    "<Domain> [type=pv] [version=<version>] [ports=<number>]",
                    null),
            new Entry("usbctrl-detach", false, true,
                    "Remove the virtual USB controller specified by <DevId> for a domain",
                    "<Domain> <DevId>",
                    null),
            new Entry("usbdev-attach", false, true,
                    "Attach a USB device to a domain",
                    "<Domain> hostbus=<busnum> hostaddr=<devnum> [controller=<DevId> [port=<port>]]",
                    null),
            new Entry("usbdev-detach", false, true,
                    "Detach a USB device from a domain",
                    "<Domain> <controller> <port>",
                    null),
            new Entry("usb-list", false, false,
                    "List information about all USB controllers and devices for a domain",
                    "<Domain>",
                    null),
            new Entry("qemu-monitor-command", false, true,
                    "Issue a qemu monitor command to the device model of a domain",
                    "<Domain> <Command>",
                    null),
            new Entry("xenstore-quota-get", false, false,
                    "List global or domain specific Xenstore quotas",
                    "<Domain>|-g",
                    null),
            new Entry("xenstore-quota-set", false, true,
                    "Set global or domain specific Xenstore quotas",
                    "<Domain>|-g <quota>=<val>...",
                    null),
            new Entry("xenstore-quota-set", false, true,
                    "Set global or domain specific Xenstore quotas",
                    "<Domain>|-g <quota>=<val>...",
                    "")
    );

    /** The commands jxen has, in Xen's order, then jxen's own; texts as Xen's, options those jxen takes. */
    static final Map<String, Entry> JXEN = jxen();

    private static Map<String, Entry> jxen() {
        Map<String, Entry> over = new LinkedHashMap<>();
        put(over, "create", "<ConfigFile> [options] [vars]",
                "-c                      Connect to the console after the domain is created.\n"
                + "-d                      Enable debug messages.\n"
                + "-e                      Do not wait in the background for the death of the domain.\n"
                + "-F                      Run in foreground until death of the domain.\n"
                + "-f FILE, --defconfig=FILE\n                     Use the given configuration file.\n"
                + "-h                      Print this help.\n"
                + "-n, --dryrun            Dry run - prints the resulting configuration\n"
                + "                         (deprecated in favour of global -N option).\n"
                + "-p                      Leave the domain paused after it is created.\n"
                + "-q, --quiet             Quiet.");
        put(over, "list", "[options] [Domain]\n", "-l, --long              Output all VM details\n"
                + "-v, --verbose           Prints out UUIDs and security context");
        put(over, "destroy", null, xen("destroy").options());
        put(over, "shutdown", "[options] <-a|Domain>",
                "-a, --all               Shutdown all guest domains.\n"
                + "-h                      Print this help.\n"
                + "-F                      Fallback to ACPI power event for HVM guests with\n"
                + "                        no PV drivers.\n"
                + "-w, --wait              Wait for guest(s) to shutdown.\n");
        put(over, "reboot", "[options] <-a|Domain>",
                "-a, --all               Shutdown all guest domains.\n"
                + "-h                      Print this help.\n"
                + "-F                      Fallback to ACPI reset event for HVM guests with\n"
                + "                        no PV drivers.\n"
                + "-w, --wait              Wait for guest(s) to reboot.\n");
        put(over, "pause", null, null);
        put(over, "unpause", null, null);
        put(over, "console", null, null);
        put(over, "cd-insert", null, null);
        put(over, "cd-eject", null, null);
        put(over, "mem-max", null, null);
        put(over, "mem-set", null, null);
        put(over, "vcpu-list", null, null);
        put(over, "vcpu-set", null, xen("vcpu-set").options());
        put(over, "vm-list", null, null);
        put(over, "info", "[-n] [name]", "-n, --numa         List host NUMA topology information");
        put(over, "domid", null, null);
        put(over, "domname", null, null);
        put(over, "rename", null, null);
        put(over, "config-update", null, "-h                      Print this help.\n"
                + "-f FILE, --defconfig=FILE\n                     Use the given configuration file.\n"
                + "-d                      Enable debug messages.\n");
        put(over, "sysrq", null, null);
        over.put("dmesg", new Entry("dmesg", false, false,
                "Read the kernel log of dom0, or the console log of a domain (jxen: dom0's kernel log stands for"
                + " Xen's own)", "[-c] [Domain]", "  -c                        Clear dmesg buffer as well as printing it"));
        put(over, "block-attach", null, null);
        put(over, "block-list", null, null);
        put(over, "block-detach", null, xen("block-detach").options());
        put(over, "network-attach", null, null);
        put(over, "network-list", null, null);
        put(over, "network-detach", null, null);
        put(over, "uptime", null, null);
        put(over, "save", "[options] <Domain> <CheckpointFile>",
                "-h                      Print this help.\n"
                + "-c                      Leave domain running after creating the snapshot.\n"
                + "-p                      Leave domain paused after creating the snapshot.\n"
                + "--suspend-timeout=S     Seconds the guest has to acknowledge the suspend (default 60).");
        put(over, "restore", "[options] [<ConfigFile>] <CheckpointFile>", "-h                       Print this help.\n"
                + "-p                       Do not unpause domain after restoring it.");
        put(over, "migrate", "[options] <Domain> <RunDir|Address:Port>",
                "-h                      Print this help.\n"
                + "--live                  Pre-copy the memory while the guest runs, then stop and copy.\n"
                + "--suspend-timeout=S     Seconds the guest has to acknowledge the suspend (default 60).");
        // Xen's order for Xen's commands.
        Map<String, Entry> ordered = new LinkedHashMap<>();
        for (Entry e : XEN) if (over.containsKey(e.name())) ordered.put(e.name(), over.get(e.name()));
        ordered.put("block-resize", new Entry("block-resize", false, true,
                "Grow a domain's disk image while the disk stays attached; the guest sees the new size at once (jxen)",
                "[options] <Domain> <VirtualDevice> <Size>",
                "--shrink                Allow a size below the image's (what lies past it is lost).\n"
                + "<Size> is bytes, or with K, M, G or T; a multiple of 512."));
        ordered.put("network-rate", new Entry("network-rate", false, true,
                "Change a virtual network device's rate limit while it runs (jxen)", "<Domain> <DevId|mac> <Rate>",
                "<Rate> is as the vif's rate= (RATE/s[@INTERVAL], e.g. 10Mb/s@20ms), or unlimited."));
        ordered.put("device-attach", new Entry("device-attach", false, true,
                "Attach a device of a class (mydevice, ...) to a domain (jxen)", "<Domain> <Class> [<DevId>]",
                "--backend=DOMID         Backend domain (default 0).\n"
                + "--hotplug-script=PATH   Run PATH add|remove with XENBUS_PATH set."));
        ordered.put("device-detach", new Entry("device-detach", false, true,
                "Detach a device of a class from a domain (jxen)", "<Domain> <Class> <DevId>",
                "--backend=DOMID         Backend domain (default 0).\n"
                + "--hotplug-script=PATH   Run PATH remove with XENBUS_PATH set."));
        ordered.put("exec", new Entry("exec", false, false,
                "Run a guest utility inside a domain: dd, sha256sum, blkbench, insmod, rmmod, lsmod (jxen)",
                "<Domain> [--timeout S] -- <command> [args]", null));
        return ordered;
    }

    /**
     * xl commands registered with picocli that {@link #JXEN} does not describe (one added without an entry
     * here): Xen's texts if xl has the command, else what its picocli annotation says. Filled by {@link #register}.
     */
    private static final Map<String, Entry> OTHERS = Collections.synchronizedMap(new LinkedHashMap<>());

    /** Makes every command of {@code xl} (picocli's) known to help, also those without an entry in {@link #JXEN}. */
    static void register(CommandLine xl) {
        for (var e : xl.getSubcommands().entrySet()) {
            String n = e.getKey();
            if (n.equals("help") || JXEN.containsKey(n)) continue;
            Entry x = XEN.stream().filter(t -> t.name().equals(n)).findFirst().orElse(null);
            OTHERS.putIfAbsent(n, x != null ? new Entry(n, x.canDryrun(), x.modifies(), x.desc(), x.usage(), null)
                    : fromPicocli(n, e.getValue()));
        }
    }

    private static Entry fromPicocli(String name, CommandLine cl) {
        String desc = String.join(" ", cl.getCommandSpec().usageMessage().description()).strip();
        if (desc.endsWith(".")) desc = desc.substring(0, desc.length() - 1);
        StringBuilder usage = new StringBuilder(cl.getCommandSpec().options().size() > 1 ? "[options]" : "");
        for (PositionalParamSpec p : cl.getCommandSpec().positionalParameters()) {
            String label = "<" + p.paramLabel().replaceAll("^<|>$", "") + ">";
            usage.append(usage.isEmpty() ? "" : " ").append(p.arity().min() == 0 ? "[" + label + "]" : label);
        }
        return new Entry(name, false, false, desc, usage.toString(), null);
    }

    /** The command's entry, or null when jxen has no such command. */
    static Entry entry(String name) {
        Entry e = JXEN.get(name);
        return e != null ? e : OTHERS.get(name);
    }

    /** Xen's entry with jxen's usage and options where given (null: Xen's usage, no options). */
    private static void put(Map<String, Entry> m, String name, String usage, String options) {
        Entry x = xen(name);
        m.put(name, new Entry(name, x.canDryrun(), x.modifies(), x.desc(), usage != null ? usage : x.usage(), options));
    }

    static Entry xen(String name) {
        for (Entry e : XEN) if (e.name().equals(name)) return e;
        throw new IllegalArgumentException(name);
    }

    /**
     * cmdtable_lookup over Xen's table and jxen's additions: the command an exact name or an unambiguous prefix
     * names, or null.
     */
    static String lookup(String word) {
        List<String> names = new ArrayList<>();
        for (Entry e : XEN) names.add(e.name());
        for (String n : JXEN.keySet()) if (!names.contains(n)) names.add(n);
        synchronized (OTHERS) {
            for (String n : OTHERS.keySet()) if (!names.contains(n)) names.add(n);
        }
        String found = null;
        int count = 0;
        for (String n : names) {
            if (n.startsWith(word)) {
                if (n.length() == word.length()) return n;
                found = n;
                count++;
            }
        }
        return count == 1 ? found : null;
    }

    /** xl help: the usage line and the commands jxen has, as xl lists its table. */
    static String full() {
        // xl 4.18's global options (-T is new there), then jxen's own.
        StringBuilder b = new StringBuilder("Usage xl [-vfNtT] [-H DIR] <subcommand> [args]\n\n");
        b.append("xl full list of subcommands:\n\n");
        List<Entry> all = new ArrayList<>(JXEN.values());
        synchronized (OTHERS) {
            all.addAll(OTHERS.values());
        }
        for (Entry e : all) {
            b.append(String.format(" %-19s ", e.name()));
            if (e.name().length() > 19) b.append(String.format("\n %-19s ", ""));
            b.append(e.desc()).append('\n');
        }
        return b.toString();
    }

    /** xl help CMD (and xl CMD -h): its usage, description and options; a command jxen lacks, xl's line. */
    static String help(String name) {
        Entry e = entry(name);
        if (e == null) return "command \"" + name + "\" not implemented\n";
        // As xl's help: -f for a command that modifies domains, -N for one that can dry-run.
        StringBuilder b = new StringBuilder(String.format("Usage: xl [-vtT%s%s] [-H DIR] %s %s\n\n%s.\n\n",
                e.modifies() ? "f" : "", e.canDryrun() ? "N" : "", e.name(), e.usage(), e.desc()));
        if (e.options() != null) b.append("Options:\n\n").append(e.options()).append('\n');
        return b.toString();
    }
}
