#!/usr/bin/env bash
# Build the offline sandbox base image (a minimal Debian with python3, pip and git) with
# debootstrap + `docker import`, for machines that cannot pull from an image registry.
# Usage: build-base.sh [IMAGE_TAG]   (default: shipyard-base:bookworm). No-op when the image exists.
set -euo pipefail
tag="${1:-shipyard-base:bookworm}"
mirror="${SHIPYARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag already present"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
root=$(mktemp -d /tmp/shipyard-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrapping Debian bookworm into $root (about a minute)…"
debootstrap --variant=minbase \
  --include=python3,python3-pip,python3-venv,git,ca-certificates,procps \
  bookworm "$root" "$mirror" >/tmp/shipyard-debootstrap.log 2>&1 || {
  echo "debootstrap failed; see /tmp/shipyard-debootstrap.log" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
echo "imported base image $tag"
