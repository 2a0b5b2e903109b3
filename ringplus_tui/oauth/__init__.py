"""The OAuth 2.0 protocol, one RFC per module where it fits, and the provider's REST API.

Knows HTTP (httpx2, authlib, h11) and :mod:`ringplus_tui.core`; knows nothing of settings,
secrets or screens.
"""
