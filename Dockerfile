# ota: tracks the collection copied into /collection on a cron schedule.
FROM python:3.11-slim

# git: ota reads the history of existing repositories with it (pygit2 writes the commits).
# chromium: renders the pages declared with executeClientScripts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git chromium \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/ota
COPY pyproject.toml README.md ./
COPY ota ./ota
RUN pip install --no-cache-dir .

WORKDIR /collection
COPY declarations ./declarations
COPY metadata.yml ./
VOLUME ["/collection/snapshots", "/collection/versions"]

ENTRYPOINT ["ota"]
CMD ["track", "--schedule", "--no-progress"]
