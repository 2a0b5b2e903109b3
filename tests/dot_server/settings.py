"""Django settings for the test-only django-oauth-toolkit provider.

The SQLite database lives in ``$DOT_SERVER_DATA`` (default: a fresh temporary directory). The
RSA key that signs id_tokens is generated on every start, so tokens never outlive a server.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("DOT_SERVER_DATA") or tempfile.mkdtemp(prefix="dot-server-"))


def _rsa_private_key_pem() -> str:
    """A fresh 2048-bit RSA private key, PEM (PKCS#8) encoded."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


DEBUG = False
SECRET_KEY = "dot-server-test-only-not-a-secret"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.dot_server.urls"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "db.sqlite3",
        # Concurrent refreshes (refresh --all runs 8) must wait for SQLite's write lock
        # rather than fail with "database is locked" (an HTTP 500).
        "OPTIONS": {"timeout": 30},
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Client secrets and passwords are hashed with the password hasher; PBKDF2's million rounds would
# cost most of a second per token request, which a test provider does not need.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "/accounts/login/"

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _rsa_private_key_pem(),
    "OAUTH2_VALIDATOR_CLASS": "tests.dot_server.validators.ClaimsValidator",
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    # RFC 9207: `iss` on the authorization response, advertised in both discovery documents.
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    # RFC 9700 gates: S256 only (no "plain"), no implicit or password grant.
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    # What discovery advertises (clients are registered for the authorization-code grant).
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    # "none": public clients send only client_id (token and revocation endpoints alike).
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": AUTH_METHODS,
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": AUTH_METHODS,
    "SCOPES": {
        "openid": "OpenID Connect sign-in",
        "profile": "Your name",
        "email": "Your email address",
        "read": "Read your data",
    },
    "DEFAULT_SCOPES": ["read"],
}

# Quiet on stdout (serve.py's READY line is the only output there); problems go to stderr.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
    "loggers": {
        "django": {"handlers": ["stderr"], "level": "WARNING"},
        "oauth2_provider": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
