"""A local forge speaking the few GitHub and GitLab REST calls failure reports make, in memory.

Served by pytest-httpserver on 127.0.0.1: issues (list with pagination, search, create, update,
comment) and labels (list, create), a token check, and rate-limit answers queued by a test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "test-token-123"
REPOSITORY = "collection/declarations"
PAGE_SIZE = 2  # small, so that listing issues needs the pagination links


@dataclass
class FakeIssue:
    number: int
    title: str
    body: str
    labels: list[str]
    state: str = "open"
    comments: list[str] = field(default_factory=list)
    created_at: str = ""


class FakeForge:
    """One repository on a GitHub-like (`kind` "github") or GitLab-like ("gitlab") forge."""

    def __init__(self, server: HTTPServer, kind: str) -> None:
        self.server, self.kind = server, kind
        self.issues: dict[int, FakeIssue] = {}
        self.labels: dict[str, dict[str, str]] = {}
        self.requests: list[tuple[str, str]] = []
        #: Answers given instead of the next requests: (status, headers).
        self.queued: list[tuple[int, dict[str, str]]] = []
        #: Titles whose creation fails with a server error.
        self.broken_titles: set[str] = set()
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    @property
    def api_url(self) -> str:
        return self.server.url_for("/api/v4" if self.kind == "gitlab" else "").rstrip("/")

    def add_issue(self, title: str, *, state: str = "open", labels: tuple[str, ...] = ()) -> FakeIssue:
        number = len(self.issues) + 1
        created = f"2026-01-{number:02d}T00:00:00Z"
        issue = FakeIssue(number, title, "", list(labels), state, created_at=created)
        self.issues[number] = issue
        return issue

    def titled(self, title: str) -> list[FakeIssue]:
        return [issue for issue in self.issues.values() if issue.title == title]

    # -- HTTP ---------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        self.requests.append((request.method, request.full_path.rstrip("?")))
        if self.queued:
            status, headers = self.queued.pop(0)
            return _json({"message": "API rate limit exceeded"}, status, headers)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _json({"message": "Bad credentials"}, 401)
        body = request.get_json(silent=True) or {}
        if request.method == "POST" and body.get("title") in self.broken_titles:
            return _json({"message": "Server Error"}, 500)
        if self.kind == "github":
            return self._github(request, body)
        return self._gitlab(request, body)

    def _github(self, request: Request, body: dict[str, Any]) -> Response:
        base = f"/repos/{REPOSITORY}"
        path, method = request.path, request.method
        if path == "/search/issues":
            phrase = re.search(r'"([^"]*)"', request.args["q"])
            closed_only = "is:closed" in request.args["q"]
            items = [
                self._github_issue(i)
                for i in self.issues.values()
                if phrase and phrase.group(1) in i.title and (i.state == "closed" or not closed_only)
            ]
            return _json({"total_count": len(items), "items": items})
        if path == f"{base}/issues" and method == "GET":
            issues = [self._github_issue(i) for i in self.issues.values() if i.state == request.args["state"]]
            issues.append({"number": 999, "title": "a pull request", "state": "open", "pull_request": {}})
            return self._page(request, issues, link=True)
        if path == f"{base}/issues" and method == "POST":
            issue = self.add_issue(body["title"], labels=tuple(body["labels"]))
            issue.body = body["body"]
            return _json(self._github_issue(issue), 201)
        match = re.fullmatch(rf"{base}/issues/(\d+)(/comments)?", path)
        if match and int(match.group(1)) in self.issues:
            issue = self.issues[int(match.group(1))]
            if match.group(2) and method == "POST":
                issue.comments.append(body["body"])
                return _json({"id": len(issue.comments)}, 201)
            if method == "PATCH":
                issue.state = body.get("state", issue.state)
                issue.labels = list(body.get("labels", issue.labels))
                return _json(self._github_issue(issue))
        if path == f"{base}/labels" and method == "GET":
            return self._page(request, list(self.labels.values()), link=True)
        if path == f"{base}/labels" and method == "POST":
            self.labels[body["name"]] = body
            return _json(body, 201)
        return _json({"message": "Not Found"}, 404)

    def _github_issue(self, issue: FakeIssue) -> dict[str, Any]:
        return {
            "number": issue.number,
            "title": issue.title,
            "state": issue.state,
            "labels": [{"name": name} for name in issue.labels],
            "html_url": f"https://forge.test/{REPOSITORY}/issues/{issue.number}",
            "created_at": issue.created_at,
        }

    def _gitlab(self, request: Request, body: dict[str, Any]) -> Response:
        # werkzeug decodes %2F in the path: the project's path reads as it is
        base = f"/api/v4/projects/{REPOSITORY}"
        path, method = request.path, request.method
        if path == f"{base}/issues" and method == "GET":
            state = request.args.get("state")
            search = request.args.get("search")
            issues = [
                self._gitlab_issue(i)
                for i in self.issues.values()
                if (state is None or {"opened": "open"}.get(state, state) == i.state)
                and (search is None or search in i.title)
            ]
            return self._page(request, issues, link=False)
        if path == f"{base}/issues" and method == "POST":
            labels = [name for name in body["labels"].split(",") if name]
            issue = self.add_issue(body["title"], labels=tuple(labels))
            issue.body = body["description"]
            return _json(self._gitlab_issue(issue), 201)
        match = re.fullmatch(rf"{base}/issues/(\d+)(/notes)?", path)
        if match and int(match.group(1)) in self.issues:
            issue = self.issues[int(match.group(1))]
            if match.group(2) and method == "POST":
                issue.comments.append(body["body"])
                return _json({"id": len(issue.comments)}, 201)
            if method == "PUT":
                event = body.get("state_event")
                issue.state = {"close": "closed", "reopen": "open"}.get(event or "", issue.state)
                if "labels" in body:
                    issue.labels = [name for name in body["labels"].split(",") if name]
                return _json(self._gitlab_issue(issue))
        if path == f"{base}/labels" and method == "GET":
            return self._page(request, list(self.labels.values()), link=False)
        if path == f"{base}/labels" and method == "POST":
            self.labels[body["name"]] = body
            return _json(body, 201)
        return _json({"message": "404 Not found"}, 404)

    def _gitlab_issue(self, issue: FakeIssue) -> dict[str, Any]:
        return {
            "iid": issue.number,
            "title": issue.title,
            "state": "opened" if issue.state == "open" else issue.state,
            "labels": issue.labels,
            "web_url": f"https://forge.test/{REPOSITORY}/-/issues/{issue.number}",
            "created_at": issue.created_at,
        }

    def _page(self, request: Request, items: list[Any], *, link: bool) -> Response:
        page = int(request.args.get("page", "1"))
        chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        headers = {}
        if page * PAGE_SIZE < len(items):
            args = {**request.args, "page": str(page + 1)}
            query = "&".join(f"{k}={quote(v)}" for k, v in args.items())
            headers["Link"] = f'<{self.server.url_for(request.path)}?{query}>; rel="next"'
            if not link:  # GitLab sends both
                headers["X-Next-Page"] = str(page + 1)
        return _json(chunk, 200, headers)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type="application/json")


@pytest.fixture(name="forge", params=["github", "gitlab"])
def forge_fixture(request: pytest.FixtureRequest) -> Iterator[FakeForge]:
    """A fresh GitHub-like, then GitLab-like, forge on its own local server."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield FakeForge(server, request.param)
    finally:
        server.clear()
        server.stop()
