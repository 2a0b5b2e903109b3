"""What import-linter cannot see: what a command really loads at run time.

The layer rules themselves are import-linter contracts in ``pyproject.toml`` (``lint-imports``,
run by ``.ci/run``). These checks run in a fresh interpreter, because this test process has long
imported Textual.
"""

from __future__ import annotations

import subprocess
import sys

BELOW_THE_TUI = ["core", "oauth", "store", "service", "sandbox", "cli"]


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_nothing_below_the_tui_imports_textual() -> None:
    code = (
        "import importlib, pkgutil, ringplus_tui\n"
        f"for layer in {BELOW_THE_TUI!r}:\n"
        "    pkg = importlib.import_module('ringplus_tui.' + layer)\n"
        "    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
    )
    loaded = _loaded_after(code)
    assert "ringplus_tui" in loaded
    assert "textual" not in loaded


def test_storage_imports_no_http() -> None:
    code = (
        "import importlib, pkgutil, ringplus_tui.store as pkg\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
    )
    loaded = _loaded_after(code)
    assert "tomllib" in loaded  # the probe did import the store
    assert not {"httpx2", "authlib", "textual"} & set(loaded)


def test_the_token_command_path_loads_no_textual_and_no_authlib() -> None:
    """``ringplus-tui token`` must start fast: its modules load neither Textual nor authlib."""
    loaded = _loaded_after("import ringplus_tui.cli.main, ringplus_tui.cli.tokens")
    assert not {"textual", "authlib", "httpx2"} & set(loaded)
