"""The app credentials screen: client ID, client secret, redirect URI, provider.

Returns a :class:`CredentialsResult` (the app and the account to sign in) or
``None`` when cancelled. Validation is :func:`~ringplus_tui.core.validation.build_app`;
saving is the service's.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Header, Input, Label, Select, Static

from ringplus_tui.core.errors import RingPlusError
from ringplus_tui.core.models import CLIENT_AUTH_METHODS
from ringplus_tui.core.prefill import EMPTY_PREFILL, CredentialsPrefill
from ringplus_tui.core.validation import AppInput, FieldError, build_app, check_name
from ringplus_tui.service.facade import OAuthService

from ..cells import plain
from ..widgets import KeysFooter

AUTH_LABELS = {
    "client_secret_basic": "client_secret_basic (HTTP Basic)",
    "client_secret_post": "client_secret_post (in the form)",
    "none": "none: public client, PKCE, no secret",
}


@dataclass(frozen=True)
class CredentialsResult:
    """What the credentials screen saved.

    Attributes:
        app: The saved app's name.
        account: The account to sign in through it.
    """

    app: str
    account: str


def _row(label: str, widget: Input | Select[str], field: str) -> ComposeResult:
    with Horizontal(classes="row"):
        yield Label(label, classes="label")
        yield widget
    yield Static("", id=f"{field}-error", classes="field-error")


class CredentialsScreen(Screen[CredentialsResult | None]):
    """Enter or edit an app's credentials and name the account to sign in.

    Args:
        service: The OAuth service.
        prefill: Initial values.
    """

    CSS_PATH = "credentials.tcss"
    BINDINGS = [
        # One key, two labels: saving signs in, unless an edited app's account keeps
        # its token (see check_action).
        Binding("ctrl+s", "save", "Save and sign in"),
        Binding("ctrl+s", "save_edit", "Save"),
        Binding("escape", "cancel", "Cancel"),
        # A stray q (with a button focused) must not throw away what was typed.
        Binding("q", "no_quit", show=False),
    ]

    def action_no_quit(self) -> None:
        """``q`` does not quit from a half-filled form: say how to leave instead."""
        self.notify("Escape leaves this form; Ctrl+Q quits the app.", title="App credentials")

    def __init__(self, service: OAuthService, prefill: CredentialsPrefill) -> None:
        super().__init__()
        self.service = service
        self.prefill = prefill
        form = prefill.form
        self._discovered = (form.jwks_uri, form.authorization_response_iss_parameter_supported)
        """``jwks_uri`` and the RFC 9207 flag of the issuer in the Issuer field."""

    def compose(self) -> ComposeResult:
        form = self.prefill.form
        yield Header()
        form_view = VerticalScroll(id="form")
        form_view.can_focus = False  # no invisible Tab stop between Cancel and App name
        with form_view:
            yield Static(self._intro(), id="intro")
            yield from _row(
                "App name",
                Input(form.name, id="name", placeholder="e.g. work-sso", compact=True),
                "name",
            )
            yield from _row(
                "Account to sign in",
                Input(
                    self.prefill.account, id="account", placeholder="e.g. personal", compact=True
                ),
                "account",
            )
            yield from _row(
                "Provider",
                Select(
                    [
                        ("RingPlus (my.ringplus.net)", "ringplus"),
                        ("Another provider: issuer URL or endpoints", "custom"),
                    ],
                    value=form.provider if form.provider in ("ringplus", "custom") else "custom",
                    allow_blank=False,
                    id="provider",
                    compact=True,
                ),
                "provider",
            )
            with Vertical(id="custom"):
                with Horizontal(classes="row"):
                    yield Label("Issuer", classes="label")
                    yield Input(
                        form.issuer,
                        id="issuer",
                        placeholder="e.g. https://login.example.org (fills the rest)",
                        compact=True,
                    )
                    yield Button("Discover", id="discover", compact=True)
                yield Static("", id="issuer-error", classes="field-error")
                yield Static("", id="discovered")
                yield from _row(
                    "Authorization endpoint",
                    Input(form.authorization_endpoint, id="authorization_endpoint", compact=True),
                    "authorization_endpoint",
                )
                yield from _row(
                    "Token endpoint",
                    Input(form.token_endpoint, id="token_endpoint", compact=True),
                    "token_endpoint",
                )
                yield from _row(
                    "Revocation endpoint",
                    Input(
                        form.revocation_endpoint,
                        id="revocation_endpoint",
                        placeholder="optional",
                        compact=True,
                    ),
                    "revocation_endpoint",
                )
                yield from _row(
                    "API base URL",
                    Input(form.api_base, id="api_base", placeholder="optional", compact=True),
                    "api_base",
                )
                yield from _row(
                    "Client authentication",
                    Select(
                        [(AUTH_LABELS.get(m, m), m) for m in CLIENT_AUTH_METHODS],
                        value=form.token_endpoint_auth_method,
                        allow_blank=False,
                        id="token_endpoint_auth_method",
                        compact=True,
                    ),
                    "token_endpoint_auth_method",
                )
                yield from _row(
                    "Extra parameters",
                    Input(
                        form.authorization_params,
                        id="authorization_params",
                        placeholder="optional, e.g. prompt=consent access_type=offline",
                        compact=True,
                    ),
                    "authorization_params",
                )
                yield from _row(
                    "Token in API calls",
                    Select(
                        [
                            ("Authorization: Bearer header", "header"),
                            ("access_token query parameter", "query"),
                        ],
                        value=form.token_placement,
                        allow_blank=False,
                        id="token_placement",
                        compact=True,
                    ),
                    "token_placement",
                )
            yield from _row(
                "Client ID", Input(form.client_id, id="client_id", compact=True), "client_id"
            )
            if form.token_endpoint_auth_method == "none":
                secret_hint = "none: a public client has no secret"
            elif self.prefill.editing:
                secret_hint = "leave empty to keep the stored secret"
            else:
                secret_hint = "required (a public client: client authentication 'none')"
            yield from _row(
                "Client secret",
                Input(
                    self.prefill.client_secret,
                    id="client_secret",
                    password=True,
                    placeholder=secret_hint,
                    compact=True,
                ),
                "client_secret",
            )
            yield from _row(
                "Redirect URI",
                Input(
                    form.redirect_uri,
                    id="redirect_uri",
                    placeholder="exactly as registered, e.g. https://example.org/callback",
                    compact=True,
                ),
                "redirect_uri",
            )
            yield from _row(
                "Scopes",
                Input(
                    form.scopes, id="scopes", placeholder="optional, space-separated", compact=True
                ),
                "scopes",
            )
            yield Static("", id="error")
            with Horizontal(id="buttons"):
                yield Button("Save and sign in", id="save", variant="primary")
                yield Button("Cancel", id="cancel")
        yield KeysFooter()

    def _intro(self) -> str:
        """What the form is for: the prefill's own words, editing, or registering."""
        if self.prefill.intro:
            return self.prefill.intro
        backend = self.service.secret_backend
        if self.prefill.editing:
            return (
                f"Edit the app '{self.prefill.form.name}'. Saving keeps the tokens of its "
                "signed-in accounts; the account named below is signed in after saving only "
                f"if it has no token yet. Leave the client secret empty to keep the one in the "
                f"{backend}."
            )
        return (
            "Register an app (an OAuth2 client) at your provider (RingPlus: Your Settings > "
            "Applications; others: their developer console), then copy its client ID, "
            "client secret and the exact redirect URI here. For another provider, choose it "
            f"below and give its issuer URL. The secret goes to the {backend}, never to the "
            "settings file."
        )

    def on_mount(self) -> None:
        self.sub_title = "App credentials"
        self._show_custom(self.prefill.form.provider != "ringplus")
        self._label_save()
        # Without scrolling: the intro above the form is what to read first.
        self._first_to_fill().focus(scroll_visible=False)

    def _first_to_fill(self) -> Widget:
        """The first required field still empty, or the Save button when none is."""
        required = ["name", "account", "client_id", "client_secret", "redirect_uri"]
        if self.prefill.editing or self.prefill.form.token_endpoint_auth_method == "none":
            required.remove("client_secret")  # kept from the keyring, or none at all
        for field in required:
            widget = self.query_one(f"#{field}", Input)
            if not widget.value.strip():
                return widget
        return self.query_one("#save", Button)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Light up the focused field's row (``:focus-within`` is not re-checked when
        focus leaves a row, so the label stayed lit)."""
        for row in self.query(".row.-focused"):
            row.remove_class("-focused")
        parent = event.widget.parent
        if isinstance(parent, Widget) and parent.has_class("row"):
            parent.add_class("-focused")

    def _label_save(self) -> None:
        """Name the Save button and Ctrl+S after what saving will do."""
        signs_in = self._signs_in()
        self.query_one("#save", Button).label = "Save and sign in" if signs_in else "Save"
        self.refresh_bindings()

    def _show_custom(self, show: bool) -> None:
        self.query_one("#custom").display = show

    @on(Select.Changed, "#token_endpoint_auth_method")
    def auth_method_changed(self, event: Select.Changed) -> None:
        secret = self.query_one("#client_secret", Input)
        if event.value == "none":
            secret.placeholder = "none: a public client has no secret"
        elif self.prefill.editing:
            secret.placeholder = "leave empty to keep the stored secret"
        else:
            secret.placeholder = "required (a public client: client authentication 'none')"

    @on(Select.Changed, "#provider")
    def provider_changed(self, event: Select.Changed) -> None:
        custom = event.value == "custom"
        self._show_custom(custom)
        if self.prefill.editing:
            return
        # A new app keeps the name "ringplus" only for RingPlus; another provider's app is
        # named after its issuer once discovered, or by the person.
        name = self.query_one("#name", Input)
        if custom and name.value == EMPTY_PREFILL.form.name:
            name.value = ""
        elif not custom and not name.value:
            name.value = EMPTY_PREFILL.form.name

    @on(Input.Changed)
    def clear_field_error(self, event: Input.Changed) -> None:
        if event.input.id:
            self._field_error(event.input.id, "")
        if event.input.id == "account":
            self._label_save()
        if event.input.id == "issuer" and event.value.strip() != self.prefill.form.issuer:
            self._discovered = ("", False)  # what was found belongs to the old issuer

    @on(Button.Pressed, "#discover")
    def discover_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_discover()

    def action_discover(self) -> None:
        """Fetch the issuer's metadata and fill the endpoints (RFC 8414)."""
        self._discover(self._value("issuer"))

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        """Enter in the Issuer field discovers; anywhere else it saves."""
        if event.input.id == "issuer":
            self.action_discover()
        else:
            self.action_save()

    @work(exclusive=True, group="discover", exit_on_error=False)
    async def _discover(self, issuer: str) -> None:
        shown = self.query_one("#discovered", Static)
        shown.update("Looking up the issuer's metadata…")
        try:
            found = await self.service.discover(issuer)
        except FieldError as err:
            shown.update("")
            self._field_error("issuer", err.message)
            return
        except RingPlusError as err:
            shown.update("")
            self._field_error("issuer", f"{err.title}: {err.message}")
            return
        p = found.provider
        for field, value in (
            ("issuer", p.issuer or ""),
            ("authorization_endpoint", p.authorization_endpoint),
            ("token_endpoint", p.token_endpoint),
            ("revocation_endpoint", p.revocation_endpoint or ""),
        ):
            self.query_one(f"#{field}", Input).value = value
        self._discovered = (p.jwks_uri or "", p.authorization_response_iss_parameter_supported)
        name = self.query_one("#name", Input)
        if not name.value.strip() and not self.prefill.editing:
            name.value = urlsplit(p.issuer or issuer).hostname or ""
        has_secret = bool(self._value("client_secret").strip()) or (
            self.prefill.editing
            and self.prefill.form.name in self.service.settings.apps
            and not self.service.settings.apps[self.prefill.form.name].public
        )
        method = found.auth_method_for(has_secret=has_secret)
        self.query_one("#token_endpoint_auth_method", Select).value = method
        notes = [f"Found {found.document_url}."]
        notes.append(
            "Signs id_tokens (OpenID Connect): the account will show who signed in."
            if p.jwks_uri
            else "No OpenID Connect keys."
        )
        if p.authorization_response_iss_parameter_supported:
            notes.append("Names itself in every redirect (RFC 9207), which is checked.")
        if method == "none":
            notes.append("No client secret entered: set up as a public client (PKCE).")
        shown.update(plain(" ".join(notes), limit=2000))

    def _field_error(self, field: str, message: str) -> None:
        for error in self.query(f"#{field}-error").results(Static):
            error.update(plain(message))
            error.set_class(bool(message), "-shown")

    def _value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def _select(self, field: str) -> str:
        return str(self.query_one(f"#{field}", Select).value)

    def read_form(self) -> AppInput:
        """The form's current values."""
        return AppInput(
            name=self._value("name"),
            client_id=self._value("client_id"),
            redirect_uri=self._value("redirect_uri"),
            scopes=self._value("scopes"),
            provider=self._select("provider"),
            authorization_endpoint=self._value("authorization_endpoint"),
            token_endpoint=self._value("token_endpoint"),
            revocation_endpoint=self._value("revocation_endpoint"),
            api_base=self._value("api_base"),
            token_endpoint_auth_method=self._select("token_endpoint_auth_method"),
            issuer=self._value("issuer"),
            jwks_uri=self._discovered[0],
            authorization_response_iss_parameter_supported=self._discovered[1],
            authorization_params=self._value("authorization_params"),
            token_placement=self._select("token_placement"),
        )

    def _signs_in(self) -> bool:
        """Whether saving goes on to sign the account in: always for a new app; for an
        edited one, unless the account already holds a token (which is kept)."""
        if not self.prefill.editing:
            return True
        try:
            name = self._value("account").strip()
        except NoMatches:  # asked before the form is built
            name = self.prefill.account
        account = self.service.settings.accounts.get(name)
        return account is None or not account.signed_in

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Show and run the Ctrl+S binding whose label says what saving does here."""
        if action == "save":
            return self._signs_in()
        if action == "save_edit":
            return not self._signs_in()
        return True

    def action_save_edit(self) -> None:
        """Save the edited app; the account keeps its token."""
        self.action_save()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Validate the form, then save it in a worker."""
        self.query_one("#error", Static).update("")
        try:
            app = build_app(self.read_form())
            account = check_name("account", self._value("account"), label="Account name")
        except FieldError as err:
            self._field_error(err.field, err.message)
            self.query_one(f"#{err.field}").focus()
            return
        secret = self._value("client_secret")
        stored = self.service.settings.apps.get(app.name)
        if (
            not app.public
            and not secret.strip()
            and not (self.prefill.editing and stored is not None and not stored.public)
        ):
            self._field_error(
                "client_secret",
                "Client secret is required; for a public client choose client "
                "authentication 'none'.",
            )
            self.query_one("#client_secret").focus()
            return
        self._save(app.name, account, secret)

    @work(exclusive=True, exit_on_error=False)
    async def _save(self, app_name: str, account: str, secret: str) -> None:
        button = self.query_one("#save", Button)
        button.disabled = True
        try:
            app = build_app(self.read_form())
            await self.service.save_app(app, secret or None)
            await self.service.add_account(account, app_name)
        except RingPlusError as err:
            self.query_one("#error", Static).update(plain(f"{err.title}: {err.message}"))
            return
        finally:
            button.disabled = False
        self.dismiss(CredentialsResult(app=app_name, account=account))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Leave without saving."""
        self.dismiss(None)
