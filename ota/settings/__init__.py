"""Settings: one frozen value, built once from `ota.toml`, the environment and command-line options.

`ota.toml` (in the working folder, or the file named by `--config` or `OTA_CONFIG`):

    [collection]
    declarations = "declarations"      # folders, relative to the ota.toml file
    snapshots = "snapshots"
    versions = "versions"
    terms_types = []                   # terms types allowed besides OTA's standard list

    [fetch]
    accept_language = "en"             # sent as Accept-Language, e.g. "en-IE, en-GB, en"
    concurrency = 64                   # requests in flight at once
    per_host = 2                       # requests in flight to one host
    host_delay = 0.0                   # seconds between two requests to one host
    timeout = 30
    browser_path = "/usr/bin/chromium"
    browser_sandbox = true             # default: on, unless ota runs as root

    [recorder]
    snapshot_link_template = "%SNAPSHOT_ID"   # OTA's snapshotIdentiferTemplate
    author_name = "Open Terms Archive Bot"
    author_email = "bot@opentermsarchive.org"

    signing_key = "keys/ota"            # SSH private key: every commit is signed (git's gpg.format = ssh)
    allowed_signers = "allowed_signers" # who may sign (ssh-keygen's format); `ota verify` checks with it

    [track]
    schedule = "30 */12 * * *"
    extract_workers = 2
    extract_timeout = 60               # seconds one page's extraction may take
    extract_memory = 1024              # MiB of memory one extraction may use
    confirm_pause = 30                 # seconds before a suspicious new text is fetched again
    timezone = "UTC"                   # of the schedule
    publish = false                    # push both repositories to `origin` after each run
    publish_timeout = 300

    [verify]
    accept_explained = true            # false: exit 1 when a difference is only explained
    strict = false                     # true: exit 1 when something cannot be verified here

    [log]
    format = "text"                    # or "json": one object per line
    file = "logs/ota.log"              # append the logs here (default: stderr)
    level = "info"

    [timestamps]
    authority = "https://tsa.example/" # RFC 3161 time-stamping authority witnessing each run's commits
    certificates = "tsa-roots.pem"     # its root certificates, which `ota verify` checks tokens with

    [serve]
    public_url = ""                    # where `ota serve` is reached, for links in messages

    [status]
    file = ".ota/status.json"          # relative to the ota.toml file
    max_age = 0                        # seconds; 0: twice the schedule's interval

    [report]                           # failure reports as issues (token from the environment)
    repository = "owner/name"          # the declarations repository
    forge = "github"                   # or "gitlab"; default: the forge whose token is set
    api_url = ""                       # GitHub Enterprise / self-hosted GitLab
    base_url = ""
    versions_repository = ""
    snapshots_repository = ""
    after_failures = 1
    timeout = 30

    [notify]
    urls = []                          # Apprise URLs (also OTA_NOTIFY_URLS)
    on = ["changes"]                   # changes, upgrades, failures, new_failures
    significance = "substantive"       # changes that notify: substantive, editorial (and up), cosmetic (all)
    timeout = 60

Every key is converted to its type here, and a key that is unknown or of the wrong type is a
`SettingsError` naming the file, the section and the key. The environment is read here and only
here: `OTA_CONFIG`, `OTA_ACCEPT_LANGUAGE`, `OTA_ALLOW_PRIVATE_ADDRESSES`, the proxy variables
(`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, in either case), `SSL_CERT_FILE` /
`SSL_CERT_DIR`, `OTA_BROWSER_SANDBOX`, the forge tokens (`OTA_ENGINE_GITHUB_TOKEN` or
`GITHUB_TOKEN`, `OTA_ENGINE_GITLAB_TOKEN` or `GITLAB_TOKEN`) and `OTA_NOTIFY_URLS`. Secrets
(tokens, notification URLs) are kept out of the settings' `repr`, so logging a Settings value
never shows them.

Precedence: command-line options, then the environment, then `ota.toml`, then the defaults below.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ota import __version__
from ota.cron import CronError, cron_trigger, time_zone
from ota.errors import SettingsError

CONFIG_FILE = "ota.toml"
DEFAULT_SCHEDULE = "30 */12 * * *"
DEFAULT_LINK_TEMPLATE = "%SNAPSHOT_ID"
DEFAULT_AUTHOR_NAME = "Open Terms Archive Bot"
DEFAULT_AUTHOR_EMAIL = "bot@opentermsarchive.org"
#: What ota writes in the `X-engine-version` trailer of its commits.
ENGINE_VERSION = f"ota {__version__}"

DEFAULT_ACCEPT_LANGUAGE = "en"
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 ota"
)
DEFAULT_TIMEOUT = 30.0  # seconds for one attempt, redirects and body included (OTA: the whole fetch)
DEFAULT_TOTAL_TIMEOUT = 75.0  # seconds for all the attempts at a page and the waits between them
DEFAULT_MAX_REDIRECTS = 20
DEFAULT_MAX_SIZE = 32 * 1024 * 1024
DEFAULT_CONCURRENCY = 64
DEFAULT_PER_HOST = 2
DEFAULT_HOST_DELAY = 0.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_RETRY_BUDGET = 60.0  # seconds spent waiting between the attempts for one URL
DEFAULT_BACKOFF_BASE = 1.0
DEFAULT_BROWSER_PATH = "/usr/bin/chromium"  # Debian's chromium package
DEFAULT_BROWSER_PAGES = 4  # pages rendered at once: each tab takes a renderer process (~100 MB)
DEFAULT_BROWSER_WAIT = 10.0  # seconds to wait for the `select` selectors to have text (OTA: 10 s)
DEFAULT_STATUS_FILE = Path(".ota/status.json")
DEFAULT_PUBLISH_TIMEOUT = 300.0  # seconds for one `git push`
DEFAULT_REPORT_TIMEOUT = 30.0  # seconds for one forge API request
DEFAULT_NOTIFY_TIMEOUT = 60.0  # seconds for all of a run's notifications
#: What a run's notification can tell: versions that are first records or changes, technical
#: upgrades, every failing terms, the terms that started failing in this run.
NOTIFY_EVENTS = ("changes", "upgrades", "failures", "new_failures")
#: `[notify] significance`: the least significant class of changes that notifies.
NOTIFY_SIGNIFICANCE = ("substantive", "editorial", "cosmetic")
FORGES = ("github", "gitlab")


@dataclass(frozen=True)
class FetchSettings:
    """How to fetch: request headers, limits, politeness, retries, proxies, trusted authorities."""

    accept_language: str = DEFAULT_ACCEPT_LANGUAGE  # may be a list such as "en-IE, en-GB, en"
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = DEFAULT_TIMEOUT
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    max_size: int = DEFAULT_MAX_SIZE
    concurrency: int = DEFAULT_CONCURRENCY
    per_host: int = DEFAULT_PER_HOST
    host_delay: float = DEFAULT_HOST_DELAY
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_budget: float = DEFAULT_RETRY_BUDGET
    backoff_base: float = DEFAULT_BACKOFF_BASE
    browser_path: str = DEFAULT_BROWSER_PATH  # Chromium, a path or a name on PATH
    browser_pages: int = DEFAULT_BROWSER_PAGES
    browser_wait: float = DEFAULT_BROWSER_WAIT
    #: Chromium's sandbox; None: on, unless ota runs as root (where Chromium cannot use it).
    browser_sandbox: bool | None = None
    #: The proxy variables of the environment (`HTTP_PROXY`, `no_proxy`…), as they were set.
    proxy_environment: Mapping[str, str] = field(default_factory=dict)
    #: Fetch loopback, private, link-local… addresses too (`ota.fetch.guard`): tests, intranets.
    allow_private_addresses: bool = False
    #: Networks allowed although not public (CIDR notation), when the guard is on.
    allowed_networks: tuple[str, ...] = ()
    #: Certificate authorities to trust instead of the default ones (`SSL_CERT_FILE`, `SSL_CERT_DIR`).
    ca_file: Path | None = None
    ca_dir: Path | None = None

    def __post_init__(self) -> None:
        for name in ("max_size", "concurrency", "per_host", "max_attempts", "browser_pages"):
            if getattr(self, name) < 1:
                raise SettingsError(f"fetch {name} must be at least 1, not {getattr(self, name)}")
        for name in (
            "timeout",
            "host_delay",
            "retry_budget",
            "backoff_base",
            "max_redirects",
            "browser_wait",
        ):
            if getattr(self, name) < 0:
                raise SettingsError(f"fetch {name} cannot be negative, not {getattr(self, name)}")


DEFAULT_SERVE_HOST = "127.0.0.1"  # the viewer is reached through a reverse proxy, never directly
DEFAULT_SERVE_PORT = 3000
DEFAULT_API_BASE_PATH = "/api"


@dataclass(frozen=True)
class ServeSettings:
    """How `ota serve` listens: its address, and where the Collection API is mounted."""

    host: str = DEFAULT_SERVE_HOST
    port: int = DEFAULT_SERVE_PORT
    #: The Collection API answers under `BASE_PATH/v1` (OTA's `collection-api.basePath`).
    base_path: str = DEFAULT_API_BASE_PATH
    #: Link of each feed entry (OTA's `feed.versionUrlTemplate`); empty: the version API route.
    version_url_template: str = ""


@dataclass(frozen=True)
class DatasetSettings:
    """How `ota dataset` names its archive (OTA's `dataset.title`; empty: metadata.yml's `name`)."""

    title: str = ""


@dataclass(frozen=True)
class StatusSettings:
    """Where the status file is, and when `ota status --check` calls the last run too old."""

    file: Path = DEFAULT_STATUS_FILE
    #: Seconds after which the last run is too old; None: twice the interval of the schedule.
    max_age: float | None = None


@dataclass(frozen=True)
class ReportSettings:
    """Failure reports: issues on the declarations repository of a GitHub or GitLab forge."""

    #: The declarations repository, "owner/name" (GitLab: "group/subgroup/name"); empty: off.
    repository: str = ""
    #: "github" or "gitlab"; empty: the forge whose token is set (GitHub when both are).
    forge: str = ""
    api_url: str = ""  # empty: https://api.github.com or https://gitlab.com/api/v4
    base_url: str = ""  # empty: api_url's host, else https://github.com or https://gitlab.com
    versions_repository: str = ""  # "owner/name", for links to the latest version
    snapshots_repository: str = ""
    #: Consecutive failed runs before an issue is opened (1: at the first failure, as OTA does).
    after_failures: int = 1
    timeout: float = DEFAULT_REPORT_TIMEOUT
    github_token: str = field(default="", repr=False)
    gitlab_token: str = field(default="", repr=False)

    @property
    def kind(self) -> str:
        """The forge to use: the one set, else the one whose token is in the environment."""
        if self.forge:
            return self.forge
        return "gitlab" if self.gitlab_token and not self.github_token else "github"

    @property
    def token(self) -> str:
        """The token for `kind`, or an empty string."""
        return self.gitlab_token if self.kind == "gitlab" else self.github_token


@dataclass(frozen=True)
class NotifySettings:
    """Notifications through Apprise: where to send them and what a run's message tells."""

    #: Apprise URLs (mailto://, json://, slack://…); they hold secrets, so never in the repr.
    urls: tuple[str, ...] = field(default=(), repr=False)
    on: tuple[str, ...] = ("changes",)
    #: The least significant class of changes that notifies (`ota.significance`): by default a
    #: cosmetic or editorial change is recorded and shown, but not sent.
    significance: str = "substantive"
    timeout: float = DEFAULT_NOTIFY_TIMEOUT


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, resolved once."""

    declarations: Path = Path("declarations")
    snapshots: Path = Path("snapshots")
    versions: Path = Path("versions")
    #: The time zone of `schedule`.
    timezone: str = "UTC"
    #: Logs: "text" (for people) or "json" (one object per line), to stderr or `log_file`.
    log_format: str = "text"
    log_file: Path | None = None
    log_level: str = "info"
    extra_terms_types: tuple[str, ...] = ()
    fetch: FetchSettings = field(default_factory=FetchSettings)
    snapshot_link_template: str = DEFAULT_LINK_TEMPLATE
    author_name: str = DEFAULT_AUTHOR_NAME
    author_email: str = DEFAULT_AUTHOR_EMAIL
    schedule: str = DEFAULT_SCHEDULE
    #: Processes extracting Markdown; 0 extracts in the main process (tests, debugging).
    extract_workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: Seconds one page's extraction may take, and MiB of memory it may use, before it is stopped.
    extract_timeout: float = 60.0
    extract_memory: int = 1024
    #: Seconds before a suspicious new text (a block page, a large loss) is fetched again.
    confirm_pause: float = 30.0
    engine_version: str = ENGINE_VERSION
    #: SSH private key signing every commit ota makes; None: commits are not signed.
    signing_key: Path | None = None
    #: Allowed-signers file (ssh-keygen's format) naming the keys trusted to sign the repositories.
    allowed_signers: Path | None = None
    #: Whether `ota verify` exits 0 when every difference found has a likely cause.
    accept_explained: bool = True
    #: Whether `ota verify` exits 1 when a version or commit is unverifiable (e.g. cites a
    #: snapshot of another repository).
    verify_strict: bool = False
    #: RFC 3161 time-stamping authority (URL) asked to witness the branch tips after each run.
    timestamp_authority: str | None = None
    #: PEM certificates of the authorities trusted to sign timestamps.
    timestamp_certificates: Path | None = None
    #: Push both repositories to their `origin` remote after each run.
    publish: bool = False
    publish_timeout: float = DEFAULT_PUBLISH_TIMEOUT
    #: Where `ota serve` is reached by readers, for links in reports and notifications; empty: none.
    public_url: str = ""
    status: StatusSettings = field(default_factory=StatusSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    dataset: DatasetSettings = field(default_factory=DatasetSettings)


# -- the keys of ota.toml ---------------------------------------------------------------------------

Converter = Callable[[Any], Any]


class _Invalid(ValueError):
    """A value of the wrong type or out of range; the message says what was expected."""


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be a string, not {_shown(value)}")
    return value


def _one_line(value: Any) -> str:
    text = _string(value)
    if any(char in text for char in "<>\n\r\0"):
        raise _Invalid(f"cannot contain <, >, a line break or a NUL character: {text!r}")
    return text


def _integer(minimum: int) -> Converter:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"must be a whole number, not {_shown(value)}")
        if value < minimum:
            raise _Invalid(f"must be at least {minimum}, not {value}")
        return value

    return convert


def _number(minimum: float, *, exclusive: bool = False) -> Converter:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid(f"must be a number, not {_shown(value)}")
        if value < minimum or (exclusive and value == minimum):
            bound = "more than" if exclusive else "at least"
            raise _Invalid(f"must be {bound} {minimum:g}, not {value:g}")
        return float(value)

    return convert


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, not {_shown(value)}")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Invalid(f'must be a list of strings such as ["Example Policy"], not {_shown(value)}')
    return tuple(value)


def _cron(value: Any) -> str:
    expression = _string(value)
    try:
        cron_trigger(expression)
    except CronError as error:
        raise _Invalid(str(error)) from None
    return expression


def _time_zone(value: Any) -> str:
    name = _string(value)
    try:
        time_zone(name)
    except CronError as error:
        raise _Invalid(str(error)) from None
    return name


def _log_format(value: Any) -> str:
    text = _string(value)
    if text not in ("text", "json"):
        raise _Invalid(f'must be "text" or "json", not {text!r}')
    return text


def _log_level(value: Any) -> str:
    text = _string(value).lower()
    if text not in ("debug", "info", "warning", "error"):
        raise _Invalid(f'must be "debug", "info", "warning" or "error", not {text!r}')
    return text


def _networks(value: Any) -> tuple[str, ...]:
    import ipaddress

    networks = _strings(value)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise _Invalid(f'{network!r} is not a network such as "10.1.0.0/16" or "fd00::/8"') from None
    return networks


def _terms_types(value: Any) -> tuple[str, ...]:
    names = _strings(value)
    for name in names:
        if (
            not name.strip()
            or name != name.strip()
            or "/" in name
            or name.startswith(".")
            or any(ord(char) < 32 for char in name)
        ):
            raise _Invalid(
                f"{name!r} cannot be a terms type: it names files, so no '/', no leading dot or space, "
                "no control character"
            )
    return names


def _host(value: Any) -> str:
    host = _string(value).strip()
    if not host or any(char.isspace() or char in "/@" for char in host):
        raise _Invalid(f'must be an address to listen on, such as "127.0.0.1" or "::1", not {value!r}')
    return host


def _base_path(value: Any) -> str:
    path = "/" + _string(value).strip().strip("/")
    if any(char in path for char in "?#%\\ ") or "/." in path:
        raise _Invalid(f'must be a URL path such as "/api", not {value!r}')
    return "" if path == "/" else path


def _port(value: Any) -> int:
    port: int = _integer(1)(value)
    if port > 65535:
        raise _Invalid(f"must be a port number up to 65535, not {port}")
    return port


def _path(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str) or not value:
        raise _Invalid(f"must be a folder path, not {_shown(value)}")
    return Path(value)


def _file(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str) or not value:
        raise _Invalid(f"must be a file path, not {_shown(value)}")
    return Path(value)


def _url(value: Any) -> str:
    text = _string(value)
    if not text.startswith(("http://", "https://")):
        raise _Invalid(f"must be an http:// or https:// URL, not {text!r}")
    return text


def _http_url(value: Any) -> str:
    text = _string(value)
    if text and not text.startswith(("http://", "https://")):
        raise _Invalid(f"must be an http:// or https:// URL, not {text!r}")
    return text.rstrip("/")


def _repository_name(value: Any) -> str:
    text = _string(value)
    if text and ("/" not in text.strip("/") or "://" in text or " " in text):
        raise _Invalid(f'must name a repository as "owner/name", not {text!r}')
    return text.strip("/")


def _choice(*choices: str) -> Converter:
    def convert(value: Any) -> str:
        text = _string(value)
        if text not in choices:
            raise _Invalid(f"must be one of {', '.join(choices)}, not {text!r}")
        return text

    return convert


def _choices(*choices: str) -> Converter:
    def convert(value: Any) -> tuple[str, ...]:
        items = _strings(value)
        unknown = [item for item in items if item not in choices]
        if unknown:
            raise _Invalid(f"{', '.join(map(repr, unknown))}: unknown; known: {', '.join(choices)}")
        return items

    return convert


def _max_age(value: Any) -> float | None:
    seconds: float = _number(0)(value)
    return seconds or None  # 0: derived from the schedule


def _shown(value: Any) -> str:
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}
    return f"{kind.get(type(value), type(value).__name__)} ({value!r})"


@dataclass(frozen=True)
class _Key:
    """One key of ota.toml: the field it sets (`fetch.NAME` for fetch settings) and its type."""

    target: str
    convert: Converter


_KEYS: dict[str, dict[str, _Key]] = {
    "collection": {
        "declarations": _Key("declarations", _path),
        "snapshots": _Key("snapshots", _path),
        "versions": _Key("versions", _path),
        "terms_types": _Key("extra_terms_types", _terms_types),
    },
    "fetch": {
        "accept_language": _Key("fetch.accept_language", _string),
        "user_agent": _Key("fetch.user_agent", _string),
        "timeout": _Key("fetch.timeout", _number(0, exclusive=True)),
        "total_timeout": _Key("fetch.total_timeout", _number(0, exclusive=True)),
        "max_redirects": _Key("fetch.max_redirects", _integer(0)),
        "max_size": _Key("fetch.max_size", _integer(1)),
        "concurrency": _Key("fetch.concurrency", _integer(1)),
        "per_host": _Key("fetch.per_host", _integer(1)),
        "host_delay": _Key("fetch.host_delay", _number(0)),
        "max_attempts": _Key("fetch.max_attempts", _integer(1)),
        "retry_budget": _Key("fetch.retry_budget", _number(0)),
        "backoff_base": _Key("fetch.backoff_base", _number(0)),
        "browser_path": _Key("fetch.browser_path", _string),
        "browser_pages": _Key("fetch.browser_pages", _integer(1)),
        "browser_wait": _Key("fetch.browser_wait", _number(0)),
        "browser_sandbox": _Key("fetch.browser_sandbox", _boolean),
        "allow_private_addresses": _Key("fetch.allow_private_addresses", _boolean),
        "allowed_networks": _Key("fetch.allowed_networks", _networks),
    },
    "recorder": {
        "snapshot_link_template": _Key("snapshot_link_template", _string),
        "author_name": _Key("author_name", _one_line),
        "author_email": _Key("author_email", _one_line),
        "signing_key": _Key("signing_key", _file),
        "allowed_signers": _Key("allowed_signers", _file),
    },
    "track": {
        "schedule": _Key("schedule", _cron),
        "timezone": _Key("timezone", _time_zone),
        "extract_workers": _Key("extract_workers", _integer(0)),
        "extract_timeout": _Key("extract_timeout", _number(0, exclusive=True)),
        "extract_memory": _Key("extract_memory", _integer(64)),
        "confirm_pause": _Key("confirm_pause", _number(0)),
        "publish": _Key("publish", _boolean),
        "publish_timeout": _Key("publish_timeout", _number(0, exclusive=True)),
    },
    "verify": {
        "accept_explained": _Key("accept_explained", _boolean),
        "strict": _Key("verify_strict", _boolean),
    },
    "log": {
        "format": _Key("log_format", _log_format),
        "file": _Key("log_file", _path),
        "level": _Key("log_level", _log_level),
    },
    "timestamps": {
        "authority": _Key("timestamp_authority", _url),
        "certificates": _Key("timestamp_certificates", _file),
    },
    "status": {
        "file": _Key("status.file", _path),
        "max_age": _Key("status.max_age", _max_age),
    },
    "report": {
        "repository": _Key("report.repository", _repository_name),
        "forge": _Key("report.forge", _choice(*FORGES)),
        "api_url": _Key("report.api_url", _http_url),
        "base_url": _Key("report.base_url", _http_url),
        "versions_repository": _Key("report.versions_repository", _repository_name),
        "snapshots_repository": _Key("report.snapshots_repository", _repository_name),
        "after_failures": _Key("report.after_failures", _integer(1)),
        "timeout": _Key("report.timeout", _number(0, exclusive=True)),
    },
    "notify": {
        "urls": _Key("notify.urls", _strings),
        "on": _Key("notify.on", _choices(*NOTIFY_EVENTS)),
        "significance": _Key("notify.significance", _choice(*NOTIFY_SIGNIFICANCE)),
        "timeout": _Key("notify.timeout", _number(0, exclusive=True)),
    },
    "serve": {
        "public_url": _Key("public_url", _http_url),
        "host": _Key("serve.host", _host),
        "port": _Key("serve.port", _port),
        "base_path": _Key("serve.base_path", _base_path),
        "version_url_template": _Key("serve.version_url_template", _one_line),
    },
    "dataset": {
        "title": _Key("dataset.title", _one_line),
    },
}
#: Option name (as `load_settings` takes it) → its key, for the same checks as the file's values.
_BY_TARGET = {
    key.target: (section, name, key) for section, keys in _KEYS.items() for name, key in keys.items()
}
_PATH_TARGETS = {"declarations", "snapshots", "versions"}
#: Files named by a setting: relative to the file, and checked to be readable.
_FILE_TARGETS = {"signing_key", "allowed_signers", "timestamp_certificates"}
#: Files and folders given relative to the ota.toml file, besides the collection's folders.
_RELATIVE_TARGETS = {*_PATH_TARGETS, *_FILE_TARGETS, "status.file", "log_file"}
#: Nested sections: the prefix of their targets → their dataclass.
_SECTIONS: dict[str, type] = {
    "fetch": FetchSettings,
    "status": StatusSettings,
    "report": ReportSettings,
    "notify": NotifySettings,
    "serve": ServeSettings,
    "dataset": DatasetSettings,
}


def settings_keys() -> dict[str, list[str]]:
    """The keys `ota.toml` accepts, by section (for documentation and its tests)."""
    return {section: list(keys) for section, keys in _KEYS.items()}


def load_settings(
    config: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """The settings for this run; raises `SettingsError` naming what is wrong.

    `config` is an `ota.toml` to read (default: `OTA_CONFIG`, else `./ota.toml` when present);
    `environ` the environment (default: `os.environ`); `overrides` the command-line values, by
    field name (`declarations`, `fetch.concurrency`…), None values being ignored. Relative folders
    in a config file are relative to it.
    """
    environ = os.environ if environ is None else environ
    if config is None and environ.get("OTA_CONFIG"):
        config = Path(environ["OTA_CONFIG"])
    if config is None and Path(CONFIG_FILE).is_file():
        config = Path(CONFIG_FILE)
    values: dict[str, Any] = {}
    if config is not None:
        values.update(_file_values(config))
    values.update(_environment_values(environ))
    for target, value in (overrides or {}).items():
        if value is None:
            continue
        if target not in _BY_TARGET:
            raise SettingsError(f"unknown setting {target!r}")
        section, name, key = _BY_TARGET[target]
        option = "--" + target.rsplit(".", 1)[-1].replace("_", "-")  # ota's options are named so
        values[target] = _converted(key, value, f"{option} (setting [{section}] {name})")
    return _build(values)


def _file_values(config: Path) -> dict[str, Any]:
    try:
        with config.open("rb") as file:
            data = tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{config}: is not valid TOML: {error}") from error
    except OSError as error:
        raise SettingsError(f"{config}: cannot be read: {error.strerror}") from error
    base = config.parent
    # The folders of a collection sit beside its ota.toml unless it says otherwise.
    values: dict[str, Any] = {name: base / name for name in _PATH_TARGETS}
    values["status.file"] = base / DEFAULT_STATUS_FILE
    for section, content in data.items():
        keys = _KEYS.get(section)
        if keys is None:
            raise SettingsError(f"{config}: unknown section [{section}]; known: {', '.join(_KEYS)}")
        if not isinstance(content, dict):
            raise SettingsError(f"{config}: [{section}] must be a table of keys, not {_shown(content)}")
        for name, value in content.items():
            key = keys.get(name)
            if key is None:
                raise SettingsError(
                    f"{config}: [{section}] {name}: unknown setting; known: {', '.join(keys)}"
                )
            converted = _converted(key, value, f"{config}: [{section}] {name}")
            values[key.target] = base / converted if key.target in _RELATIVE_TARGETS else converted
    return values


def _converted(key: _Key, value: Any, where: str) -> Any:
    try:
        return key.convert(value)
    except _Invalid as error:
        raise SettingsError(f"{where}: {error}") from None


def _check_readable(target: str, path: Path) -> None:
    section, name, _ = _BY_TARGET[target]
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise SettingsError(f"[{section}] {name}: {path}: cannot be read: {error.strerror}") from error


def _environment_values(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if environ.get("OTA_ACCEPT_LANGUAGE"):
        values["fetch.accept_language"] = environ["OTA_ACCEPT_LANGUAGE"]
    allow = environ.get("OTA_ALLOW_PRIVATE_ADDRESSES", "")
    if allow:
        if allow not in ("0", "1", "true", "false"):
            raise SettingsError(f"OTA_ALLOW_PRIVATE_ADDRESSES={allow}: must be 1 (allow) or 0")
        values["fetch.allow_private_addresses"] = allow in ("1", "true")
    values["fetch.proxy_environment"] = {
        name: value for name, value in environ.items() if name.lower().endswith("_proxy") and value
    }
    for variable, target in (("SSL_CERT_FILE", "fetch.ca_file"), ("SSL_CERT_DIR", "fetch.ca_dir")):
        value = environ.get(variable)
        if not value:
            continue
        path = Path(value)
        exists = path.is_file() if target == "fetch.ca_file" else path.is_dir()
        if not exists:
            kind = "file" if target == "fetch.ca_file" else "folder"
            raise SettingsError(
                f"{variable}={value}: no such {kind} (it names the certificate authorities to trust)"
            )
        values[target] = path
    sandbox = environ.get("OTA_BROWSER_SANDBOX", "").strip().lower()
    if sandbox:
        if sandbox not in _BOOLEAN_WORDS:
            raise SettingsError(f"OTA_BROWSER_SANDBOX={sandbox}: must be true or false")
        values["fetch.browser_sandbox"] = _BOOLEAN_WORDS[sandbox]
    # OTA's engine reads OTA_ENGINE_*_TOKEN; the forges' own CI sets GITHUB_TOKEN / GITLAB_TOKEN.
    for forge in FORGES:
        names = (f"OTA_ENGINE_{forge.upper()}_TOKEN", f"{forge.upper()}_TOKEN")
        token = next((environ[name] for name in names if environ.get(name)), "")
        if token:
            values[f"report.{forge}_token"] = token
    if environ.get("OTA_NOTIFY_URLS", "").strip():
        values["notify.env_urls"] = tuple(environ["OTA_NOTIFY_URLS"].split())
    return values


_BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _build(values: Mapping[str, Any]) -> Settings:
    values = dict(values)
    # Notification URLs from the environment come on top of the file's (secrets stay out of files).
    env_urls = values.pop("notify.env_urls", ())
    if env_urls:
        values["notify.urls"] = (*values.get("notify.urls", ()), *env_urls)
    nested: dict[str, dict[str, Any]] = {prefix: {} for prefix in _SECTIONS}
    top: dict[str, Any] = {}
    for target, value in values.items():
        prefix, _, name = target.partition(".")
        if name and prefix in nested:
            nested[prefix][name] = value
        else:
            top[target] = value
    for target in _FILE_TARGETS & set(top):
        _check_readable(target, top[target])
    sections = {}
    for prefix, section in _SECTIONS.items():
        unknown = set(nested[prefix]) - {f.name for f in fields(section)}
        if unknown:  # a bug in this module, not a user error
            raise AssertionError(f"unknown {prefix} fields {sorted(unknown)}")
        sections[prefix] = section(**nested[prefix])
    return replace(Settings(), **sections, **top)
