"""When the dashboard refreshes by itself: due times, back-off, no loops. Pure logic."""

from __future__ import annotations

from ringplus_tui.core.errors import NeedsSignInError, NetworkError
from ringplus_tui.core.models import Account
from ringplus_tui.core.scheduler import MIN_INTERVAL, RefreshBoard, RefreshScheduler

NOW = 1_000_000.0


def account(name: str = "a", *, expires_in: float, lifetime: float = 3600, **extra) -> Account:
    fields = {"has_refresh_token": True, **extra}
    return Account(
        name=name,
        app="x",
        expires_at=NOW + expires_in,
        obtained_at=NOW + expires_in - lifetime,
        **fields,
    )


def test_due_inside_the_margin_only() -> None:
    scheduler = RefreshScheduler()
    assert scheduler.due([account(expires_in=400)], NOW, set()) == []  # margin is 360 s
    assert scheduler.due([account(expires_in=300)], NOW, set()) == ["a"]
    assert scheduler.due([account(expires_in=-5)], NOW, set()) == ["a"]


def test_not_due_when_off_busy_needs_sign_in_or_without_refresh_token() -> None:
    scheduler = RefreshScheduler()
    accounts = [
        account("off", expires_in=10, auto_refresh=False),
        account("busy", expires_in=10),
        account("rejected", expires_in=10, needs_sign_in=True),
        account("no-rt", expires_in=10, has_refresh_token=False),
    ]
    assert scheduler.due(accounts, NOW, {"busy"}) == []


def test_own_margin_is_used() -> None:
    scheduler = RefreshScheduler()
    assert scheduler.due([account(expires_in=900, refresh_margin=1200)], NOW, set()) == ["a"]


def test_back_off_grows_and_honours_retry_after() -> None:
    scheduler = RefreshScheduler()
    first = scheduler.failed("a", NetworkError("down"), NOW)
    second = scheduler.failed("a", NetworkError("down"), NOW)
    third = scheduler.failed("a", NetworkError("slow", retry_after=600), NOW)
    assert (first.next_attempt - NOW, second.next_attempt - NOW) == (30, 60)
    assert third.next_attempt - NOW == 600
    assert scheduler.due([account(expires_in=10)], NOW + 500, set()) == []
    assert scheduler.due([account(expires_in=10)], NOW + 601, set()) == ["a"]
    scheduler.succeeded("a")
    assert scheduler.retry("a") is None


def test_a_token_shorter_lived_than_the_margin_does_not_loop() -> None:
    scheduler = RefreshScheduler()
    short = account(expires_in=5, lifetime=10)
    assert scheduler.due([short], NOW, set()) == ["a"]
    scheduler.started("a", NOW)
    assert scheduler.due([short], NOW + 1, set()) == []
    assert scheduler.due([short], NOW + MIN_INTERVAL, set()) == ["a"]


def test_board_note_says_when_the_retry_comes() -> None:
    board = RefreshBoard()
    board.errors["a"] = "down"
    board.scheduler.failed("a", NetworkError("down"), NOW)
    assert board.note("a", NOW + 5) == "retry 00:25"
    board.scheduler.failed("b", NeedsSignInError("gone"), NOW)
    assert board.note("b", NOW) == ""  # no error recorded on the board for b
