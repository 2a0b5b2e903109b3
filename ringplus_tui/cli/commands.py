"""The script-facing commands (``ringplus-tui app|account|authorize|login|token|status|…``).

Each runs one service operation and prints plain text (or JSON) to stdout; messages
for the person go to stderr. No Textual is imported on these paths.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import shlex
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from ringplus_tui.core.errors import RingPlusError
from ringplus_tui.core.models import Account, PendingAuthorization, Provider
from ringplus_tui.core.status import TokenStatus, format_countdown, token_status
from ringplus_tui.core.validation import AppInput, build_app
from ringplus_tui.service.facade import OAuthService, refresh_token_warning
from ringplus_tui.service.hints import Hints

Command = Callable[[OAuthService, argparse.Namespace], Awaitable[int]]


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _utc(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def read_secret(prompt: str) -> str:
    """Read a secret from stdin when it is piped, else from a hidden prompt.

    Returns:
        The secret without its trailing newline (may be empty).
    """
    if not sys.stdin.isatty():
        return sys.stdin.read().strip()
    return getpass.getpass(prompt).strip()


async def app_add(service: OAuthService, args: argparse.Namespace) -> int:
    """``app add``: validate, discover the endpoints with ``--issuer``, read the client
    secret, save."""
    form = AppInput(
        name=args.name,
        client_id=args.client_id,
        redirect_uri=args.redirect_uri,
        scopes=" ".join(args.scope),
        provider=args.provider or "ringplus",
        authorization_endpoint=args.authorization_endpoint,
        token_endpoint=args.token_endpoint,
        revocation_endpoint=args.revocation_endpoint,
        api_base=args.api_base,
        token_endpoint_auth_method=args.client_auth or "client_secret_basic",
        authorization_params=" ".join(args.param),
        token_placement=args.token_placement,
    )
    discovery = None
    if args.issuer:
        build_app(form)  # a typo in NAME or --redirect-uri is reported before any request
        discovery = await service.discover(args.issuer)
        form = with_discovery(form, discovery.provider, api_base=args.api_base)
        _err(f"Discovered {discovery.document_url}:")
        for label, value in discovered_fields(discovery.provider):
            _err(f"  {label:<24}{value}")
    elif any(
        (args.authorization_endpoint, args.token_endpoint, args.revocation_endpoint, args.api_base)
    ):
        form = replace(form, provider=args.provider or "custom")
    build_app(form)  # every field checked before the secret is asked for
    exists = args.name.strip() in service.settings.apps
    secret = ""
    if args.client_auth != "none":
        hint = " (empty keeps the stored one)" if exists else ""
        if discovery is not None and args.client_auth is None and not exists:
            hint = " (empty for a public client)"
        secret = await asyncio.to_thread(read_secret, f"Client secret for {args.name}{hint}: ")
    elif not sys.stdin.isatty() and (await asyncio.to_thread(sys.stdin.read)).strip():
        _err(
            "ringplus-tui: --client-auth none is a public client, which has no secret, but "
            "one came on stdin. Drop it, or use client_secret_basic or client_secret_post. "
            "Nothing was saved."
        )
        return 2
    if args.client_auth is None and discovery is not None:
        keep = exists and not service.settings.apps[args.name.strip()].public
        method = discovery.auth_method_for(has_secret=bool(secret) or keep)
        form = replace(form, token_endpoint_auth_method=method)
    if discovery is not None:
        _err(f"  {'client authentication':<24}{form.token_endpoint_auth_method}")
        offered = set(discovery.scopes_supported)
        unknown = [s for s in args.scope if offered and s not in offered]
        if unknown:
            _err(
                f"ringplus-tui: warning: the provider does not list the scope(s) "
                f"{', '.join(unknown)} (it offers {', '.join(sorted(offered))}); it may "
                "refuse the sign-in with invalid_scope."
            )
    app = build_app(form)
    await service.save_app(app, secret or None)
    _err(f"Saved app '{app.name}'. Add an account with:")
    _err(f"  ringplus-tui account add NAME --app {app.name}")
    return 0


def with_discovery(form: AppInput, provider: Provider, *, api_base: str = "") -> AppInput:
    """The form with the endpoints, issuer and flags a discovery found (RFC 8414 §2)."""
    return replace(
        form,
        provider="custom",
        authorization_endpoint=provider.authorization_endpoint,
        token_endpoint=provider.token_endpoint,
        revocation_endpoint=provider.revocation_endpoint or "",
        api_base=api_base,
        issuer=provider.issuer or "",
        jwks_uri=provider.jwks_uri or "",
        authorization_response_iss_parameter_supported=(
            provider.authorization_response_iss_parameter_supported
        ),
    )


def discovered_fields(provider: Provider) -> list[tuple[str, str]]:
    """``(label, value)`` pairs of what discovery filled in, for showing."""
    return [
        ("issuer", provider.issuer or "—"),
        ("authorization endpoint", provider.authorization_endpoint),
        ("token endpoint", provider.token_endpoint),
        ("revocation endpoint", provider.revocation_endpoint or "— (revoke only forgets)"),
        ("jwks_uri", provider.jwks_uri or "— (no OpenID Connect id_token checks)"),
        (
            "iss in redirect",
            "always (RFC 9207)"
            if provider.authorization_response_iss_parameter_supported
            else "not promised",
        ),
    ]


async def app_list(service: OAuthService, args: argparse.Namespace) -> int:
    """``app list``: one line per app."""
    for name, app in sorted(service.settings.apps.items()):
        users = ", ".join(service.settings.accounts_of(name)) or "no accounts"
        print(f"{name}\t{app.client_id}\t{app.provider.token_endpoint}\t{users}")
    return 0


async def app_rename(service: OAuthService, args: argparse.Namespace) -> int:
    """``app rename OLD NEW``."""
    await service.rename_app(args.old, args.new)
    _err(f"Renamed the app '{args.old}' to '{args.new}'; its accounts follow it.")
    return 0


async def app_remove(service: OAuthService, args: argparse.Namespace) -> int:
    """``app remove NAME``: asks first when accounts use it."""
    users = service.settings.accounts_of(service.settings.app(args.name).name)
    if users and not args.yes:
        if not sys.stdin.isatty():
            _err(
                f"ringplus-tui: the app '{args.name}' is used by {', '.join(users)}. "
                "Add --yes to remove those accounts (and their tokens) too."
            )
            return 2
        question = f"'{args.name}' is used by {', '.join(users)}. Remove them too? [y/N] "
        answer = await asyncio.to_thread(input, question)
        if answer.strip().lower() not in ("y", "yes"):
            _err("Nothing was removed.")
            return 1
    removed = await service.remove_app(args.name, with_accounts=True)
    _err(f"Removed the app '{args.name}' and its client secret.")
    if removed:
        _err(f"Removed the accounts {', '.join(removed)} too.")
    return 0


async def account_add(service: OAuthService, args: argparse.Namespace) -> int:
    """``account add NAME --app APP``."""
    before = service.settings.accounts.get(args.name.strip())
    account = await service.add_account(args.name, args.app)
    if before is not None and before.app == account.app:
        _err(f"'{account.name}' already exists (app '{account.app}'); nothing changed.")
        return 0
    moved = f" (moved from the app '{before.app}')" if before is not None else ""
    _err(f"Added '{account.name}'{moved}. Sign it in with:")
    _err(f"  ringplus-tui authorize {shlex.quote(account.name)}")
    return 0


async def account_list(service: OAuthService, args: argparse.Namespace) -> int:
    """``account list``: one line per account."""
    now = service.clock()
    for name, account in sorted(service.settings.accounts.items()):
        print(f"{name}\t{account.app}\t{token_status(account, now).value}")
    return 0


async def account_rename(service: OAuthService, args: argparse.Namespace) -> int:
    """``account rename OLD NEW``."""
    await service.rename_account(args.old, args.new)
    _err(f"Renamed '{args.old}' to '{args.new}'; its tokens moved with it.")
    return 0


async def account_remove(service: OAuthService, args: argparse.Namespace) -> int:
    """``account remove NAME``."""
    await service.remove_account(args.name)
    _err(f"Removed '{args.name}' and its tokens from this machine (not revoked).")
    return 0


async def authorize(service: OAuthService, args: argparse.Namespace) -> int:
    """``authorize ACCOUNT [--redirected-url URL|-|--listen]``."""
    if args.redirected_url is None:
        pending = await service.start_authorization(args.account)
        paste_hint = (
            "copy the address the browser ends on (the page may not load) and run:\n"
            f"  ringplus-tui authorize {shlex.quote(args.account)} --redirected-url 'ADDRESS'\n"
            "within 10 minutes."
        )
        if args.listen:
            return await _listen(service, pending, paste_hint)
        print(pending.authorization_url)
        _err(f"Open that URL in a browser, sign in and allow access. Then {paste_hint}")
        if service.capturable(pending):
            _err(
                "(The redirect URI is on this machine: 'ringplus-tui authorize "
                f"{shlex.quote(args.account)} --listen' finishes by itself instead.)"
            )
        return 0
    pasted = args.redirected_url
    if pasted == "-":
        pasted = await asyncio.to_thread(sys.stdin.read)
    account = await service.complete_authorization(pasted, args.account)
    _signed_in(service, account)
    return 0


async def _listen(service: OAuthService, pending: PendingAuthorization, paste_hint: str) -> int:
    """Capture the redirect on the loopback redirect URI (``authorize --listen``)."""
    from ringplus_tui.core.errors import LoopbackUnavailableError

    try:
        listener = service.listen_for_redirect(pending)
        await listener.start()
    except LoopbackUnavailableError as err:
        print(pending.authorization_url)
        _err(f"ringplus-tui: {err.title}: {err.message}")
        _err(f"Open the URL above, sign in and allow access. Then {paste_hint}")
        return 1
    try:
        print(pending.authorization_url, flush=True)
        _err(
            f"Open that URL in a browser, sign in and allow access. Waiting for the browser "
            f"on {listener.address} (up to 10 minutes; Ctrl+C to stop)…"
        )
        left = max(1.0, pending.expires_at - service.clock())
        try:
            account = await asyncio.wait_for(listener.wait(), left)
        except asyncio.CancelledError:  # Ctrl+C
            _err(f"\nStopped listening. The sign-in stays open for pasting: {paste_hint}")
            raise
        except TimeoutError:
            _err(
                "ringplus-tui: Timed out: no sign-in reached "
                f"{listener.address} within 10 minutes; nothing was changed. If the browser "
                "showed an error from the provider, check that the app's redirect URI is "
                "exactly the one registered there."
            )
            return 4
    finally:
        await listener.close()
    _signed_in(service, account)
    return 0


def _signed_in(service: OAuthService, account: Account) -> None:
    who = f" as {account.user}" if account.user else ""
    _err(f"Signed in '{account.name}'{who}; the token expires {_utc(account.expires_at)}.")
    warning = refresh_token_warning(service.settings.app(account.app), account)
    if warning:
        _err(f"ringplus-tui: warning: {warning}")


async def login(service: OAuthService, args: argparse.Namespace) -> int:
    """``login ACCOUNT --username EMAIL``: the password sign-in shortcut."""
    password = await asyncio.to_thread(read_secret, f"Password for {args.username}: ")
    if not password:
        _err("ringplus-tui: no password given; nothing was changed.")
        return 2
    account = await service.sign_in_with_password(args.account, args.username, password)
    _signed_in(service, account)
    return 0


async def token(service: OAuthService, args: argparse.Namespace) -> int:
    """``token ACCOUNT``: print only a valid access token."""
    print(await service.valid_access_token(args.account))
    return 0


def status_record(account: Account, now: float) -> dict[str, object]:
    """The ``status --json`` record of one account (times in UTC epoch seconds)."""
    return {
        "account": account.name,
        "app": account.app,
        "status": token_status(account, now).value,
        "expires_at": account.expires_at,
        "expires_in": None if account.expires_at is None else int(account.expires_at - now),
        "scope": list(account.scope),
        "user": account.user,
    }


async def status(service: OAuthService, args: argparse.Namespace) -> int:
    """``status [--json]``."""
    now = service.clock()
    accounts = sorted(
        service.settings.accounts.values(),
        key=lambda a: (a.expires_at is None, a.expires_at or 0, a.name),
    )
    if args.json:
        print(json.dumps([status_record(a, now) for a in accounts], indent=2))
        return 0
    if not accounts:
        _err("No accounts yet: ringplus-tui account add NAME --app APP")
    for account in accounts:
        left = None if account.expires_at is None else account.expires_at - now
        print(
            f"{account.name}\t{account.app}\t{token_status(account, now).value}\t"
            f"{format_countdown(left)}\t{account.user or '—'}"
        )
    return 0


async def refresh(service: OAuthService, args: argparse.Namespace) -> int:
    """``refresh [ACCOUNT ...|--all]``: exit status of the worst failure."""
    names = list(args.accounts)
    if args.all:
        names = [
            name
            for name, account in sorted(service.settings.accounts.items())
            if account.signed_in
            and token_status(account, service.clock()) != TokenStatus.NEEDS_SIGN_IN
        ]
    if not names:
        _err("ringplus-tui: name the accounts to refresh, or use --all.")
        return 2
    for name in names:
        service.settings.account(name)  # unknown names fail before any request
    results = await service.refresh_all(names)
    worst = 0
    for name in names:
        outcome = results[name]
        if isinstance(outcome, RingPlusError):
            _err(f"{name}: {outcome.title}: {outcome.message}")
            worst = max(worst, exit_status(outcome))
        else:
            print(f"{name}\trefreshed\texpires {_utc(outcome.expires_at)}")
    return worst


async def revoke(service: OAuthService, args: argparse.Namespace) -> int:
    """``revoke ACCOUNT``."""
    if not service.settings.account(args.account).signed_in:
        _err(f"'{args.account}' has no tokens here; nothing to revoke.")
        return 0
    await service.revoke(args.account)
    _err(f"Revoked and forgot the tokens of '{args.account}'.")
    return 0


async def forget(service: OAuthService, args: argparse.Namespace) -> int:
    """``forget ACCOUNT``."""
    if not service.settings.account(args.account).signed_in:
        _err(f"'{args.account}' has no tokens here; nothing to forget.")
        return 0
    await service.forget(args.account)
    _err(f"Forgot the tokens of '{args.account}' on this machine (not revoked).")
    return 0


def exit_status(error: RingPlusError) -> int:
    """The documented exit status for an error: 2 usage/unknown name, 3 needs sign-in,
    4 temporary failure, 1 anything else."""
    from ringplus_tui.core.errors import ConfigError, NeedsSignInError, NetworkError

    if isinstance(error, NeedsSignInError):
        return 3
    if isinstance(error, NetworkError):
        return 4
    if isinstance(error, ConfigError):
        return 2
    return 1


COMMANDS: dict[tuple[str, str | None], Command] = {
    ("app", "add"): app_add,
    ("app", "list"): app_list,
    ("app", "rename"): app_rename,
    ("app", "remove"): app_remove,
    ("account", "add"): account_add,
    ("account", "list"): account_list,
    ("account", "rename"): account_rename,
    ("account", "remove"): account_remove,
    ("authorize", None): authorize,
    ("login", None): login,
    ("token", None): token,
    ("status", None): status,
    ("refresh", None): refresh,
    ("revoke", None): revoke,
    ("forget", None): forget,
}


def fast_token(config_dir: Path, account: str) -> str | None:
    """The stored access token when it is fresh, read without starting the service.

    ``token`` is called from mail clients and shell loops, so its common case (a
    valid token) only parses the settings and reads one keyring entry: no
    asyncio, no HTTP libraries, no lock.

    Returns:
        The token, or ``None`` when the full path is needed (unknown account,
        not signed in, due for refresh, nothing stored, or any error).
    """
    import time

    from ringplus_tui.core.status import refresh_due
    from ringplus_tui.store.secret_store import (
        KeyringSecretStore,
        access_token_key,
        keyring_service,
    )
    from ringplus_tui.store.settings import SettingsStore

    try:
        record = SettingsStore(config_dir).load().accounts.get(account)
        if record is None or not record.signed_in or record.expires_at is None:
            return None
        if record.needs_sign_in:
            return None
        now = time.time()
        if record.expires_at <= now or refresh_due(record, now):
            return None
        store = KeyringSecretStore(keyring_service(config_dir))
        return store.get(access_token_key(account)) or None
    except RingPlusError:
        return None


class CliHints(Hints):
    """Service messages name the command (and the app's key) that fixes a problem."""

    def sign_in(self, account: str) -> str:
        """How to sign ``account`` in again."""
        return f"To sign in: 's' in the app, or 'ringplus-tui authorize {account}'."

    def enter_secret(self, app: str) -> str:
        """How to give the app its client secret again."""
        return (
            "Enter it again on the app's credentials screen (A, then e) or with "
            "'ringplus-tui app add'."
        )

    def fix_app(self, app: str) -> str:
        """How to change the app's settings."""
        return "Fix it on the app credentials screen or with 'ringplus-tui app add'."


def run(config_dir: Path, args: argparse.Namespace) -> int:
    """Run one script command over a fresh service; return its exit status."""
    if args.command == "token":
        found = fast_token(config_dir, args.account)
        if found is not None:
            print(found)
            return 0

    from ringplus_tui.core.validation import FieldError
    from ringplus_tui.service.factory import make_service
    from ringplus_tui.store.secret_store import KeyringSecretStore, keyring_service

    action = getattr(args, "app_command", None) or getattr(args, "account_command", None)
    command = COMMANDS[(args.command, action)]

    async def main() -> int:
        service = make_service(
            config_dir, KeyringSecretStore(keyring_service(config_dir)), hints=CliHints()
        )
        try:
            return await command(service, args)
        finally:
            for warning in (service.proxy_warning, service.take_clock_warning()):
                if warning:
                    _err(f"ringplus-tui: warning: {warning}")
            await service.aclose()

    try:
        return asyncio.run(main())
    except FieldError as err:
        flag = _FLAG_OF_FIELD.get(err.field, err.field)
        _err(f"ringplus-tui: {flag}: {err.message}")
        return 2
    except RingPlusError as err:
        _err(f"ringplus-tui: {err.title}: {err.message}")
        return exit_status(err)


_FLAG_OF_FIELD = {
    "name": "NAME",
    "account": "NAME",
    "client_id": "--client-id",
    "redirect_uri": "--redirect-uri",
    "authorization_endpoint": "--authorization-endpoint",
    "token_endpoint": "--token-endpoint",
    "revocation_endpoint": "--revocation-endpoint",
    "api_base": "--api-base",
    "token_endpoint_auth_method": "--client-auth",
    "provider": "--provider",
    "issuer": "--issuer",
    "authorization_params": "--param",
    "token_placement": "--token-placement",
}
