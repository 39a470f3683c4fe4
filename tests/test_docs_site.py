"""The documentation site: it builds with `mkdocs build --strict` (a
broken link or a missing reference fails), its API reference is generated
from the docstrings and complete, and it works in headless Chromium: the
home page, the `VAE` reference page, and a search typed into the page.
tests/test_docs_code.py runs the Python blocks of the pages.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

pytestmark = pytest.mark.tensorflow_only

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM_TIMEOUT = 60


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= 250, f"README.md has {lines} lines"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site as `make docs` builds it, with `--strict`."""
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", site],
        cwd=ROOT,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return site


def test_the_reference_is_generated_from_the_docstrings(site):
    import keras_vae

    page = (site / "reference" / "models" / "index.html").read_text()
    for name in ("encode", "decode", "sample", "compute_loss_terms"):
        assert f'id="keras_vae.VAE.{name}"' in page
    # The docstring's first line, as `help()` shows it.
    summary = keras_vae.VAE.__doc__.strip().split("\n")[0]
    text = re.sub(r"<[^>]+>", "", page)
    assert summary.replace("`", "") in text


@pytest.mark.parametrize(
    "package",
    ["layers", "priors", "samplers", "likelihoods", "datasets", "evaluation"]
    + ["callbacks", "export", "builders"],
)
def test_the_reference_has_every_public_name(site, package):
    """Every name of a public package's `__all__` has its entry (a function
    that shares its module's name is listed by its module's path)."""
    import importlib

    module = importlib.import_module(f"keras_vae.{package}")
    page = (site / "reference" / package / "index.html").read_text()
    ids = set(re.findall(r'id="(keras_vae\.[\w.]+)"', page))
    for name in module.__all__:
        if name.isupper():  # Constants: documented by the module.
            continue
        prefix = f"keras_vae.{package}.{name}"
        assert {prefix, f"{prefix}.{name}"} & ids, name


@pytest.fixture(scope="module")
def server(site):
    """The built site over HTTP on 127.0.0.1, on a port the system picks."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port)]
        + ["--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base, timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


class Chromium:
    """Headless Chromium driven over the DevTools protocol."""

    def __init__(self, profile):
        import websocket

        chromium = shutil.which("chromium")
        if chromium is None:
            pytest.skip("needs Debian's chromium (apt-get install chromium)")
        self.child = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + CHROMIUM_TIMEOUT
        port = None
        while port is None and time.monotonic() < deadline:
            line = self.child.stderr.readline()
            match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if match:
                port = match.group(1)
        if port is None:
            self.close()
            raise AssertionError("Chromium did not start its DevTools server")
        targets = json.load(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/json")
        )
        page = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=CHROMIUM_TIMEOUT
        )
        self.calls = 0

    def call(self, method, **params):
        self.calls += 1
        self.socket.send(
            json.dumps({"id": self.calls, "method": method, "params": params})
        )
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.calls:
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        return result["result"].get("value")

    def open(self, url):
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def wait_for(self, expression, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for: {expression}")

    def close(self):
        if getattr(self, "socket", None) is not None:
            self.socket.close()
        os.killpg(self.child.pid, signal.SIGKILL)
        self.child.wait()
        self.child.stderr.close()


@pytest.fixture(scope="module")
def browser(server):
    browser = Chromium(tempfile.mkdtemp(prefix="chromium-"))
    try:
        yield browser
    finally:
        browser.close()


def test_the_home_page_renders(browser, server):
    browser.open(server + "/")
    assert browser.evaluate("document.title") == "keras-vae"
    headings = browser.evaluate(
        "Array.from(document.querySelectorAll('article h2'))"
        ".map(h => h.textContent.trim())"
    )
    assert headings[:2] == ["Quickstart¶", "What is in it¶"]
    # The README's quickstart, included, highlighted as Python.
    code = browser.evaluate(
        "Array.from(document.querySelectorAll('article .highlight'))"
        ".map(e => e.textContent).join()"
    )
    assert "vae = keras_vae.build_mlp_vae(" in code
    assert browser.evaluate("document.querySelectorAll('article table').length")


def test_the_vae_reference_page_renders(browser, server):
    browser.open(server + "/reference/models/")
    title = browser.evaluate(
        "document.getElementById('keras_vae.VAE').textContent"
    )
    assert "keras_vae.VAE" in title
    methods = browser.evaluate(
        "Array.from(document.querySelectorAll('[id^=\"keras_vae.VAE.\"]'))"
        ".map(e => e.id)"
    )
    assert {"keras_vae.VAE.encode", "keras_vae.VAE.sample"} <= set(methods)
    # The Args section of the docstring, as a rendered table.
    assert "likelihood" in browser.evaluate(
        "document.querySelector('.doc-section-title + table, "
        "table.field-list, .doc-contents table').textContent"
    )


def test_searching_log_likelihood_finds_its_reference(browser, server):
    browser.open(server + "/")
    browser.evaluate(
        "(() => { const input = document.querySelector("
        "'input.md-search__input'); input.focus(); "
        "input.value = 'log_likelihood'; "
        "input.dispatchEvent(new Event('input', {bubbles: true})); "
        "input.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true})); "
        "})()"
    )
    links = browser.wait_for(
        "(() => { const links = Array.from(document.querySelectorAll("
        "'.md-search-result__item a')).map(a => a.href); "
        "return links.length ? links : null; })()"
    )
    assert any(
        "/reference/evaluation/" in link
        and link.endswith("#keras_vae.evaluation.log_likelihood.log_likelihood")
        for link in links
    ), links
