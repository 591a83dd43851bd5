# Stand-in for postgres:15-bookworm (which cannot be pulled here): Debian's PostgreSQL 15 with
# the parts of the official image's entrypoint the compose file uses (POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB on first start; the data in /var/lib/postgresql/data;
# `postgres ARGS...` as the command; pg_isready on the PATH).
FROM debian:12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-common \
    && sed -i 's/^#* *create_main_cluster.*/create_main_cluster = false/' \
         /etc/postgresql-common/createcluster.conf \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data \
    && install -d -o postgres -g postgres -m 2775 /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
VOLUME ["/var/lib/postgresql/data"]
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
