# ota: tracks the collection mounted at /collection on its schedule; `ota serve` from the same image.
#
#   docker build -t ota .
#   docker run -d --name ota -e PUID=$(id -u) -e PGID=$(id -g) -v /srv/collection:/collection ota
#   docker run -d -p 127.0.0.1:8000:8000 -v /srv/collection:/collection:ro ota serve
#
# The collection (declarations/, metadata.yml, ota.toml) and the snapshots and versions
# repositories are mounted, never copied into the image; see compose.yaml and the README.
FROM python:3.11-slim-bookworm

# git: ota reads and pushes the repositories with it; openssh-client: pushes over SSH.
# chromium: Debian's build, for the pages declared with executeClientScripts and OTA's JavaScript
# filters (never a download); libnss3-tools: certutil, with which Chromium is made to trust the
# authorities SSL_CERT_FILE names (an intercepting proxy's).
# tini: PID 1, which passes signals on and reaps the processes Chromium leaves behind.
# Debian's packages are not pinned: the slim image follows its security updates at each build.
# safe.directory: the mounted repositories may belong to another uid than the one ota runs as.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates chromium git libnss3-tools openssh-client tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /home/ota /collection \
 && chmod 1777 /home/ota \
 && git config --system safe.directory '*'

WORKDIR /opt/ota
COPY pyproject.toml README.md ./
COPY ota ./ota
RUN pip install --no-cache-dir . && rm -rf build ota.egg-info
COPY deploy/docker-entrypoint.sh /usr/local/bin/ota-entrypoint

# Docker's default seccomp profile refuses the user namespaces Chromium's sandbox needs; the
# container and its unprivileged user are the boundary. With a profile that allows them, set
# OTA_BROWSER_SANDBOX=true.
ENV OTA_BROWSER_SANDBOX=false \
    PUID=1000 \
    PGID=1000 \
    HOME=/home/ota \
    PYTHONUNBUFFERED=1

WORKDIR /collection
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5m --timeout=30s --start-period=2m --retries=2 CMD ["ota", "status", "--check"]
ENTRYPOINT ["tini", "--", "ota-entrypoint", "ota"]
CMD ["track", "--schedule", "--no-progress"]
