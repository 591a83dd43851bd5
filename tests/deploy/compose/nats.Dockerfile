# Stand-in for nats:2.9-alpine (which cannot be pulled here): Debian's nats-server 2.9, with
# wget for the compose file's health check; the command line is the compose file's.
FROM debian:12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends nats-server wget \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
USER nobody
EXPOSE 4222 8222
ENTRYPOINT ["nats-server"]
