# Cheershare as a container image: the esbuild bundle (dist/main.js) with the production
# dependencies, run as the unprivileged `node` user. Build: `docker build -t cheershare .`
# (or podman). Where no registry is reachable, pass a local base image:
#   --build-arg BASE_IMAGE=localhost/cheershare-base:bookworm-node24   (deploy/container/local-base.sh)
ARG BASE_IMAGE=node:24-bookworm-slim

# The bundle: every dependency, dev ones included (esbuild). Install scripts are skipped: the only
# ones are esbuild's binary check and our PGlite template, which the bundle does not need.
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts/build.mjs scripts/
COPY src src/
RUN node scripts/build.mjs

# What runs: production dependencies only, with sharp's prebuilt binary and libvips for linux-x64
# glibc (npm's optional @img/sharp-linux-x64 packages: nothing is compiled). The second command
# fails the build if sharp cannot load them. Only node_modules leaves this stage (npm's cache stays).
FROM ${BASE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts --os=linux --cpu=x64 --libc=glibc
RUN node -e "import('sharp').then(({ default: sharp }) => console.log('sharp', sharp.versions.sharp, 'libvips', sharp.versions.vips))"

FROM ${BASE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/var/lib/cheershare/data \
    UPLOAD_DIR=/var/lib/cheershare/uploads
WORKDIR /app
COPY package.json ./
COPY migrations migrations/
COPY public public/
COPY --from=dependencies /app/node_modules node_modules/
COPY --from=build /src/dist dist/
RUN mkdir -p /var/lib/cheershare/data /var/lib/cheershare/uploads && chown -R node:node /var/lib/cheershare
USER node
VOLUME ["/var/lib/cheershare"]
EXPOSE 4000
# The server drains requests and background work on SIGTERM (SHUTDOWN_TIMEOUT_SECONDS); give
# `docker stop` a longer --time (-t 40) than that budget.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The server itself is PID 1 and handles SIGTERM: no npm or shell in between to swallow the signal.
CMD ["node", "--max-semi-space-size=2", "dist/main.js"]
