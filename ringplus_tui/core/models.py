"""Typed records shared by storage, the service and the screens.

All times are UTC epoch seconds (``float``); all durations are seconds. Secret
fields are excluded from ``repr`` so that a record in a log line or a traceback
never shows a token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PENDING_AUTHORIZATION_LIFETIME = 600.0
"""Seconds a started authorization waits for its redirected URL (10 minutes)."""

CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
"""Client authentication at the token endpoint: HTTP Basic or form fields (RFC 6749
§2.3.1), or ``none`` for a public client that has no secret and relies on PKCE
(RFC 7591 §2, RFC 7636)."""

TOKEN_PLACEMENTS = ("header", "query")
"""Where API calls carry the access token: the ``Authorization: Bearer`` header
(RFC 6750 §2.1) or the ``access_token`` query parameter (RFC 6750 §2.3, what
public RingPlus clients used)."""

RESERVED_AUTHORIZATION_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
    }
)
"""Authorization request parameters the flow sets itself (RFC 6749 §4.1.1, RFC 7636
§4.3, OpenID Connect Core §3.1.2.1); extra parameters may not override them."""


def mask(secret: str | None) -> str:
    """Return a secret in a form safe to show: ``abcd…wxyz``.

    Args:
        secret: The value to mask; ``None`` or empty gives ``"—"``.

    Returns:
        The first and last four characters around an ellipsis, or only
        ``"…"`` for values of 12 characters or fewer.
    """
    if not secret:
        return "—"
    if len(secret) <= 12:
        return "…"
    return f"{secret[:4]}…{secret[-4:]}"


@dataclass(frozen=True)
class Provider:
    """Where an OAuth2 provider's endpoints are (RFC 6749 §3).

    Attributes:
        name: ``"ringplus"`` for the built-in preset, ``"custom"`` otherwise.
        authorization_endpoint: URL the person's browser visits (RFC 6749 §3.1).
        token_endpoint: URL for code exchange and refresh (RFC 6749 §3.2).
        revocation_endpoint: RFC 7009 endpoint, if the provider has one.
        api_base: Base URL of the provider's REST API, if any.
        token_endpoint_auth_method: One of :data:`CLIENT_AUTH_METHODS`.
        default_token_lifetime: Seconds assumed when a token response has no
            ``expires_in`` (RingPlus tokens lasted 24 hours).
        issuer: The authorization server's issuer identifier (RFC 8414 §2), when
            known; redirected URLs carrying ``iss`` must name it (RFC 9207).
        authorization_response_iss_parameter_supported: The provider's metadata
            says it always sends ``iss`` (RFC 9207 §3), so a missing one is refused.
        jwks_uri: Where the provider publishes its signing keys (RFC 8414 §2); needed
            to verify OpenID Connect ``id_token`` signatures.
        token_placement: One of :data:`TOKEN_PLACEMENTS`, for API calls.
    """

    name: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    api_base: str | None = None
    token_endpoint_auth_method: str = "client_secret_basic"
    default_token_lifetime: float = 86400.0
    issuer: str | None = None
    authorization_response_iss_parameter_supported: bool = False
    jwks_uri: str | None = None
    token_placement: str = "header"


RINGPLUS = Provider(
    name="ringplus",
    authorization_endpoint="https://my.ringplus.net/oauth/authorize",
    token_endpoint="https://my.ringplus.net/oauth/token",
    revocation_endpoint=None,
    api_base="https://api.ringplus.net",
    token_endpoint_auth_method="client_secret_basic",
    default_token_lifetime=86400.0,
)
"""The built-in RingPlus provider, as the original wrapper's tutorial describes it."""

PROVIDERS: dict[str, Provider] = {"ringplus": RINGPLUS}
"""Built-in provider presets by name."""


@dataclass(frozen=True)
class AppConfig:
    """An application registered with a provider (its client credentials).

    The client secret is not here: it lives only in the secret store.

    Attributes:
        name: The person's name for this app, unique in the settings.
        client_id: The ``client_id`` the provider issued (RFC 6749 §2.2).
        redirect_uri: The exact registered ``redirect_uri`` (RFC 6749 §3.1.2).
        scopes: Scopes to request (RFC 6749 §3.3); may be empty.
        provider: The provider's endpoints.
        authorization_params: Extra query parameters for the authorization
            request, e.g. ``(("prompt", "consent"),)``; never one of
            :data:`RESERVED_AUTHORIZATION_PARAMS`.
    """

    name: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...] = ()
    provider: Provider = RINGPLUS
    authorization_params: tuple[tuple[str, str], ...] = ()

    @property
    def public(self) -> bool:
        """Whether this is a public client (no client secret; RFC 6749 §2.1)."""
        return self.provider.token_endpoint_auth_method == "none"


@dataclass(frozen=True)
class Account:
    """One signed-in (or to-be-signed-in) identity at a provider, through one app.

    Only non-secret token metadata is kept here; the access token and refresh
    token live in the secret store.

    Attributes:
        name: The person's name for this account, unique in the settings.
        app: Name of the :class:`AppConfig` it signs in through.
        expires_at: When the access token expires, UTC epoch seconds, or ``None``
            when there is no token.
        obtained_at: When the current access token was received, UTC epoch seconds.
        scope: Scopes granted with the current token.
        token_type: The token type of the current token (normally ``Bearer``).
        has_refresh_token: Whether a refresh token is stored.
        last_refresh_at: When the token was last refreshed, UTC epoch seconds.
        lifetime_assumed: True when the provider sent no expiry and the
            provider's default lifetime was assumed.
        needs_sign_in: True after the provider rejected the refresh token
            (``invalid_grant``); cleared by the next successful sign-in.
        user: The signed-in person as the API's ``GET /users/me`` names them.
        phone_lines: How many phone lines ``GET /accounts`` listed.
        auto_refresh: Whether the dashboard refreshes this account by itself.
        refresh_margin: Seconds before expiry to refresh; ``None`` for the
            default, max(60 s, 10 % of the token's lifetime).
        subject: The OpenID Connect ``sub`` claim of the verified ``id_token``.
        email: The ``email`` claim of the verified ``id_token``.
    """

    name: str
    app: str
    expires_at: float | None = None
    obtained_at: float | None = None
    scope: tuple[str, ...] = ()
    token_type: str | None = None
    has_refresh_token: bool = False
    last_refresh_at: float | None = None
    lifetime_assumed: bool = False
    needs_sign_in: bool = False
    user: str | None = None
    phone_lines: int | None = None
    auto_refresh: bool = True
    refresh_margin: float | None = None
    subject: str | None = None
    email: str | None = None

    @property
    def signed_in(self) -> bool:
        """Whether the account has a token (valid or not)."""
        return self.obtained_at is not None


@dataclass(frozen=True)
class Token:
    """A token response, normalised (RFC 6749 §5.1).

    Attributes:
        access_token: The access token (secret; hidden from ``repr``).
        token_type: The token type as the provider spelled it, e.g. ``Bearer``.
        expires_at: Absolute expiry, UTC epoch seconds, computed on receipt.
        obtained_at: When the response was received, UTC epoch seconds.
        refresh_token: The refresh token, if any (secret; hidden from ``repr``).
        scope: Granted scopes (RFC 6749 §3.3).
        lifetime_assumed: True when the response had no usable expiry and the
            provider's default lifetime was used.
    """

    access_token: str = field(repr=False)
    token_type: str
    expires_at: float
    obtained_at: float
    refresh_token: str | None = field(default=None, repr=False)
    scope: tuple[str, ...] = ()
    lifetime_assumed: bool = False

    @property
    def lifetime(self) -> float:
        """Seconds between receipt and expiry."""
        return self.expires_at - self.obtained_at


@dataclass(frozen=True)
class PendingAuthorization:
    """An authorization request waiting for its redirected URL (RFC 6749 §4.1.1, RFC 7636).

    Attributes:
        account: The account being signed in.
        app: The app used.
        state: The random ``state`` sent with the request.
        code_verifier: The PKCE ``code_verifier`` (secret; hidden from ``repr``).
        redirect_uri: The exact ``redirect_uri`` sent.
        authorization_url: The URL the person opens.
        created_at: When it was started, UTC epoch seconds.
        nonce: The OpenID Connect ``nonce`` sent with it (Core §3.1.2.1), which the
            ``id_token`` must carry back; ``None`` without the ``openid`` scope.
    """

    account: str
    app: str
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)
    redirect_uri: str
    authorization_url: str = field(repr=False)
    created_at: float
    nonce: str | None = field(default=None, repr=False)

    @property
    def expires_at(self) -> float:
        """When this pending request stops being accepted, UTC epoch seconds."""
        return self.created_at + PENDING_AUTHORIZATION_LIFETIME

    def to_dict(self) -> dict[str, str | float]:
        """A JSON-ready dict, for the secret store (it holds the ``code_verifier``)."""
        return {
            "account": self.account,
            "app": self.app,
            "state": self.state,
            "code_verifier": self.code_verifier,
            "redirect_uri": self.redirect_uri,
            "authorization_url": self.authorization_url,
            "created_at": self.created_at,
            **({"nonce": self.nonce} if self.nonce else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> PendingAuthorization:
        """Read :meth:`to_dict`'s output back.

        Raises:
            KeyError, TypeError, ValueError: The data is not a pending authorization.
        """
        return cls(
            account=str(data["account"]),
            app=str(data["app"]),
            state=str(data["state"]),
            code_verifier=str(data["code_verifier"]),
            redirect_uri=str(data["redirect_uri"]),
            authorization_url=str(data["authorization_url"]),
            created_at=float(data["created_at"]),  # type: ignore[arg-type]
            nonce=str(data["nonce"]) if data.get("nonce") else None,
        )
