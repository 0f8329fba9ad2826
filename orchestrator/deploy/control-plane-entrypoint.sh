#!/bin/sh
# Start a Shipyard command in the control-plane image. For the compose worker (SHIPYARD_HOST_IDENTITY=1,
# with pid: host, SYS_ADMIN and the loop devices):
# - the container takes the host's name as well as its process ids. Sandbox containers are labelled
#   with their worker as <host>:<pid>, and the sweep that removes leaked sandboxes spares those whose
#   worker still runs on this host; under its own container name a worker would judge every other
#   worker's sandboxes on this engine by age alone, and remove long-running live ones. The name is
#   read from the parent process (the container runtime's shim, which runs on the host).
# - device nodes for loop devices the kernel may hand out later (a disk quota per sandbox is a
#   loop-mounted filesystem; a container's /dev holds only the nodes that existed when it started).
set -eu
if [ "${SHIPYARD_HOST_IDENTITY:-}" = 1 ]; then
  name=$(nsenter --target "$PPID" --uts hostname) || {
    echo "SHIPYARD_HOST_IDENTITY=1 needs the host's pid namespace, SYS_ADMIN and SYS_PTRACE" >&2
    exit 1
  }
  hostname "$name"
  if [ -e /dev/loop-control ]; then
    i=0
    while [ "$i" -lt 64 ]; do
      [ -e "/dev/loop$i" ] || mknod -m 660 "/dev/loop$i" b 7 "$i"
      i=$((i + 1))
    done
  fi
fi
exec "$@"
