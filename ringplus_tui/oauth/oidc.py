"""Verifying OpenID Connect ``id_token`` values with joserfc (authlib's JOSE library).

An ``id_token`` is trusted only after its signature checks against the
provider's published keys (``jwks_uri``) and its claims name the expected issuer,
audience (our ``client_id``) and ``nonce``, and it has not expired (OpenID
Connect Core 1.0 §3.1.3.7). No Textual, no storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ringplus_tui.core.errors import IdTokenError

if TYPE_CHECKING:
    import httpx2
    from joserfc.jwk import KeySet

ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
"""Signature algorithms accepted for an ``id_token`` (public-key ones, so the
provider's JWKS is enough; Core §3.1.3.7 step 7: RS256 is the default)."""

CLOCK_LEEWAY = 120
"""Seconds of clock difference tolerated on ``exp`` and ``iat``."""


@dataclass(frozen=True)
class Identity:
    """Who signed in, from a verified ``id_token`` (OpenID Connect Core §2, §5.1).

    Attributes:
        subject: The ``sub`` claim: the provider's stable identifier for the person.
        name: The ``name`` (or ``preferred_username``) claim, if present.
        email: The ``email`` claim, if present.
    """

    subject: str
    name: str | None = None
    email: str | None = None

    @property
    def label(self) -> str:
        """``Name <email>``, or whichever of them is known, or the subject."""
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.name or self.email or self.subject


def _check_authorized_party(claims: Mapping[str, Any], client_id: str, hint: str) -> None:
    """OpenID Connect Core §3.1.3.7 steps 4 and 5: with several audiences ``azp`` must
    be present, and when present it must be our ``client_id``."""
    audiences = claims.get("aud")
    several = isinstance(audiences, list) and len(set(map(str, audiences))) > 1
    azp = claims.get("azp")
    if several and azp is None:
        raise IdTokenError(
            "The id_token is meant for several clients and does not say which one it was "
            f"issued to (no 'azp' claim), so it cannot be trusted as ours. {hint}"
        )
    if azp is not None and azp != client_id:
        raise IdTokenError(
            "The id_token was issued to another client (its 'azp' claim is not this "
            f"app's client ID). {hint}"
        )


async def fetch_jwks(client: httpx2.AsyncClient, jwks_uri: str) -> KeySet:
    """Fetch the provider's JSON Web Key Set (RFC 7517 §5).

    Raises:
        IdTokenError: The answer is not a key set.
        httpx2.HTTPError: Network failures and HTTP errors (the caller translates).
    """
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    response = await client.get(jwks_uri, headers={"Accept": "application/json"})
    response.raise_for_status()
    try:
        return KeySet.import_key_set(response.json())
    except (ValueError, KeyError, TypeError, JoseError) as err:
        raise IdTokenError(
            f"The provider's key set at {jwks_uri} cannot be read, so the id_token cannot "
            "be verified. Nothing was stored; try again later or tell the provider.",
        ) from err


def verify_id_token(
    id_token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    now: float,
) -> Identity:
    """Verify an ``id_token`` and return who it names (OpenID Connect Core §3.1.3.7).

    Args:
        id_token: The compact JWS from the token response.
        keys: The provider's key set.
        issuer: The expected ``iss`` (the app's issuer).
        client_id: Our ``client_id``; it must be in ``aud``.
        nonce: The ``nonce`` sent with the authorization request, which must come
            back; ``None`` after a refresh, where it is not checked.
        now: The current time, UTC epoch seconds.

    Returns:
        The identity.

    Raises:
        IdTokenError: Malformed, signed with an unexpected algorithm or key, a
            claim is missing or wrong (the message names which), or several
            audiences without an ``azp`` equal to ``client_id`` (Core §3.1.3.7).
    """
    from joserfc import jwt
    from joserfc.errors import (
        BadSignatureError,
        ExpiredTokenError,
        InvalidClaimError,
        JoseError,
        MissingClaimError,
    )

    hint = "Nothing was stored. Sign in again; if it keeps failing, check the app's issuer."
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
    except BadSignatureError as err:
        raise IdTokenError(f"The id_token's signature does not verify. {hint}") from err
    except JoseError as err:
        raise IdTokenError(
            f"The id_token cannot be verified ({err.error}: {err.description or 'invalid'}). {hint}"
        ) from err
    except ValueError as err:
        raise IdTokenError(f"The id_token is not a signed JWT. {hint}") from err
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    if nonce is not None:
        options["nonce"] = {"essential": True, "value": nonce}
    registry = jwt.JWTClaimsRegistry(now=int(now), leeway=CLOCK_LEEWAY, **options)
    claims: Mapping[str, Any] = token.claims
    try:
        registry.validate(dict(claims))
    except ExpiredTokenError as err:
        raise IdTokenError(
            "The id_token has already expired; check this machine's clock. " + hint
        ) from err
    except (InvalidClaimError, MissingClaimError) as err:
        raise IdTokenError(
            f"The id_token's '{err.claim}' claim is wrong or missing. {hint}"
        ) from err
    _check_authorized_party(claims, client_id, hint)
    name = claims.get("name") or claims.get("preferred_username")
    email = claims.get("email")
    return Identity(
        subject=str(claims["sub"]),
        name=str(name) if isinstance(name, str) and name else None,
        email=str(email) if isinstance(email, str) and email else None,
    )
