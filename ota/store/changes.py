"""What changed in a declarations repository since its main branch, for `--modified` checks.

Read-only: `git diff`, `git ls-files`, `git show` on the repository holding a declarations folder.
A contributor's branch is compared with where it left `main` (`git diff main...HEAD`), and what
is not committed yet (staged, unstaged, untracked files) counts as changed too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ota.errors import RecordError
from ota.store.folder import git_output

#: The branches a contribution is compared with, in order of preference.
BASE_BRANCHES = ("main", "origin/main")


@dataclass(frozen=True)
class Changes:
    """The files of a folder that differ from the base branch, and where that branch was left."""

    base: str
    #: The commit the branch started from (`git merge-base BASE HEAD`), None without commits yet.
    merge_base: str | None
    #: Changed files that still exist, as absolute paths.
    paths: tuple[Path, ...]


def _git(folder: Path, *args: str) -> bytes:
    return git_output(["git", "-c", "core.quotePath=false", "-C", str(folder), *args], folder, args[0])


def _succeeds(folder: Path, *args: str) -> bool:
    try:
        _git(folder, *args)
    except RecordError:
        return False
    return True


def _names(output: bytes) -> list[str]:
    return [name for name in output.decode("utf-8", errors="surrogateescape").split("\0") if name]


def changed_since_main(folder: Path, bases: tuple[str, ...] = BASE_BRANCHES) -> Changes:
    """The files under `folder` changed on this branch since `main`, committed or not.

    Raises RecordError when `folder` is not in a git repository or none of `bases` exists.
    """
    folder = folder.resolve()
    if not _succeeds(folder, "rev-parse", "--git-dir"):
        raise RecordError(folder, "is not in a git repository: --modified compares it with its main branch")
    top = Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip())
    base = next((name for name in bases if _succeeds(folder, "rev-parse", "--verify", "-q", name)), None)
    if base is None:
        raise RecordError(folder, f"has no branch {' or '.join(bases)} to compare with (--modified)")
    has_head = _succeeds(folder, "rev-parse", "--verify", "-q", "HEAD")
    merge_base = _git(folder, "merge-base", base, "HEAD").decode().strip() if has_head else None
    names: list[Path] = []
    if has_head:
        committed = _git(folder, "diff", "-z", "--name-only", "--diff-filter=d", f"{base}...HEAD", "--", ".")
        uncommitted = _git(folder, "diff", "-z", "--name-only", "--diff-filter=d", "HEAD", "--", ".")
        names += [top / name for name in _names(committed) + _names(uncommitted)]
    untracked = _git(folder, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
    names += [folder / name for name in _names(untracked)]
    existing = sorted({path for path in names if path.is_file()})
    return Changes(base=base, merge_base=merge_base, paths=tuple(existing))


def file_at(folder: Path, commit: str, path: Path) -> bytes | None:
    """The content of `path` (a file of `folder`'s repository) at `commit`, None if it had none."""
    top = Path(_git(folder.resolve(), "rev-parse", "--show-toplevel").decode().strip())
    relative = path.resolve().relative_to(top).as_posix()
    try:
        return _git(folder, "show", f"{commit}:{relative}")
    except RecordError:
        return None
