"""Finding the forms in a provider's sign-in and consent pages. Pure, standard library only.

Used by the password sign-in shortcut, which fills the provider's own forms as a
browser would. Only what a form submits is read: its action, method, inputs and
submit buttons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Field:
    """One ``<input>`` or submit ``<button>`` of a form."""

    name: str
    type: str
    value: str


@dataclass
class Form:
    """One ``<form>``.

    Attributes:
        action: The ``action`` attribute as written (may be relative or empty).
        method: ``GET`` or ``POST``.
        fields: Inputs, in order.
        buttons: Submit buttons (``<button>`` and ``<input type=submit>``), in order.
    """

    action: str
    method: str
    fields: list[Field] = field(default_factory=list)
    buttons: list[Field] = field(default_factory=list)

    @property
    def password_field(self) -> Field | None:
        """The first password input, if any."""
        return next((f for f in self.fields if f.type == "password"), None)

    @property
    def login_field(self) -> Field | None:
        """The first text-like input that is not hidden: the email or user name."""
        kinds = {"email", "text", "tel", ""}
        return next((f for f in self.fields if f.type in kinds and f.name), None)

    def hidden_values(self) -> dict[str, str]:
        """Name → value of every hidden input."""
        return {f.name: f.value for f in self.fields if f.type == "hidden" and f.name}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._button: Field | None = None
        self._button_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(
                action=values.get("action", ""), method=values.get("method", "get").upper()
            )
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            kind = values.get("type", "text").lower()
            item = Field(values.get("name", ""), kind, values.get("value", ""))
            if kind in ("submit", "image"):
                self._form.buttons.append(item)
            elif kind not in ("button", "reset", "file"):
                self._form.fields.append(item)
        elif tag == "button" and values.get("type", "submit").lower() == "submit":
            self._button = Field(values.get("name", ""), "submit", values.get("value", ""))
            self._button_text = []

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self._form is not None:
            if not self._button.value:
                self._button.value = "".join(self._button_text).strip()
            self._form.buttons.append(self._button)
            self._button = None
        elif tag == "form":
            self._form = None


def parse_forms(html: str) -> list[Form]:
    """Return every form in ``html``, in document order; broken markup gives what was found."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.forms
