"""The OAuth2 validator: django-oauth-toolkit's, plus the OIDC ``profile`` and ``email`` claims."""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """Put the user's name and email in id_tokens and userinfo.

    DOT filters claims by granted scope (``name`` needs ``profile``, ``email`` needs ``email``).
    The request-agnostic form (callables, no ``request`` parameter) also lists the claims in
    ``claims_supported`` of the OIDC discovery document.
    """

    def get_additional_claims(self) -> dict[str, Any]:
        """Claims as callables of the oauthlib request (``request.user`` is the Django user)."""
        return {
            "name": lambda request: request.user.get_full_name(),
            "given_name": lambda request: request.user.first_name,
            "family_name": lambda request: request.user.last_name,
            "preferred_username": lambda request: request.user.get_username(),
            "email": lambda request: request.user.email,
            "email_verified": lambda request: bool(request.user.email),
        }
