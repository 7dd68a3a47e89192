"""The folder of a snapshots or versions repository: found, created if missing, locked; and the
`git` command run on it, for the few things libgit2 does not do as well (log, repack).

A folder is opened only if it is itself a repository (never one of its parents), created only if
it is missing or empty, and held by one ota process at a time with an flock that the kernel
releases when the process dies, however it dies.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import RepositoryOpenFlag, SortMode

from ota.errors import RecordError, RepositoryInUse

DEFAULT_BRANCH = "main"
LOCK = "ota-lock"  # not `*.lock`: people delete those when git says a lock is stale
_INIT_TMP = ".git.ota-init"
_PR_SET_PDEATHSIG = 1  # prctl(2): the signal the kernel sends a process when its parent dies


def open_or_init(folder: Path, create: bool) -> pygit2.Repository:
    """The repository in `folder`, created (empty, branch `main`) if `folder` is missing or empty."""
    if folder.exists() and not folder.is_dir():
        raise RecordError(folder, "exists and is not a folder")
    if folder.is_dir():
        try:
            # NO_SEARCH: a folder inside another repository must not open (and commit to) that one.
            git = pygit2.Repository(str(folder), RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError as exc:
            if (folder / ".git").exists():
                raise RecordError(folder, f"cannot be opened as a git repository: {exc}") from exc
            if {entry.name for entry in folder.iterdir()} - {_INIT_TMP}:
                raise RecordError(folder, "exists and is not a git repository") from None
        else:
            if _object_format(git) != "sha1":  # packs and trees are written here with SHA-1 ids
                raise RecordError(folder, "uses SHA-256 object ids, which ota cannot write yet")
            return git
    if not create:
        raise RecordError(folder, "is not a git repository (and creating it was not allowed)")
    return _init(folder)


def _init(folder: Path) -> pygit2.Repository:
    """`git init -b main`, made atomic: built aside, then renamed to `.git`."""
    tmp = folder / _INIT_TMP
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if tmp.exists():  # a creation killed half-way
            for leftover in sorted(tmp.rglob("*"), reverse=True):
                leftover.rmdir() if leftover.is_dir() else leftover.unlink()
            tmp.rmdir()
        built = pygit2.init_repository(str(tmp), bare=True, initial_head=DEFAULT_BRANCH)
        built.config["core.bare"] = False
        built.config["core.logallrefupdates"] = True
        built.config["core.quotepath"] = False  # as OTA sets it: `git status` shows `service·A` as is
        built.free()
        os.rename(tmp, folder / ".git")
        return pygit2.Repository(str(folder), RepositoryOpenFlag.NO_SEARCH)
    except (pygit2.GitError, OSError) as exc:
        raise RecordError(folder, f"could not create the git repository: {exc}") from exc


def _object_format(git: pygit2.Repository) -> str:
    try:
        return str(git.config["extensions.objectformat"]).lower()
    except KeyError:
        return "sha1"


def lock(gitdir: Path, folder: Path) -> int:
    """Take the repository's ota lock (a file descriptor to close to release it), or raise."""
    try:
        fd = os.open(gitdir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RecordError(folder, f"cannot be written ({exc.strerror}: {gitdir / LOCK})") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise RepositoryInUse(folder, f"in use by another ota process (pid {holder or '?'})") from None
        raise RecordError(folder, f"could not lock the repository: {exc}") from exc
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def branch_of(git: pygit2.Repository, folder: Path) -> str:
    """The branch HEAD points to (`refs/heads/main`), which ota commits to."""
    head = git.references.get("HEAD")
    target = head.target if head is not None else None
    if not isinstance(target, str) or not target.startswith("refs/heads/"):
        raise RecordError(folder, "HEAD is detached: check out a branch before recording")
    return target


def run_git(gitdir: Path, folder: Path, *args: str, config: tuple[str, ...] = ()) -> bytes:
    """Run `git [-c NAME=VALUE…] --git-dir GITDIR ARGS…`; return its output; failures become `RecordError`.

    From a single-threaded process (the recording process), git and the processes it starts die
    with the caller, however it dies (Linux): see `_die_with_caller`.
    """
    options = [part for setting in config for part in ("-c", setting)]
    command = ["git", *options, "--git-dir", str(gitdir), *args]
    die = _die_with_caller()
    if die is not None:
        command = ["sh", "-c", _KILL_GROUP_ON_TERM, "git", *command]
    return git_output(command, folder, args[0], preexec_fn=die, process_group=0 if die is not None else None)


def git_output(command: list[str], folder: Path, name: str, **options: Any) -> bytes:
    """Run a git `command` (its subcommand `name`) in the C locale without optional locks; return
    its output. A git that cannot start or fails becomes a `RecordError` naming `folder`."""
    env = {**os.environ, "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        result: subprocess.CompletedProcess[bytes] = subprocess.run(
            command, capture_output=True, env=env, check=False, **options
        )
    except OSError as exc:
        raise RecordError(folder, f"could not run git: {exc}") from exc
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace").strip()
        raise RecordError(folder, f"git {name} failed: {stderr}")
    return result.stdout


def commit_and_diff(git: pygit2.Repository, commit_id: str) -> tuple[pygit2.Commit, pygit2.Diff] | None:
    """A commit and what it changed against its first parent (everything, for a root commit); None
    when `commit_id` names no commit of `git`. Raises pygit2.GitError when the objects are unreadable."""
    try:
        commit = git.get(commit_id)
    except (ValueError, pygit2.GitError):
        return None
    if not isinstance(commit, pygit2.Commit):
        return None
    if commit.parents:
        return commit, commit.parents[0].tree.diff_to_tree(commit.tree)
    return commit, commit.tree.diff_to_tree(swap=True)


def unpublished(folder: Path, commit_ids: Iterable[str]) -> set[str]:
    """The commits among `commit_ids` that are not on the branch of the repository in `folder`:
    never written (a full disk, a read-only objects folder), or written but left off the branch.
    Read from the disk, after the writer closed: what a run's summary may claim."""
    wanted = set(commit_ids)
    try:
        git = pygit2.Repository(str(folder), RepositoryOpenFlag.NO_SEARCH)
        ref = git.references.get(branch_of(git, folder))
    except (pygit2.GitError, RecordError):
        return wanted
    try:
        if ref is None or not wanted:
            return wanted
        present = {commit_id for commit_id in wanted if commit_id in git}
        missing = wanted - present
        # Newest first: a run's commits are near the tip, so the walk stops early.
        for commit in git.walk(ref.target, SortMode.TOPOLOGICAL | SortMode.TIME):
            present.discard(str(commit.id))
            if not present:
                break
        return missing | present
    finally:
        git.free()  # its packs stay open otherwise, until garbage collection


def record_paths(tree: pygit2.Tree) -> list[str]:
    """The record files of a commit's tree, sorted: files at the root and dot-folders are not records."""
    found: list[str] = []

    def visit(tree: pygit2.Tree, prefix: str) -> None:
        for entry in tree:
            if isinstance(entry, pygit2.Tree):
                visit(entry, f"{prefix}{entry.name}/")
            elif isinstance(entry, pygit2.Blob):
                found.append(f"{prefix}{entry.name}")

    for entry in tree:
        if isinstance(entry, pygit2.Tree) and not str(entry.name).startswith("."):
            visit(entry, f"{entry.name}/")
    return sorted(found)


#: A shell that runs its arguments and, on SIGTERM, kills its process group: git and its children.
_KILL_GROUP_ON_TERM = 'trap "kill -KILL 0" TERM; "$@" & wait $!'


def _die_with_caller() -> Callable[[], None] | None:
    """What makes git and its children die with the process that runs it, however it dies (Linux).

    The recording process runs `git repack` when it closes a repository; killed meanwhile, it
    releases the repository's lock, and a repack left running would go on deleting and writing
    packs while the next run records. So git runs under a shell (`_KILL_GROUP_ON_TERM`), in a
    process group of its own, and the kernel sends that shell SIGTERM when the caller dies
    (`PR_SET_PDEATHSIG`, as for ota's workers): the shell kills the group, which holds git and
    the `git pack-objects` it starts (a signal asked for this way reaches one process, not its
    children). Only from a single-threaded process: `preexec_fn` is not safe where another
    thread may hold a lock at fork time.
    """
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child
    caller = os.getpid()

    def die_with_caller() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != caller:  # the caller died before the request above took effect
            os._exit(1)

    return die_with_caller
