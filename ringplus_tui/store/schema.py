"""The settings schema, declared once: every field of an app and of an account.

Each :class:`Field` says its key, its type (:class:`Kind`), which file it lives in
(``config.toml`` for what a person sets, the state file for what the program
learns), its default, and what ``forget`` does to it. Parsing, dumping, splitting
into the two files and forgetting are all driven by these tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from ringplus_tui.core.errors import SettingsFileError
from ringplus_tui.core.models import (
    CLIENT_AUTH_METHODS,
    PROVIDERS,
    RESERVED_AUTHORIZATION_PARAMS,
    TOKEN_PLACEMENTS,
    Account,
    AppConfig,
    Provider,
)

CONFIG: Literal["config"] = "config"
STATE: Literal["state"] = "state"


def expect(value: Any, kinds: type | tuple[type, ...], where: str, what: str) -> Any:
    """Return ``value`` if it is one of ``kinds`` (a ``bool`` is never a number).

    Raises:
        ConfigError: It is not; the message names ``where`` and says ``what`` was expected.
    """
    allowed = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool) and bool not in allowed:
        raise SettingsFileError(f"{where} must be {what}, not {value!r}.")
    if not isinstance(value, kinds):
        raise SettingsFileError(f"{where} must be {what}, not {value!r:.40}.")
    return value


@dataclass(frozen=True)
class Kind:
    """A value type: how to check a file's value and how to write one.

    Attributes:
        what: The expected value in words, for error messages ("a string").
        load: Checks a value read from a file and converts it: ``(value, where)``.
        dump: Converts a record's value to what the file holds.
    """

    what: str
    load: Callable[[Any, str], Any]
    dump: Callable[[Any], Any] = lambda value: value


def _scalar(kinds: type | tuple[type, ...], what: str, convert: Callable[[Any], Any]) -> Kind:
    return Kind(what, lambda value, where: convert(expect(value, kinds, where, what)))


def _names(value: Any, where: str) -> tuple[str, ...]:
    expect(value, list, where, "a list of strings")
    for item in value:
        expect(item, str, where, "a list of strings")
    return tuple(value)


def _params(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    expect(value, dict, where, "a table")
    for key, item in value.items():
        expect(item, str, f"{where}.{key}", "a string")
        if key in RESERVED_AUTHORIZATION_PARAMS:
            raise SettingsFileError(f"{where} must not set '{key}': the sign-in sets it itself.")
    return tuple((str(key), str(item)) for key, item in value.items())


TEXT = _scalar(str, "a string", str)
APP_NAME = _scalar(str, "the name of an app", str)
EPOCH = _scalar((int, float), "UTC epoch seconds", float)
SECONDS = _scalar((int, float), "a number of seconds", float)
FLAG = _scalar(bool, "true or false", bool)
COUNT = _scalar(int, "a whole number", int)
NAMES = Kind("a list of strings", _names, list)
PARAMS = Kind("a table", _params, dict)


@dataclass(frozen=True)
class Field:
    """One key of an app's or an account's table.

    Attributes:
        key: The key in the file, which is also the record's attribute name.
        kind: Its type.
        file: ``"config"`` (a person sets it) or ``"state"`` (the program learns it).
        default: The value when the key is absent; ``None`` keys are left out
            when written (TOML has no null).
        forget: ``"keep"``, or ``"clear"`` to reset it to ``default`` when the
            account's tokens are forgotten.
        always: Written even when it equals the default.
        choices: The only values allowed, if limited.
    """

    key: str
    kind: Kind
    file: Literal["config", "state"] = CONFIG
    default: Any = None
    forget: Literal["keep", "clear"] = "keep"
    always: bool = False
    choices: tuple[str, ...] = ()

    def load(self, table: Mapping[str, Any], where: str) -> Any:
        """The value of this key in ``table``, checked and converted.

        Raises:
            ConfigError: It has the wrong type or is not one of :attr:`choices`.
        """
        value = self.kind.load(table[self.key], f"{where} {self.key}")
        if self.choices and value not in self.choices:
            raise SettingsFileError(
                f"{where} {self.key} must be one of {', '.join(self.choices)}, not '{value}'."
            )
        return value

    def written(self, value: Any) -> bool:
        """Whether a record holding ``value`` writes this key."""
        return value is not None and (self.always or value != self.default)


def _learned(key: str, kind: Kind, default: Any = None) -> Field:
    return Field(key, kind, file=STATE, default=default, forget="clear")


ACCOUNT_FIELDS: tuple[Field, ...] = (
    Field("app", APP_NAME, always=True),
    Field("auto_refresh", FLAG, default=True),
    Field("refresh_margin", SECONDS),
    _learned("expires_at", EPOCH),
    _learned("obtained_at", EPOCH),
    _learned("scope", NAMES, ()),
    _learned("token_type", TEXT),
    _learned("has_refresh_token", FLAG, False),
    _learned("last_refresh_at", EPOCH),
    _learned("lifetime_assumed", FLAG, False),
    _learned("needs_sign_in", FLAG, False),
    _learned("user", TEXT),
    _learned("phone_lines", COUNT),
    _learned("subject", TEXT),
    _learned("email", TEXT),
)
"""An account's keys: its app and options in ``config.toml``, its token metadata in state."""

PROVIDER_FIELDS: tuple[Field, ...] = (
    Field("authorization_endpoint", TEXT, always=True),
    Field("token_endpoint", TEXT, always=True),
    Field("revocation_endpoint", TEXT),
    Field("api_base", TEXT),
    Field(
        "token_endpoint_auth_method",
        TEXT,
        default="client_secret_basic",
        always=True,
        choices=CLIENT_AUTH_METHODS,
    ),
    Field("default_token_lifetime", SECONDS, default=86400.0, always=True),
    Field("issuer", TEXT),
    Field("authorization_response_iss_parameter_supported", FLAG, default=False),
    Field("jwks_uri", TEXT),
    Field("token_placement", TEXT, default="header", choices=TOKEN_PLACEMENTS),
)
"""A custom provider's keys (a preset's values are the defaults when ``provider`` names one)."""

APP_FIELDS: tuple[Field, ...] = (
    Field("client_id", TEXT, always=True),
    Field("redirect_uri", TEXT, always=True),
    Field("scopes", NAMES, default=(), always=True),
    Field("authorization_params", PARAMS, default=()),
)
"""An app's own keys, besides ``provider`` and the provider's."""

PROVIDER_KEY = "provider"
APP_KEYS = frozenset({PROVIDER_KEY, *(f.key for f in PROVIDER_FIELDS + APP_FIELDS)})
ACCOUNT_KEYS = frozenset(f.key for f in ACCOUNT_FIELDS)
ACCOUNT_STATE_KEYS = frozenset(f.key for f in ACCOUNT_FIELDS if f.file == STATE)


def check_keys(table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Refuse a key that is not in ``allowed``, suggesting the closest one.

    Raises:
        ConfigError: An unknown key.
    """
    known = set(allowed)
    for key in table:
        if key not in known:
            import difflib  # only for a key that is not there

            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise SettingsFileError(f"{where} has an unknown key '{key}'.{hint}")


def load_values(fields: Iterable[Field], table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The checked values of the ``fields`` present in ``table``, by key.

    Raises:
        ConfigError: A value has the wrong type.
    """
    return {f.key: f.load(table, where) for f in fields if f.key in table}


def make_account(name: str, values: Mapping[str, Any], where: str) -> Account:
    """Build an account from checked values; absent keys take their defaults.

    Raises:
        ConfigError: It names no app.
    """
    if "app" not in values:
        raise SettingsFileError(f"{where} app must be the name of an app, not None.")
    merged = {f.key: values.get(f.key, f.default) for f in ACCOUNT_FIELDS}
    return Account(name=name, **merged)


def parse_app(name: str, table: Mapping[str, Any], where: str) -> AppConfig:
    """Build an app from its ``config.toml`` table.

    Raises:
        ConfigError: An unknown preset, a missing endpoint, client_id or
            redirect_uri, or a value of the wrong type.
    """
    check_keys(table, APP_KEYS, where)
    preset_name = TEXT.load(table.get(PROVIDER_KEY, "custom"), f"{where} provider")
    if preset_name != "custom" and preset_name not in PROVIDERS:
        choices = ", ".join(['"custom"', *(f'"{p}"' for p in PROVIDERS)])
        raise SettingsFileError(f"{where} provider must be one of {choices}, not '{preset_name}'.")
    base = PROVIDERS.get(preset_name)
    defaults = {f.key: getattr(base, f.key) if base else f.default for f in PROVIDER_FIELDS}
    endpoints = {**defaults, **load_values(PROVIDER_FIELDS[:2], table, where)}
    if endpoints["authorization_endpoint"] is None or endpoints["token_endpoint"] is None:
        raise SettingsFileError(
            f'{where} needs authorization_endpoint and token_endpoint, or provider = "ringplus".'
        )
    provider = Provider(
        name=preset_name, **{**endpoints, **load_values(PROVIDER_FIELDS, table, where)}
    )
    own = {f.key: f.default for f in APP_FIELDS} | load_values(APP_FIELDS, table, where)
    if not own["client_id"] or not own["redirect_uri"]:
        raise SettingsFileError(f"{where} needs client_id and redirect_uri.")
    return AppConfig(name=name, provider=provider, **own)


def dump_app(app: AppConfig) -> dict[str, Any]:
    """The ``config.toml`` table of ``app``: a preset by name, a custom provider in full."""
    table: dict[str, Any] = {}
    preset = PROVIDERS.get(app.provider.name)
    if preset is not None and preset == app.provider:
        table[PROVIDER_KEY] = preset.name
    else:
        table[PROVIDER_KEY] = "custom"
        table.update(_dump(PROVIDER_FIELDS, app.provider))
    table.update(_dump(APP_FIELDS, app))
    return table


def dump_account(account: Account, file: Literal["config", "state"]) -> dict[str, Any]:
    """The keys of ``account`` that belong in ``file``, leaving out defaults."""
    return _dump((f for f in ACCOUNT_FIELDS if f.file == file), account)


def _dump(fields: Iterable[Field], record: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        value = getattr(record, f.key)
        if f.written(value):
            out[f.key] = f.kind.dump(value)
    return out


def forgotten(account: Account) -> Account:
    """``account`` after its tokens are forgotten: every ``forget="clear"`` field reset.

    What the person set (its app, automatic refresh, refresh margin) stays.
    """
    return replace(account, **{f.key: f.default for f in ACCOUNT_FIELDS if f.forget == "clear"})


def settings_part(account: Account) -> Account:
    """``account`` as ``config.toml`` alone describes it: every state field at its default."""
    return replace(account, **{f.key: f.default for f in ACCOUNT_FIELDS if f.file == STATE})
