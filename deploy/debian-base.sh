#!/bin/sh
# A base image for ota's Dockerfile made from Debian's packages alone, for machines that cannot
# pull python:3.11-slim-bookworm from Docker Hub (no registry reachable, or none trusted):
#
#   deploy/debian-base.sh [TAG]          # default ota-base:bookworm; as root, needs mmdebstrap
#   docker build --build-arg BASE=ota-base:bookworm -t ota .
#
# Debian bookworm's minimal system with python3 (3.11) and python3-venv, the same release, Python
# and package sources as Docker's Python image; apt's downloaded packages are not kept.
set -eu

tag="${1:-ota-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org}"

# The hook is run by mmdebstrap's shell, which gives it the new system's folder as $1.
# shellcheck disable=SC2016
mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
  bookworm - \
  "deb $mirror/debian bookworm main" \
  "deb $mirror/debian bookworm-updates main" \
  "deb $mirror/debian-security bookworm-security main" \
  | docker import --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' - "$tag"
