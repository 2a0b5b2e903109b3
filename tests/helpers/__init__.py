"""Helpers the test tiers share: fake providers and keyrings, sign-in flows, Pilot waits."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository's root: on ``PYTHONPATH`` it makes ``tests.helpers`` importable in a
child process (``PYTHON_KEYRING_BACKEND=tests.helpers.fake_keyrings.…``)."""
