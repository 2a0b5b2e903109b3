"""Test helpers for the django-oauth-toolkit provider in ``tests/dot_server`` (no tests here).

``DotServer.start()`` runs ``python -m tests.dot_server.serve`` in a subprocess on loopback;
``dot_sign_in_and_consent()`` plays the person's browser against it.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx2

from ringplus_tui.oauth.htmlforms import Form, parse_forms

REPO_ROOT = Path(__file__).resolve().parents[2]
USERNAME = "alice"
PASSWORD = "correct horse"
ENV_URL = "RINGPLUS_TUI_DOT_URL"
"""Set by ``.ci/run`` to the base URL of the provider it started."""


def dot_available() -> bool:
    """Whether Django and django-oauth-toolkit are installed (the dev extra)."""
    return all(importlib.util.find_spec(name) for name in ("django", "oauth2_provider"))


class DotServer:
    """A django-oauth-toolkit provider in a subprocess, with its own temporary database."""

    def __init__(
        self, url: str, process: subprocess.Popen[str] | None, data_dir: Path | None
    ) -> None:
        self.url = url
        self.issuer = f"{url}/o"
        self.process = process
        self.data_dir = data_dir

    @classmethod
    def from_environment(cls) -> DotServer:
        """The server ``.ci/run`` started (``RINGPLUS_TUI_DOT_URL``), or a new one.

        A server found through the environment is not stopped by :meth:`stop`.
        """
        url = os.environ.get(ENV_URL)
        if not url:
            return cls.start()
        return cls(url.rstrip("/"), None, None)

    @classmethod
    def start(cls, timeout: float = 60.0) -> DotServer:
        """Launch the server and wait for its ``READY`` line.

        Raises:
            RuntimeError: the server exited or stayed silent; the message carries its stderr.
        """
        data_dir = Path(tempfile.mkdtemp(prefix="dot-server-"))
        env = {**os.environ, "DOT_SERVER_DATA": str(data_dir), "PYTHONUNBUFFERED": "1"}
        # stderr goes to a file: nobody drains a pipe once the server runs, and a full pipe
        # would stall it.
        with (data_dir / "stderr.log").open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.dot_server.serve", "--port", "0"],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        server = cls("", process, data_dir)
        lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            line = ""
        if not line.startswith("READY "):
            problem = server._stderr()
            server.stop()
            raise RuntimeError(f"DOT server did not start (stdout {line!r}):\n{problem}")
        server.url = line.split()[1]
        server.issuer = f"{server.url}/o"
        return server

    def register_client(self, client_type: str, redirect_uri: str) -> tuple[str, str | None]:
        """Register an authorization-code client; returns ``(client_id, client_secret)``.

        ``client_type`` is ``"confidential"`` (a secret is returned) or ``"public"`` (``None``).
        """
        response = httpx2.post(
            f"{self.url}/testing/clients",
            json={"client_type": client_type, "redirect_uri": redirect_uri, "name": "test"},
            timeout=10,
        )
        if response.status_code != 201:
            raise RuntimeError(f"client registration failed: {response.text}")
        body = response.json()
        return body["client_id"], body["client_secret"]

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then kill) and delete its data."""
        if self.process is None or self.data_dir is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def _stderr(self) -> str:
        if self.process is None or self.data_dir is None:
            return ""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        try:
            return (self.data_dir / "stderr.log").read_text()
        except OSError:
            return ""

    def __enter__(self) -> DotServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def dot_sign_in_and_consent(
    authorization_url: str,
    username: str = USERNAME,
    password: str = PASSWORD,
    *,
    allow: bool = True,
) -> str:
    """Open the authorization URL, sign in at the DOT provider and answer its consent page.

    Redirects within the provider are followed; the first one that leaves it (to the client's
    redirect URI) is returned, e.g. ``http://127.0.0.1:PORT/callback?code=...&state=...&iss=...``.
    """
    provider = urlsplit(authorization_url).netloc
    signed_in = False
    with httpx2.Client(follow_redirects=False, timeout=10) as browser:
        response = browser.get(authorization_url)
        for _ in range(10):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if urlsplit(location).netloc != provider:
                    return location
                response = browser.get(location)
                continue
            forms = parse_forms(response.text)
            login = next((form for form in forms if form.password_field), None)
            consent = next(
                (form for form in forms if any(b.name == "allow" for b in form.buttons)), None
            )
            if login is not None:
                if signed_in:
                    raise AssertionError(f"sign-in as {username!r} failed")
                fields = {**_values(login), "username": username, "password": password}
                response = browser.post(urljoin(str(response.url), login.action), data=fields)
                signed_in = True
            elif consent is not None:
                fields = _values(consent)
                if allow:
                    fields["allow"] = "Authorize"
                answer = browser.post(urljoin(str(response.url), consent.action), data=fields)
                if not answer.is_redirect:
                    raise AssertionError(f"consent: HTTP {answer.status_code}: {answer.text}")
                return urljoin(str(answer.url), answer.headers["location"])
            else:
                raise AssertionError(
                    f"unexpected page, HTTP {response.status_code}: {response.text}"
                )
    raise AssertionError("too many redirects at the provider")


def _values(form: Form) -> dict[str, str]:
    """What the form's inputs would submit (no buttons)."""
    return {f.name: f.value for f in form.fields if f.name}
