"""Making text from outside (a provider, a pasted URL) safe to show, and secrets unseen.

Pure functions, standard library only. :func:`safe_text` is for human-readable
text only (messages, names, descriptions); machine output such as a token or
``--json`` is printed exactly and never passes through it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MAX_SHOWN = 500
"""Characters of external text shown at most; longer text is cut and ends in ``…``."""

REDACTED = "[redacted]"
"""What a secret value is replaced with."""

_MIN_SECRET = 4  # shorter values are too likely to match ordinary words

# C0 controls (tab and newline included: one message is one line), DEL, C1 controls,
# and the Unicode line/paragraph separators and bidirectional overrides a terminal
# or a reader could be fooled by.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(value: object, *, limit: int = MAX_SHOWN) -> str:
    """Return ``value`` as one line of text that cannot drive a terminal or a UI.

    Every control character (C0 including ESC, newline and tab; DEL; C1) and every
    Unicode line separator or bidirectional override is replaced by a visible
    escape (``ESC`` becomes the four characters ``\\x1b``); the result is cut to
    ``limit`` characters, the last being ``…`` when something was cut. Never raises:
    a value that is not a string is shown with ``str()``, or by its type name when
    even that fails.

    Args:
        value: The external text (usually a ``str``).
        limit: Characters kept at most, ellipsis included (at least 1).

    Returns:
        The safe text.
    """
    if isinstance(value, str):
        text = value
    else:
        try:
            text = str(value)
        except Exception:
            text = f"<{type(value).__name__}>"
    text = _CONTROL.sub(_escape, text)
    limit = max(limit, 1)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def secret_forms(secret: str) -> set[str]:
    """The ways ``secret`` can appear in an echoed request: as is, percent- and
    form-encoded (RFC 6749 Appendix B), and base64-encoded as in HTTP Basic
    credentials (RFC 7617). Values shorter than 4 characters give nothing."""
    if len(secret) < _MIN_SECRET:
        return set()
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    forms.add(base64.b64encode(secret.encode()).decode().rstrip("="))
    return {form for form in forms if len(form) >= _MIN_SECRET}


def basic_credentials_forms(user: str, password: str) -> set[str]:
    """The forms of HTTP Basic credentials ``user:password`` (RFC 7617 §2), both as
    given and form-encoded first (RFC 6749 §2.3.1): the ``user:password`` string and
    its base64 encoding."""
    forms: set[str] = set()
    for pair in (f"{user}:{password}", f"{quote(user, safe='')}:{quote(password, safe='')}"):
        forms.add(pair)
        forms.add(base64.b64encode(pair.encode()).decode())
        forms.add(base64.b64encode(pair.encode()).decode().rstrip("="))
    return {form for form in forms if len(form) >= _MIN_SECRET}


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret value in ``text`` with ``[redacted]``.

    Each secret is searched in all its :func:`secret_forms`; longer forms first, so
    a value containing another is removed whole. Never raises.

    Args:
        text: A message that may contain an echoed request.
        secrets: Secret values (client secret, tokens, code verifier, password, the
            Basic credentials' base64 form); empty and very short ones are ignored.

    Returns:
        ``text`` without those values.
    """
    forms: set[str] = set()
    for secret in secrets:
        if isinstance(secret, str):
            forms |= secret_forms(secret)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text
