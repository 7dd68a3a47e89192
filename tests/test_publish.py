"""Publishing: both repositories pushed to a local bare `origin`, snapshots first; a rejected push
is reported and done by the next run; credentials never appear in what is reported."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from ota.store.publish import publish, push, scrub
from tests.test_dropin import PAGE, collection, write_service
from tests.test_status import status
from tests.test_track import git, track

REJECT_ONCE = """#!/bin/sh
# Refuse the first push (as a remote under maintenance would), accept the next ones.
marker="$(pwd)/rejected-once"
if [ ! -e "$marker" ]; then
  touch "$marker"
  echo "the archive is read-only for maintenance" >&2
  exit 1
fi
"""


def repository(path: Path, files: int = 1) -> Path:
    """A repository with `files` commits on `main`."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    for number in range(files):
        (path / f"file{number}.md").write_text(f"version {number}\n")
        git(path, "add", ".")
        git(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", f"commit {number}")
    return path


def remote(path: Path, hook: str | None = None) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    if hook is not None:
        script = path / "hooks" / "pre-receive"
        script.write_text(hook)
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return path


def with_origin(repo: Path, origin: Path | str) -> Path:
    git(repo, "remote", "add", "origin", str(origin))
    return repo


def remote_head(bare: Path) -> str:
    result = subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", "--verify", "-q", "refs/heads/main"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def test_both_repositories_are_pushed_to_their_origin(tmp_path: Path) -> None:
    """Each current branch reaches the branch of the same name on origin."""
    snapshots = with_origin(repository(tmp_path / "snapshots", 2), remote(tmp_path / "snapshots.git"))
    versions = with_origin(repository(tmp_path / "versions"), remote(tmp_path / "versions.git"))

    results = publish([("snapshots", snapshots), ("versions", versions)])

    assert [(r.name, r.ok, r.error) for r in results] == [("snapshots", True, ""), ("versions", True, "")]
    assert remote_head(tmp_path / "snapshots.git") == git(snapshots, "rev-parse", "HEAD").strip()
    assert remote_head(tmp_path / "versions.git") == git(versions, "rev-parse", "HEAD").strip()


def test_a_rejected_snapshots_push_holds_the_versions_back_until_the_next_run(tmp_path: Path) -> None:
    """Versions cite snapshots: when the snapshots are refused, the versions wait; the next run
    pushes both."""
    snapshots = with_origin(repository(tmp_path / "snapshots"), remote(tmp_path / "s.git", REJECT_ONCE))
    versions = with_origin(repository(tmp_path / "versions"), remote(tmp_path / "v.git"))
    repositories = [("snapshots", snapshots), ("versions", versions)]

    first = publish(repositories)

    assert not first[0].ok and "read-only for maintenance" in first[0].error
    assert not first[1].ok and "held back: snapshots could not be pushed" in first[1].error
    assert remote_head(tmp_path / "s.git") == "" and remote_head(tmp_path / "v.git") == ""

    second = publish(repositories)

    assert [r.ok for r in second] == [True, True]
    assert remote_head(tmp_path / "v.git") == git(versions, "rev-parse", "HEAD").strip()


def test_a_repository_without_origin_says_how_to_add_one(tmp_path: Path) -> None:
    """No `origin` remote: the error names the folder and the command to add one."""
    [result] = publish([("versions", repository(tmp_path / "versions"))])
    assert not result.ok
    assert f"{tmp_path / 'versions'}: has no 'origin' remote" in result.error
    assert "remote add origin URL" in result.error


def test_credentials_in_a_remote_url_never_reach_the_report(tmp_path: Path) -> None:
    """A push to https://user:secret@… that fails is reported without the secret."""
    repo = with_origin(repository(tmp_path / "versions"), "http://bot:s3cret-token@127.0.0.1:9/versions.git")
    [result] = publish([("versions", repo)], timeout=30)
    assert not result.ok and "push to 'origin' failed" in result.error
    assert "s3cret-token" not in result.error


def test_scrub_hides_the_credentials_of_every_url() -> None:
    """user:password@ and token@ are replaced; URLs without credentials are left alone."""
    text = "https://bot:abc@example.org/a and ssh://tok@host/b and https://example.org/c"
    assert scrub(text) == "https://***@example.org/a and ssh://***@host/b and https://example.org/c"


def test_a_push_that_hangs_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    """A remote that never answers does not hold the run: git and its helpers are stopped."""
    hanging = remote(tmp_path / "hang.git", "#!/bin/sh\nsleep 60\n")
    repo = with_origin(repository(tmp_path / "versions"), hanging)
    with pytest.raises(Exception, match="took more than 1 s and was stopped"):
        push(repo, timeout=1)


def test_track_publish_pushes_after_a_failed_push_on_the_next_run(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """End to end: `ota track --publish`; a first push refused is recorded in the status file and
    the next run pushes everything, the first run's commits included."""
    root = collection(tmp_path)
    httpserver.expect_request("/tos").respond_with_data(PAGE.format(title="Terms"), content_type="text/html")
    write_service(
        root, "Example", {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    )
    code, output = track(root)  # creates the repositories
    assert code == 0, output
    with_origin(root / "snapshots", remote(tmp_path / "s.git", REJECT_ONCE))
    with_origin(root / "versions", remote(tmp_path / "v.git"))

    code, output = track(root, "--publish")

    assert code == 0, output  # tracking went well; the push failure is reported, not a failed run
    current = json.loads((root / ".ota" / "status.json").read_text("utf-8"))
    snapshots_push, versions_push = current["publish"]["repositories"]
    assert not snapshots_push["ok"] and "read-only for maintenance" in snapshots_push["error"]
    assert snapshots_push["failing_since"] and not versions_push["ok"]
    assert remote_head(tmp_path / "s.git") == ""
    code, output = status(root, "--check")  # the public archive is stale: not healthy
    assert code == 1, output
    assert f"unhealthy: snapshots not pushed since {snapshots_push['failing_since']}: the public" in output
    assert "read-only for maintenance" in output

    httpserver.clear()
    httpserver.expect_request("/tos").respond_with_data(
        PAGE.format(title="New terms"), content_type="text/html"
    )
    code, output = track(root, "--publish")

    assert code == 0, output
    assert remote_head(tmp_path / "s.git") == git(root / "snapshots", "rev-parse", "HEAD").strip()
    assert remote_head(tmp_path / "v.git") == git(root / "versions", "rev-parse", "HEAD").strip()
    assert git(root / "versions", "rev-list", "--count", "HEAD").strip() == "2"
    current = json.loads((root / ".ota" / "status.json").read_text("utf-8"))
    assert current["publish"]["ok"] is True
    assert status(root, "--check")[0] == 0


def test_publish_is_a_setting_too(httpserver: HTTPServer, tmp_path: Path) -> None:
    """`[track] publish = true` pushes without the option; `--no-publish` turns it off for one run."""
    root = collection(tmp_path)
    with (root / "ota.toml").open("a", encoding="utf-8") as file:
        file.write("publish = true\n")  # in [track], the last section of the file
    httpserver.expect_request("/tos").respond_with_data(PAGE.format(title="Terms"), content_type="text/html")
    write_service(
        root, "Example", {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    )
    track(root, "--no-publish")
    with_origin(root / "snapshots", remote(tmp_path / "s.git"))
    with_origin(root / "versions", remote(tmp_path / "v.git"))
    assert remote_head(tmp_path / "v.git") == ""

    code, output = track(root)

    assert code == 0, output
    assert remote_head(tmp_path / "v.git") == git(root / "versions", "rev-parse", "HEAD").strip()


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("mailto://alice:S...9@smtp.example.org", "mailto://***@smtp.example.org"),
        ('{"Authorization": "Bearer abc.def-123"}', '{"Authorization": "Bearer ***"}'),
        ("Authorization: token glpat-abcdefghijklmnop1234", "Authorization: token ***"),
        ("sent ghp_" + "a1" * 18 + " back", "sent *** back"),
        (
            "https://hooks.example.org/x?token=s3cr3t&channel=ops",
            "https://hooks.example.org/x?token=***&channel=ops",
        ),
        (
            "Token verification failed: the token of the day",
            "Token verification failed: the token of the day",
        ),
    ],
)
def test_redact_hides_tokens_authorization_values_and_url_passwords(text: str, redacted: str) -> None:
    """What the logs' filter applies to every line: secrets become ***, words stay words."""
    from ota.redact import redact

    assert redact(text) == redacted
