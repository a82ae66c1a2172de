"""End-to-end tests: the real app as a subprocess on a real X server (Xvfb), driven by xdotool."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The installed command itself, as a therapist runs it.
_SCRIPT = Path(sys.executable).with_name("kapsession")
KAPSESSION = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "ui.app"]


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    missing = [tool for tool in ("Xvfb", "xdotool", "import") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"end-to-end tests need {', '.join(missing)} (./test installs them)")
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    yield f":{number}"
    server.terminate()
    server.wait(10)


@pytest.fixture
def app_env(display: str, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("KAPSESSION_DATA_DIR", None)
    env.update(DISPLAY=display, XDG_CONFIG_HOME=str(tmp_path / "config"), QT_QPA_PLATFORM="xcb")
    # The music plays through libVLC for real, into its dummy output (no sound card here).
    env["KAPSESSION_AUDIO_OUTPUT"] = "dummy"
    return env


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Polls a real process's observable state until it holds (not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class App:
    def __init__(self, env: dict[str, str], data_dir: Path, *args: str) -> None:
        self.env, self.data_dir = env, data_dir
        # A file, not a pipe: a pipe nobody reads could block the app.
        self.log = data_dir.parent / f"app-{len(list(data_dir.parent.glob('app-*.log')))}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [*KAPSESSION, "--data-dir", str(data_dir), *args],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        _running.append(self)
        # Searched again on every try: a window found early may not be viewable yet, or may be
        # a short-lived one; focusing fails until the real window is mapped.
        self.window = wait_for(self._find_and_focus, what="the kapsession window to take the focus")

    def _find_and_focus(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"the app exited early: {self.log.read_text()}")
        found = subprocess.run(
            [
                "xdotool",
                "search",
                "--onlyvisible",
                "--pid",
                str(self.proc.pid),
                "--name",
                "^kapsession",
            ],
            env=self.env,
            capture_output=True,
            text=True,
        ).stdout.split()
        for window in found:
            try:
                done = subprocess.run(
                    ["xdotool", "windowfocus", "--sync", window],
                    env=self.env,
                    capture_output=True,
                    timeout=5,  # --sync waits for the focus to change; never hang on it
                )
            except subprocess.TimeoutExpired:
                continue
            if done.returncode == 0:
                return window
        return None

    def xdo(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env, check=True, capture_output=True)

    def type_line(self, text: str) -> None:
        self.xdo("type", "--delay", "5", text)
        self.xdo("key", "Return")

    def screenshot(self, path: Path) -> Path:
        subprocess.run(["import", "-window", "root", str(path)], env=self.env, check=True)
        return path

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


_running: list[App] = []


@pytest.fixture(autouse=True)
def _no_app_left_behind() -> Iterator[None]:
    yield
    while _running:
        _running.pop().kill()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KAPSESSION, *args], env=env, capture_output=True, text=True, timeout=60)


def export(env: dict[str, str], data_dir: Path) -> dict[str, Any]:
    done = cli(env, "export", "--data-dir", str(data_dir), "--format", "json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))
