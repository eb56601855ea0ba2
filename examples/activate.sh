#!/bin/bash
# Activates the mydevice split driver between dom0 (backend) and a guest (frontend) by hand, as the 2016 blog
# series "Xen - split driver" does: three nodes per end written one at a time with Xen's xenstore-* tools,
# the frontend's state first, dom0's last. jxen's own xenstore-write/-chmod take the same arguments, and
# Debian's xenstore-utils work unchanged against a jxen host: point them at its xenstored with
#   export XENSTORED_PATH=<run-dir>/xenstored/socket
#
# Usage: activate.sh DOMU_ID [world-read|per-domain]
#
# The two permission variants the blog discusses (the second argument picks one):
#   world-read  (chapter 1, the default) dom0's backend directory becomes readable by every domain:
#               xenstore-chmod $DOM0_KEY r
#   per-domain  (chapter 2) each directory is owned by its own end, readable and writable by the other end
#               and by nobody else, so the guest may write its state where dom0 reads it:
#               xenstore-chmod $DOM0_KEY r0 b$DOMU_ID
#               xenstore-chmod $DOMU_KEY r$DOMU_ID b0
# In a permission list the first entry names the owner (who always has full access) and what every other
# domain may do; each further entry overrides that for one domain (r read, w write, b both, n none).
#
# Before running it: load the backend in dom0 (jxen's dom0 has mydeviceback built in) and the frontend in the
# guest (drivers = ['mydevicefront'] in its config, see mydevice-guest.cfg, or `xl exec DOM -- insmod
# mydevicefront`).

DOMU_ID=$1
PERMS=${2:-world-read}

if [ -z "$DOMU_ID" ]; then
  echo "Usage: $0 DOMU_ID [world-read|per-domain]"
  echo
  echo "Connects a new mydevice, with dom0 as backend and domain DOMU_ID as frontend"
  exit 1
fi

DEVICE=mydevice
DOMU_KEY=/local/domain/$DOMU_ID/device/$DEVICE/0
DOM0_KEY=/local/domain/0/backend/$DEVICE/$DOMU_ID/0

set -e

# The frontend's directory: where its backend is
xenstore-write $DOMU_KEY/backend-id 0
xenstore-write $DOMU_KEY/backend "$DOM0_KEY"

# The backend's directory: where its frontend is
xenstore-write $DOM0_KEY/frontend-id $DOMU_ID
xenstore-write $DOM0_KEY/frontend "$DOMU_KEY"

case "$PERMS" in
  world-read)
    # The guest must be able to read dom0's side
    xenstore-chmod $DOM0_KEY r
    ;;
  per-domain)
    # Each side owns its directory; the other end may read and write it, nobody else may
    xenstore-chmod $DOM0_KEY r0 b$DOMU_ID
    xenstore-chmod $DOMU_KEY r$DOMU_ID b0
    ;;
  *)
    echo "$0: unknown permission variant $PERMS (world-read or per-domain)" >&2
    exit 1
    ;;
esac

# Switch both ends to Initialising: the frontend first, dom0 last, which probes the backend
xenstore-write $DOMU_KEY/state 1
xenstore-write $DOM0_KEY/state 1
