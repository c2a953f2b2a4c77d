"""Browser journeys: the app served by a real HTTP server on 127.0.0.1, driven by headless
Chromium through Playwright.

The Chromium is the Debian one (/usr/bin/chromium; `apt-get install chromium fonts-noto-cjk`),
never a Playwright download. Without it the e2e tests skip, unless JIANJIA_REQUIRE_BROWSER=1 or
JIANJIA_REQUIRE_SERVICES=1 is set: then they fail, so a CI job that means to run them cannot
pass silently.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import PASSWORD, build_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REQUIRE_BROWSER = (os.environ.get("JIANJIA_REQUIRE_BROWSER") == "1"
                   or os.environ.get("JIANJIA_REQUIRE_SERVICES") == "1")
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 10_000
LOCAL_HOST = "127.0.0.1"


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (they drown pytest's report); errors are still logged."""

    def log_request(self, code="-", size="-"):
        pass


@dataclass
class LiveServer:
    url: str
    app: object
    world: object


@pytest.fixture
def live_server(app_factory):
    """The app on a fresh migrated database with the two-district world, served over HTTP
    from a background thread. Yields a LiveServer (``.url`` is the base URL, no trailing /)."""
    app = app_factory(SERVER_NAME=None)  # any Host header (127.0.0.1:<port>) is this site
    assert not app.config["SESSION_COOKIE_SECURE"], "the session cookie must travel over plain http"
    world = build_world(app)
    server = make_server(LOCAL_HOST, 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://{LOCAL_HOST}:{server.server_port}", app=app, world=world)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _unavailable(reason: str):
    if REQUIRE_BROWSER:
        pytest.fail(f"e2e browser required (JIANJIA_REQUIRE_BROWSER/JIANJIA_REQUIRE_SERVICES=1) but {reason}. "
                    "Install it with: apt-get install -y chromium fonts-noto-cjk", pytrace=False)
    pytest.skip(f"e2e: {reason}")


@pytest.fixture(scope="module")
def browser():
    """Chromium, launched once per test module (not per session: another module's own
    sync_playwright() must not find this one's event loop still running)."""
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        _unavailable("the playwright Python package is not installed")
    with sync_playwright() as pw:
        try:
            instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:  # a broken Chromium is as good as none
            _unavailable(f"{CHROMIUM} did not start: {exc}")
        yield instance
        instance.close()


@dataclass
class Traffic:
    """What the browser did: every request URL, uncaught page errors, console errors."""
    requests: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)

    def foreign(self) -> list[str]:
        """Requests that left 127.0.0.1 (a CDN, a font service, telemetry...)."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.scheme not in ("http", "https", "ws", "wss") or parts.hostname != LOCAL_HOST:
                out.append(url)
        return out

    def assert_clean(self):
        assert self.requests, "no request was recorded"
        assert not self.foreign(), f"requests to hosts other than {LOCAL_HOST}: {self.foreign()}"
        assert not self.page_errors, f"JavaScript errors: {self.page_errors}"
        # "Failed to load resource: … 403/404" is Chromium reporting the error pages we asked for.
        real = [m for m in self.console_errors if "Failed to load resource" not in m]
        assert not real, f"console errors (CSP violations?): {real}"


@pytest.fixture
def new_page(browser):
    """``new_page(width, height) -> (page, traffic)``: a fresh browser context (no cookies)."""
    contexts = []

    def make(width=1366, height=768):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        traffic = Traffic()
        context.on("request", lambda req: traffic.requests.append(req.url))
        page = context.new_page()
        page.on("pageerror", lambda exc: traffic.page_errors.append(str(exc)))
        page.on("console", lambda msg: traffic.console_errors.append(msg.text) if msg.type == "error" else None)
        return page, traffic

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def login(page, base: str, username: str, password: str = PASSWORD):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_load_state()
