"""One snapshot per visual state of every screen, stored as ``screens/<name>.svg``.

These pictures are the README's screenshots. Regenerate them with::

    pytest tests/test_snapshots.py --snapshot-update

The clock is frozen and the time zone is UTC, so the countdowns never move.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import pytest_textual_snapshot
from textual.pilot import Pilot

from ringplus_tui.core.models import RINGPLUS, Account, AppConfig
from ringplus_tui.core.prefill import EMPTY_PREFILL
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import MemorySecretStore
from ringplus_tui.store.settings import Settings, SettingsStore
from ringplus_tui.tui.app import RingPlusApp
from ringplus_tui.tui.messages import SignIn
from ringplus_tui.tui.screens.account import AccountScreen
from ringplus_tui.tui.screens.authorize import AuthorizeScreen
from ringplus_tui.tui.screens.modals import PasswordModal
from ringplus_tui.tui.widgets import PasteInput
from tests.helpers.pilot_helpers import wait_for

pytestmark = pytest.mark.filterwarnings("ignore:Can not relate snapshot")

SCREENS = Path(__file__).resolve().parents[2] / "screens"
NOW = 1_764_403_200.0  # 2025-11-29 08:00:00 UTC
SIZE = (100, 30)


class ScreensExtension(pytest_textual_snapshot.SVGImageExtension):
    """Keep each snapshot as screens/<test name without test_>.svg."""

    @classmethod
    def dirname(cls, *, test_location: object) -> str:
        return str(SCREENS)

    @classmethod
    def get_snapshot_name(cls, *, test_location: object, index: object = 0) -> str:
        return test_location.testname.removeprefix("test_")  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def screens_dir_and_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", ScreensExtension)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def frozen() -> float:
    return NOW


def make_snapshot_app(
    tmp_path: Path, accounts: list[Account], *, with_app: bool = True
) -> RingPlusApp:
    """The app over a frozen clock; ``with_app=False`` is a first start (no app yet)."""
    apps = {
        "ringplus": AppConfig(
            name="ringplus",
            client_id="rp-client-1234",
            redirect_uri="https://example.org/ringplus/callback",
            scopes=("read",),
            provider=RINGPLUS,
        )
    }
    settings = Settings(apps=apps if with_app else {}, accounts={a.name: a for a in accounts})
    SettingsStore(tmp_path).save(settings)
    secrets = MemorySecretStore()
    secrets.set("app:ringplus:client_secret", "not-a-real-secret")
    secrets.set("account:personal:access_token", "demo-access-token-0123456789abcdef")
    service = OAuthService(
        SettingsStore(tmp_path),
        secrets,
        clock=frozen,
        token_factory=lambda n: "A" * n,
        transport=httpx2.MockTransport(fake_api),
    )
    return RingPlusApp(service, clock=frozen, prefill=EMPTY_PREFILL, refresh_automatically=False)


def fake_api(request: httpx2.Request) -> httpx2.Response:
    """RingPlus's API answers, so the account screen's phone lines are the same every run."""
    if request.url.path == "/users/me":
        return httpx2.Response(
            200, json={"id": 1, "name": "Alice Example", "email": "alice@example.com"}
        )
    if request.url.path == "/accounts":
        lines = [
            {
                "id": 101,
                "name": "Alice's phone",
                "phone_number": "+1 555 0101",
                "device": "Nexus 5",
            },
            {"id": 102, "name": "Tablet", "phone_number": "+1 555 0102", "device": "iPad mini"},
        ]
        return httpx2.Response(200, json={"accounts": lines})
    if request.url.path == "/.well-known/oauth-authorization-server":
        base = "https://login.example.org"
        return httpx2.Response(
            200,
            json={
                "issuer": base,
                "authorization_endpoint": f"{base}/oauth2/authorize",
                "token_endpoint": f"{base}/oauth2/token",
                "revocation_endpoint": f"{base}/oauth2/revoke",
                "jwks_uri": f"{base}/oauth2/jwks",
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
                "authorization_response_iss_parameter_supported": True,
            },
        )
    return httpx2.Response(404)


def token(name: str, *, expires_in: float, lifetime: float = 86400.0, **extra: object) -> Account:
    expires_at = NOW + expires_in
    return Account(
        name=name,
        app="ringplus",
        expires_at=expires_at,
        obtained_at=expires_at - lifetime,
        scope=("read",),
        token_type="Bearer",
        has_refresh_token=True,
        **extra,  # type: ignore[arg-type]
    )


DASHBOARD_ACCOUNTS = [
    token(
        "personal",
        expires_in=23 * 3600 + 17 * 60 + 5,
        last_refresh_at=NOW - 2520,
        user="Alice Example <alice@example.com>",
        phone_lines=2,
    ),
    token("work", expires_in=6 * 60 + 40, user="Bob Example <bob@example.com>", phone_lines=1),
    token("family", expires_in=-120),
    token("old-phone", expires_in=-3 * 86400, needs_sign_in=True),
    Account(name="tablet", app="ringplus"),
]


def test_dashboard(snap_compare, tmp_path: Path) -> None:
    """Five accounts sorted by expiry: expired, expiring, valid, needs-sign-in, signed-out,
    each with its countdown; footer shows r/s/a/c."""
    assert snap_compare(make_snapshot_app(tmp_path, DASHBOARD_ACCOUNTS), terminal_size=SIZE)


def test_dashboard_hostile_names(snap_compare, tmp_path: Path) -> None:
    """Names a provider sent with markup and terminal escapes: shown as written, the
    escapes as visible ``\\x1b`` text, nothing styled or clickable, nothing crashed."""
    hostile = [
        token("markup", expires_in=3600, user="[/] [@click=app.quit]Eve[/] <eve@example.com>"),
        token("escapes", expires_in=7200, user="Mallory \x1b]52;c;Y3VybA==\x07\x1b[31mred"),
    ]
    assert snap_compare(make_snapshot_app(tmp_path, hostile), terminal_size=SIZE)


def test_dashboard_empty(snap_compare, tmp_path: Path) -> None:
    """No accounts: the dashboard says to press a. (The app opens the credentials screen
    on top; escape shows the empty dashboard.)"""
    assert snap_compare(make_snapshot_app(tmp_path, []), terminal_size=SIZE, press=["escape"])


def test_credentials_new_app(snap_compare, tmp_path: Path) -> None:
    """A first start: the credentials form for a new RingPlus app, secret masked."""
    assert snap_compare(make_snapshot_app(tmp_path, [], with_app=False), terminal_size=SIZE)


def test_credentials_field_error(snap_compare, tmp_path: Path) -> None:
    """Saving without a client ID: the message appears under that field."""
    app = make_snapshot_app(tmp_path, [], with_app=False)
    assert snap_compare(app, terminal_size=SIZE, press=["ctrl+s"])


async def _discover(pilot: Pilot[None]) -> None:
    from textual.widgets import Input, Select

    from ringplus_tui.tui.screens.credentials import CredentialsScreen

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CredentialsScreen))
    screen = pilot.app.screen
    screen.query_one("#provider", Select).value = "custom"
    values = {
        "name": "work",
        "account": "jane",
        "client_id": "0oa1b2c3d4",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "scopes": "openid profile email offline_access",
        "issuer": "https://login.example.org",
    }
    for field, value in values.items():
        screen.query_one(f"#{field}", Input).value = value
    await pilot.pause()
    screen.query_one("#discover").press()
    await wait_for(pilot, lambda: "Found" in str(screen.query_one("#discovered").render()))
    screen.query_one("#issuer").focus()
    await pilot.pause()


def test_credentials_discovered(snap_compare, tmp_path: Path) -> None:
    """Another provider found from its issuer URL alone: endpoints filled in, what the
    metadata promises, and a public client because no secret was typed."""
    app = make_snapshot_app(tmp_path, [], with_app=False)
    assert snap_compare(app, terminal_size=(100, 50), run_before=_discover)


async def _open_authorize(pilot: Pilot[None]) -> None:
    pilot.app.post_message(SignIn("personal"))
    await wait_for(
        pilot, lambda: isinstance(pilot.app.screen, AuthorizeScreen) and pilot.app.screen.url
    )


def test_authorize(snap_compare, tmp_path: Path) -> None:
    """The authorization URL (wrapped, selectable), Copy/Open, and the empty paste field."""
    app = make_snapshot_app(tmp_path, DASHBOARD_ACCOUNTS)
    assert snap_compare(app, terminal_size=SIZE, run_before=_open_authorize)


def test_authorize_access_denied(snap_compare, tmp_path: Path) -> None:
    """After pasting a Deny redirect: 'Access denied' with the provider's text, in place."""

    async def deny(pilot: Pilot[None]) -> None:
        await _open_authorize(pilot)
        field = pilot.app.screen.query_one(PasteInput)
        field.value = (
            "https://example.org/ringplus/callback?error=access_denied"
            "&error_description=The+user+denied+access&state=" + "A" * 32
        )
        await pilot.press("enter")
        message = pilot.app.screen.query_one("#message")
        await wait_for(pilot, lambda: "Access denied" in str(message.render()))
        field.action_home()  # a fixed view of the URL, whatever the timing was
        await pilot.pause(0.1)

    app = make_snapshot_app(tmp_path, DASHBOARD_ACCOUNTS)
    assert snap_compare(app, terminal_size=SIZE, run_before=deny)


async def _open_personal(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, RingPlusApp)
    await wait_for(pilot, lambda: "personal" in app.dashboard.rows)
    table = app.dashboard.query_one("#accounts")
    table.move_cursor(row=app.dashboard.rows.index("personal"))  # type: ignore[attr-defined]
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, AccountScreen))
    await wait_for(
        pilot, lambda: "Phone lines of" in str(app.screen.query_one("#lines-title").render())
    )


def test_account(snap_compare, tmp_path: Path) -> None:
    """One account: status, user, scopes, times, masked access token with Reveal and Copy,
    phone lines from the API; footer lists refresh, sign in, password, revoke, forget, rename."""
    app = make_snapshot_app(tmp_path, DASHBOARD_ACCOUNTS)
    assert snap_compare(app, terminal_size=SIZE, run_before=_open_personal)


def test_password_dialog(snap_compare, tmp_path: Path) -> None:
    """The password sign-in shortcut, marked as depending on the provider's page."""
    app = make_snapshot_app(tmp_path, DASHBOARD_ACCOUNTS)

    async def run_before(pilot: Pilot[None]) -> None:
        await _open_personal(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PasswordModal))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_add_account_dialog(snap_compare, tmp_path: Path) -> None:
    """Adding an account: a name and an existing app, or a new app."""
    app = make_snapshot_app(tmp_path, DASHBOARD_ACCOUNTS)
    assert snap_compare(app, terminal_size=SIZE, press=["a"])


def test_apps(snap_compare, tmp_path: Path) -> None:
    """The apps with their client_id, token endpoint and the accounts that use them."""
    app = make_snapshot_app(tmp_path, DASHBOARD_ACCOUNTS)
    assert snap_compare(app, terminal_size=SIZE, press=["A"])


def test_screens_directory_has_no_stale_pictures() -> None:
    """Every SVG in screens/ belongs to a test here, so the README never shows a dead screen."""
    names = {p.stem for p in SCREENS.glob("*.svg")}
    tests = {n.removeprefix("test_") for n in globals() if n.startswith("test_")}
    assert names <= tests, names - tests
    assert os.path.isdir(SCREENS)
