#!/bin/sh
# Start a Shipyard command in the control-plane image.
# - With /dev/loop-control (the compose worker): device nodes for the loop devices the kernel hands
#   out. A disk quota per sandbox is a loop-mounted filesystem, and a container's /dev holds no
#   loop device node but those it was given.
# - With SHIPYARD_HOST_IDENTITY=1 (the compose worker: pid: host, SYS_ADMIN, SYS_PTRACE): the
#   container takes the host's name as well as its process ids. Sandbox containers are labelled with
#   their worker as <host>:<pid>, and the sweep that removes leaked sandboxes spares those whose
#   worker still runs on this host; under its own container name a worker would judge every other
#   worker's sandboxes on this engine by age alone, and remove long-running live ones. The name is
#   read from the parent process (the container runtime's shim, which runs on the host).
set -eu
if [ -e /dev/loop-control ]; then
  i=0
  while [ "$i" -lt 64 ]; do
    [ -e "/dev/loop$i" ] || mknod -m 660 "/dev/loop$i" b 7 "$i"
    i=$((i + 1))
  done
fi
if [ "${SHIPYARD_HOST_IDENTITY:-}" = 1 ]; then
  name=$(nsenter --target "$PPID" --uts hostname) || {
    echo "SHIPYARD_HOST_IDENTITY=1 needs the host's pid namespace, SYS_ADMIN and SYS_PTRACE" >&2
    exit 1
  }
  hostname "$name"
fi
exec "$@"
