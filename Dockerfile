# Multi-stage build: compile with the Rust toolchain, run on a slim Debian.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY src ./src
COPY migrations ./migrations
COPY assets ./assets
COPY templates ./templates
RUN cargo build --release --locked && strip target/release/livecredit

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/livecredit --create-home livecredit
COPY --from=build /src/target/release/livecredit /usr/local/bin/livecredit
USER livecredit
WORKDIR /var/lib/livecredit
ENV LIVECREDIT_BIND=0.0.0.0:8080 LIVECREDIT_DATA_DIR=/var/lib/livecredit
EXPOSE 8080
ENTRYPOINT ["livecredit"]
CMD ["serve"]
