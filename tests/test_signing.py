"""Signed records: ota signs every commit in-process (SSHSIG), git and ssh-keygen accept the
signatures, and `ota verify` reports unsigned, untrusted and altered commits."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2
import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from ota.errors import SettingsError
from ota.settings import load_settings
from ota.store.repository import Repository
from ota.store.signing import AllowedSigners, SignatureError, SshSigner, verify

BOT = "bot@opentermsarchive.org"


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "test", "-f", str(path)], check=True)
    return path


def git(repo: Path, *args: str, env: dict[str, str] | None = None, data: bytes | None = None) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, env={**os.environ, **(env or {})}, input=data
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def verify_commit(repo: Path, commit: str, allowed: Path) -> subprocess.CompletedProcess[str]:
    config = ["-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={allowed}"]
    return subprocess.run(
        ["git", "-C", str(repo), *config, "verify-commit", commit], capture_output=True, text=True
    )


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_commits_signed_in_process_pass_git_verify_commit_and_ssh_keygen(tmp_path: Path, kind: str) -> None:
    """A commit signed by Repository passes `git verify-commit` and `ssh-keygen -Y verify`, any key type."""
    signer = SshSigner.load(keygen(tmp_path / "key", kind))
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"{BOT} {signer.public_key}\n", "utf-8")
    with Repository.open(tmp_path / "repo", signer=signer) as repo:
        repo.commit("A/x.md", b"one", message="First record of A x\n", date=datetime.now(UTC))
        repo.commit("A/x.md", b"two", message="Record new changes of A x\n", date=datetime.now(UTC))
    for commit in git(tmp_path / "repo", "rev-list", "HEAD").split():
        result = verify_commit(tmp_path / "repo", commit, allowed)
        assert result.returncode == 0, result.stderr
        assert f'Good "git" signature for {BOT}' in result.stderr
    git_repo = pygit2.Repository(str(tmp_path / "repo"))
    signature, payload = git_repo[git_repo.head.target].gpg_signature
    (tmp_path / "commit.sig").write_bytes(signature)
    result = subprocess.run(
        [
            "ssh-keygen",
            "-Y",
            "verify",
            "-f",
            str(allowed),
            "-I",
            BOT,
            "-n",
            "git",
            "-s",
            str(tmp_path / "commit.sig"),
        ],
        input=payload,
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr


def test_signatures_made_by_ssh_keygen_are_checked_in_process(tmp_path: Path) -> None:
    """ssh-keygen's own signature verifies; the same signature over other bytes or namespace does not."""
    key = keygen(tmp_path / "key")
    (tmp_path / "message").write_bytes(b"tree 0\n\nhello\n")
    subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-f", str(key), "-n", "git", str(tmp_path / "message")],
        check=True,
        capture_output=True,
    )
    armored = (tmp_path / "message.sig").read_bytes()
    assert verify(b"tree 0\n\nhello\n", armored).public_key == SshSigner.load(key).public_key
    with pytest.raises(SignatureError, match="altered"):
        verify(b"tree 0\n\nhello!\n", armored)
    with pytest.raises(SignatureError, match="namespace"):
        verify(b"tree 0\n\nhello\n", armored, namespace="file")


def test_allowed_signers_honour_namespaces_and_validity(tmp_path: Path) -> None:
    """A key trusted only for another namespace, or before a date, is not trusted for git commits after it."""
    signer = SshSigner.load(keygen(tmp_path / "key"))
    verified = verify(b"data", signer.sign(b"data"))
    allowed = tmp_path / "allowed"
    allowed.write_text(
        f'# trusted keys\na@example.org namespaces="file" {signer.public_key}\n'
        f'b@example.org,c@example.org valid-before="20200101" {signer.public_key} comment\n'
        f"d@example.org cert-authority {signer.public_key}\n",
        "utf-8",
    )
    signers = AllowedSigners.load(allowed)
    assert signers.principals(verified, when=datetime(2019, 6, 1, tzinfo=UTC)) == [
        "b@example.org",
        "c@example.org",
    ]
    assert signers.principals(verified, when=datetime.now(UTC)) == []
    (tmp_path / "broken").write_text("e@example.org ssh-ed25519 not-base64!\n", "utf-8")
    with pytest.raises(SettingsError, match="line 1"):
        AllowedSigners.load(tmp_path / "broken")


def test_a_missing_or_unusable_signing_key_is_a_settings_error(tmp_path: Path) -> None:
    """A signing key that does not exist, or is not a private key, stops `ota track` with exit 2 naming it."""
    (tmp_path / "declarations").mkdir()
    config = tmp_path / "ota.toml"
    config.write_text('[recorder]\nsigning_key = "keys/missing"\n', "utf-8")
    with pytest.raises(SettingsError, match=r"\[recorder\] signing_key: .*keys/missing: cannot be read"):
        load_settings(config, environ={})
    result = CliRunner().invoke(app, ["track", "--config", str(config), "--no-progress"])
    assert result.exit_code == 2 and "keys/missing" in result.output
    (tmp_path / "not-a-key").write_text("hello\n", "utf-8")
    config.write_text('[recorder]\nsigning_key = "not-a-key"\n', "utf-8")
    result = CliRunner().invoke(app, ["track", "--config", str(config), "--no-progress"])
    assert result.exit_code == 2 and "not-a-key: is not an SSH private key" in result.output
    assert not (tmp_path / "snapshots").exists()  # nothing ran


@pytest.fixture
def signed_archive(httpserver: HTTPServer, tmp_path: Path) -> Path:
    """A collection tracked once by `ota track` with a signing key and an allowed-signers file."""
    httpserver.expect_request("/terms").respond_with_data(
        "<html><body><main><p>Be kind.</p></main></body></html>", content_type="text/html"
    )
    httpserver.expect_request("/privacy").respond_with_data(
        "<html><body><main><p>We keep nothing.</p></main></body></html>", content_type="text/html"
    )
    (tmp_path / "declarations").mkdir()
    service = {
        "name": "Example",
        "terms": {
            "Terms of Service": {"fetch": httpserver.url_for("/terms"), "select": "main"},
            "Privacy Policy": {"fetch": httpserver.url_for("/privacy"), "select": "main"},
        },
    }
    (tmp_path / "declarations" / "Example.json").write_text(json.dumps(service), "utf-8")
    signer = SshSigner.load(keygen(tmp_path / "ota-key"))
    (tmp_path / "allowed_signers").write_text(f'{BOT} namespaces="git" {signer.public_key}\n', "utf-8")
    (tmp_path / "ota.toml").write_text(
        '[recorder]\nsigning_key = "ota-key"\nallowed_signers = "allowed_signers"\n'
        "[track]\nextract_workers = 1\n",
        "utf-8",
    )
    result = CliRunner().invoke(app, ["track", "--config", str(tmp_path / "ota.toml"), "--no-progress"])
    assert result.exit_code == 0, result.output
    return tmp_path


def run_verify(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify", "--config", str(root / "ota.toml"), "--no-progress"])
    return result.exit_code, result.output


def test_a_signed_history_passes_git_verify_commit_and_ota_verify(signed_archive: Path) -> None:
    """Every commit `ota track` made in both repositories is signed; git and ota verify accept them."""
    root = signed_archive
    for name in ("snapshots", "versions"):
        commits = git(root / name, "rev-list", "HEAD").split()
        assert len(commits) == 2
        for commit in commits:
            result = verify_commit(root / name, commit, root / "allowed_signers")
            assert result.returncode == 0, result.stderr
    code, output = run_verify(root)
    assert code == 0, output
    assert "2 versions checked" in output and "2 reproduced" in output


def _hand_commit(root: Path, extra: list[str], env: dict[str, str] | None = None) -> None:
    """A version committed by hand, in the bot's name, citing the snapshot ota recorded."""
    versions = root / "versions"
    snapshot = git(
        root / "snapshots", "log", "-1", "--format=%H", "--", "Example/Terms of Service.html"
    ).strip()
    (versions / "Example" / "Terms of Service.md").write_text("Be very kind.", "utf-8")
    bot = {"GIT_AUTHOR_NAME": "Open Terms Archive Bot", "GIT_AUTHOR_EMAIL": BOT}
    bot |= {"GIT_COMMITTER_NAME": "Open Terms Archive Bot", "GIT_COMMITTER_EMAIL": BOT}
    message = (
        "Record new changes of Example Terms of Service\n\nThis version was recorded after extracting from "
        f"snapshot {snapshot}\n\nX-engine-version: ota 0.1.0\n"
    )
    git(versions, "add", "-A")
    git(versions, *extra, "commit", "-q", "-F", "-", env=bot | (env or {}), data=message.encode())


def test_a_commit_signed_by_another_key_is_reported(signed_archive: Path) -> None:
    """A commit signed with a key the allowed signers do not list fails both git and ota verify."""
    root = signed_archive
    other = keygen(root / "other-key")
    _hand_commit(
        root, ["-c", "gpg.format=ssh", "-c", f"user.signingkey={other}", "-c", "commit.gpgsign=true"]
    )
    assert verify_commit(root / "versions", "HEAD", root / "allowed_signers").returncode != 0
    code, output = run_verify(root)
    assert code == 1
    assert "does not trust to sign git commits" in output


def test_an_unsigned_commit_after_signing_started_is_reported(signed_archive: Path) -> None:
    """Once a repository's commits are signed, a commit without a signature is unexplained."""
    root = signed_archive
    _hand_commit(root, [])
    code, output = run_verify(root)
    assert code == 1
    assert "is not signed, though commits are signed since" in output


def test_a_signed_commit_altered_afterwards_is_reported(signed_archive: Path) -> None:
    """A commit rewritten after signing (dated a day earlier) keeps a signature that no longer matches."""
    versions = signed_archive / "versions"
    raw = git(versions, "cat-file", "commit", "HEAD").encode()
    header, _, message = raw.partition(b"\n\n")
    lines = header.split(b"\n")
    for index, line in enumerate(lines):
        if line.startswith((b"author ", b"committer ")):
            parts = line.split(b" ")
            parts[-2] = str(int(parts[-2]) - 86400).encode()
            lines[index] = b" ".join(parts)
    forged = git(
        versions, "hash-object", "-w", "-t", "commit", "--stdin", data=b"\n".join(lines) + b"\n\n" + message
    )
    git(versions, "update-ref", "refs/heads/main", forged.strip())
    assert verify_commit(versions, "HEAD", signed_archive / "allowed_signers").returncode != 0
    code, output = run_verify(signed_archive)
    assert code == 1
    assert "has a bad signature: the signature does not match what was signed" in output
    assert (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d") in output


@pytest.fixture
def forge_key(tmp_path: Path) -> dict[str, str]:
    """A PGP key like a forge's web-commit key, in a GNUPGHOME of its own (short: gpg-agent's socket
    path is limited); its agent is stopped afterwards."""
    import shutil
    import tempfile

    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    home = tempfile.mkdtemp(prefix="gpg", dir="/tmp")
    env = {"GNUPGHOME": home}
    subprocess.run(
        ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
         "GitHub <noreply@github.com>", "ed25519", "sign", "never"],
        check=True, capture_output=True, env={**os.environ, **env},
    )  # fmt: skip
    yield env
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, **env}, capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


def _web_commit(repository: Path, env: dict[str, str]) -> None:
    """The first commit of a repository as a forge's website makes it: a README, committed by the
    forge, signed with its PGP key."""
    repository.mkdir()
    git(repository, "init", "-q", "-b", "main")
    (repository / "README.md").write_text("# Archive\n", "utf-8")
    git(repository, "add", "-A")
    web = {"GIT_AUTHOR_NAME": "A Maintainer", "GIT_AUTHOR_EMAIL": "maintainer@example.org"}
    web |= {"GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
    signing = ["-c", "gpg.format=openpgp", "-c", "user.signingkey=noreply@github.com"]
    git(repository, *signing, "commit", "-q", "-S", "-m", "Initial commit", env=env | web)
    assert git(repository, "cat-file", "commit", "HEAD").count("BEGIN PGP SIGNATURE") == 1


@pytest.mark.usefixtures("git_env")
def test_a_pgp_signed_web_commit_then_unsigned_bot_commits_verify_clean(
    httpserver: HTTPServer, tmp_path: Path, forge_key: dict[str, str]
) -> None:
    """Repositories whose first commit is a forge's PGP-signed web commit, then ota's unsigned
    commits: the web commit starts no signing rule; it is a notice (a commit by someone else, a PGP
    signature ota does not check), not a difference. Exit 0, every version reproduced."""
    httpserver.expect_request("/terms").respond_with_data(
        "<html><body><main><p>Be kind.</p></main></body></html>", content_type="text/html"
    )
    (tmp_path / "declarations").mkdir()
    service = {
        "name": "Example",
        "terms": {"Terms of Service": {"fetch": httpserver.url_for("/terms"), "select": "main"}},
    }
    (tmp_path / "declarations" / "Example.json").write_text(json.dumps(service), "utf-8")
    for name in ("snapshots", "versions"):
        _web_commit(tmp_path / name, forge_key)
    (tmp_path / "ota.toml").write_text("[track]\nextract_workers = 1\n", "utf-8")
    result = CliRunner().invoke(app, ["track", "--config", str(tmp_path / "ota.toml"), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = tmp_path / "verify.json"
    result = CliRunner().invoke(
        app, ["verify", "--config", str(tmp_path / "ota.toml"), "--no-progress", "--json", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "1 versions checked" in result.output and "1 reproduced" in result.output
    data = json.loads(report.read_text("utf-8"))
    assert [f for f in data["findings"] if f["severity"] != "notice"] == []
    notices = {(f["repository"], f["check"]): f for f in data["findings"] if f["severity"] == "notice"}
    assert notices["versions", "signature"]["message"] == "is signed with a PGP signature"
    assert notices["snapshots", "signature"]["message"] == "is signed with a PGP signature"
    assert "committed by GitHub <noreply@github.com>" in notices["snapshots", "author"]["message"]
    # With ota's own signing settings, the web commit still starts nothing: ota's unsigned commits
    # that came before signing was configured are not reported either.
    signer = SshSigner.load(keygen(tmp_path / "ota-key"))
    (tmp_path / "allowed_signers").write_text(f'{BOT} namespaces="git" {signer.public_key}\n', "utf-8")
    (tmp_path / "ota.toml").write_text(
        '[recorder]\nallowed_signers = "allowed_signers"\n[track]\nextract_workers = 1\n', "utf-8"
    )
    result = CliRunner().invoke(app, ["verify", "--config", str(tmp_path / "ota.toml"), "--no-progress"])
    assert result.exit_code == 0, result.output
