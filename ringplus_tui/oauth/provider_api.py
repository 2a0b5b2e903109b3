"""The provider's REST API: who an account is and which phone lines it has.

RingPlus's ``GET /users/me`` and ``GET /accounts``, with the access token in the
``Authorization: Bearer`` header (RFC 6750 §2.1) or, for providers that want it
there, the ``access_token`` query parameter (RFC 6750 §2.3; what public RingPlus
clients did). No Textual, no storage.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2

from ringplus_tui.core.errors import NeedsSignInError, RingPlusError


@dataclass(frozen=True)
class PhoneLine:
    """A phone line on a RingPlus account, as ``GET /accounts`` lists it."""

    id: str
    name: str
    phone_number: str
    device: str


@dataclass(frozen=True)
class Profile:
    """Who an account is, from the provider's API.

    Attributes:
        user: ``Name <email>`` from ``GET /users/me``.
        lines: The phone lines from ``GET /accounts``.
    """

    user: str
    lines: tuple[PhoneLine, ...]


async def fetch_profile(
    client: httpx2.AsyncClient,
    base: str,
    token: str,
    *,
    account: str,
    token_placement: str = "header",
) -> Profile:
    """Fetch the user and phone lines behind ``token``.

    Args:
        client: The shared HTTP client.
        base: The API's base URL, without a trailing slash.
        token: The access token.
        account: The account's name, for messages.
        token_placement: ``header`` or ``query`` (see the module docstring).

    Returns:
        The profile.

    Raises:
        NeedsSignInError: The API refused the token (HTTP 401).
        RingPlusError: The answer is not RingPlus's JSON.
        httpx2.HTTPError: Network failures and other HTTP errors (the caller translates).
    """
    headers = {"Accept": "application/json"}
    params: dict[str, str] = {}
    if token_placement == "query":
        params["access_token"] = token
        headers["Cache-Control"] = "no-store"  # RFC 6750 §2.3
    else:
        headers["Authorization"] = f"Bearer {token}"
    me = await client.get(f"{base}/users/me", headers=headers, params=params)
    lines = await client.get(f"{base}/accounts", headers=headers, params=params)
    for response in (me, lines):
        if response.status_code == 401:
            raise NeedsSignInError(
                f"The API refused the access token of '{account}'. Refresh it, or sign in "
                f"again ('s' in the app, or 'ringplus-tui authorize {account}')."
            )
        if response.is_error:
            # Not raise_for_status(): its message quotes the URL, which may hold the token.
            raise httpx2.HTTPStatusError(
                f"HTTP {response.status_code} from {base}",
                request=response.request,
                response=response,
            )
    try:
        user = me.json()
        items = lines.json().get("accounts", [])
        return Profile(
            user=f"{user.get('name', '?')} <{user.get('email', '?')}>",
            lines=tuple(
                PhoneLine(
                    id=str(item.get("id", "")),
                    name=str(item.get("name", "")),
                    phone_number=str(item.get("phone_number", "")),
                    device=str(item.get("device", "")),
                )
                for item in items
                if isinstance(item, dict)
            ),
        )
    except (ValueError, AttributeError) as err:
        raise RingPlusError(
            f"The API at {base} answered something that is not RingPlus's JSON.",
            title="Unexpected API answer",
        ) from err
