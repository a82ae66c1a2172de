"""The PyInstaller bundle's start-up against a bare-window bundle built the same way.

Both are built into one temp folder: the app by packaging/build.sh (KAPSESSION_DIST, this
interpreter as PYTHON: the one-folder bundle a release ships, with its plugin cache and its own
smoke start), the floor by PyInstaller on bench/bare_qt.spec (bench/bare_qt.py with the app
spec's options and Qt filters). Then `kapsession --smoke` of the bundle on an existing data
folder (a returning launch, the folder made by one untimed run) and the bare bundle are run in
turn, the order alternating (bench/startup.py's interleave), in a minimal environment as a
user's desktop gives it (no venv, no PYTHONPATH: `env -i` with HOME, XDG folders, PATH, LANG).

Building takes minutes (packaging/README.md: 20-45 s for the app here, the bare one less), so
bench/run.py runs it only when asked (`--only bundle`) or in the full run.

    .venv/bin/python bench/bundle.py [RUNS]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from startup import (
    NO_KEYRING,
    STAMPS_ENV,
    AppRunner,
    Launch,
    LaunchResult,
    bench_folder,
    interleave,
    timed_run,
)

ROOT = Path(__file__).resolve().parent.parent
BARE_SPEC = ROOT / "bench" / "bare_qt.spec"
BUILD_TIMEOUT_S = 1800


class BuildFailed(Exception):
    """A bundle could not be built; the message has the tail of the build's output."""


@dataclass
class BundleResult:
    launch: LaunchResult
    app_build_s: float
    bare_build_s: float
    app_mb: float
    bare_mb: float


def _size_mb(folder: Path) -> float:
    return (
        sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6
    )


def _build(cmd: list[str], env: dict[str, str], what: str) -> float:
    started = time.monotonic()
    done = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise BuildFailed(f"{what} build exited {done.returncode}: {' / '.join(tail)}")
    return time.monotonic() - started


def build_bundles(out: Path) -> tuple[Path, Path, float, float]:
    """The app's bundle and the bare one under out; their folders and build seconds."""
    env = dict(os.environ, PYTHON=sys.executable, KAPSESSION_DIST=str(out / "app"))
    app_s = _build(["packaging/build.sh"], env, "the app bundle's")
    bare_s = _build(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--workpath",
            str(out / "bare-work"),
            "--distpath",
            str(out / "bare"),
            str(BARE_SPEC),
        ],
        dict(os.environ),
        "the bare bundle's",
    )
    return out / "app" / "kapsession", out / "bare" / "bare_qt", app_s, bare_s


def bundle_env(platform: str, home: Path) -> dict[str, str]:
    """A desktop session's environment, not the venv's: as packaging/build.sh smoke-starts."""
    for sub in ("config", "data", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)  # Qt wants its runtime folder private
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_RUNTIME_DIR": str(home),
        "QT_QPA_PLATFORM": platform,
        "PYTHON_KEYRING_BACKEND": NO_KEYRING,
        # The display server, for --platform xcb (xvfb-run sets both).
        **{name: os.environ[name] for name in ("DISPLAY", "XAUTHORITY") if name in os.environ},
    }


def bench_bundle(
    platform: str, runs: int, warmups: int, tmp_root: Path | None = None
) -> BundleResult:
    with bench_folder(tmp_root, "kapsession-bench-bundle-") as work:
        app_dir, bare_dir, app_s, bare_s = build_bundles(work)
        env = bundle_env(platform, work / "home")
        env.pop(STAMPS_ENV, None)
        launch = Launch.named("returning")
        app = AppRunner(launch, [str(app_dir / "kapsession")], env, work)
        stamps = work / "bare.stamps"
        results = interleave(
            lambda: timed_run([str(bare_dir / "bare_qt")], env, stamps),
            {"bundle": app.once},
            runs,
            warmups,
        )
        return BundleResult(results["bundle"], app_s, bare_s, _size_mb(app_dir), _size_mb(bare_dir))


if __name__ == "__main__":
    got = bench_bundle("offscreen", int(sys.argv[1]) if len(sys.argv) > 1 else 5, 1)
    print(
        f"built in {got.app_build_s:.0f} s (app, {got.app_mb:.0f} MB), "
        f"{got.bare_build_s:.0f} s (bare, {got.bare_mb:.0f} MB)"
    )
    for kind, timings in (("app", got.launch.app), ("bare", got.launch.bare)):
        print(
            kind,
            [
                (round(t.exit_ns / 1e6), t.first_paint_ns and round(t.first_paint_ns / 1e6))
                for t in timings
            ],
        )
    if got.launch.app_failure:
        print("app failed:", got.launch.app_failure)
