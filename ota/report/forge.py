"""The few REST calls failure reports make on GitHub (or GitHub Enterprise) and GitLab.

Open issues are listed (paginated); closed ones are searched by title only when a terms starts
failing again (GitHub's search index lags by a minute: never relied on for issues this process
just created). Rate limits are answered as the forges ask: a short wait (`Retry-After`, or the
reset time of an exhausted quota) is waited once, a longer one raises `RateLimited`, and the
caller stops for this run. A network failure raises `ForgeUnavailable`: there is no point trying
each terms against a forge that cannot be reached.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from ota import __version__
from ota.settings import DEFAULT_REPORT_TIMEOUT

GITHUB_API, GITHUB_WEB = "https://api.github.com", "https://github.com"
GITLAB_API, GITLAB_WEB = "https://gitlab.com/api/v4", "https://gitlab.com"
#: Longest wait for a rate limit before giving up until the next run, in seconds.
MAX_RATE_LIMIT_WAIT = 10.0
#: A 429 without any header saying how long to wait.
DEFAULT_RATE_LIMIT_WAIT = 60.0
MAX_PAGES = 100  # 10,000 open issues


class ForgeError(Exception):
    """A forge request that failed; the message names the request and the forge's answer."""


class RateLimited(ForgeError):
    """The forge asks to wait longer than a run should; `until` is when it will answer again."""

    def __init__(self, message: str, until: datetime | None) -> None:
        super().__init__(message)
        self.until = until


class ForgeUnavailable(ForgeError):
    """The forge could not be reached at all."""


@dataclass(frozen=True)
class Issue:
    """An issue as both forges describe it; `number` is GitHub's number or GitLab's iid."""

    number: int
    title: str
    state: str  # "open" or "closed"
    labels: tuple[str, ...]
    url: str
    created_at: str = ""


class Forge:
    """One repository on a forge: what failure reports need of its issues and labels."""

    kind = ""
    default_api = ""
    default_web = ""
    #: Longest label description the forge accepts.
    max_label_description = 100

    def __init__(
        self,
        repository: str,
        token: str,
        *,
        api_url: str = "",
        base_url: str = "",
        timeout: float = DEFAULT_REPORT_TIMEOUT,
        proxy: str | None = None,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.repository = repository
        self.api_url = (api_url or self.default_api).rstrip("/")
        # GitHub Enterprise's API is HOST/api/v3, a self-hosted GitLab's HOST/api/v4: HOST is the web.
        derived = self.api_url.removesuffix("/api/v3").removesuffix("/api/v4") if api_url else ""
        self.base_url = (base_url or (derived if derived != self.api_url else "") or self.default_web).rstrip(
            "/"
        )
        self._sleep, self._now = sleep, now
        self._client = httpx.Client(
            base_url=self.api_url,
            headers={**self._auth(token), "User-Agent": f"ota/{__version__}"},
            timeout=timeout,
            proxy=proxy,
            verify=verify,
            transport=transport,
            trust_env=False,  # proxies and authorities come from the settings, as for fetching
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Forge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what each forge implements ------------------------------------------------------------

    def _auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def open_issues(self) -> dict[str, Issue]:
        """Open issues by title (the oldest, when two have the same title)."""
        return self.issues("open")

    def issues(self, state: str) -> dict[str, Issue]:
        """Issues in `state` ("open" or "closed") by title, the oldest when two share a title."""
        raise NotImplementedError

    def find_closed(self, title: str) -> Issue | None:
        """The oldest closed issue with exactly this title."""
        raise NotImplementedError

    def create_issue(self, title: str, body: str, labels: list[str]) -> Issue:
        raise NotImplementedError

    def comment(self, issue: Issue, body: str) -> None:
        raise NotImplementedError

    def update(self, issue: Issue, *, state: str | None = None, labels: list[str] | None = None) -> Issue:
        """Open or close the issue (`state` "open"/"closed") and/or replace its labels."""
        raise NotImplementedError

    def label_names(self) -> set[str]:
        raise NotImplementedError

    def create_label(self, name: str, color: str, description: str) -> None:
        raise NotImplementedError

    def file_url(self, repository: str, path: str) -> str:
        """The web page of `path` on the default branch of `repository` ("owner/name")."""
        raise NotImplementedError

    # -- requests ---------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> httpx.Response:
        for attempt in (1, 2):
            try:
                response = self._client.request(method, path, params=params, json=json)
            except httpx.HTTPError as error:
                raise ForgeUnavailable(f"{method} {self.api_url}{path}: {error}") from error
            wait = self._rate_limit_wait(response)
            if wait is None:
                break
            if attempt == 1 and wait <= MAX_RATE_LIMIT_WAIT:
                self._sleep(max(wait, 0.0))
                continue
            until = self._now() + timedelta(seconds=max(wait, 0.0))
            raise RateLimited(
                f"{method} {path}: rate limited (HTTP {response.status_code}) for {wait:.0f} s more", until
            )
        if response.status_code >= 400:
            raise ForgeError(f"{method} {path}: HTTP {response.status_code}: {_reason(response)}")
        return response

    def _paginated(self, path: str, params: Mapping[str, Any]) -> Iterator[Any]:
        url: str | None = path
        query: Mapping[str, Any] | None = {**params, "per_page": 100}
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = self._request("GET", url, params=query)
            yield from response.json()
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries the query

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait when `response` is a rate limit, else None."""
        if response.status_code not in (403, 429):
            return None
        headers = response.headers
        retry_after = headers.get("retry-after")
        if retry_after:
            try:
                return float(retry_after)
            except ValueError:
                try:
                    return (parsedate_to_datetime(retry_after) - self._now()).total_seconds()
                except (TypeError, ValueError):
                    return DEFAULT_RATE_LIMIT_WAIT
        # GitHub: x-ratelimit-*; GitLab: ratelimit-* (both: the reset as a Unix time).
        for prefix in ("x-ratelimit-", "ratelimit-"):
            if headers.get(f"{prefix}remaining") == "0":
                try:
                    return float(headers.get(f"{prefix}reset", "")) - self._now().timestamp()
                except ValueError:
                    return DEFAULT_RATE_LIMIT_WAIT
        # A 403 without rate-limit headers is a permission problem, not a reason to wait.
        return DEFAULT_RATE_LIMIT_WAIT if response.status_code == 429 else None


class GitHub(Forge):
    """GitHub's REST API v3 (github.com or GitHub Enterprise: `api_url` https://HOST/api/v3)."""

    kind = "github"
    default_api, default_web = GITHUB_API, GITHUB_WEB

    def __init__(self, repository: str, token: str, **options: Any) -> None:
        super().__init__(repository, token, **options)
        self._client.headers["Accept"] = "application/vnd.github+json"
        self._client.headers["X-GitHub-Api-Version"] = "2022-11-28"
        self._repo = f"/repos/{repository}"

    def issues(self, state: str) -> dict[str, Issue]:
        issues = (
            self._issue(item)
            for item in self._paginated(f"{self._repo}/issues", {"state": state})
            if "pull_request" not in item  # GitHub lists pull requests as issues
        )
        return _oldest_by_title(issues)

    def find_closed(self, title: str) -> Issue | None:
        phrase = title.replace('"', " ")
        query = f'repo:{self.repository} is:issue is:closed in:title "{phrase}"'
        response = self._request("GET", "/search/issues", params={"q": query, "per_page": 100})
        found = [self._issue(item) for item in response.json().get("items", [])]
        closed = [issue for issue in found if issue.title == title and issue.state == "closed"]
        return min(closed, key=lambda issue: (issue.created_at, issue.number), default=None)

    def create_issue(self, title: str, body: str, labels: list[str]) -> Issue:
        payload = {"title": title, "body": body, "labels": labels}
        return self._issue(self._request("POST", f"{self._repo}/issues", json=payload).json())

    def comment(self, issue: Issue, body: str) -> None:
        self._request("POST", f"{self._repo}/issues/{issue.number}/comments", json={"body": body})

    def update(self, issue: Issue, *, state: str | None = None, labels: list[str] | None = None) -> Issue:
        payload: dict[str, Any] = {}
        if state is not None:
            payload["state"] = state
        if labels is not None:
            payload["labels"] = labels
        response = self._request("PATCH", f"{self._repo}/issues/{issue.number}", json=payload)
        return self._issue(response.json())

    def label_names(self) -> set[str]:
        return {label["name"] for label in self._paginated(f"{self._repo}/labels", {})}

    def create_label(self, name: str, color: str, description: str) -> None:
        payload = {"name": name, "color": color, "description": description[: self.max_label_description]}
        self._request("POST", f"{self._repo}/labels", json=payload)

    def file_url(self, repository: str, path: str) -> str:
        return f"{self.base_url}/{repository}/blob/HEAD/{quote(path)}"

    @staticmethod
    def _issue(item: Mapping[str, Any]) -> Issue:
        return Issue(
            number=int(item["number"]),
            title=str(item["title"]),
            state=str(item["state"]),
            labels=tuple(label["name"] for label in item.get("labels", [])),
            url=str(item.get("html_url", "")),
            created_at=str(item.get("created_at", "")),
        )


class GitLab(Forge):
    """GitLab's REST API v4 (gitlab.com or a self-hosted instance: `api_url` https://HOST/api/v4)."""

    kind = "gitlab"
    default_api, default_web = GITLAB_API, GITLAB_WEB
    max_label_description = 255

    def __init__(self, repository: str, token: str, **options: Any) -> None:
        super().__init__(repository, token, **options)
        # A project is named by its URL-encoded path: no request to look its number up.
        self._project = f"/projects/{quote(repository, safe='')}"

    def issues(self, state: str) -> dict[str, Issue]:
        items = self._paginated(f"{self._project}/issues", {"state": "opened" if state == "open" else state})
        return _oldest_by_title(self._issue(item) for item in items)

    def find_closed(self, title: str) -> Issue | None:
        params = {"state": "closed", "search": title, "in": "title", "per_page": 100}
        response = self._request("GET", f"{self._project}/issues", params=params)
        closed = [self._issue(item) for item in response.json()]
        closed = [issue for issue in closed if issue.title == title]
        return min(closed, key=lambda issue: (issue.created_at, issue.number), default=None)

    def create_issue(self, title: str, body: str, labels: list[str]) -> Issue:
        payload = {"title": title, "description": body, "labels": ",".join(labels)}
        return self._issue(self._request("POST", f"{self._project}/issues", json=payload).json())

    def comment(self, issue: Issue, body: str) -> None:
        self._request("POST", f"{self._project}/issues/{issue.number}/notes", json={"body": body})

    def update(self, issue: Issue, *, state: str | None = None, labels: list[str] | None = None) -> Issue:
        payload: dict[str, Any] = {}
        if state is not None:
            payload["state_event"] = "reopen" if state == "open" else "close"
        if labels is not None:
            payload["labels"] = ",".join(labels)
        response = self._request("PUT", f"{self._project}/issues/{issue.number}", json=payload)
        return self._issue(response.json())

    def label_names(self) -> set[str]:
        return {label["name"] for label in self._paginated(f"{self._project}/labels", {})}

    def create_label(self, name: str, color: str, description: str) -> None:
        payload = {
            "name": name,
            "color": f"#{color}",
            "description": description[: self.max_label_description],
        }
        self._request("POST", f"{self._project}/labels", json=payload)

    def file_url(self, repository: str, path: str) -> str:
        return f"{self.base_url}/{repository}/-/blob/HEAD/{quote(path)}"

    @staticmethod
    def _issue(item: Mapping[str, Any]) -> Issue:
        labels = item.get("labels", [])
        return Issue(
            number=int(item["iid"]),
            title=str(item["title"]),
            state="open" if item.get("state") == "opened" else str(item.get("state", "")),
            # labels are names, or objects with `with_labels_details`
            labels=tuple(label if isinstance(label, str) else label["name"] for label in labels),
            url=str(item.get("web_url", "")),
            created_at=str(item.get("created_at", "")),
        )


FORGES: dict[str, type[Forge]] = {"github": GitHub, "gitlab": GitLab}


def _oldest_by_title(issues: Iterable[Issue]) -> dict[str, Issue]:
    """Issues by title; when two share a title, the oldest, which has the longest history."""
    by_title: dict[str, Issue] = {}
    for issue in issues:
        known = by_title.get(issue.title)
        if known is None or (issue.created_at, issue.number) < (known.created_at, known.number):
            by_title[issue.title] = issue
    return by_title


def _reason(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(data, dict):
        message = data.get("message") or data.get("error") or data
        return str(message)[:200]
    return str(data)[:200]
