#!/usr/bin/env bash
# Prepare everything docker-compose.yml builds from, so that `docker-compose build` needs neither an
# image registry nor the network: the Debian base image (debootstrap, when missing), the Debian
# packages of redis-server and PostgreSQL for that base, and a wheelhouse of Shipyard and its
# dependencies for the base's Python. Each download runs in a throwaway container of the base (so
# it fetches what that base lacks, for its Python): Debian's mirror, and PyPI through pip.
# Usage: orchestrator/deploy/prepare.sh [BUILD_DIR] [debs] [wheels]
#   BUILD_DIR  default: orchestrator/deploy/build (where docker-compose.yml looks)
#   debs, wheels  prepare only these parts (default: both)
# Environment: SHIPYARD_BASE_IMAGE (default shipyard-base:bookworm), PY (the host Python that builds
# Shipyard's own wheel; default .venv/bin/python, else python3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(mkdir -p "${1:-$here/build}" && cd "${1:-$here/build}" && pwd)
shift || true
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(debs wheels)
base="${SHIPYARD_BASE_IMAGE:-shipyard-base:bookworm}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/shipyard/deploy"
PY="${PY:-$([ -x "$root/.venv/bin/python" ] && echo "$root/.venv/bin/python" || echo python3)}"

if ! docker image inspect "$base" >/dev/null 2>&1; then
  if [ "$base" = shipyard-base:bookworm ]; then
    bash "$root/sandboxes/images/build-base.sh" "$base"
  else
    echo "base image $base is missing: build or load it first" >&2; exit 1
  fi
fi

for part in "${parts[@]}"; do
  case "$part" in
    debs)
      # Resolved inside the base itself, so exactly what the base lacks is fetched.
      echo "downloading redis-server and postgresql for $base into $out/debs"
      rm -rf "$out/debs" && mkdir -p "$out/debs/redis/partial" "$out/debs/postgres/partial"
      docker run --rm -v "$out/debs:/debs" "$base" sh -euc '
        apt-get update -qq
        fetch() { dir=$1; shift; apt-get install -qq -y --download-only --no-install-recommends \
          -o Dir::Cache::archives="/debs/$dir" "$@" >/dev/null; rm -rf "/debs/$dir/partial" "/debs/$dir/lock"; }
        fetch redis redis-server
        fetch postgres postgresql' || { echo "downloading Debian packages in $base failed" >&2; exit 1; }
      ;;
    wheels)
      echo "downloading Shipyard's dependencies for the Python of $base into $out/wheels"
      rm -rf "$out/wheels" && mkdir -p "$out/wheels/deps" "$out/wheels/shipyard" "$cache"
      "$PY" -c 'import sys, tomllib; print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' \
        "$root/pyproject.toml" >"$out/wheels/deps/requirements.txt"
      # Kept per requirement list and base image: a later run (a code change) reuses them as they are.
      key=$( (cat "$out/wheels/deps/requirements.txt"; docker image inspect -f '{{.Id}}' "$base") | sha256sum | cut -c1-16)
      kept="$cache/wheels-$key"
      if [ ! -f "$kept/.complete" ]; then
        rm -rf "$kept" && mkdir -p "$kept"
        # By the base's own pip, so environment markers are judged for its Python (the host's pip
        # would judge them for the host's); it trusts the host's CA bundle, as the host's pip does.
        ca=()
        for bundle in "${PIP_CERT:-}" /etc/ssl/certs/ca-certificates.crt; do
          if [ -n "$bundle" ] && [ -f "$bundle" ]; then
            ca=(-v "$bundle:/etc/shipyard-host-ca.crt:ro" -e PIP_CERT=/etc/shipyard-host-ca.crt); break
          fi
        done
        docker run --rm "${ca[@]}" -v "$out/wheels/deps:/wheels" -v "$cache/pip:/root/.cache/pip" "$base" \
          python3 -m pip download --quiet --disable-pip-version-check --only-binary=:all: --dest /wheels \
          -r /wheels/requirements.txt || { echo "downloading wheels in $base failed" >&2; exit 1; }
        cp "$out/wheels/deps/"*.whl "$kept/" && touch "$kept/.complete"
      else
        cp "$kept/"*.whl "$out/wheels/deps/"
      fi
      # Built from a copy: a build in the source tree would leave build/ and *.egg-info behind.
      src=$(mktemp -d /tmp/shipyard-src.XXXXXX)
      trap 'rm -rf "$src"' EXIT
      tar -C "$root" --exclude=__pycache__ --exclude=orchestrator/deploy/build -cf - \
        pyproject.toml README.md orchestrator agents sandboxes workflows | tar -C "$src" -xf -
      "$PY" -m pip wheel --quiet --no-deps --wheel-dir "$out/wheels/shipyard" "$src"
      ;;
    *) echo "unknown part '$part' (expected debs or wheels)" >&2; exit 2 ;;
  esac
done
echo "prepared $out"
