"""Which commit last changed each file of a repository, kept so that nobody walks the history.

`git log -1 -- PATH` walks back from HEAD until it meets a commit that changed PATH: on OTA's
repositories (160,000 commits) that is seconds per file, and a run asks for every file. The path
index maps each path to that commit and remembers the HEAD it describes; ota updates it on every
commit and saves it (atomically) when the repository closes, and once a minute during long runs.
When HEAD moved without ota's index following (commits made with git, a first use on a repository
OTA built, a crash), one `git log --name-only` over the commits it has not seen brings it up to
date: the only `git` process of a session, and once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pygit2

from ota.errors import RecordError
from ota.store.folder import run_git

FILE_NAME = "ota-records.json"
_FORMAT = 1
_LOG_HEADER = "\x01"


class PathIndex:
    """path → id of the commit that last changed it, saved as `FILE_NAME` in the git directory."""

    def __init__(self, gitdir: Path, folder: Path) -> None:
        self._file = gitdir / FILE_NAME
        self._gitdir = gitdir
        self._folder = folder  # for error messages
        self.commits: dict[str, str] = {}
        self.head: str | None = None  # the HEAD `commits` describes
        #: (commit id, author, paths) of the commits `sync` found since the HEAD it last saw, newest
        #: first; empty when it had to read the whole history (a first use or a rewritten history).
        self.new_commits: list[tuple[str, str, list[str]]] = []
        self.exists = self._file.exists()
        self._load()

    def get(self, path: str) -> str | None:
        """The id of the commit that last changed `path`, if known."""
        return self.commits.get(path)

    def set(self, path: str, commit_id: str) -> None:
        """Note that `commit_id` changed `path` (it is the newest commit that did)."""
        self.commits[path] = commit_id

    def save(self, head: str | None) -> None:
        """Write the index, describing `head`, by rename: a crash leaves the old one or the new one."""
        data = {"format": _FORMAT, "head": head, "paths": self.commits}
        tmp = self._file.with_name(f"{FILE_NAME}.tmp")
        try:
            tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self._file)
        except OSError as exc:
            raise RecordError(self._folder, f"could not write {FILE_NAME}: {exc}") from exc
        self.head = head
        self.exists = True

    def sync(self, git: pygit2.Repository, head: str | None) -> None:
        """Bring the index up to `head` with one `git log` over the commits it has not seen, and save it."""
        if head == self.head and self.exists:
            return
        since = self.head
        if since is not None and head is not None:
            try:
                if not git.descendant_of(head, since):
                    since = None  # history was rewritten: start again from scratch
            except (pygit2.GitError, KeyError, ValueError):
                since = None  # `since` no longer exists
        if since is None or head is None:
            self.commits = {}
        self.new_commits = []
        if head is not None:
            seen: set[str] = set()
            for commit_id, author, paths in log_paths(self._gitdir, self._folder, head, since):
                if since is not None:
                    self.new_commits.append((commit_id, author, paths))
                for path in paths:
                    if path not in seen:  # newest first: the first commit met is the last change
                        seen.add(path)
                        self.commits[path] = commit_id
        self.save(head)

    def _load(self) -> None:
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
            if data.get("format") == _FORMAT:
                self.commits = {str(path): str(commit) for path, commit in data["paths"].items()}
                self.head = data["head"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.commits, self.head = {}, None  # missing or unreadable: rebuilt by `sync()`


def log_paths(
    gitdir: Path, folder: Path, head: str, since: str | None
) -> Iterator[tuple[str, str, list[str]]]:
    """(commit id, author, paths it changed) from `head` back to `since` (excluded), newest first."""
    fmt = f"--format={_LOG_HEADER}%H %an <%ae>"
    args = ["log", "-z", fmt, "--name-only", "--no-renames", "--no-color", head]
    output = run_git(gitdir, folder, *args, *([f"^{since}"] if since else []))
    # NUL-separated tokens: "\x01<id>" opens a commit, then its paths, the first one after "\n".
    commit_id: str | None = None
    author = ""
    paths: list[str] = []
    for token in output.decode("utf-8", errors="replace").split("\0"):
        token = token.lstrip("\n")
        if token.startswith(_LOG_HEADER):
            if commit_id is not None:
                yield commit_id, author, paths
            header = token[1:].split("\n", 1)[0]
            commit_id, author, paths = header[:40], header[41:], []
            if "\n" in token:  # the first path follows the header on the same token
                paths.append(token.split("\n", 1)[1])
        elif token:
            paths.append(token)
    if commit_id is not None:
        yield commit_id, author, paths
