"""Settings: ota.toml, the environment and options give one validated value; every error names its key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ota.errors import SettingsError
from ota.settings import (
    DEFAULT_SCHEDULE,
    FetchSettings,
    LogSettings,
    RecorderSettings,
    Settings,
    TimestampsSettings,
    VerifySettings,
    load_settings,
    settings_keys,
    settings_reference,
    settings_variables,
)


def write(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "ota.toml"
    config.write_text(text, "utf-8")
    return config


def test_without_a_file_the_defaults_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ota.toml, no environment, no option: the documented defaults."""
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings == Settings()
    assert (
        settings.collection.declarations == Path("declarations")
        and settings.track.schedule == DEFAULT_SCHEDULE
    )
    assert settings.fetch == FetchSettings()


def test_every_key_of_a_file_is_converted(tmp_path: Path) -> None:
    """Each section's keys reach their fields; folders are relative to the file."""
    config = write(
        tmp_path,
        """
[collection]
declarations = "decl"
snapshots = "/abs/snapshots"
terms_types = ["Example Policy"]
[fetch]
accept_language = "fr"
timeout = 5
concurrency = 8
host_delay = 0.5
browser_sandbox = false
[recorder]
snapshot_link_template = "https://example.org/%SNAPSHOT_ID"
author_name = "Bot"
author_email = "bot@example.org"
[track]
schedule = "0 * * * *"
extract_workers = 0
""",
    )
    settings = load_settings(config, environ={})
    assert settings.collection.declarations == tmp_path / "decl"
    assert settings.collection.snapshots == Path("/abs/snapshots")
    assert settings.collection.versions == tmp_path / "versions"  # beside the file by default
    assert settings.collection.terms_types == ("Example Policy",)
    assert settings.fetch.accept_language == "fr" and settings.fetch.timeout == 5.0
    assert isinstance(settings.fetch.timeout, float)
    assert settings.fetch.concurrency == 8 and settings.fetch.host_delay == 0.5
    assert settings.fetch.browser_sandbox is False
    assert settings.recorder.snapshot_link_template == "https://example.org/%SNAPSHOT_ID"
    assert (settings.recorder.author_name, settings.recorder.author_email) == ("Bot", "bot@example.org")
    assert settings.track.schedule == "0 * * * *" and settings.track.extract_workers == 0


@pytest.mark.parametrize(
    ("option", "environment", "file", "expected"),
    [
        (None, None, None, "en"),
        (None, None, "fr", "fr"),
        (None, "de", "fr", "de"),
        ("it", "de", "fr", "it"),
        ("it", None, None, "it"),
    ],
)
def test_precedence_is_options_then_environment_then_file_then_defaults(
    tmp_path: Path, option: str | None, environment: str | None, file: str | None, expected: str
) -> None:
    """Accept-Language, which all four sources can set, comes from the first that sets it."""
    config = write(tmp_path, f'[fetch]\naccept_language = "{file}"\n' if file else "")
    environ = {"OTA_ACCEPT_LANGUAGE": environment} if environment else {}
    settings = load_settings(config, environ=environ, overrides={"fetch.accept_language": option})
    assert settings.fetch.accept_language == expected


def test_options_override_the_file(tmp_path: Path) -> None:
    """Command-line folders and numbers win over the file's; None options leave them alone."""
    config = write(tmp_path, '[collection]\nversions = "v"\n[fetch]\nconcurrency = 8\nper_host = 3\n')
    settings = load_settings(
        config,
        environ={},
        overrides={
            "collection.versions": Path("/elsewhere"),
            "fetch.concurrency": 16,
            "fetch.per_host": None,
        },
    )
    assert settings.collection.versions == Path("/elsewhere")
    assert settings.fetch.concurrency == 16 and settings.fetch.per_host == 3


def test_ota_config_names_the_file(tmp_path: Path) -> None:
    """OTA_CONFIG is read when no --config is given."""
    config = write(tmp_path, "[track]\nextract_workers = 3\n")
    assert load_settings(environ={"OTA_CONFIG": str(config)}).track.extract_workers == 3


def test_the_environment_is_resolved_here_once(tmp_path: Path) -> None:
    """Proxy variables and certificate authorities are read by load_settings, not by the fetchers."""
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    environ = {
        "HTTPS_PROXY": "http://proxy:3128",
        "no_proxy": "localhost",
        "HOME": "/root",
        "SSL_CERT_FILE": str(ca),
        "SSL_CERT_DIR": str(tmp_path),
    }
    fetch = load_settings(environ=environ).fetch
    assert dict(fetch.proxy_environment) == {"HTTPS_PROXY": "http://proxy:3128", "no_proxy": "localhost"}
    assert fetch.ca_file == ca and fetch.ca_dir == tmp_path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[collection\n", "ota.toml: is not valid TOML"),
        ("[colection]\n", "ota.toml: unknown section [colection]; known: collection, fetch, recorder, track"),
        ("collection = 1\n", "ota.toml: [collection] must be a table of keys, not a number (1)"),
        (
            "[fetch]\nconcurency = 2\n",
            "ota.toml: [fetch] concurency: unknown setting; known: accept_language",
        ),
        (
            '[track]\nextract_workers = "two"\n',
            "[track] extract_workers: must be a whole number, not a string ('two')",
        ),
        ("[track]\nextract_workers = -1\n", "[track] extract_workers: must be at least 0, not -1"),
        (
            "[track]\nextract_workers = 2.5\n",
            "[track] extract_workers: must be a whole number, not a number (2.5)",
        ),
        ("[track]\nschedule = 5\n", "[track] schedule: must be a string, not a number (5)"),
        ('[track]\nschedule = "every day"\n', "[track] schedule: 'every day' is not a cron expression"),
        ('[collection]\nterms_types = "Foo"\n', "[collection] terms_types: must be a list of strings"),
        ("[collection]\nterms_types = [1]\n", "[collection] terms_types: must be a list of strings"),
        ('[collection]\nterms_types = ["../../escape"]\n', "'../../escape' cannot be a terms type"),
        ("[collection]\nversions = 3\n", "[collection] versions: must be a folder path, not a number (3)"),
        ('[recorder]\nauthor_name = "A <b>"\n', "[recorder] author_name: cannot contain <, >"),
        ('[recorder]\nauthor_email = "a\\nb"\n', "[recorder] author_email: cannot contain <, >"),
        ("[fetch]\ntimeout = 0\n", "[fetch] timeout: must be more than 0, not 0"),
        ("[fetch]\nper_host = 0\n", "[fetch] per_host: must be at least 1, not 0"),
        ('[fetch]\nhost_delay = "1"\n', "[fetch] host_delay: must be a number, not a string ('1')"),
        ('[fetch]\nbrowser_sandbox = "yes"\n', "[fetch] browser_sandbox: must be true or false"),
        (
            "[fetch]\nconcurrency = true\n",
            "[fetch] concurrency: must be a whole number, not a boolean (True)",
        ),
        ('[fetch]\naccept_language = ["en"]\n', "[fetch] accept_language: must be a string, not a list"),
    ],
)
def test_every_error_names_the_file_section_and_key(tmp_path: Path, text: str, message: str) -> None:
    """A bad file is one SettingsError whose message starts with the file and names the key."""
    config = write(tmp_path, text)
    with pytest.raises(SettingsError) as raised:
        load_settings(config, environ={})
    assert str(raised.value).startswith(str(tmp_path))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SSL_CERT_FILE": "/nonexistent/ca.pem"}, "SSL_CERT_FILE=/nonexistent/ca.pem: no such file"),
        ({"SSL_CERT_DIR": "/nonexistent/certs"}, "SSL_CERT_DIR=/nonexistent/certs: no such folder"),
        ({"OTA_ALLOW_PRIVATE_ADDRESSES": "yes"}, "OTA_ALLOW_PRIVATE_ADDRESSES=yes: must be 1 (allow) or 0"),
    ],
)
def test_bad_environment_values_are_named(environ: dict[str, str], message: str) -> None:
    """A certificate authority file that does not exist, or a flag that is not 0 or 1, is a
    SettingsError naming the variable, not a traceback later."""
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(environ=environ)


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    """--config naming a file that does not exist."""
    with pytest.raises(SettingsError, match=r"missing\.toml: cannot be read"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_a_bad_option_value_is_named() -> None:
    """Options get the same checks as the file's values."""
    with pytest.raises(
        SettingsError, match=r"^--concurrency \(setting \[fetch\] concurrency\): must be at least 1, not 0$"
    ):
        load_settings(environ={}, overrides={"fetch.concurrency": 0})


def test_the_readme_documents_every_key() -> None:
    """Every key ota.toml accepts appears in the README's settings section."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    for section, keys in settings_keys().items():
        assert f"[{section}]" in readme
        for key in keys:
            assert f"\n{key} = " in readme, f"[{section}] {key} is not in the README"


def test_signing_and_verify_settings_are_files_beside_the_config(tmp_path: Path) -> None:
    """signing_key and allowed_signers are readable files relative to ota.toml; accept_explained a boolean."""
    (tmp_path / "key").write_text("key", "utf-8")
    (tmp_path / "allowed").write_text("", "utf-8")
    config = write(
        tmp_path,
        '[recorder]\nsigning_key = "key"\nallowed_signers = "allowed"\n[verify]\naccept_explained = true\n',
    )
    settings = load_settings(config, environ={})
    assert (
        settings.recorder.signing_key == tmp_path / "key"
        and settings.recorder.allowed_signers == tmp_path / "allowed"
    )
    assert settings.verify.accept_explained is True
    assert load_settings(write(tmp_path, ""), environ={}).recorder.signing_key is None
    with pytest.raises(SettingsError, match=r"\[recorder\] allowed_signers: .*nowhere: cannot be read"):
        load_settings(write(tmp_path, '[recorder]\nallowed_signers = "nowhere"\n'), environ={})
    with pytest.raises(SettingsError, match=r"\[verify\] accept_explained: must be true or false"):
        load_settings(write(tmp_path, '[verify]\naccept_explained = "yes"\n'), environ={})
    with pytest.raises(SettingsError, match=r"\[timestamps\] authority: must be an http:// or https:// URL"):
        load_settings(write(tmp_path, '[timestamps]\nauthority = "tsa.example"\n'), environ={})


def test_the_operation_sections_are_converted(tmp_path: Path) -> None:
    """[serve], [status], [report], [notify] and [track] publish reach their typed fields."""
    config = write(
        tmp_path,
        """
[track]
publish = true
publish_timeout = 60
[serve]
public_url = "https://archive.example.org/"
[status]
file = "state/status.json"
max_age = 7200
[report]
repository = "org/declarations"
forge = "gitlab"
api_url = "https://git.example.org/api/v4"
base_url = "https://git.example.org"
versions_repository = "org/versions"
snapshots_repository = "org/snapshots"
after_failures = 2
timeout = 10
[notify]
urls = ["json://127.0.0.1/hook"]
on = ["changes", "new_failures"]
timeout = 5
""",
    )
    settings = load_settings(config, environ={})
    assert settings.track.publish is True and settings.track.publish_timeout == 60.0
    assert settings.serve.public_url == "https://archive.example.org"
    assert settings.status.file == tmp_path / "state" / "status.json" and settings.status.max_age == 7200.0
    assert settings.report.repository == "org/declarations" and settings.report.kind == "gitlab"
    assert settings.report.api_url == "https://git.example.org/api/v4" and settings.report.after_failures == 2
    assert settings.report.versions_repository == "org/versions" and settings.report.timeout == 10.0
    assert settings.notify.urls == ("json://127.0.0.1/hook",) and settings.notify.on == (
        "changes",
        "new_failures",
    )


def test_the_status_file_is_beside_the_config_file_by_default(tmp_path: Path) -> None:
    """`.ota/status.json` in the collection folder; a max_age of 0 means 'from the schedule'."""
    settings = load_settings(write(tmp_path, "[status]\nmax_age = 0\n"), environ={})
    assert settings.status.file == tmp_path / ".ota" / "status.json" and settings.status.max_age is None


def test_tokens_and_notification_urls_come_from_the_environment_and_stay_out_of_repr(tmp_path: Path) -> None:
    """OTA's token names first, then the forges' own; OTA_NOTIFY_URLS adds to the file's URLs; the
    settings' repr (what a log would show) has none of these secrets."""
    config = write(tmp_path, '[notify]\nurls = ["json://127.0.0.1/a"]\n')
    environ = {
        "OTA_ENGINE_GITHUB_TOKEN": "ghp_secret_one",
        "GITHUB_TOKEN": "ghp_secret_two",
        "OTA_NOTIFY_URLS": "mailto://u:pw-secret@127.0.0.1 json://127.0.0.1/b",
        "OTA_BROWSER_SANDBOX": "false",
    }
    settings = load_settings(config, environ=environ)
    assert settings.report.token == "ghp_secret_one" and settings.report.kind == "github"
    assert settings.notify.urls == (
        "json://127.0.0.1/a",
        "mailto://u:pw-secret@127.0.0.1",
        "json://127.0.0.1/b",
    )
    assert settings.fetch.browser_sandbox is False
    assert "secret" not in repr(settings)
    gitlab = load_settings(environ={"GITLAB_TOKEN": "glpat-x"}).report
    assert (gitlab.kind, gitlab.token) == ("gitlab", "glpat-x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[report]\nforge = "gitea"\n', "[report] forge: must be one of github, gitlab, not 'gitea'"),
        (
            '[report]\nrepository = "declarations"\n',
            '[report] repository: must name a repository as "owner/name"',
        ),
        (
            '[report]\nrepository = "https://github.com/a/b"\n',
            '[report] repository: must name a repository as "owner/name"',
        ),
        (
            '[serve]\npublic_url = "archive.example.org"\n',
            "[serve] public_url: must be an http:// or https:// URL",
        ),
        ('[notify]\non = ["change"]\n', "[notify] on: 'change': unknown; known: changes, upgrades"),
        ("[report]\nafter_failures = 0\n", "[report] after_failures: must be at least 1, not 0"),
        ('[track]\npublish = "yes"\n', "[track] publish: must be true or false"),
    ],
)
def test_operation_settings_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    """Each new key is checked like the others: file, section and key in one message."""
    with pytest.raises(SettingsError) as raised:
        load_settings(write(tmp_path, text), environ={})
    assert message in str(raised.value)


def test_a_bad_browser_sandbox_variable_is_named() -> None:
    """OTA_BROWSER_SANDBOX must say true or false."""
    with pytest.raises(SettingsError, match="OTA_BROWSER_SANDBOX=maybe: must be true or false"):
        load_settings(environ={"OTA_BROWSER_SANDBOX": "maybe"})


def test_serve_and_dataset_sections_are_read_and_checked(tmp_path: Path) -> None:
    """[serve] host, port, base_path, version_url_template and [dataset] title reach their fields;
    the base path is normalised, and a bad host, port or path names its key."""
    config = write(
        tmp_path,
        '[serve]\nhost = "::1"\nport = 8080\nbase_path = "collection/api/"\n'
        'version_url_template = "https://example.org/commit/%VERSION_ID"\n[dataset]\ntitle = "demo"\n',
    )
    settings = load_settings(config, environ={})
    assert (settings.serve.host, settings.serve.port, settings.serve.base_path) == (
        "::1",
        8080,
        "/collection/api",
    )
    assert settings.serve.version_url_template.endswith("%VERSION_ID") and settings.dataset.title == "demo"
    assert load_settings(environ={}, overrides={"serve.port": 9000}).serve.port == 9000
    assert load_settings(write(tmp_path, '[serve]\nbase_path = "/"\n'), environ={}).serve.base_path == ""
    for text, message in (
        ("[serve]\nport = 70000\n", "[serve] port: must be a port number up to 65535"),
        ('[serve]\nhost = "a b"\n', "[serve] host: must be an address to listen on"),
        ('[serve]\nbase_path = "/api?x"\n', "[serve] base_path: must be a URL path"),
        ("[dataset]\ntitle = 3\n", "[dataset] title: must be a string"),
    ):
        with pytest.raises(SettingsError, match=re.escape(message)):
            load_settings(write(tmp_path, text), environ={})


def test_the_reference_lists_every_key_with_a_default_its_converter_accepts(tmp_path: Path) -> None:
    """`settings_reference()` is derived from the key declarations: read back as an ota.toml, it
    gives exactly the defaults (so every written default passes its own converter), and only keys
    whose default means "unset" or "derived" are commented out."""
    reference = settings_reference()
    from_reference = load_settings(write(tmp_path, reference), environ={})
    assert from_reference == load_settings(write(tmp_path, ""), environ={})
    commented = {line.split()[1] for line in reference.splitlines() if line.startswith("# ")}
    assert commented == {
        "browser_sandbox",
        "signing_key",
        "allowed_signers",
        "file",
        "authority",
        "certificates",
        "max_age",
        "forge",
    }
    listed = [line.split()[0] for line in reference.splitlines() if line and not line.startswith(("[", "#"))]
    assert len(listed) + len(commented) == sum(len(keys) for keys in settings_keys().values())


def test_every_variable_is_in_the_readme() -> None:
    """The variables declared with their keys (`settings_variables()`) are documented too."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    assert set(settings_variables()) >= {"OTA_ACCEPT_LANGUAGE", "OTA_NOTIFY_URLS", "GITHUB_TOKEN"}
    for variable in settings_variables():
        assert variable in readme, f"{variable} is not in the README"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"log.format": "xml"}, '--log-format (setting [log] format): must be "text" or "json"'),
        ({"track.publish": "yes"}, "--publish (setting [track] publish): must be true or false"),
        ({"status.max_age": -1}, "--max-age (setting [status] max_age): must be at least 0, not -1"),
        (
            {"collection.declarations": ""},
            "--declarations (setting [collection] declarations): must be a folder",
        ),
        ({"report.github_token": "x"}, "unknown setting 'report.github_token'"),
        ({"declarations": "d"}, "unknown setting 'declarations'"),
    ],
)
def test_options_are_named_after_their_key(overrides: dict[str, object], message: str) -> None:
    """An option's bad value names the option and its key; only ota.toml's keys can be overridden."""
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(environ={}, overrides=overrides)


def test_a_section_is_one_value(tmp_path: Path) -> None:
    """[track], [recorder], [log], [verify], [timestamps] are nested values like [fetch]."""
    config = write(
        tmp_path,
        '[log]\nformat = "json"\nfile = "logs/ota.log"\nlevel = "DEBUG"\n[verify]\nstrict = true\n'
        '[timestamps]\nauthority = "https://tsa.example/"\n[track]\nconfirm_pause = 0\n',
    )
    settings = load_settings(config, environ={})
    assert settings.log == LogSettings(format="json", file=tmp_path / "logs" / "ota.log", level="debug")
    assert settings.verify == VerifySettings(accept_explained=True, strict=True)
    assert settings.timestamps == TimestampsSettings(authority="https://tsa.example/")
    assert settings.track.confirm_pause == 0.0 and settings.recorder == RecorderSettings()
