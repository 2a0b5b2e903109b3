"""One measured process, started by run.py: the app, or the bare Textual floor.

    python benchmarks/child.py startup ours|bare HOME
    python benchmarks/child.py idle ours|bare HOME SECONDS

``startup`` prints ``PAINTED <epoch seconds>`` when the dashboard's first frame is
painted, then exits (its shutdown is not part of the measure); ``idle`` then
waits SECONDS with every countdown running and prints the CPU seconds it used
while waiting, and its peak RSS in MiB.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path


def bare_app(home: Path):  # type: ignore[no-untyped-def]
    """The floor: a Textual app showing a DataTable with the same rows, nothing else."""
    import tomllib

    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer, Header

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            accounts = tomllib.loads((home / "config.toml").read_text()).get("accounts", {})
            table = self.query_one(DataTable)
            table.add_columns(
                "Account", "Status", "Left", "Expires", "App", "User", "Lines", "Refreshed"
            )
            for name, row in accounts.items():
                table.add_row(name, "valid", "23:59:59", "12:00:00", row["app"], "—", "—", "—")

    return Bare()


def our_app(home: Path):  # type: ignore[no-untyped-def]
    from ringplus_tui.store.secret_store import KeyringSecretStore
    from ringplus_tui.tui.factory import make_app

    return make_app(home, KeyringSecretStore())


def main() -> None:
    mode, which, home = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    app = our_app(home) if which == "ours" else bare_app(home)
    result: dict[str, float] = {}

    async def drive(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()  # the first frame is painted
        if mode == "startup":
            print(f"PAINTED {time.time():.6f}", flush=True)
        if mode == "idle":
            await pilot.pause(1.0)  # let start-up work (keyring probe) settle
            start = time.process_time()
            await pilot.pause(seconds)
            result["cpu"] = time.process_time() - start
        pilot.app.exit()

    app.run(headless=True, size=(120, 40), auto_pilot=drive)
    if mode == "idle":
        print(f"{result['cpu']:.6f} {peak_rss_mib():.1f}")


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB.

    Linux's ``VmHWM`` where there is one: ``ru_maxrss`` also counts the parent's
    size at the fork that started this process, so it said 60 MiB for both apps
    whenever run.py had grown that large before starting them.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
