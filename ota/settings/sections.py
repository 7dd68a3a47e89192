"""The sections of ota.toml, one frozen value each, and `Settings`, which holds one of each.

Every key is declared here once: its type, its default, its converter and what it does
(`ota.settings.keys.setting`). A field without a `Key` is not a key of ota.toml: the loader sets
it from the environment (proxies) or it is fixed (the engine version).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ota import __version__
from ota.errors import SettingsError
from ota.settings import convert as c
from ota.settings.keys import setting

#: What ota writes in the `X-engine-version` trailer of its commits.
ENGINE_VERSION = f"ota {__version__}"

DEFAULT_SCHEDULE = "30 */12 * * *"
#: Replaced by the snapshot's commit id in the links of a version's message (OTA's template syntax).
SNAPSHOT_ID_MARKER = "%SNAPSHOT_ID"
#: OTA's default `snapshotIdentiferTemplate` (sic): the bare commit id.
DEFAULT_LINK_TEMPLATE = SNAPSHOT_ID_MARKER
DEFAULT_AUTHOR_NAME = "Open Terms Archive Bot"
DEFAULT_AUTHOR_EMAIL = "bot@opentermsarchive.org"
#: Seconds one page's extraction may take (a 5,000-page PDF took 267 s; real terms take well under
#: 1 s); JavaScript filters, run before extraction, have as long.
DEFAULT_EXTRACT_TIMEOUT = 60.0
DEFAULT_EXTRACT_MEMORY = 1024  # MiB of address space one extraction process may use
#: Seconds before a suspicious new text is fetched again (a block page often lasts a few seconds).
DEFAULT_CONFIRM_PAUSE = 30.0
DEFAULT_PUBLISH_TIMEOUT = 300.0  # seconds for one `git push`

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

DEFAULT_SERVE_HOST = "127.0.0.1"  # the viewer is reached through a reverse proxy, never directly
DEFAULT_SERVE_PORT = 3000
DEFAULT_API_BASE_PATH = "/api"
DEFAULT_STATUS_FILE = Path(".ota/status.json")
DEFAULT_REPORT_TIMEOUT = 30.0  # seconds for one forge API request
DEFAULT_NOTIFY_TIMEOUT = 60.0  # seconds for all of a run's notifications
#: What a run's notification can tell: versions that are first records or changes, technical
#: upgrades, every failing terms, the terms that started failing in this run.
NOTIFY_EVENTS = ("changes", "upgrades", "failures", "new_failures")
#: `[notify] significance`: the least significant class of changes that notifies.
NOTIFY_SIGNIFICANCE = ("substantive", "editorial", "cosmetic")
FORGES = ("github", "gitlab")

_EXCLUSIVE = c.number(0, exclusive=True)


@dataclass(frozen=True)
class CollectionSettings:
    """[collection]: where the declarations and the two repositories are."""

    declarations: Path = setting(
        Path("declarations"), c.folder, "folder, relative to ota.toml", relative=True
    )
    snapshots: Path = setting(Path("snapshots"), c.folder, "repository, relative to ota.toml", relative=True)
    versions: Path = setting(Path("versions"), c.folder, "repository, relative to ota.toml", relative=True)
    terms_types: tuple[str, ...] = setting((), c.terms_types, "terms types allowed besides OTA's list")


@dataclass(frozen=True)
class FetchSettings:
    """[fetch]: request headers, limits, politeness, retries, proxies, trusted authorities."""

    accept_language: str = setting(
        DEFAULT_ACCEPT_LANGUAGE,
        c.string,
        'sent as Accept-Language, e.g. "en-IE, en-GB, en"',
        env=("OTA_ACCEPT_LANGUAGE",),
    )
    user_agent: str = setting(DEFAULT_USER_AGENT, c.string, "sent as User-Agent")
    timeout: float = setting(DEFAULT_TIMEOUT, _EXCLUSIVE, "seconds for one attempt, body included")
    total_timeout: float = setting(DEFAULT_TOTAL_TIMEOUT, _EXCLUSIVE, "seconds for all attempts at a page")
    max_redirects: int = setting(DEFAULT_MAX_REDIRECTS, c.integer(0), "redirects followed")
    max_size: int = setting(DEFAULT_MAX_SIZE, c.integer(1), "bytes of a page at most")
    concurrency: int = setting(DEFAULT_CONCURRENCY, c.integer(1), "requests in flight at once")
    per_host: int = setting(DEFAULT_PER_HOST, c.integer(1), "requests in flight to one host")
    host_delay: float = setting(DEFAULT_HOST_DELAY, c.number(0), "seconds between two requests to one host")
    max_attempts: int = setting(DEFAULT_MAX_ATTEMPTS, c.integer(1), "attempts at a page")
    retry_budget: float = setting(DEFAULT_RETRY_BUDGET, c.number(0), "seconds waited between attempts")
    backoff_base: float = setting(DEFAULT_BACKOFF_BASE, c.number(0), "seconds before the first retry")
    browser_path: str = setting(DEFAULT_BROWSER_PATH, c.string, "Chromium, a path or a name on PATH")
    browser_pages: int = setting(DEFAULT_BROWSER_PAGES, c.integer(1), "pages rendered at once")
    browser_wait: float = setting(DEFAULT_BROWSER_WAIT, c.number(0), "seconds to wait for `select`")
    #: Chromium's sandbox; None: on, unless ota runs as root (where Chromium cannot use it).
    browser_sandbox: bool | None = setting(
        None,
        c.boolean,
        "default: on, unless ota runs as root",
        env=("OTA_BROWSER_SANDBOX",),
        env_convert=c.boolean_word,
    )
    #: Fetch loopback, private, link-local… addresses too (`ota.fetch.guard`): tests, intranets.
    allow_private_addresses: bool = setting(
        False,
        c.boolean,
        "fetch loopback and private addresses too",
        env=("OTA_ALLOW_PRIVATE_ADDRESSES",),
        env_convert=c.flag,
    )
    #: Networks allowed although not public (CIDR notation), when the guard is on.
    allowed_networks: tuple[str, ...] = setting((), c.networks, "private networks allowed (CIDR)")
    #: Certificate authorities to trust instead of the default ones.
    ca_file: Path | None = setting(
        None,
        c.file,
        "certificate authorities",
        toml=False,
        env=("SSL_CERT_FILE",),
        env_convert=c.existing_file,
    )
    ca_dir: Path | None = setting(
        None,
        c.folder,
        "certificate authorities",
        toml=False,
        env=("SSL_CERT_DIR",),
        env_convert=c.existing_folder,
    )
    #: The proxy variables of the environment (`HTTP_PROXY`, `no_proxy`…), as they were set.
    proxy_environment: Mapping[str, str] = field(default_factory=dict)

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


@dataclass(frozen=True)
class RecorderSettings:
    """[recorder]: how commits are written: their author, their links, their signature."""

    snapshot_link_template: str = setting(DEFAULT_LINK_TEMPLATE, c.string, "OTA's snapshotIdentiferTemplate")
    author_name: str = setting(DEFAULT_AUTHOR_NAME, c.one_line, "author of the commits")
    author_email: str = setting(DEFAULT_AUTHOR_EMAIL, c.one_line, "author's email")
    #: SSH private key signing every commit ota makes; None: commits are not signed.
    signing_key: Path | None = setting(
        None, c.file, "SSH private key: every commit is signed", relative=True, readable=True
    )
    #: Allowed-signers file (ssh-keygen's format) naming the keys trusted to sign the repositories.
    allowed_signers: Path | None = setting(
        None, c.file, "who may sign; `ota verify` checks with it", relative=True, readable=True
    )
    engine_version: str = ENGINE_VERSION


@dataclass(frozen=True)
class TrackSettings:
    """[track]: when runs happen, how pages are extracted, what happens after a run."""

    schedule: str = setting(DEFAULT_SCHEDULE, c.cron_expression, "cron expression of the runs")
    #: The time zone of `schedule`.
    timezone: str = setting("UTC", c.zone_name, "of the schedule")
    #: Processes extracting Markdown; 0 extracts in the main process (tests, debugging).
    extract_workers: int = setting(os.cpu_count() or 1, c.integer(0), "processes extracting; default: CPUs")
    #: Seconds one page's extraction may take, and MiB of memory it may use, before it is stopped.
    extract_timeout: float = setting(DEFAULT_EXTRACT_TIMEOUT, _EXCLUSIVE, "seconds one extraction may take")
    extract_memory: int = setting(DEFAULT_EXTRACT_MEMORY, c.integer(64), "MiB one extraction may use")
    #: Seconds before a suspicious new text (a block page, a large loss) is fetched again.
    confirm_pause: float = setting(DEFAULT_CONFIRM_PAUSE, c.number(0), "seconds before fetching again")
    #: Push both repositories to their `origin` remote after each run.
    publish: bool = setting(False, c.boolean, "push both repositories after each run")
    publish_timeout: float = setting(DEFAULT_PUBLISH_TIMEOUT, _EXCLUSIVE, "seconds for one push")


@dataclass(frozen=True)
class VerifySettings:
    """[verify]: when `ota verify` fails."""

    #: Whether `ota verify` exits 0 when every difference found has a likely cause.
    accept_explained: bool = setting(True, c.boolean, "false: exit 1 when a difference is only explained")
    #: Whether `ota verify` exits 1 when a version or commit is unverifiable (e.g. cites a
    #: snapshot of another repository).
    strict: bool = setting(False, c.boolean, "true: exit 1 when something cannot be verified here")


@dataclass(frozen=True)
class LogSettings:
    """[log]: "text" (for people) or "json" (one object per line), to stderr or a file."""

    format: str = setting("text", c.log_format, 'or "json": one object per line', option="--log-format")
    file: Path | None = setting(
        None, c.folder, "append the logs here; default: stderr", option="--log-file", relative=True
    )
    level: str = setting("info", c.log_level, "debug, info, warning or error")


@dataclass(frozen=True)
class TimestampsSettings:
    """[timestamps]: an RFC 3161 authority witnessing each run's commits."""

    #: RFC 3161 time-stamping authority (URL) asked to witness the branch tips after each run.
    authority: str | None = setting(None, c.url, "URL of the time-stamping authority")
    #: PEM certificates of the authorities trusted to sign timestamps.
    certificates: Path | None = setting(None, c.file, "its root certificates", relative=True, readable=True)


@dataclass(frozen=True)
class StatusSettings:
    """[status]: where the status file is, and when `ota status --check` calls the last run too old."""

    file: Path = setting(DEFAULT_STATUS_FILE, c.folder, "relative to ota.toml", relative=True)
    #: Seconds after which the last run is too old; None: twice the interval of the schedule.
    max_age: float | None = setting(None, c.max_age, "seconds; 0: twice the schedule's interval")


@dataclass(frozen=True)
class ReportSettings:
    """[report]: failure reports as issues on the declarations repository of a GitHub or GitLab forge."""

    #: The declarations repository, "owner/name" (GitLab: "group/subgroup/name"); empty: off.
    repository: str = setting("", c.repository_name, "the declarations repository")
    #: "github" or "gitlab"; empty: the forge whose token is set (GitHub when both are).
    forge: str = setting("", c.choice(*FORGES), "default: the forge whose token is set")
    api_url: str = setting("", c.http_url, "GitHub Enterprise / self-hosted GitLab")
    base_url: str = setting("", c.http_url, "default: api_url's host")
    versions_repository: str = setting("", c.repository_name, "for links to the latest version")
    snapshots_repository: str = setting("", c.repository_name, "for links to snapshots")
    #: Consecutive failed runs before an issue is opened (1: at the first failure, as OTA does).
    after_failures: int = setting(1, c.integer(1), "failed runs before an issue is opened")
    timeout: float = setting(DEFAULT_REPORT_TIMEOUT, _EXCLUSIVE, "seconds for one API request")
    # OTA's engine reads OTA_ENGINE_*_TOKEN; the forges' own CI sets GITHUB_TOKEN / GITLAB_TOKEN.
    github_token: str = setting(
        "", c.string, "GitHub token", secret=True, toml=False, env=("OTA_ENGINE_GITHUB_TOKEN", "GITHUB_TOKEN")
    )
    gitlab_token: str = setting(
        "", c.string, "GitLab token", secret=True, toml=False, env=("OTA_ENGINE_GITLAB_TOKEN", "GITLAB_TOKEN")
    )

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
    """[notify]: notifications through Apprise: where to send them and what a run's message tells."""

    #: Apprise URLs (mailto://, json://, slack://…); they hold secrets, so never in the repr.
    urls: tuple[str, ...] = setting(
        (),
        c.strings,
        "Apprise URLs (also OTA_NOTIFY_URLS)",
        secret=True,
        env=("OTA_NOTIFY_URLS",),
        env_convert=c.words,
        env_adds=True,  # secrets stay out of files: the variable's come on top of the file's
    )
    on: tuple[str, ...] = setting(("changes",), c.choices(*NOTIFY_EVENTS), ", ".join(NOTIFY_EVENTS))
    #: The least significant class of changes that notifies (`ota.significance`): by default a
    #: cosmetic or editorial change is recorded and shown, but not sent.
    significance: str = setting(
        "substantive",
        c.choice(*NOTIFY_SIGNIFICANCE),
        "changes that notify: " + ", ".join(NOTIFY_SIGNIFICANCE),
    )
    timeout: float = setting(DEFAULT_NOTIFY_TIMEOUT, _EXCLUSIVE, "seconds for all of a run's notifications")


@dataclass(frozen=True)
class ServeSettings:
    """[serve]: how `ota serve` listens, where it is reached, where the Collection API is mounted."""

    #: Where `ota serve` is reached by readers, for links in reports and notifications; empty: none.
    public_url: str = setting("", c.http_url, "where `ota serve` is reached, for links in messages")
    host: str = setting(DEFAULT_SERVE_HOST, c.host, "address to listen on")
    port: int = setting(DEFAULT_SERVE_PORT, c.port, "port to listen on")
    #: The Collection API answers under `BASE_PATH/v1` (OTA's `collection-api.basePath`).
    base_path: str = setting(DEFAULT_API_BASE_PATH, c.base_path, "the Collection API's path")
    #: Link of each feed entry (OTA's `feed.versionUrlTemplate`); empty: the version API route.
    version_url_template: str = setting("", c.one_line, "link of each feed entry")


@dataclass(frozen=True)
class DatasetSettings:
    """[dataset]: how `ota dataset` names its archive (OTA's `dataset.title`)."""

    title: str = setting("", c.one_line, "default: metadata.yml's name")


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, resolved once: one value per section of ota.toml."""

    collection: CollectionSettings = field(default_factory=CollectionSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    recorder: RecorderSettings = field(default_factory=RecorderSettings)
    track: TrackSettings = field(default_factory=TrackSettings)
    verify: VerifySettings = field(default_factory=VerifySettings)
    log: LogSettings = field(default_factory=LogSettings)
    timestamps: TimestampsSettings = field(default_factory=TimestampsSettings)
    status: StatusSettings = field(default_factory=StatusSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    dataset: DatasetSettings = field(default_factory=DatasetSettings)
