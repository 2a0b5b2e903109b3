"""The sandbox's Flask application: a RingPlus-shaped OAuth2 provider on authlib.

Protocol work is authlib's (``authlib.integrations.flask_oauth2``): the
authorization-code grant with PKCE (RFC 6749 §4.1, RFC 7636), the refresh-token
grant with optional rotation (RFC 6749 §6), revocation (RFC 7009) and bearer
token checks (RFC 6750). This module only keeps records in memory and draws the
sign-in and consent pages.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, jsonify, redirect, render_template_string, request, session

CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
CODE_LIFETIME = 300.0


@dataclass
class PhoneLine:
    """One phone line on a RingPlus account (what ``GET /accounts`` lists)."""

    id: int
    name: str
    phone_number: str
    device: str


@dataclass
class DemoUser:
    """A person who can sign in at the sandbox."""

    id: int
    name: str
    email: str
    password: str = field(repr=False)
    lines: list[PhoneLine] = field(default_factory=list)

    def get_user_id(self) -> int:
        """authlib's user hook."""
        return self.id


@dataclass
class DemoClient:
    """A registered application (authlib's ``ClientMixin``)."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: list[str]
    name: str = "RingPlus demo app"
    scope: str = "read write"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string comparison, as RFC 6749 §3.1.2.3 asks of registered URIs.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in CLIENT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class AuthorizationCode:
    """An issued authorization code (authlib's ``AuthorizationCodeMixin``)."""

    code: str = field(repr=False)
    client_id: str
    redirect_uri: str
    scope: str
    user_id: int
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class IssuedToken:
    """An issued access token and refresh token (authlib's ``TokenMixin``)."""

    client_id: str
    user_id: int
    scope: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    issued_at: float
    expires_in: int
    access_revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: DemoClient) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.access_revoked


class ProviderState:
    """Everything the sandbox remembers, in memory, behind one lock.

    Args:
        token_lifetime: Access-token lifetime in seconds.
        rotate_refresh_tokens: Issue a new refresh token on each refresh and
            revoke the old one.
    """

    def __init__(self, *, token_lifetime: int, rotate_refresh_tokens: bool) -> None:
        self.lock = threading.RLock()
        self.token_lifetime = token_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.clients: dict[str, DemoClient] = {}
        self.users: list[DemoUser] = []
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: list[IssuedToken] = []
        self.token_requests: list[str] = []
        """The ``grant_type`` of every request to the token endpoint, in order."""
        self.latency = 0.0
        """Seconds the token endpoint waits before answering (a stand-in network)."""

    def user(self, user_id: object) -> DemoUser | None:
        return next((u for u in self.users if u.id == user_id), None)

    def by_refresh_token(self, value: str) -> IssuedToken | None:
        with self.lock:
            return next(
                (t for t in self.tokens if t.refresh_token == value and not t.refresh_revoked),
                None,
            )

    def by_access_token(self, value: str) -> IssuedToken | None:
        with self.lock:
            return next((t for t in self.tokens if t.access_token == value), None)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · RingPlus sandbox</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 34rem; margin: 3rem auto; padding: 0 1rem; }
.box { border: 1px solid #bbb; border-radius: .5rem; padding: 1.5rem; }
label { display: block; margin: .8rem 0 .2rem; }
input[type=email], input[type=password], input[type=text] { width: 100%; padding: .4rem; }
button { margin: 1rem .5rem 0 0; padding: .5rem 1.2rem; }
.error { color: #a00; }
.note { color: #555; font-size: .9rem; }
</style></head><body><div class="box">
<h1>{{ title }}</h1>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
{{ body | safe }}
</div><p class="note">RingPlus sandbox: a local stand-in for my.ringplus.net.</p></body></html>"""

_SIGN_IN = """
<form method="post" action="{{ action }}" id="sign-in">
<input type="hidden" name="action" value="sign-in">
<label for="email">Email</label>
<input type="email" id="email" name="email" value="{{ email }}" autofocus>
<label for="password">Password</label><input type="password" id="password" name="password">
<button type="submit">Sign in</button>
</form>"""

_CONSENT = """
<p><strong>{{ client }}</strong> wants to access your RingPlus account
<strong>{{ user }}</strong>{% if scope %} with the scopes <code>{{ scope }}</code>{% endif %}.</p>
<form method="post" action="{{ action }}" id="consent">
<input type="hidden" name="action" value="consent">
<button type="submit" name="confirm" value="allow">Allow</button>
<button type="submit" name="confirm" value="deny">Deny</button>
</form>"""

_CALLBACK = """
<p>Copy this page's whole address from the address bar (or from the box below) and paste
it into ringplus-tui.</p>
<input type="text" readonly value="{{ url }}" onclick="this.select()">"""


def _render(
    title: str, body: str, *, status: int = 200, error: str = "", **values: Any
) -> Response:
    inner = render_template_string(body, **values)
    page = render_template_string(_PAGE, title=title, body=inner, error=error)
    return Response(page, status=status, mimetype="text/html")


def create_app(state: ProviderState, issuer: Callable[[], str]) -> Flask:
    """Build the sandbox's Flask application.

    Args:
        state: The provider's memory.
        issuer: Returns the base URL the server is reachable at.

    Returns:
        A WSGI application serving ``/oauth/authorize``, ``/oauth/token``,
        ``/oauth/revoke``, ``/users/me``, ``/accounts`` and ``/callback``.
    """
    app = Flask("ringplus_tui.sandbox")
    app.secret_key = secrets.token_bytes(32)
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": state.token_lifetime,
        "refresh_token": state.token_lifetime,
    }

    class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)

        def save_authorization_code(self, code: str, req: Any) -> None:
            with state.lock:
                state.codes[code] = AuthorizationCode(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri or "",
                    scope=req.payload.scope or "",
                    user_id=req.user.id,
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"),
                    issued_at=time.time(),
                )

        def query_authorization_code(self, code: str, client: DemoClient) -> Any:
            with state.lock:
                found = state.codes.get(code)
            if found is None or found.client_id != client.client_id:
                return None
            if time.time() > found.issued_at + CODE_LIFETIME:
                return None
            return found

        def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
            with state.lock:
                state.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: AuthorizationCode) -> Any:
            return state.user(authorization_code.user_id)

    class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)
        INCLUDE_NEW_REFRESH_TOKEN = state.rotate_refresh_tokens

        def authenticate_refresh_token(self, refresh_token: str) -> Any:
            return state.by_refresh_token(refresh_token)

        def authenticate_user(self, credential: IssuedToken) -> Any:
            return state.user(credential.user_id)

        def revoke_old_credential(self, credential: IssuedToken) -> None:
            with state.lock:
                credential.access_revoked = True
                if state.rotate_refresh_tokens:
                    credential.refresh_revoked = True

    class Revocation(RevocationEndpoint):  # type: ignore[misc]
        CLIENT_AUTH_METHODS = list(CLIENT_AUTH_METHODS)

        def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
            if token_type_hint != "access_token":
                found = state.by_refresh_token(token_string)
                if found is not None:
                    return found
            return state.by_access_token(token_string)

        def revoke_token(self, token: IssuedToken, req: Any) -> None:
            with state.lock:
                token.access_revoked = True
                token.refresh_revoked = True

    def query_client(client_id: str) -> DemoClient | None:
        return state.clients.get(client_id)

    def save_token(token: dict[str, Any], req: Any) -> None:
        with state.lock:
            state.tokens.append(
                IssuedToken(
                    client_id=req.client.client_id,
                    user_id=req.user.id,
                    scope=token.get("scope", ""),
                    access_token=token["access_token"],
                    refresh_token=token.get("refresh_token"),
                    issued_at=time.time(),
                    expires_in=int(token["expires_in"]),
                )
            )

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(CodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RefreshGrant)
    server.register_endpoint(Revocation)

    class Validator(BearerTokenValidator):  # type: ignore[misc]
        def authenticate_token(self, token_string: str) -> Any:
            return state.by_access_token(token_string)

    class Protector(ResourceProtector):  # type: ignore[misc]
        """Takes the token from ``Authorization: Bearer`` or, as RingPlus's API did,
        from the ``access_token`` query parameter (RFC 6750 §2.3)."""

        def parse_request_authorization(self, req: Any) -> Any:
            if not req.headers.get("Authorization") and request.args.get("access_token"):
                return self.get_token_validator("bearer"), request.args["access_token"]
            return super().parse_request_authorization(req)

    require_oauth = Protector()
    require_oauth.register_token_validator(Validator())

    def signed_in_user() -> DemoUser | None:
        return state.user(session.get("user_id"))

    @app.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        action = request.full_path if request.query_string else request.path
        user = signed_in_user()
        if request.method == "POST" and request.form.get("action") == "sign-in":
            email = request.form.get("email", "").strip().lower()
            password = request.form.get("password", "")
            found = next((u for u in state.users if u.email == email), None)
            if found is None or not hmac.compare_digest(found.password, password):
                return _render(
                    "Sign in to RingPlus",
                    _SIGN_IN,
                    status=401,
                    error="Wrong email or password.",
                    action=action,
                    email=email,
                )
            session["user_id"] = found.id
            return redirect(action, code=303)
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return _render(
                "Authorization error",
                "<p>{{ text }}</p>",
                status=400,
                text=f"{error.error}: {error.description or ''}",
            )
        if user is None:
            return _render("Sign in to RingPlus", _SIGN_IN, action=action, email="")
        if request.method == "GET":
            return _render(
                "Allow access?",
                _CONSENT,
                action=action,
                client=grant.client.name,
                user=user.email,
                scope=grant.request.payload.scope or "",
            )
        grant_user = user if request.form.get("confirm") == "allow" else None
        return server.create_authorization_response(grant_user=grant_user, grant=grant)

    @app.route("/oauth/token", methods=["POST"])
    def issue_token() -> Any:
        if state.latency:
            time.sleep(state.latency)
        # Read the body before taking the lock: a client whose body is still on its
        # way (its event loop busy asking for token_requests) would otherwise hold
        # the lock's other users, and its own body, forever.
        grant_type = request.form.get("grant_type", "")
        with state.lock:
            state.token_requests.append(grant_type)
        return server.create_token_response()

    @app.route("/oauth/revoke", methods=["POST"])
    def revoke_token() -> Any:
        return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

    @app.route("/.well-known/oauth-authorization-server")
    def metadata() -> Any:
        base = issuer()
        return jsonify(
            issuer=base,
            authorization_endpoint=f"{base}/oauth/authorize",
            token_endpoint=f"{base}/oauth/token",
            revocation_endpoint=f"{base}/oauth/revoke",
            response_types_supported=["code"],
            grant_types_supported=["authorization_code", "refresh_token"],
            token_endpoint_auth_methods_supported=list(CLIENT_AUTH_METHODS),
            code_challenge_methods_supported=["S256"],
        )

    @app.route("/users/me")
    @require_oauth()  # type: ignore[untyped-decorator]
    def users_me() -> Any:
        user = state.user(current_token.user_id)
        assert user is not None
        return jsonify(id=user.id, name=user.name, email=user.email)

    @app.route("/accounts")
    @require_oauth()  # type: ignore[untyped-decorator]
    def accounts() -> Any:
        user = state.user(current_token.user_id)
        assert user is not None
        return jsonify(
            accounts=[
                {"id": ln.id, "name": ln.name, "phone_number": ln.phone_number, "device": ln.device}
                for ln in user.lines
            ]
        )

    @app.route("/callback")
    def callback() -> Any:
        return _render("Signed in: now paste the address", _CALLBACK, url=request.url)

    return app
