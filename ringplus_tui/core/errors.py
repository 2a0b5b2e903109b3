"""The one exception tree of ringplus-tui.

Every failure that reaches a person is one of these. Each carries a short human
``title`` and a ``message`` of one or two sentences that says what happened and
what to do next. No message ever contains a secret.

The service translates the errors of authlib, HTTPX and keyring into this tree at
its boundary (``raise ... from err``); the screens and the command line catch only
:class:`RingPlusError`.

::

    RingPlusError
    ├── ConfigError                 settings file unreadable or invalid, unknown app/account
    ├── SecretStoreError            the OS keyring is missing, locked, slow or dropping secrets
    ├── AuthorizationResponseError  the pasted redirect URL cannot be used (RFC 6749 §4.1.2)
    │   ├── AccessDeniedError       the provider sent ``error=`` (e.g. ``access_denied``)
    │   ├── RedirectMismatchError   the URL is not the registered ``redirect_uri``
    │   ├── StateMismatchError      the ``state`` matches no pending authorization
    │   └── IssuerMismatchError     ``iss`` names another server, or is missing (RFC 9207)
    ├── TokenEndpointError          the token endpoint answered with an error (RFC 6749 §5.2)
    │   ├── NeedsSignInError        the grant is gone (``invalid_grant``, no refresh token)
    │   ├── ClientAuthError         the app's own credentials were refused (``invalid_client``)
    │   ├── EndpointError           the endpoint URL answers 404/405: not that endpoint
    │   └── IdTokenError            the OpenID Connect ``id_token`` does not verify
    ├── ResponseTooLargeError       an answer exceeded its size limit
    ├── DiscoveryError              the issuer's metadata cannot be used (RFC 8414)
    ├── LoopbackUnavailableError    the loopback redirect address cannot be listened on
    └── NetworkError                temporary: connection, timeout, HTTP 408/429/5xx
        └── DeadlineError           a request did not finish within its overall deadline
"""

from __future__ import annotations


class RingPlusError(Exception):
    """Base of every error ringplus-tui shows to a person.

    Args:
        message: One or two plain sentences: what happened and what to do.
        title: A short heading for a notification or an error panel.
    """

    title: str = "Error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class ConfigError(RingPlusError):
    """The settings file cannot be read or holds an invalid value, or a name is unknown."""

    title = "Settings problem"


class SettingsFileError(ConfigError):
    """The settings or state files themselves cannot be used: unreadable, not valid TOML
    or JSON, an invalid value, unsafe ownership or permissions, or not writable.

    Apart from a :class:`ConfigError` about a name (an unknown or taken app or
    account), which the person fixes by typing something else.
    """


class SecretStoreError(RingPlusError):
    """The OS keyring could not store or return a secret.

    Never means "no secret stored": that is ``None`` from the store.
    """

    title = "Keyring problem"


class AuthorizationResponseError(RingPlusError):
    """The pasted redirect URL (the authorization response) cannot be used.

    Raised before any token request is made.
    """

    title = "Cannot use this URL"


class AccessDeniedError(AuthorizationResponseError):
    """The provider redirected with ``error=`` instead of a code (RFC 6749 §4.1.2.1);
    the message and title say what the ``error`` code means and what to do.

    Attributes:
        error: The provider's ``error`` code, e.g. ``access_denied``.
        description: The provider's ``error_description``, if any.
    """

    title = "Access denied"

    _ADVICE = {
        "invalid_scope": (
            "Scope not accepted",
            "The provider does not accept the scopes this app asks for",
            "Retrying will not help: fix the app's scopes to ones the provider offers "
            "(A, then e; or 'ringplus-tui app add NAME --scope …').",
        ),
        "unauthorized_client": (
            "App not allowed",
            "The provider does not let this app use the authorization-code flow",
            "Check the client's settings at the provider (grant types, client type).",
        ),
        "unsupported_response_type": (
            "App not allowed",
            "The provider does not let this app use the authorization-code flow",
            "Check the client's settings at the provider (grant types, client type).",
        ),
        "invalid_request": (
            "Sign-in request refused",
            "The provider refused the sign-in request",
            "Check the app's extra parameters and redirect URI, then start again.",
        ),
        "server_error": (
            "Provider error",
            "The provider failed while signing in",
            "Try again in a few minutes.",
        ),
        "temporarily_unavailable": (
            "Provider busy",
            "The provider cannot sign anyone in right now",
            "Try again in a few minutes.",
        ),
    }

    def __init__(self, error: str, description: str | None) -> None:
        title, what, advice = self._ADVICE.get(
            error,
            (
                "Access denied",
                "The provider did not grant access",
                "Start the sign-in again to retry.",
            ),
        )
        text = f"{what} ({error})"
        text += f": {description}" if description else "."
        if not text.endswith((".", "!", "?")):
            text += "."
        text += f" Nothing was stored. {advice}"
        super().__init__(text, title=title)
        self.error = error
        self.description = description


class RedirectMismatchError(AuthorizationResponseError):
    """The pasted URL does not start with the registered ``redirect_uri``."""

    title = "Wrong redirect URL"


class StateMismatchError(AuthorizationResponseError):
    """The ``state`` in the URL matches no pending authorization, or it expired."""

    title = "Unknown or expired sign-in"


class IssuerMismatchError(AuthorizationResponseError):
    """The redirected URL's ``iss`` is not the app's issuer, or it is missing although
    the provider says it always sends one (RFC 9207 §2.4: mix-up protection)."""

    title = "Wrong issuer"


class TokenEndpointError(RingPlusError):
    """The token endpoint refused a request (RFC 6749 §5.2), or answered nonsense.

    Attributes:
        error: The provider's ``error`` code, if it sent one.
        description: The provider's ``error_description``, if any.
    """

    title = "The provider refused"

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        description: str | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(message, title=title)
        self.error = error
        self.description = description


class NeedsSignInError(TokenEndpointError):
    """The account must be signed in again: no refresh token, or ``invalid_grant``."""

    title = "Sign in again"


class ClientAuthError(TokenEndpointError):
    """The provider refused the app's own credentials (``invalid_client``, HTTP 401) or
    does not allow this app the grant (``unauthorized_client``), RFC 6749 §5.2.

    The account's grant is untouched: the app's client ID, secret or client
    authentication method needs fixing.
    """

    title = "App credentials refused"


class EndpointError(TokenEndpointError):
    """An endpoint URL answered HTTP 404 or 405: the app's settings name the wrong URL."""

    title = "Wrong endpoint"


class IdTokenError(TokenEndpointError):
    """The ``id_token`` in a token response failed verification (OpenID Connect Core
    §3.1.3.7): bad signature, wrong issuer or audience, expired, or wrong ``nonce``."""

    title = "Identity not verified"


class DiscoveryError(RingPlusError):
    """The issuer's metadata document is missing, not JSON, names another issuer, or
    lacks a required endpoint (RFC 8414 §3, OpenID Connect Discovery §4)."""

    title = "Discovery failed"


class ResponseTooLargeError(RingPlusError):
    """An HTTP answer was larger than the limit for its kind (token response, metadata
    document, key set, API answer); reading stopped at the limit.

    Attributes:
        limit: The limit, in bytes.
    """

    title = "Answer too large"

    def __init__(self, message: str, *, limit: int, title: str | None = None) -> None:
        super().__init__(message, title=title)
        self.limit = limit


class LoopbackUnavailableError(RingPlusError):
    """The redirect cannot be captured on this machine: the redirect URI is not a
    loopback address with a port, or the port is taken (RFC 8252 §7.3)."""

    title = "Cannot listen"


class NetworkError(RingPlusError):
    """A temporary failure: no connection, a timeout, or HTTP 408/429/5xx.

    Nothing was changed; the same operation may succeed later.

    Attributes:
        retry_after: Seconds the server asked us to wait (``Retry-After``), if any.
    """

    title = "Network problem"

    def __init__(
        self, message: str, *, retry_after: float | None = None, title: str | None = None
    ) -> None:
        super().__init__(message, title=title)
        self.retry_after = retry_after


class DeadlineError(NetworkError):
    """A request (connecting, sending and the whole answer) took longer than its overall
    deadline; temporary, nothing was changed.

    Attributes:
        deadline: The deadline, in seconds.
    """

    title = "No answer in time"

    def __init__(self, message: str, *, deadline: float, title: str | None = None) -> None:
        super().__init__(message, title=title)
        self.deadline = deadline
