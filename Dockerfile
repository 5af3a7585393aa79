# zfnet-pipeline built from this repository, on Node 24 (the current LTS).
#
#   docker build -t zfnet-pipeline .
#   docker run --rm -v "$PWD/work:/work" zfnet-pipeline run-pipeline top-activations --db /work/zfnet.db ...
#
# The image's PID 1 is tini, which forwards SIGTERM/SIGINT to its child and
# reaps zombies: `docker stop` or a Kubernetes eviction reaches run-pipeline,
# which finishes its batch, commits and exits (see docs/shards/).
#
# Build stage: `npm ci` compiles better-sqlite3 from source against the
# image's own Node headers (python3, make, g++; no prebuilt binary or header
# download), and skips onnxruntime-node's CUDA-download postinstall (the
# "allowScripts" table of package.json; ONNXRUNTIME_NODE_INSTALL=skip says the
# same to an npm older than 11.16, which ignores that table): the CPU
# binaries ship inside the npm package. Its `prepare` script runs tsc and
# scripts/make-bins-executable.mjs.
FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local \
    ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json tsconfig.json ./
COPY src src
COPY pipelines pipelines
COPY test test
COPY bench bench
COPY db db
COPY scripts/make-bins-executable.mjs scripts/
RUN npm ci --no-audit --no-fund
RUN npx tsc -p tsconfig.json \
 && node -e "require('better-sqlite3')(':memory:').prepare('SELECT 1').get()" \
 && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: the compiled JavaScript, production dependencies, the schema
# (db/*.sql) and tini; no compiler.
FROM node:24-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/db db
RUN chmod +x dist/src/cli/main.js \
 && ln -s /app/dist/src/cli/main.js /usr/local/bin/run-pipeline \
 && run-pipeline --help > /dev/null
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["run-pipeline", "--help"]
