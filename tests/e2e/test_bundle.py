"""The Linux one-folder bundle, built by packaging/build.sh exactly as a release is, then started
the way a new user starts it: from an empty folder, with an empty home and no data folder yet.

Always part of ./test (the build takes 20-45 s on the CI machine; `-m "not bundle"` leaves it out
while working on something else). It builds into a temporary folder, so a clean clone needs no
dist/ and an existing dist/ is left alone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bundle, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent.parent
# Left to the machine on purpose (see packaging/kapsession.spec): its sound server's libraries.
SYSTEM_SOUND = ("libasound.so", "libpulse.so", "libpulse-simple.so", "libpulsecommon-")
LOADER = "ld-linux"  # the dynamic loader itself is always the system's


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    dist = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, PYTHON=sys.executable, KAPSESSION_DIST=str(dist))
    done = subprocess.run(
        [str(ROOT / "packaging" / "build.sh")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"packaging/build.sh failed:\n{done.stdout}\n{done.stderr}"
    assert "it smoke-started" in done.stdout
    yield dist / "kapsession"
    shutil.rmtree(dist, ignore_errors=True)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """What a freshly created desktop user has: no venv, no PYTHONPATH, no data folder."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_RUNTIME_DIR": str(home),
    }
    env.update(extra)
    return env


def run(bundle: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    home = cwd / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    return subprocess.run(
        [str(bundle / "kapsession"), *args],
        cwd=cwd,
        env=clean_env(home, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_first_launch_from_an_empty_folder_paints_and_creates_its_data(
    bundle: Path, tmp_path: Path
) -> None:
    done = run(bundle, tmp_path, "--smoke", QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    database = tmp_path / "home" / ".local" / "share" / "kapsession" / "kapsession.sqlite3"
    assert database.is_file()  # the schema was created by the frozen app, protocols loaded


def test_on_x11_a_rehearsal_runs_is_recorded_and_closes_in_order(
    bundle: Path, tmp_path: Path, display: str
) -> None:
    """The platform a therapist's laptop uses (xcb, on Xvfb), not only offscreen: the live
    screen opens on a rehearsal with the shipped protocol, its bundled arc starts playing, and
    SIGTERM (logout) closes it the orderly way, so the timeline says the app was closed."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    # libVLC's dummy output: the decks play (decode, time, end) with no sound server here.
    # KAPSESSION_ENCRYPTION=off: past the first-run encryption set-up, as tests/e2e does.
    env = clean_env(
        home,
        DISPLAY=display,
        QT_QPA_PLATFORM="xcb",
        KAPSESSION_AUDIO_OUTPUT="dummy",
        KAPSESSION_ENCRYPTION="off",
    )
    data = tmp_path / "data"
    log = tmp_path / "app.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [str(bundle / "kapsession"), "--data-dir", str(data), "--rehearsal"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        windows: list[str] = []
        while not windows and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            windows = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--pid", str(proc.pid), "--name", "^kaps"],
                env=env,
                capture_output=True,
                text=True,
            ).stdout.split()
            time.sleep(0.1)
        assert windows, "the bundled app showed no window on X11"
        # The rehearsal plays the bundled arc through the bundled libVLC's music decks.
        played: list[str] = []
        while not played and time.monotonic() < deadline:
            done = run(bundle, tmp_path, "export", "--data-dir", str(data), "--format", "json")
            events = json.loads(done.stdout)["events"] if done.returncode == 0 else []
            played = [e["title"] for e in events if e["kind"] == "track_started"]
            time.sleep(0.2)
        assert played, "no track started: " + log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    done = run(bundle, tmp_path, "export", "--data-dir", str(data), "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    kinds = [event["kind"] for event in doc["events"]]
    assert doc["session"]["rehearsal"] is True
    assert kinds[0] == "dose" and kinds[-1] == "app_closed"
    assert doc["events"][0]["monitoring"]["plan"], "the shipped protocol's checks were planned"
    assert "Traceback" not in log.read_text()


def _windows(env: dict[str, str], pid: int, name: str) -> list[str]:
    return subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--pid", str(pid), "--name", name],
        env=env,
        capture_output=True,
        text=True,
    ).stdout.split()


def _ended_session(data: Path) -> None:
    """A finished rehearsal with a note, written through the core as the app would."""
    from datetime import UTC, datetime

    from kapsession.clock import SystemClock
    from kapsession.monitoring.protocol import builtin_protocols
    from kapsession.session.live import SessionService
    from kapsession.storage.store import Store, prepare_folder

    prepare_folder(data)
    store = Store.open(data)
    try:
        service = SessionService(store, SystemClock(), "UTC", "e2e", builtin_protocols())
        live = service.give_dose(service.plan_rehearsal(1.0, datetime.now(UTC)).id)
        live.add_note("synthetic: breathing slow")
        live.end("synthetic test: ended without discharge check")
    finally:
        store.close()


def test_on_x11_the_review_screen_opens_from_the_bundle(
    bundle: Path, tmp_path: Path, display: str
) -> None:
    """The review timeline (pyqtgraph, numpy) is loaded only when asked for: Ctrl+R on the home
    screen must find everything it imports inside the bundle."""
    data = tmp_path / "data"
    _ended_session(data)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = clean_env(home, DISPLAY=display, QT_QPA_PLATFORM="xcb", KAPSESSION_ENCRYPTION="off")
    # A scripted run names who is charting, else the first launch asks for the first clinician.
    env.update(KAPSESSION_CLINICIAN="Test Clinician", KAPSESSION_CLINICIAN_PIN="2468")
    log = tmp_path / "app.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [str(bundle / "kapsession"), "--data-dir", str(data)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        review: list[str] = []
        while not review and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            for window in _windows(env, proc.pid, "^kapsession"):
                subprocess.run(
                    ["xdotool", "windowfocus", window, "key", "ctrl+r"], env=env, check=False
                )
            time.sleep(0.5)
            review = _windows(env, proc.pid, "^Review")
        assert review, "no review window: " + log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "Traceback" not in log.read_text()


def test_the_command_line_answers_from_the_bundled_binary(bundle: Path, tmp_path: Path) -> None:
    done = run(bundle, tmp_path, "sessions")
    assert (done.returncode, done.stdout.strip()) == (0, "No sessions yet."), done.stderr


def test_a_bundled_arc_plays_through_the_bundled_libvlc(bundle: Path, tmp_path: Path) -> None:
    """`playlist check` makes a libVLC instance (`--aout=dummy`) and decodes the first samples of
    every track: with no plugins the instance is None and every track fails. LD_DEBUG lists each
    shared object loaded, so the test also sees that no libVLC file came from the system."""
    arc = bundle / "_internal" / "playlists" / "im-45.arc.toml"
    done = run(bundle, tmp_path, "playlist", "check", str(arc), LD_DEBUG="files")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "12 tracks: 12 ok" in done.stdout
    loaded = {
        line.split("file=", 1)[1].split()[0]
        for line in done.stderr.splitlines()
        if "file=" in line and "[0];" in line
    }
    vlc_files = {path for path in loaded if "vlc" in path}  # libvlc*, vlc/plugins/*
    assert any(name.endswith("/codec/libvorbis_plugin.so") for name in vlc_files)
    outside = {path for path in vlc_files if not path.startswith(str(bundle))}
    assert not outside, f"libVLC files loaded from outside the bundle: {sorted(outside)}"


# What SoX can write here; AAC/M4A and Opus need encoders this machine lacks (their plugins are
# bundled all the same: see packaging/kapsession.spec).
FORMATS = ("wav", "flac", "ogg", "mp3", "aiff", "au", "caf", "mp2")


def test_the_music_formats_a_clinic_brings_decode_in_the_bundle(
    bundle: Path, tmp_path: Path
) -> None:
    if shutil.which("sox") is None:
        pytest.fail("sox is needed; ./test installs it")
    music = tmp_path / "music"
    music.mkdir()
    tone = ["synth", "2", "sine", "440", "vol", "0.3"]
    for ext in FORMATS:
        out = str(music / f"tone.{ext}")
        subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", out, *tone], check=True)
    playlist = music / "formats.m3u"
    playlist.write_text("".join(f"tone.{ext}\n" for ext in FORMATS))
    done = run(bundle, tmp_path, "playlist", "check", str(playlist))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(FORMATS)} tracks: {len(FORMATS)} ok" in done.stdout, done.stdout
    # Issue 17: each is measured too (the bundle's pyebur128 and mutagen, the system's ffmpeg).
    done = run(bundle, tmp_path, "playlist", "check", str(playlist), "--format", "json")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["loudness_lufs"] is not None for r in rows] == [True] * len(FORMATS), rows
    assert all(r["gain_db"] is not None for r in rows), rows


def test_the_chime_protocols_and_arcs_ship_inside(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert (internal / "playlists" / "cues" / "soft-chime.wav").is_file()
    assert sorted(p.name for p in (internal / "playlists").glob("*.arc.toml")) == sorted(
        p.name for p in (ROOT / "playlists").glob("*.arc.toml")
    )
    # Every data file the wheel ships (pyproject's package-data) is inside, under the same path:
    # the protocols and the medicines list (which the bundle once lacked: a dose crashed it).
    with open(ROOT / "pyproject.toml", "rb") as f:
        package_data = tomllib.load(f)["tool"]["setuptools"]["package-data"]
    shipped = [
        p.relative_to(ROOT)
        for package, patterns in package_data.items()
        for pattern in patterns
        for p in ROOT.joinpath(*package.split(".")).glob(pattern)
    ]
    assert any(p.name == "medicines.toml" for p in shipped)
    assert any(p.parent.name == "protocols" for p in shipped)
    missing = [str(p) for p in shipped if not (internal / p).is_file()]
    assert not missing


def _needed(path: Path) -> list[str]:
    done = subprocess.run(
        ["readelf", "-d", "-W", str(path)], capture_output=True, text=True, check=False
    )
    return [
        line.split("[", 1)[1].split("]", 1)[0]
        for line in done.stdout.splitlines()
        if "(NEEDED)" in line
    ]


def test_every_library_a_bundled_binary_needs_is_bundled_or_the_systems_base(
    bundle: Path,
) -> None:
    """What a machine without Python, Qt or VLC would miss. Allowed from the system: what
    PyInstaller's own policy leaves to it (glibc, libGL, X11 core ...) and the sound server's
    client libraries (see packaging/kapsession.spec)."""
    if shutil.which("readelf") is None:
        pytest.fail("readelf (binutils) is needed; ./test installs it")
    from PyInstaller.depend import dylib

    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    names = {p.name for p in bundle.rglob("*")}
    elves = [p for p in files if p.read_bytes()[:4] == b"\x7fELF"]
    assert len(elves) > 100  # Qt, Python extensions, libVLC and its plugins
    missing = {
        f"{lib} (needed by {elf.relative_to(bundle)})"
        for elf in elves
        for lib in _needed(elf)
        if lib not in names
        and dylib.include_library(lib)
        and not lib.startswith((*SYSTEM_SOUND, LOADER))
    }
    assert not missing, "\n".join(sorted(missing))


def test_installed_for_a_user_it_has_a_valid_launcher_and_starts(
    bundle: Path, tmp_path: Path
) -> None:
    if shutil.which("desktop-file-validate") is None:
        pytest.fail("desktop-file-validate (desktop-file-utils) is needed; ./test installs it")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = clean_env(home)
    install = ROOT / "packaging" / "install-linux.sh"
    done = subprocess.run([str(install), str(bundle)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    desktop = home / ".local" / "share" / "applications" / "kapsession.desktop"
    command = home / ".local" / "opt" / "kapsession" / "kapsession"
    assert f"Exec={command}" in desktop.read_text().splitlines()
    assert (home / ".local/share/icons/hicolor/scalable/apps/kapsession.svg").is_file()
    checked = subprocess.run(
        ["desktop-file-validate", str(desktop)], capture_output=True, text=True
    )
    errors = [line for line in checked.stdout.splitlines() if "error" in line]
    assert checked.returncode == 0 and not errors, checked.stdout

    started = subprocess.run(
        [str(home / ".local" / "bin" / "kapsession"), "--smoke"],
        cwd=tmp_path,
        env=dict(env, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr

    removed = subprocess.run([str(install), "--uninstall"], env=env, capture_output=True, text=True)
    assert removed.returncode == 0, removed.stderr
    assert not desktop.exists() and not command.exists()
    assert (home / ".local" / "share" / "kapsession" / "kapsession.sqlite3").is_file()  # data kept
