"""``ringplus-tui app add|list|rename|remove``: the apps (client credentials)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from ringplus_tui.core.models import Provider
from ringplus_tui.core.validation import AppInput, build_app

from .common import err, read_secret, show, with_service

if TYPE_CHECKING:
    from ringplus_tui.oauth.discovery import Discovery
    from ringplus_tui.service.facade import OAuthService


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the ``app`` command and its actions to ``subparsers``.

    Args:
        subparsers: The top-level command set.
        common: The parent parser with the options every command takes.
    """
    help = "add, list, rename or remove apps (client credentials)"
    app = subparsers.add_parser("app", help=help, description=help, parents=[common])
    actions = app.add_subparsers(dest="app_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        parents=[common],
        help="add or update an app; the client secret is read from stdin or a hidden prompt",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--client-id", required=True)
    add.add_argument("--redirect-uri", required=True)
    add.add_argument("--scope", action="append", default=[], help="a scope (repeatable)")
    add.add_argument(
        "--issuer",
        default="",
        metavar="URL",
        help="find the endpoints from the provider's metadata (RFC 8414 / OpenID Connect)",
    )
    add.add_argument("--provider", choices=["ringplus", "custom"], default=None)
    add.add_argument("--authorization-endpoint", default="")
    add.add_argument("--token-endpoint", default="")
    add.add_argument("--revocation-endpoint", default="")
    add.add_argument("--api-base", default="")
    add.add_argument(
        "--client-auth",
        choices=["client_secret_basic", "client_secret_post", "none"],
        default=None,
        help="how the app authenticates at the token endpoint; 'none' is a public client "
        "(PKCE, no secret). Default: client_secret_basic, or with --issuer the provider's "
        "choice, and 'none' when no secret is given",
    )
    add.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra authorization parameter, e.g. prompt=consent (repeatable)",
    )
    add.add_argument(
        "--token-placement",
        choices=["header", "query"],
        default="header",
        help="how API calls carry the token: Authorization header, or access_token query",
    )
    add.set_defaults(run=with_service(app_add))
    actions.add_parser("list", parents=[common], help="list apps").set_defaults(
        run=with_service(app_list)
    )
    rename = actions.add_parser("rename", parents=[common], help="rename an app")
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")
    rename.set_defaults(run=with_service(app_rename))
    remove = actions.add_parser("remove", parents=[common], help="remove an app")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument(
        "--yes", action="store_true", help="also remove the accounts that use it, without asking"
    )
    remove.set_defaults(run=with_service(app_remove))


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
        err(f"Discovered {discovery.document_url}:")
        for label, value in discovered_fields(discovery.provider):
            err(f"  {label:<24}{value}")
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
        err(
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
        err(f"  {'client authentication':<24}{form.token_endpoint_auth_method}")
        offered = set(discovery.scopes_supported)
        unknown = [s for s in args.scope if offered and s not in offered]
        if unknown:
            err(
                f"ringplus-tui: warning: the provider does not list the scope(s) "
                f"{', '.join(unknown)} (it offers {', '.join(sorted(offered))}); it may "
                "refuse the sign-in with invalid_scope."
            )
        warning = revocation_warning(discovery, form.token_endpoint_auth_method)
        if warning:
            err(f"ringplus-tui: warning: {warning}")
    app = build_app(form)
    await service.save_app(app, secret or None)
    err(f"Saved app '{app.name}'. Add an account with:")
    err(f"  ringplus-tui account add NAME --app {app.name}")
    return 0


def revocation_warning(discovery: Discovery, method: str) -> str | None:
    """What to tell a person whose client cannot revoke at the discovered revocation
    endpoint (RFC 8414 §2 ``revocation_endpoint_auth_methods_supported``; when it is
    absent only ``client_secret_basic`` is allowed), or ``None``."""
    from ringplus_tui.oauth.http import can_revoke_with

    if not discovery.provider.revocation_endpoint:
        return None
    supported = discovery.revocation_endpoint_auth_methods_supported
    if can_revoke_with(method, supported):
        return None
    listed = ", ".join(supported) if supported else "client_secret_basic only, by default"
    return (
        f"the provider's revocation endpoint accepts {listed}, not {method}; 'revoke' "
        "may be refused there, and 'forget' removes an account's tokens from this "
        "machine instead."
    )


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
        fields = (name, app.client_id, app.provider.token_endpoint, users)
        print("\t".join(show(field) for field in fields))
    return 0


async def app_rename(service: OAuthService, args: argparse.Namespace) -> int:
    """``app rename OLD NEW``."""
    await service.rename_app(args.old, args.new)
    err(f"Renamed the app '{args.old}' to '{args.new}'; its accounts follow it.")
    return 0


async def app_remove(service: OAuthService, args: argparse.Namespace) -> int:
    """``app remove NAME``: asks first when accounts use it."""
    users = service.settings.accounts_of(service.settings.app(args.name).name)
    if users and not args.yes:
        if not sys.stdin.isatty():
            err(
                f"ringplus-tui: the app '{args.name}' is used by {', '.join(users)}. "
                "Add --yes to remove those accounts (and their tokens) too."
            )
            return 2
        question = f"'{args.name}' is used by {', '.join(users)}. Remove them too? [y/N] "
        answer = await asyncio.to_thread(input, question)
        if answer.strip().lower() not in ("y", "yes"):
            err("Nothing was removed.")
            return 1
    removed = await service.remove_app(args.name, with_accounts=True)
    err(f"Removed the app '{args.name}' and its client secret.")
    if removed:
        err(f"Removed the accounts {', '.join(removed)} too.")
    return 0
