"""URLs: DOT under ``o/`` (issuer ``http://127.0.0.1:PORT/o``), its RFC 8414 metadata, a login page.

* ``/o/authorize/``, ``/o/token/``, ``/o/revoke_token/``, ``/o/introspect/``, ``/o/userinfo/``,
  ``/o/.well-known/jwks.json``
* ``/o/.well-known/openid-configuration`` (OIDC discovery)
* ``/.well-known/oauth-authorization-server/o`` (RFC 8414 path-component form for issuer
  ``.../o``; DOT's include also answers at ``/o/.well-known/oauth-authorization-server``)
* ``/accounts/login/`` (``django.contrib.auth`` LoginView)
* ``POST /testing/clients`` (test-only client registration, see :func:`register_client`)
"""

from __future__ import annotations

import json
import secrets

from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_application_model
from oauth2_provider.views import OAuthServerMetadataView


@csrf_exempt
@require_POST
def register_client(request: HttpRequest) -> JsonResponse:
    """Register an authorization-code client (test only; DOT's RFC 7591 view is not used).

    Body: ``{"client_type": "confidential"|"public", "redirect_uri": "...", "name": "..."}``.
    Returns ``{"client_id": ..., "client_secret": ...}``: the plaintext secret (DOT stores only
    its hash), or ``null`` for a public client. id_tokens are RS256-signed; consent is always
    asked (``skip_authorization`` is off).
    """
    application_model = get_application_model()
    try:
        body = json.loads(request.body)
        client_type = body["client_type"]
        redirect_uri = body["redirect_uri"]
    except (ValueError, KeyError, TypeError) as exc:
        return JsonResponse({"error": "invalid_request", "detail": repr(exc)}, status=400)
    if client_type not in (application_model.CLIENT_CONFIDENTIAL, application_model.CLIENT_PUBLIC):
        return JsonResponse({"error": "invalid_client_type"}, status=400)
    secret = secrets.token_urlsafe(32) if client_type == "confidential" else ""
    client = application_model(
        name=body.get("name") or "test client",
        client_type=client_type,
        authorization_grant_type=application_model.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        client_secret=secret,
        algorithm=application_model.RS256_ALGORITHM,
        skip_authorization=False,
    )
    try:
        client.full_clean()
    except ValidationError as exc:
        return JsonResponse(
            {"error": "invalid_client_metadata", "detail": exc.messages}, status=400
        )
    client.save()
    return JsonResponse(
        {"client_id": client.client_id, "client_secret": secret or None}, status=201
    )


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path(".well-known/oauth-authorization-server/o", OAuthServerMetadataView.as_view()),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("testing/clients", register_client),
]
