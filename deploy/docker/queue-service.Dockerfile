# queue-service: multi-stage image. Build from the checkout's root:
#   docker build -f deploy/docker/queue-service.Dockerfile -t callcenter/queue-service .
# Build stage: Debian 12 with the build packages of tools/dev/lib.sh (CC_PACKAGES minus the
# test-only ones); it is the same, to the letter, in the four Dockerfiles and builds every
# service, so that a builder caching layers (Docker, podman) compiles once for the four
# images (tests/deploy/check_containers.py keeps them identical). Runtime stage:
# debian:12-slim, non-root (uid 10001), only the shared libraries the binaries link (the
# check compares this list with the binaries' DT_NEEDED entries). Built and run by
# tests/deploy/compose_stack_it.py: see deploy/README.md.
FROM debian:12 AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libsofia-sip-ua-dev libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev \
      libnats-dev libpqxx-dev prometheus-cpp-dev libhowardhinnant-date-dev libyaml-cpp-dev espeak-ng sox \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build reads (.dockerignore keeps a developer's build/ and .local/ out).
COPY CMakeLists.txt ./
COPY proto/ proto/
COPY services/ services/
COPY tools/ tools/
COPY deploy/docker/grpc_health_probe.cpp deploy/docker/
COPY deploy/prompts/text/ deploy/prompts/text/
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCC_BUILD_TESTS=OFF \
    && cmake --build /build --target agent-registry queue-service media-relay signaling-edge cc-migrate ccctl \
    && g++ -std=c++20 -O2 -o /build/cc-grpc-health deploy/docker/grpc_health_probe.cpp \
         $(pkg-config --cflags --libs grpc++) \
    && cd /build && strip --strip-unneeded services/agent-registry/agent-registry \
         services/queue-service/queue-service services/media-relay/media-relay \
         services/signaling-edge/signaling-edge tools/cc-migrate tools/ccctl cc-grpc-health \
    && /src/tools/prompts.sh /build/prompts

FROM debian:12-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libabsl20220623 libprotobuf32 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libnats3.4 libpqxx-6.4 libdate-tz3 tzdata libyaml-cpp0.7 \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && groupadd --system --gid 10001 callcenter \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin callcenter
COPY --from=build /build/services/queue-service/queue-service /build/tools/cc-migrate /build/tools/ccctl /build/cc-grpc-health /usr/local/bin/
ENV CC_GRPC_LISTEN=0.0.0.0:50052 \
    CC_METRICS_LISTEN=0.0.0.0:9102 \
    CC_LOG_FORMAT=json
EXPOSE 50052/tcp 9102/tcp
USER 10001:10001
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/cc-grpc-health", "127.0.0.1:50052"]
ENTRYPOINT ["/usr/local/bin/queue-service"]
