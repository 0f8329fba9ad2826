# The control-plane image (worker and web) for docker-compose.yml, built with no network: Shipyard
# and its dependencies come from the wheelhouse orchestrator/deploy/prepare.sh puts in build/wheels.
# BASE: the debootstrap image the suite builds (default), or any Debian-like image with python3 and
# its venv module (e.g. python:3.12-slim from a registry; git and e2fsprogs are then installed from
# the Debian mirror, so that build needs the network). No secret goes into the image: passwords
# reach the containers at run time (environment, Docker secrets).
ARG BASE=shipyard-base:bookworm
FROM ${BASE}
# git (job clones), mkfs.ext4 and mount (a disk quota per sandbox), nsenter (the entrypoint).
RUN set -eu; missing=""; \
    for tool in git:git mkfs.ext4:e2fsprogs mount:mount nsenter:util-linux hostname:hostname; do \
        command -v "${tool%%:*}" >/dev/null || missing="$missing ${tool#*:}"; \
    done; \
    if [ -n "$missing" ]; then \
        apt-get update && apt-get install -y --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; \
    fi
# Dependencies first: their layer is reused while only Shipyard's own code changes.
COPY build/wheels/deps /tmp/wheels/deps
RUN python3 -m venv /opt/shipyard \
    && /opt/shipyard/bin/pip install --quiet --no-index --no-cache-dir --find-links /tmp/wheels/deps \
        -r /tmp/wheels/deps/requirements.txt \
    && rm -rf /tmp/wheels
COPY build/wheels/shipyard /tmp/wheels/shipyard
RUN /opt/shipyard/bin/pip install --quiet --no-index --no-cache-dir --no-deps /tmp/wheels/shipyard/*.whl \
    && rm -rf /tmp/wheels
COPY control-plane-entrypoint.sh /usr/local/bin/shipyard-entrypoint
ENV PATH=/opt/shipyard/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SHIPYARD_DATA_DIR=/var/lib/shipyard \
    LANG=C.UTF-8
ENTRYPOINT ["/usr/local/bin/shipyard-entrypoint"]
CMD ["shipyard", "--help"]
