# PostgreSQL (the store) from Debian's postgresql, built on the base with no network: the packages
# come from build/debs/postgres (orchestrator/deploy/prepare.sh fetches them for this very base).
# Configured like the registry's postgres image: POSTGRES_USER, POSTGRES_PASSWORD (or
# POSTGRES_PASSWORD_FILE) and POSTGRES_DB create the cluster on first start, data in PGDATA.
ARG BASE=shipyard-base:bookworm
FROM ${BASE}
COPY build/debs/postgres /tmp/debs
RUN set -eu; \
    mkdir -p /etc/postgresql-common/createcluster.d; \
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/no-main-cluster.conf; \
    dpkg -i /tmp/debs/*.deb >/dev/null; rm -rf /tmp/debs; \
    ls /usr/lib/postgresql/*/bin/postgres
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
