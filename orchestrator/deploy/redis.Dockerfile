# Redis (the broker) from Debian's redis-server, built on the base with no network: the packages
# come from build/debs/redis (orchestrator/deploy/prepare.sh fetches them for this very base).
ARG BASE=shipyard-base:bookworm
FROM ${BASE}
COPY build/debs/redis /tmp/debs
RUN dpkg -i /tmp/debs/*.deb >/dev/null && rm -rf /tmp/debs && redis-server --version
USER redis
WORKDIR /var/lib/redis
EXPOSE 6379
# Reached only on the compose network. The store is the source of truth and the broker only a
# doorbell (the sweep re-sends what it lost), so nothing is saved to disk.
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
