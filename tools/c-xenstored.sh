#!/usr/bin/env bash
# Runs Debian bookworm's C xenstored (Xen 4.17) on this machine, without a hypervisor, as a reference oracle.
#
#   tools/c-xenstored.sh RUNDIR [xenstored options...]
#
# Runs in the foreground (background it yourself; stop it with kill PID). Listens on RUNDIR/socket, traces to
# RUNDIR/trace. Clients: XENSTORED_PATH=RUNDIR/socket xenstore-ls -f -p
# Environment: C_XENSTORED_TRACE=off skips -T (its byte-at-a-time trace writes dominate benchmark numbers),
#              XEN_EXTRACT (where the .debs are unpacked, default ~/.cache/jxen/xen-4.17),
#              FAKEXEN_DOMIDS (domains xc_domain_getinfo reports as existing: ids and ranges, "0,3,5-9"; default "0").
#
# How: the packages are fetched with apt-get download and unpacked (no postinst, no services). xenstored's
# -D skips setup_structure() since XSA-326 and crashes on the first request, so it runs with dom0 init
# against tools/fakexen: stand-in libxenctrl/libxenevtchn/libxengnttab plus an LD_PRELOAD that redirects
# /proc/xen/xsd_port and /proc/xen/xsd_kva to files in RUNDIR. dom0's ring is a zero page nobody touches.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,12p' "$0"; exit 2; }
rundir="$(mkdir -p "$1" && cd "$1" && pwd)"; shift
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
extract="${XEN_EXTRACT:-$HOME/.cache/jxen/xen-4.17}"
bin="$extract/root/usr/lib/xen-4.17/bin/xenstored"
libs="$extract/root/usr/lib/x86_64-linux-gnu"

if [ ! -x "$bin" ]; then
  mkdir -p "$extract/debs"
  (cd "$extract/debs" && apt-get download xen-utils-4.17 libxenstore4 libxentoolcore1 libxentoollog1 libxenmisc4.17 \
      libxencall1 libxenforeignmemory1 libxendevicemodel1 libxenevtchn1 libxengnttab1 libxenhypfs1 >&2)
  for d in "$extract"/debs/*.deb; do dpkg -x "$d" "$extract/root"; done
fi

fake="$extract/fakexen"
if [ ! -f "$fake/fakexen-preload.so" ] || [ "$here/fakexen/fakexen.c" -nt "$fake/fakexen-preload.so" ]; then
  mkdir -p "$fake"
  for so in libxenctrl.so.4.17 libxenevtchn.so.1 libxengnttab.so.1; do
    gcc -O2 -Wall -shared -fPIC -Wl,-soname,$so -Wl,--version-script="$here/fakexen/fakexen.map" \
        -o "$fake/$so" "$here/fakexen/fakexen.c"
  done
  gcc -O2 -Wall -shared -fPIC -DFAKEXEN_PRELOAD -o "$fake/fakexen-preload.so" "$here/fakexen/fakexen.c" -ldl
fi

echo 1 > "$rundir/xsd_port"
head -c 4096 /dev/zero > "$rundir/xsd_kva"
rm -f "$rundir/socket"
echo "c-xenstored: XENSTORED_PATH=$rundir/socket;" \
  "xenstore-control: LD_LIBRARY_PATH=$libs $extract/root/usr/lib/xen-4.17/bin/xenstore-control" >&2
export FAKEXEN_DIR="$rundir" XENSTORED_RUNDIR="$rundir"
export LD_LIBRARY_PATH="$fake:$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
trace=(-T "$rundir/trace")
[ "${C_XENSTORED_TRACE:-on}" = off ] && trace=()
exec env LD_PRELOAD="$fake/fakexen-preload.so" "$bin" -N "${trace[@]}" "$@"
