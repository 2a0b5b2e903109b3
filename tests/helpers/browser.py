"""The person's browser, played by an HTTP client: sign in and consent at the sandbox."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx2


def sign_in_and_consent(
    authorization_url: str, email: str, password: str, *, allow: bool = True
) -> str:
    """Open the authorization URL, sign in, answer the consent page.

    Returns:
        The URL the provider redirects to (what the address bar would show).
    """
    with httpx2.Client(follow_redirects=False, timeout=10) as browser:
        page = browser.get(authorization_url)
        assert page.status_code == 200, page.text
        action = urljoin(authorization_url, _form_action(page.text, "sign-in"))
        signed_in = browser.post(
            action, data={"action": "sign-in", "email": email, "password": password}
        )
        if signed_in.status_code != 303:
            raise AssertionError(f"sign-in failed: HTTP {signed_in.status_code}")
        consent = browser.get(urljoin(action, signed_in.headers["location"]))
        assert consent.status_code == 200, consent.text
        action = urljoin(authorization_url, _form_action(consent.text, "consent"))
        answer = browser.post(
            action, data={"action": "consent", "confirm": "allow" if allow else "deny"}
        )
        assert answer.status_code in (302, 303), answer.text
        return answer.headers["location"]


def _form_action(html: str, form_id: str) -> str:
    match = re.search(rf'<form method="post" action="([^"]*)" id="{form_id}">', html)
    assert match, f"no form {form_id!r} in page"
    return match.group(1).replace("&amp;", "&")
