"""Publishing: push the snapshots and versions repositories to their `origin` remote.

Each repository's current branch is pushed to the branch of the same name, snapshots first
(versions cite them: when the snapshots cannot be pushed, the versions wait). Nothing is ever
forced: a remote that has commits the repository does not have refuses the push, and that is
reported. A failed push loses nothing (the commits stay in the local repository) and the next
run's push sends them. Credentials come only from the environment and git's own configuration
(credential helpers, SSH keys); git never prompts (an unattended run would wait forever), and
every message is scrubbed of `user:password@` in URLs before it is logged or stored.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ota.redact import redact
from ota.settings import DEFAULT_PUBLISH_TIMEOUT

DEFAULT_REMOTE = "origin"
DEFAULT_TIMEOUT = DEFAULT_PUBLISH_TIMEOUT  # `[track] publish_timeout`
#: `scheme://user:password@host` and `scheme://token@host`: the part before `@` is a secret.
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


@dataclass(frozen=True)
class PushResult:
    """What pushing one repository did."""

    name: str  # "snapshots" or "versions"
    path: Path
    ok: bool
    #: Why it was not pushed, scrubbed of credentials; empty when pushed.
    error: str = ""


def scrub(text: str) -> str:
    """`text` with the credentials of every URL in it (and any other secret) replaced by `***`."""
    return redact(_CREDENTIALS.sub(r"\g<scheme>***@", text))


def publish(
    repositories: Sequence[tuple[str, Path]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    remote: str = DEFAULT_REMOTE,
    environ: Mapping[str, str] | None = None,
) -> list[PushResult]:
    """Push each `(name, folder)` in order; after a failure, the later ones are not pushed.

    Never raises for a push that fails: each result says what happened.
    """
    results: list[PushResult] = []
    for name, folder in repositories:
        if results and not results[-1].ok:
            reason = f"held back: {results[-1].name} could not be pushed (these records cite them)"
            results.append(PushResult(name, folder, False, reason))
            continue
        try:
            push(folder, timeout=timeout, remote=remote, environ=environ)
        except PushError as error:
            results.append(PushResult(name, folder, False, str(error)))
        else:
            results.append(PushResult(name, folder, True))
    return results


class PushError(Exception):
    """A push that did not happen; the message is scrubbed of credentials."""


def push(
    folder: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    remote: str = DEFAULT_REMOTE,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Push `folder`'s current branch to `remote`'s branch of the same name, or raise PushError."""
    gitdir = folder / ".git"
    if not gitdir.is_dir():
        raise PushError(f"{folder}: is not a git repository (nothing recorded yet?)")
    env = _environment(environ)
    branch = _git(gitdir, ["symbolic-ref", "-q", "HEAD"], env, timeout).strip()
    if not branch.startswith("refs/heads/"):
        raise PushError(f"{folder}: HEAD is not on a branch")
    try:
        _git(gitdir, ["remote", "get-url", remote], env, timeout)
    except PushError:
        raise PushError(
            f"{folder}: has no '{remote}' remote (add one: git -C {folder} remote add {remote} URL)"
        ) from None
    try:
        _git(gitdir, ["push", "--porcelain", remote, f"{branch}:{branch}"], env, timeout)
    except PushError as error:
        raise PushError(f"{folder}: push to '{remote}' failed: {error}") from None


def _environment(environ: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ if environ is None else environ)
    env["LC_ALL"] = "C"  # messages in English, as they are reported
    env["GIT_TERMINAL_PROMPT"] = "0"  # no username/password prompt: fail instead of waiting
    # SSH must not ask either (unknown host key, passphrase); an operator's own command is kept.
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def _git(gitdir: Path, args: list[str], env: Mapping[str, str], timeout: float) -> str:
    """Run git; its output, or PushError with its scrubbed error output."""
    command = ["git", "--git-dir", str(gitdir), *args]
    try:
        # A session of its own, so that a timeout ends git's helpers (ssh, git-remote-https) too.
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as error:
        raise PushError(f"could not run git: {error}") from error
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise PushError(f"git {args[0]} took more than {timeout:g} s and was stopped") from None
    if process.returncode != 0:
        message = _message(stderr.decode(errors="replace"), stdout.decode(errors="replace"))
        raise PushError(scrub(message or f"git {args[0]} exited with {process.returncode}"))
    return stdout.decode(errors="replace")


def _message(stderr: str, stdout: str) -> str:
    """git's reasons in one line: its error lines, the remote's, and a rejected ref's reason."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    # --porcelain puts "!<tab>ref:ref<tab>[rejected] (reason)" on stdout
    lines += [line.split("\t")[-1] for line in stdout.splitlines() if line.startswith("!")]
    return "; ".join(line for line in lines if not line.startswith(("To ", "Done")))
