# gkm-ikev2 GCKS image: `docker compose up` starts the key server on the embedded default
# (SQLite in /app/data, sample group on first start). No Docker engine runs on the project's
# build machines, so this file is checked by test/deploy/docker.test.ts, not built there.
FROM node:20-bookworm-slim

# g++/make/python3: better-sqlite3, pqclean (ML-KEM) and the native datapath addon build from source.
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY native ./native
COPY scripts ./scripts
RUN node scripts/build-native.mjs

# RFC 9838 §2.1.1: UDP 500/4500 (SHOULD) and 848 (MAY).
EXPOSE 500/udp 4500/udp 848/udp
VOLUME ["/app/data"]
ENV GCKS_DB=/app/data/gcks.db
# The launcher itself, so Node gets whatever flags its #! line carries (bin/node-flags.js).
CMD ["./bin/gcks.js", "start"]
