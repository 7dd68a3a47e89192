"""Trusted timestamps: after a run, a local RFC 3161 authority (OpenSSL's `ts`, behind a tiny HTTP
server on 127.0.0.1) witnesses each repository's tip; `openssl ts -verify` and `ota verify` check it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

from ota.cli import app
from ota.store.timestamps import NOTES_REF, unarmor

CONFIG = """
[ req ]
distinguished_name = dn
[ dn ]
[ tsa_ext ]
basicConstraints = critical,CA:false
extendedKeyUsage = critical,timeStamping
keyUsage = critical,digitalSignature
[ ca_ext ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = {folder}/serial
crypto_device = builtin
signer_cert = {folder}/tsa.crt
signer_key = {folder}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(folder: Path, *args: str, data: bytes | None = None) -> bytes:
    result = subprocess.run(["openssl", *args], cwd=folder, capture_output=True, input=data)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def make_authority(folder: Path, name: str) -> Path:
    """A root certificate and a time-stamping certificate it signs, in `folder`; returns the root."""
    folder.mkdir()
    (folder / "tsa.cnf").write_text(CONFIG.format(folder=folder), "utf-8")
    (folder / "serial").write_text("01\n", "utf-8")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl(
        folder,
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        f"/CN={name} Root",
        "-days",
        "30",
        "-config",
        "tsa.cnf",
        "-extensions",
        "ca_ext",
    )
    openssl(
        folder,
        "req",
        *ec,
        "-keyout",
        "tsa.key",
        "-out",
        "tsa.csr",
        "-subj",
        f"/CN={name}",
        "-config",
        "tsa.cnf",
    )
    openssl(
        folder,
        "x509",
        "-req",
        "-in",
        "tsa.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "tsa.crt",
        "-days",
        "30",
        "-extfile",
        "tsa.cnf",
        "-extensions",
        "tsa_ext",
    )
    return folder / "ca.crt"


@pytest.fixture
def authority(httpserver: HTTPServer, tmp_path: Path) -> Path:
    """A time-stamping authority answering POST /tsr on 127.0.0.1 with `openssl ts -reply`."""
    folder = tmp_path / "tsa"
    root = make_authority(folder, "Test TSA")

    def reply(request: Request) -> Response:
        (folder / "query.tsq").write_bytes(request.get_data())
        openssl(folder, "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "query.tsq", "-out", "reply.tsr")
        return Response((folder / "reply.tsr").read_bytes(), content_type="application/timestamp-reply")

    httpserver.expect_request("/tsr", method="POST").respond_with_handler(reply)
    httpserver.expect_request("/terms").respond_with_data(
        "<html><body><main><p>Be kind.</p></main></body></html>", content_type="text/html"
    )
    return root


def tracked(tmp_path: Path, server: HTTPServer, certificates: Path) -> Path:
    (tmp_path / "declarations").mkdir()
    service = {"name": "Example", "terms": {"Imprint": {"fetch": server.url_for("/terms"), "select": "main"}}}
    (tmp_path / "declarations" / "Example.json").write_text(json.dumps(service), "utf-8")
    (tmp_path / "ota.toml").write_text(
        f'[timestamps]\nauthority = "{server.url_for("/tsr")}"\ncertificates = "{certificates}"\n'
        "[track]\nextract_workers = 0\n",
        "utf-8",
    )
    result = CliRunner().invoke(app, ["track", "--config", str(tmp_path / "ota.toml"), "--no-progress"])
    assert result.exit_code == 0, result.output
    return tmp_path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def run_verify(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify", "--config", str(root / "ota.toml"), "--no-progress"])
    return result.exit_code, result.output


def test_each_run_is_witnessed_and_openssl_and_ota_verify_accept_it(
    authority: Path, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """The tips of both repositories carry a token that `openssl ts -verify` and `ota verify` accept."""
    root = tracked(tmp_path, httpserver, authority)
    for name in ("snapshots", "versions"):
        tip = git(root / name, "rev-parse", "HEAD").strip()
        note = git(root / name, "notes", "--ref", NOTES_REF, "show", tip)
        (tmp_path / "token.tsr").write_bytes(unarmor(note))
        (tmp_path / "data").write_text(tip, "ascii")
        output = openssl(
            tmp_path,
            "ts",
            "-verify",
            "-data",
            "data",
            "-in",
            "token.tsr",
            "-CAfile",
            str(authority),
            "-untrusted",
            str(authority.parent / "tsa.crt"),
        )
        assert b"Verification: OK" in output
    code, output = run_verify(root)
    assert code == 0, output
    assert "timestamp" not in output


def test_a_history_rewritten_after_its_timestamp_is_reported(
    authority: Path, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A version re-committed after the authority witnessed it leaves the witnessed commit off the branch."""
    root = tracked(tmp_path, httpserver, authority)
    versions = root / "versions"
    env = {
        **os.environ,
        "GIT_COMMITTER_NAME": "Open Terms Archive Bot",
        "GIT_COMMITTER_EMAIL": "bot@opentermsarchive.org",
    }
    # The same record, committed again one second later: only the commit's own date differs.
    seconds = int(git(versions, "log", "-1", "--format=%ct").strip()) + 1
    subprocess.run(
        ["git", "-C", str(versions), "commit", "-q", "--amend", "--no-edit", "--allow-empty"],
        check=True,
        env=env | {"GIT_COMMITTER_DATE": f"{seconds} +0000"},
    )
    code, output = run_verify(root)
    assert code == 1
    assert "is not on the branch any more: the history was rewritten after it" in output


def test_a_token_from_an_authority_not_trusted_is_reported(
    authority: Path, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Tokens checked against another authority's root certificate do not verify."""
    root = tracked(tmp_path, httpserver, authority)
    other = make_authority(tmp_path / "other", "Other TSA")
    settings = (root / "ota.toml").read_text("utf-8").replace(str(authority), str(other))
    (root / "ota.toml").write_text(settings, "utf-8")
    code, output = run_verify(root)
    assert code == 1
    assert "has a timestamp that is not valid: the token does not verify" in output


def test_an_authority_that_cannot_be_reached_leaves_a_warning_not_a_failure(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A run whose time-stamping authority fails still records everything, and says so."""
    httpserver.expect_request("/terms").respond_with_data(
        "<main><p>Rules.</p></main>", content_type="text/html"
    )
    httpserver.expect_request("/tsr", method="POST").respond_with_data("no", status=503)
    (tmp_path / "ca.pem").write_text("", "utf-8")
    (tmp_path / "declarations").mkdir()
    service = {
        "name": "Example",
        "terms": {"Imprint": {"fetch": httpserver.url_for("/terms"), "select": "main"}},
    }
    (tmp_path / "declarations" / "Example.json").write_text(json.dumps(service), "utf-8")
    (tmp_path / "ota.toml").write_text(f'[timestamps]\nauthority = "{httpserver.url_for("/tsr")}"\n', "utf-8")
    result = CliRunner().invoke(app, ["track", "--config", str(tmp_path / "ota.toml"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "no timestamp for" in result.output and "answered HTTP 503" in result.output
