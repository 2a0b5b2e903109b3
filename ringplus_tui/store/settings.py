"""Settings in ``config.toml``: apps, their provider endpoints, and accounts.

Read with :mod:`tomllib`, written with :mod:`tomli_w` atomically (temporary file in
the same directory, ``fsync``, ``os.replace``; mode 0600 inside a 0700
directory). Secrets are never written here: the client secret, access token and
refresh token live in the secret store (:mod:`ringplus_tui.secrets`).

This module knows nothing of HTTP. The file looks like::

    [apps.work]
    provider = "ringplus"              # a built-in preset, or "custom" with endpoints
    client_id = "abc123"
    redirect_uri = "https://example.org/callback"
    scopes = ["read"]

    [accounts.alice]
    app = "work"
    expires_at = 1764400000.0          # UTC epoch seconds
    obtained_at = 1764313600.0
    scope = ["read"]
    token_type = "Bearer"
    has_refresh_token = true
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from ringplus_tui.core.errors import ConfigError
from ringplus_tui.core.models import (
    CLIENT_AUTH_METHODS,
    PROVIDERS,
    RESERVED_AUTHORIZATION_PARAMS,
    TOKEN_PLACEMENTS,
    Account,
    AppConfig,
    Provider,
)

CONFIG_FILE = "config.toml"
ENV_HOME = "RINGPLUS_TUI_HOME"

_APP_KEYS = {
    "provider",
    "client_id",
    "redirect_uri",
    "scopes",
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "api_base",
    "token_endpoint_auth_method",
    "default_token_lifetime",
    "issuer",
    "authorization_response_iss_parameter_supported",
    "jwks_uri",
    "token_placement",
    "authorization_params",
}
_ACCOUNT_KEYS = {
    "app",
    "expires_at",
    "obtained_at",
    "scope",
    "token_type",
    "has_refresh_token",
    "last_refresh_at",
    "lifetime_assumed",
    "needs_sign_in",
    "user",
    "phone_lines",
    "auto_refresh",
    "refresh_margin",
    "subject",
    "email",
}


def platform_config_dir() -> Path:
    """The platform's settings directory for ringplus-tui (not created)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("ringplus-tui", appauthor=False))


def default_config_dir() -> Path:
    """Return the settings directory: ``$RINGPLUS_TUI_HOME`` or the platform's config dir.

    Returns:
        The directory path (not created).
    """
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return platform_config_dir()


@dataclass(frozen=True)
class Settings:
    """Everything in ``config.toml``, as immutable records.

    Attributes:
        apps: Apps by name.
        accounts: Accounts by name.
    """

    apps: Mapping[str, AppConfig] = field(default_factory=dict)
    accounts: Mapping[str, Account] = field(default_factory=dict)

    def with_app(self, app: AppConfig) -> Settings:
        """Return a copy with ``app`` added or replaced."""
        return replace(self, apps={**self.apps, app.name: app})

    def with_account(self, account: Account) -> Settings:
        """Return a copy with ``account`` added or replaced."""
        return replace(self, accounts={**self.accounts, account.name: account})

    def without_account(self, name: str) -> Settings:
        """Return a copy without the account ``name``."""
        return replace(self, accounts={k: v for k, v in self.accounts.items() if k != name})

    def without_app(self, name: str) -> Settings:
        """Return a copy without the app ``name`` (its accounts stay)."""
        return replace(self, apps={k: v for k, v in self.apps.items() if k != name})

    def accounts_of(self, app: str) -> list[str]:
        """Names of the accounts that sign in through ``app``."""
        return sorted(name for name, account in self.accounts.items() if account.app == app)

    def app(self, name: str) -> AppConfig:
        """Return the app called ``name``.

        Raises:
            ConfigError: No such app (the message suggests a close name).
        """
        try:
            return self.apps[name]
        except KeyError:
            raise ConfigError(_unknown("app", name, self.apps)) from None

    def account(self, name: str) -> Account:
        """Return the account called ``name``.

        Raises:
            ConfigError: No such account (the message suggests a close name).
        """
        try:
            return self.accounts[name]
        except KeyError:
            raise ConfigError(_unknown("account", name, self.accounts)) from None


def _unknown(kind: str, name: str, known: Mapping[str, object]) -> str:
    import difflib  # only for a name that is not there

    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    if not known:
        return f"There is no {kind} called '{name}': none is set up yet.{hint}"
    return f"There is no {kind} called '{name}'.{hint}"


class SettingsStore:
    """Reads and writes ``config.toml`` in one directory.

    Args:
        directory: The settings directory; created (mode 0700) on first save.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / CONFIG_FILE
        self._seen: tuple[tuple[int, int, int], Settings] | None = None
        """The file's signature and contents as this store last read or wrote them."""

    def load(self) -> Settings:
        """Read the settings file; a missing or empty file is empty settings.

        Returns:
            The parsed settings.

        Raises:
            ConfigError: The file cannot be read, is not TOML (the message gives
                line and column), or a value has the wrong type or an unknown key.
        """
        # The signature first: a file replaced while being read then looks changed
        # next time (and is read again), never the other way round.
        signature = self.signature()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return Settings()
        except OSError as err:
            raise ConfigError(
                f"Cannot read {self.path}: {err.strerror}. Check the file's permissions."
            ) from err
        text = raw.decode("utf-8-sig", errors="replace")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(
                f"{self.path} is not valid TOML ({err}). Fix that line, or move the file "
                "away to start with empty settings."
            ) from err
        settings = _parse(data, self.path)
        if signature is not None:
            self._seen = (signature, settings)
        return settings

    @property
    def lock_path(self) -> Path:
        """The lock file that serialises read-modify-write across processes."""
        return self.directory / ".config.lock"

    def signature(self) -> tuple[int, int, int] | None:
        """A cheap fingerprint of the file (inode, size, mtime in ns); ``None`` if missing."""
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def update(self, change: Callable[[Settings], Settings]) -> Settings:
        """Read the file, apply ``change``, write it back: all under a cross-process lock.

        Another process's change made meanwhile is never lost, because ``change``
        is applied to what is on disk now, not to an old copy.

        Args:
            change: A pure function from the current settings to the new ones;
                it may raise to abort (then nothing is written).

        Returns:
            The settings written.

        Raises:
            ConfigError: The file cannot be read or written, or the lock not
                taken within 30 s.
        """
        import filelock

        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"Cannot create {self.directory}: {err.strerror}.") from err
        lock = filelock.FileLock(self.lock_path, timeout=30, thread_local=False)
        try:
            with lock:
                # Unchanged since this store last read or wrote it (same inode, size
                # and mtime): no need to parse it again.
                seen = self._seen
                current = seen[1] if seen and seen[0] == self.signature() else self.load()
                new = change(current)
                self.save(new)
                return new
        except filelock.Timeout as err:
            raise ConfigError(
                f"Another ringplus-tui process has held {self.lock_path} for 30 s. "
                "Close it or try again."
            ) from err

    def save(self, settings: Settings) -> None:
        """Write the settings atomically: a reader sees the old file or the new one.

        Args:
            settings: What to write.

        Raises:
            ConfigError: The directory or file cannot be written; the old file
                is then unchanged.
        """
        text = tomli_w.dumps(_dump(settings))
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=self.directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                    # The renamed file keeps this inode, size and mtime.
                    st = os.fstat(handle.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
                self._seen = ((st.st_ino, st.st_size, st.st_mtime_ns), settings)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as err:
            raise ConfigError(
                f"Cannot write {self.path}: {err.strerror}. Nothing was changed; check "
                "the directory's permissions and free space."
            ) from err


def _expect(value: Any, kinds: type | tuple[type, ...], where: str, what: str) -> Any:
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise ConfigError(f"{where} must be {what}, not {value!r}.")
    if not isinstance(value, kinds):
        raise ConfigError(f"{where} must be {what}, not {value!r:.40}.")
    return value


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            import difflib  # only for a key that is not there

            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{where} has an unknown key '{key}'.{hint}")


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    _expect(value, list, where, "a list of strings")
    for item in value:
        _expect(item, str, where, "a list of strings")
    return tuple(value)


def _parse(data: Mapping[str, Any], path: Path) -> Settings:
    _check_keys(data, {"apps", "accounts"}, str(path))
    apps: dict[str, AppConfig] = {}
    for name, table in _expect(data.get("apps", {}), dict, f"{path}: [apps]", "a table").items():
        where = f"{path}: [apps.{name}]"
        _expect(table, dict, where, "a table")
        _check_keys(table, _APP_KEYS, where)
        apps[name] = _parse_app(name, table, where)
    accounts: dict[str, Account] = {}
    for name, table in _expect(
        data.get("accounts", {}), dict, f"{path}: [accounts]", "a table"
    ).items():
        where = f"{path}: [accounts.{name}]"
        _expect(table, dict, where, "a table")
        _check_keys(table, _ACCOUNT_KEYS, where)
        accounts[name] = _parse_account(name, table, where)
    return Settings(apps=apps, accounts=accounts)


def _parse_app(name: str, table: Mapping[str, Any], where: str) -> AppConfig:
    preset_name = _expect(table.get("provider", "custom"), str, f"{where} provider", "a string")
    if preset_name != "custom" and preset_name not in PROVIDERS:
        choices = ", ".join(['"custom"', *(f'"{p}"' for p in PROVIDERS)])
        raise ConfigError(f"{where} provider must be one of {choices}, not '{preset_name}'.")
    base = PROVIDERS.get(preset_name)

    def text(key: str, default: str | None) -> str | None:
        value = table.get(key, default)
        return None if value is None else _expect(value, str, f"{where} {key}", "a string")

    authorization_endpoint = text(
        "authorization_endpoint", base.authorization_endpoint if base else None
    )
    token_endpoint = text("token_endpoint", base.token_endpoint if base else None)
    if authorization_endpoint is None or token_endpoint is None:
        raise ConfigError(
            f'{where} needs authorization_endpoint and token_endpoint, or provider = "ringplus".'
        )
    method = text(
        "token_endpoint_auth_method",
        base.token_endpoint_auth_method if base else "client_secret_basic",
    )
    if method not in CLIENT_AUTH_METHODS:
        raise ConfigError(
            f"{where} token_endpoint_auth_method must be one of "
            f"{', '.join(CLIENT_AUTH_METHODS)}, not '{method}'."
        )
    lifetime = table.get("default_token_lifetime", base.default_token_lifetime if base else 86400.0)
    _expect(lifetime, (int, float), f"{where} default_token_lifetime", "a number of seconds")
    placement = text("token_placement", base.token_placement if base else "header")
    if placement not in TOKEN_PLACEMENTS:
        raise ConfigError(
            f"{where} token_placement must be one of {', '.join(TOKEN_PLACEMENTS)}, "
            f"not '{placement}'."
        )
    iss_flag = table.get("authorization_response_iss_parameter_supported", False)
    _expect(
        iss_flag,
        bool,
        f"{where} authorization_response_iss_parameter_supported",
        "true or false",
    )
    provider = Provider(
        name=preset_name,
        authorization_endpoint=authorization_endpoint,
        token_endpoint=token_endpoint,
        revocation_endpoint=text("revocation_endpoint", base.revocation_endpoint if base else None),
        api_base=text("api_base", base.api_base if base else None),
        token_endpoint_auth_method=method,
        default_token_lifetime=float(lifetime),
        issuer=text("issuer", base.issuer if base else None),
        authorization_response_iss_parameter_supported=iss_flag,
        jwks_uri=text("jwks_uri", base.jwks_uri if base else None),
        token_placement=str(placement),
    )
    client_id = text("client_id", None)
    redirect_uri = text("redirect_uri", None)
    if not client_id or not redirect_uri:
        raise ConfigError(f"{where} needs client_id and redirect_uri.")
    scopes = _str_list(table.get("scopes", []), f"{where} scopes")
    params_where = f"{where} authorization_params"
    params = _expect(table.get("authorization_params", {}), dict, params_where, "a table")
    for key, value in params.items():
        _expect(value, str, f"{params_where}.{key}", "a string")
        if key in RESERVED_AUTHORIZATION_PARAMS:
            raise ConfigError(f"{params_where} must not set '{key}': the sign-in sets it itself.")
    return AppConfig(
        name=name,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        provider=provider,
        authorization_params=tuple(params.items()),
    )


def _parse_account(name: str, table: Mapping[str, Any], where: str) -> Account:
    app = _expect(table.get("app"), str, f"{where} app", "the name of an app")

    def number(key: str) -> float | None:
        value = table.get(key)
        if value is None:
            return None
        return float(_expect(value, (int, float), f"{where} {key}", "UTC epoch seconds"))

    def flag(key: str) -> bool:
        return bool(_expect(table.get(key, False), bool, f"{where} {key}", "true or false"))

    token_type = table.get("token_type")
    if token_type is not None:
        _expect(token_type, str, f"{where} token_type", "a string")
    return Account(
        name=name,
        app=app,
        expires_at=number("expires_at"),
        obtained_at=number("obtained_at"),
        scope=_str_list(table.get("scope", []), f"{where} scope"),
        token_type=token_type,
        has_refresh_token=flag("has_refresh_token"),
        last_refresh_at=number("last_refresh_at"),
        lifetime_assumed=flag("lifetime_assumed"),
        needs_sign_in=flag("needs_sign_in"),
        user=_optional_str(table, "user", where),
        phone_lines=_optional_int(table, "phone_lines", where),
        subject=_optional_str(table, "subject", where),
        email=_optional_str(table, "email", where),
        auto_refresh=bool(
            _expect(table.get("auto_refresh", True), bool, f"{where} auto_refresh", "true or false")
        ),
        refresh_margin=number("refresh_margin"),
    )


def _optional_str(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    return None if value is None else str(_expect(value, str, f"{where} {key}", "a string"))


def _optional_int(table: Mapping[str, Any], key: str, where: str) -> int | None:
    value = table.get(key)
    return None if value is None else int(_expect(value, int, f"{where} {key}", "a whole number"))


def _dump(settings: Settings) -> dict[str, Any]:
    apps: dict[str, Any] = {}
    for name, app in settings.apps.items():
        table: dict[str, Any] = {}
        preset = PROVIDERS.get(app.provider.name)
        if preset is not None and preset == app.provider:
            table["provider"] = preset.name
        else:
            p = app.provider
            table["provider"] = "custom"
            table["authorization_endpoint"] = p.authorization_endpoint
            table["token_endpoint"] = p.token_endpoint
            if p.revocation_endpoint:
                table["revocation_endpoint"] = p.revocation_endpoint
            if p.api_base:
                table["api_base"] = p.api_base
            table["token_endpoint_auth_method"] = p.token_endpoint_auth_method
            table["default_token_lifetime"] = p.default_token_lifetime
            if p.issuer:
                table["issuer"] = p.issuer
            if p.authorization_response_iss_parameter_supported:
                table["authorization_response_iss_parameter_supported"] = True
            if p.jwks_uri:
                table["jwks_uri"] = p.jwks_uri
            if p.token_placement != "header":
                table["token_placement"] = p.token_placement
        table["client_id"] = app.client_id
        table["redirect_uri"] = app.redirect_uri
        table["scopes"] = list(app.scopes)
        if app.authorization_params:
            table["authorization_params"] = dict(app.authorization_params)
        apps[str(name)] = table
    accounts: dict[str, Any] = {}
    for name, account in settings.accounts.items():
        row: dict[str, Any] = {"app": account.app}
        keys = (
            "expires_at",
            "obtained_at",
            "token_type",
            "last_refresh_at",
            "user",
            "phone_lines",
            "refresh_margin",
            "subject",
            "email",
        )
        for key in keys:
            value = getattr(account, key)
            if value is not None:  # TOML has no null: leave the key out.
                row[key] = value
        row["scope"] = list(account.scope)
        row["has_refresh_token"] = account.has_refresh_token
        for key in ("lifetime_assumed", "needs_sign_in"):
            if getattr(account, key):
                row[key] = True
        if not account.auto_refresh:
            row["auto_refresh"] = False
        accounts[str(name)] = row
    return {"apps": apps, "accounts": accounts}
