# ota: tracks the collection mounted at /collection on its schedule; `ota serve` from the same image.
#
#   docker build -t ota .
#   docker run -d --name ota -e PUID=$(id -u) -e PGID=$(id -g) --shm-size 1g -v /srv/collection:/collection ota
#   docker run -d --name ota-viewer --shm-size 1g -p 127.0.0.1:8000:8000 -v /srv/collection:/collection:ro ota serve --host 0.0.0.0 --port 8000
#
# Build options (BuildKit, Docker's builder since 23.0):
#   --build-arg BASE=IMAGE   another Debian bookworm image with python3 (3.11) and python3-venv,
#                            e.g. one made with mmdebstrap where Docker Hub cannot be reached
#   --secret id=ca,src=FILE  the certificate authorities pip must trust to reach PyPI (behind a
#                            proxy that intercepts TLS); used by pip during the build only, in no layer
#
# The collection (declarations/, metadata.yml, ota.toml) and the snapshots and versions
# repositories are mounted, never copied into the image; see compose.yaml and the README.
ARG BASE=python:3.11-slim-bookworm

# ota's dependencies, read from pyproject.toml, with the extras an operator's collection may use:
# notify (notifications) and timestamps. Alone in a stage: the next copies the list, so a change of
# pyproject.toml that leaves it as it was (the tests' settings, the linters') downloads nothing again.
FROM ${BASE} AS requirements
WORKDIR /src
COPY pyproject.toml ./
RUN python3 -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; extras = p["optional-dependencies"]; print("\n".join(p["dependencies"] + extras["notify"] + extras["timestamps"]))' > requirements.txt

# ota and its dependencies in a virtual environment, /opt/ota: the same on Docker's Python image
# and on Debian's python3 (which refuses packages installed system-wide with pip).
FROM ${BASE} AS build
WORKDIR /src
COPY --from=requirements /src/requirements.txt ./
# The dependencies first: a change of ota's code does not download them again.
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && python3 -m venv /opt/ota \
 && /opt/ota/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt
COPY pyproject.toml README.md ./
COPY ota ./ota
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && /opt/ota/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps .

FROM ${BASE}
# git: ota reads and pushes the repositories with it; openssh-client: pushes over SSH.
# chromium: Debian's build, for the pages declared with executeClientScripts, OTA's JavaScript
# filters and PDFs (pdf.js, shipped in ota/fetch/pdfjs-dist, reads them in it; never a download);
# libnss3-tools: certutil, with which Chromium is made to trust the authorities SSL_CERT_FILE
# names (an intercepting proxy's).
# libatomic1: the Node.js executable in Playwright's wheel, which drives Chromium, needs it.
# tini: PID 1, which passes signals on and reaps the processes Chromium leaves behind.
# Debian's packages are not pinned: the image follows Debian's security updates at each build.
# safe.directory: the mounted repositories may belong to another uid than the one ota runs as.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates chromium git libatomic1 libnss3-tools openssh-client tini \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /home/ota /collection \
 && chmod 1777 /home/ota \
 && git config --system safe.directory '*'

COPY --from=build /opt/ota /opt/ota
COPY deploy/docker-entrypoint.sh /usr/local/bin/ota-entrypoint

# Docker's default seccomp profile refuses the user namespaces Chromium's sandbox needs; the
# container and its unprivileged user are the boundary. With a profile that allows them, set
# OTA_BROWSER_SANDBOX=true.
ENV PATH=/opt/ota/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    OTA_BROWSER_SANDBOX=false \
    PUID=1000 \
    PGID=1000 \
    HOME=/home/ota \
    PYTHONUNBUFFERED=1

WORKDIR /collection
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5m --timeout=30s --start-period=2m --retries=2 CMD ["ota", "status", "--check"]
ENTRYPOINT ["tini", "--", "ota-entrypoint", "ota"]
CMD ["track", "--schedule", "--no-progress"]
