# syntax=docker/dockerfile:1
#
# feedloom in a container: a multi-stage build (Rust toolchain only in the builder) and a small
# Debian runtime that runs the daemon as a non-root user.
#
# NOTE: this file has not been built here: the machine it was written on has the docker client
# but no Docker engine. Check it with `docker build -t feedloom .` before relying on it.
#
#   docker build -t feedloom .
#   docker run -d --name feedloom -p 8080:8080 -v feedloom-data:/var/lib/feedloom feedloom
#       → the shipped demo config (sample feeds baked into the image) on http://127.0.0.1:8080/
#   docker run -d --name feedloom -p 8080:8080 -v feedloom-data:/var/lib/feedloom \
#       -v "$PWD/config.toml:/etc/feedloom/config.toml:ro" feedloom
#       → your config. In it: [server] listen = "0.0.0.0:8080" (the container's port must be
#         reachable from outside it), base_url = the public URL, [store] path =
#         "/var/lib/feedloom/feedloom.sled" (the volume; the config's folder is read-only).
#   docker kill --signal HUP feedloom        reload the config (invalid → logged, old one kept)
#   docker run --rm -v "$PWD/config.toml:/etc/feedloom/config.toml:ro" feedloom check
#   docker run ... feedloom --log-format json serve      JSON log lines for a collector
#
# No HEALTHCHECK: the slim runtime has no curl or wget, and adding one for a probe would grow
# the image; probe `GET /healthz` (200 when the store is usable) from the orchestrator instead.

# ---- builder -------------------------------------------------------------------------------
# The bookworm variant of rust:1-slim, so that the binary links against the same glibc as the
# runtime image (plain rust:1-slim follows the newest Debian, whose glibc is newer).
FROM rust:1-slim-bookworm AS builder
WORKDIR /src
# Release profile without debug info, stripped: a much smaller binary (Cargo.toml keeps
# debug = 1 for profiling on developer machines).
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=true
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cache the registry and the target directory between builds (BuildKit); the binary is copied
# out of the cache mount so that the next stage can take it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin feedloom \
 && install -m 0755 target/release/feedloom /usr/local/bin/feedloom

# ---- runtime -------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: TLS roots for https sources. Time zones are compiled into the binary.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/feedloom --shell /usr/sbin/nologin feedloom \
 && install -d -o feedloom -g feedloom -m 0750 /var/lib/feedloom \
 && install -d -m 0755 /etc/feedloom /usr/share/feedloom
COPY --from=builder /usr/local/bin/feedloom /usr/local/bin/feedloom
# The demo: the shipped config and its sample feeds, adapted to the container (listen on all
# interfaces, store in the volume, sample feeds by absolute path). Mount your own config over it.
COPY feeds /usr/share/feedloom/feeds
COPY config.toml /usr/share/feedloom/config.toml
RUN sed -e 's#^listen = .*#listen = "0.0.0.0:8080"#' \
        -e 's#^path = .*#path = "/var/lib/feedloom/feedloom.sled"#' \
        -e 's#url = "feeds/#url = "/usr/share/feedloom/feeds/#' \
        /usr/share/feedloom/config.toml > /etc/feedloom/config.toml \
 && /usr/local/bin/feedloom --config /etc/feedloom/config.toml check

USER feedloom:feedloom
WORKDIR /var/lib/feedloom
VOLUME ["/var/lib/feedloom"]
EXPOSE 8080
ENV FEEDLOOM_LOG=info
# feedloom is PID 1: it handles SIGTERM/SIGINT itself (stop polling, finish writes, flush, exit 0)
# and SIGHUP (reload the config).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/feedloom", "--config", "/etc/feedloom/config.toml"]
CMD ["serve"]
