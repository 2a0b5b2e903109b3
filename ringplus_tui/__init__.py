"""ringplus-tui: a terminal dashboard for the OAuth2 tokens of several RingPlus accounts."""

__version__ = "0.1.0"
