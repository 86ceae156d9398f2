# Convene in two stages: a Rust toolchain builds the release binary, a slim Debian runs it as
# an unprivileged user. Migrations, email templates and data/ (countries, demo data) are compiled
# into the binary; only the config/ folder is copied beside it.

FROM rust:1-bookworm AS builder
WORKDIR /src
# Dependencies first, against placeholder sources, so that a change to Convene's own code does
# not rebuild them (works with BuildKit and the classic builder alike).
COPY Cargo.toml Cargo.lock ./
COPY vendor ./vendor
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked --bin convene \
    && rm -rf src
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
COPY data ./data
# Newer than the placeholders' build, whatever the copied files' own times.
RUN touch src/lib.rs src/main.rs \
    && cargo build --release --locked --bin convene \
    && cp target/release/convene /usr/local/bin/convene

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system convene \
    && useradd --system --gid convene --home-dir /app --shell /usr/sbin/nologin convene
WORKDIR /app
COPY --from=builder /usr/local/bin/convene /usr/local/bin/convene
COPY config ./config
ENV CONVENE_CONFIG_DIR=/app/config \
    CONVENE__APP__ENVIRONMENT=production \
    CONVENE__SERVER__HOST=0.0.0.0
USER convene
EXPOSE 8080
CMD ["convene", "serve"]
