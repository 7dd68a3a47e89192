"""Settings: one frozen value, built once from `ota.toml`, the environment and command-line options.

One nested value per section of ota.toml (`settings.collection.declarations`,
`settings.track.schedule`, `settings.log.format`…); each key is declared once, with its type,
default, converter and documentation, in `ota.settings.sections`; `ota.settings.load` derives
the loader, the variables and the options from those declarations.

`ota.toml` is in the working folder, or is the file named by `--config` or `OTA_CONFIG`; the
README's "Settings" section shows every key (`settings_keys()` lists them, and a test checks
that the README has each one).

    ota/settings/
      sections.py   one frozen dataclass per section; each key a `setting(default, converter, doc)`
      keys.py       `setting` and `Key`: a key's variables, option, relative path, readability
      convert.py    the converters (a TOML value → its type, or `Invalid` saying what was expected)
      load.py       `load_settings`: ota.toml, the environment and options → `Settings`

Every key is converted to its type here, and a key that is unknown or of the wrong type is a
`SettingsError` naming the file, the section and the key (an option: the option and its key; a
variable: the variable). The environment is read here and only here: `OTA_CONFIG`, the variables
declared with their key (`settings_variables()`: `OTA_ACCEPT_LANGUAGE`,
`OTA_ALLOW_PRIVATE_ADDRESSES`, `SSL_CERT_FILE` / `SSL_CERT_DIR`, `OTA_BROWSER_SANDBOX`, the forge
tokens `OTA_ENGINE_GITHUB_TOKEN` or `GITHUB_TOKEN`, `OTA_ENGINE_GITLAB_TOKEN` or `GITLAB_TOKEN`,
and `OTA_NOTIFY_URLS`) and the proxy variables (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`,
`NO_PROXY`, in either case). Secrets (tokens, notification URLs) are kept out of the settings'
`repr`, so logging a Settings value never shows them.

Precedence: command-line options, then the environment, then `ota.toml`, then the defaults.
"""

from ota.settings.convert import Converter
from ota.settings.keys import Key, setting
from ota.settings.load import (
    CONFIG_FILE,
    load_settings,
    settings_keys,
    settings_reference,
    settings_variables,
)
from ota.settings.sections import (
    DEFAULT_ACCEPT_LANGUAGE,
    DEFAULT_API_BASE_PATH,
    DEFAULT_AUTHOR_EMAIL,
    DEFAULT_AUTHOR_NAME,
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BROWSER_PAGES,
    DEFAULT_BROWSER_PATH,
    DEFAULT_BROWSER_WAIT,
    DEFAULT_CONCURRENCY,
    DEFAULT_CONFIRM_PAUSE,
    DEFAULT_EXTRACT_MEMORY,
    DEFAULT_EXTRACT_TIMEOUT,
    DEFAULT_HOST_DELAY,
    DEFAULT_LINK_TEMPLATE,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_SIZE,
    DEFAULT_NOTIFY_TIMEOUT,
    DEFAULT_PER_HOST,
    DEFAULT_PUBLISH_TIMEOUT,
    DEFAULT_REPORT_TIMEOUT,
    DEFAULT_RETRY_BUDGET,
    DEFAULT_SCHEDULE,
    DEFAULT_SERVE_HOST,
    DEFAULT_SERVE_PORT,
    DEFAULT_STATUS_FILE,
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    DEFAULT_USER_AGENT,
    ENGINE_VERSION,
    FORGES,
    NOTIFY_EVENTS,
    NOTIFY_SIGNIFICANCE,
    SNAPSHOT_ID_MARKER,
    CollectionSettings,
    DatasetSettings,
    FetchSettings,
    LogSettings,
    NotifySettings,
    RecorderSettings,
    ReportSettings,
    ServeSettings,
    Settings,
    StatusSettings,
    TimestampsSettings,
    TrackSettings,
    VerifySettings,
)

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_ACCEPT_LANGUAGE",
    "DEFAULT_API_BASE_PATH",
    "DEFAULT_AUTHOR_EMAIL",
    "DEFAULT_AUTHOR_NAME",
    "DEFAULT_BACKOFF_BASE",
    "DEFAULT_BROWSER_PAGES",
    "DEFAULT_BROWSER_PATH",
    "DEFAULT_BROWSER_WAIT",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_CONFIRM_PAUSE",
    "DEFAULT_EXTRACT_MEMORY",
    "DEFAULT_EXTRACT_TIMEOUT",
    "DEFAULT_HOST_DELAY",
    "DEFAULT_LINK_TEMPLATE",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_NOTIFY_TIMEOUT",
    "DEFAULT_PER_HOST",
    "DEFAULT_PUBLISH_TIMEOUT",
    "DEFAULT_REPORT_TIMEOUT",
    "DEFAULT_RETRY_BUDGET",
    "DEFAULT_SCHEDULE",
    "DEFAULT_SERVE_HOST",
    "DEFAULT_SERVE_PORT",
    "DEFAULT_STATUS_FILE",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "DEFAULT_USER_AGENT",
    "ENGINE_VERSION",
    "FORGES",
    "NOTIFY_EVENTS",
    "NOTIFY_SIGNIFICANCE",
    "SNAPSHOT_ID_MARKER",
    "CollectionSettings",
    "Converter",
    "DatasetSettings",
    "FetchSettings",
    "Key",
    "LogSettings",
    "NotifySettings",
    "RecorderSettings",
    "ReportSettings",
    "ServeSettings",
    "Settings",
    "StatusSettings",
    "TimestampsSettings",
    "TrackSettings",
    "VerifySettings",
    "load_settings",
    "setting",
    "settings_keys",
    "settings_reference",
    "settings_variables",
]
