# Stand-in for prom/prometheus:v2.42.0 (which cannot be pulled here): Debian's Prometheus
# 2.42, with wget for the compose file's health check; its data in /prometheus as in the
# original; the command line is the compose file's.
FROM debian:12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends prometheus wget \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && install -d -o nobody -g nogroup /prometheus
VOLUME ["/prometheus"]
USER nobody
EXPOSE 9090
ENTRYPOINT ["prometheus"]
