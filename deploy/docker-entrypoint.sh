#!/bin/sh
# Entry point of the ota image: runs the command as an unprivileged user whose uid and gid are
# PUID and PGID (default 1000), so that files written to the mounted collection belong to the
# host user who owns it. Started as another user (`docker run --user UID:GID`), it changes nothing.
set -eu

if [ "$(id -u)" != "0" ]; then
  exec "$@"
fi

PUID="${PUID:-1000}"
PGID="${PGID:-1000}"
case "$PUID$PGID" in
  *[!0-9]*) echo "ota-entrypoint: PUID and PGID must be numbers (PUID=$PUID PGID=$PGID)" >&2; exit 2 ;;
esac

if ! getent group "$PGID" >/dev/null; then
  groupadd --gid "$PGID" ota
fi
if ! getent passwd "$PUID" >/dev/null; then
  useradd --uid "$PUID" --gid "$PGID" --home-dir /home/ota --no-create-home --shell /usr/sbin/nologin ota
fi

# Folders Docker created for the mounts (empty and owned by root) are given to the user; folders
# with content are never changed: their owner is the host's business.
for folder in /collection /collection/snapshots /collection/versions /collection/.ota; do
  if [ -d "$folder" ] && [ "$(stat -c %u "$folder")" = "0" ] && [ -z "$(ls -A "$folder")" ]; then
    chown "$PUID:$PGID" "$folder" 2>/dev/null \
      || echo "ota-entrypoint: $folder is empty and owned by root; could not give it to $PUID:$PGID" >&2
  fi
done

mkdir -p /home/ota
export HOME=/home/ota  # git and Chromium keep their settings there, not in root's home
exec setpriv --reuid="$PUID" --regid="$PGID" --init-groups "$@"
