"""What the credentials screen starts with (pure data, no Textual)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import AppConfig
from .validation import AppInput


@dataclass(frozen=True)
class CredentialsPrefill:
    """Initial values of the credentials form.

    Attributes:
        form: The app fields.
        client_secret: A client secret to fill in (sandbox demo only; hidden from ``repr``).
        account: The account name to sign in.
        editing: True when the form edits a stored app (an empty secret keeps it).
        intro: Text shown above the form instead of how to register an app (the
            sandbox demo, whose app is registered and filled in already).
    """

    form: AppInput
    client_secret: str = field(default="", repr=False)
    account: str = ""
    editing: bool = False
    intro: str = ""

    @classmethod
    def from_app(
        cls, app: AppConfig, *, account: str = "", editing: bool = True
    ) -> CredentialsPrefill:
        """Prefill from a stored app (its secret stays in the keyring)."""
        p = app.provider
        return cls(
            form=AppInput(
                name=app.name,
                client_id=app.client_id,
                redirect_uri=app.redirect_uri,
                scopes=" ".join(app.scopes),
                provider=p.name,
                authorization_endpoint=p.authorization_endpoint,
                token_endpoint=p.token_endpoint,
                revocation_endpoint=p.revocation_endpoint or "",
                api_base=p.api_base or "",
                token_endpoint_auth_method=p.token_endpoint_auth_method,
                issuer=p.issuer or "",
                jwks_uri=p.jwks_uri or "",
                authorization_response_iss_parameter_supported=(
                    p.authorization_response_iss_parameter_supported
                ),
                authorization_params=" ".join(f"{k}={v}" for k, v in app.authorization_params),
                token_placement=p.token_placement,
            ),
            account=account,
            editing=editing,
        )


EMPTY_PREFILL = CredentialsPrefill(
    form=AppInput(name="ringplus", client_id="", redirect_uri="", provider="ringplus"),
    account="personal",
)
"""A new app for the built-in RingPlus provider."""
