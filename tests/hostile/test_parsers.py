"""Hostile files handed to the parsers: FIFOs and devices where a playlist, an arc or a protocol
should be (also inside the data folder's protocols/ and arcs/), files too big to be one, TOML
keys that make tomllib crawl, XSPF nested a million deep, and playlist entries whose names the
file system refuses. Each is refused (or its track named) with one clear line, in bounded time:
calls that could hang run in a thread or a subprocess with a generous timeout, so a regression
fails instead of hanging the suite."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from helpers.nobody import as_nobody, needs_root

from kapsession.monitoring.protocol import (
    ProtocolError,
    available_protocols,
    load_protocol,
    parse_protocol,
)
from kapsession.music.arc import ArcError, available_arcs, load_arc, parse_arc
from kapsession.music.playlist_formats import (
    MAX_XSPF_DEPTH,
    PlaylistError,
    arc_from_playlist,
    read_playlist,
)
from kapsession.music.probe import check_file
from kapsession.storage import safe_files
from kapsession.tomlfile import MAX_KEY_CHARS, MAX_KEY_PARTS

ROOT = Path(__file__).resolve().parents[2]
# The installed command itself, as a therapist runs it.
_SCRIPT = Path(sys.executable).with_name("kapsession")
KAPSESSION = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "ui.app"]
# Generous: each call takes well under a second; a hang is what these bounds catch.
BOUND_S = 60.0
T = TypeVar("T")

ARC = """\
[arc]
id = "calm"
name = "Calm"
description = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z, dots in text are not keys"

[[phases]]
name = "settling"
start_minutes = 0
minutes = 10
tracks = [{silence_s = 30}]
"""

PROTOCOL = """\
[protocol]
id = "calm-60"
name = "Calm, 60 minutes"
route = "intramuscular"
planned_minutes = 60
late_after_minutes = 5
missed_after_minutes = 15

[[checks]]
label = "Baseline"
at = 0
vitals = true
scales = ["moaas"]
"""


def _release(fifos: list[Path]) -> None:
    """Open each FIFO for writing and close it, so a reader stuck in open() (the defect these
    tests guard against) gets end-of-file and its thread ends."""
    for fifo in fifos:
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def bounded(call: Callable[[], T], fifos: list[Path] | None = None) -> T:
    """call() on a thread; fails (does not hang) when it has not returned in BOUND_S."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = call()
        except BaseException as exc:  # handed back to the test below
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(BOUND_S)
    if worker.is_alive():
        _release(fifos or [])
        worker.join(BOUND_S)
        pytest.fail(f"still running after {BOUND_S:g} s: it blocked")
    if "error" in result:
        raise result["error"]
    return result["value"]  # type: ignore[no-any-return]


def refused(
    call: Callable[[], object], error: type[Exception], fifos: list[Path] | None = None
) -> str:
    """The message of the error that call() raised, within the bound."""

    def attempt() -> str:
        with pytest.raises(error) as caught:
            call()
        return str(caught.value)

    return bounded(attempt, fifos)


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [*KAPSESSION, *args],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        cwd=cwd or ROOT,
        env=env,
    )


def one_clear_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr and "unexpected error" not in stderr, (
        stderr
    )
    return lines[0]


@pytest.fixture
def fifos(tmp_path: Path) -> Iterator[list[Path]]:
    made: list[Path] = []
    yield made
    _release(made)


def mkfifo(path: Path, made: list[Path]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    made.append(path)
    return path


# --- FIFOs and devices -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["list.m3u", "list.m3u8", "list.xspf", "list.pls"])
def test_a_fifo_as_a_playlist_is_refused_without_blocking(
    tmp_path: Path, fifos: list[Path], name: str
) -> None:
    fifo = mkfifo(tmp_path / name, fifos)
    message = refused(lambda: read_playlist(fifo), PlaylistError, fifos)
    assert message == f"{name}: cannot be read (a named pipe, not a regular file)"


def test_a_fifo_as_an_arc_or_a_protocol_is_refused_without_blocking(
    tmp_path: Path, fifos: list[Path]
) -> None:
    arc = mkfifo(tmp_path / "calm.arc.toml", fifos)
    protocol = mkfifo(tmp_path / "calm.toml", fifos)
    assert "a named pipe, not a regular file" in refused(lambda: load_arc(arc), ArcError, fifos)
    message = refused(lambda: load_protocol(protocol), ProtocolError, fifos)
    assert message == "calm.toml: cannot be read (a named pipe, not a regular file)"


def test_fifos_in_the_data_folder_are_skipped_and_named(tmp_path: Path, fifos: list[Path]) -> None:
    data = tmp_path / "data"
    (data / "protocols").mkdir(parents=True)
    (data / "arcs").mkdir()
    (data / "protocols" / "calm.toml").write_text(PROTOCOL, encoding="utf-8")
    (data / "arcs" / "calm.arc.toml").write_text(ARC, encoding="utf-8")
    mkfifo(data / "protocols" / "pipe.toml", fifos)
    mkfifo(data / "arcs" / "pipe.arc.toml", fifos)

    protocols, problems = bounded(lambda: available_protocols(data), fifos)
    assert "calm-60" in protocols
    assert [str(p) for p in problems] == [
        "pipe.toml: cannot be read (a named pipe, not a regular file)"
    ]
    arcs, arc_problems = bounded(lambda: available_arcs([data / "arcs"]), fifos)
    assert list(arcs) == ["calm"]
    assert [str(p) for p in arc_problems] == [
        "pipe.arc.toml: cannot be read (a named pipe, not a regular file)"
    ]


def test_a_fifo_swapped_in_after_the_check_still_cannot_block(
    tmp_path: Path, fifos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race the non-blocking open and the fstat() of the descriptor close: the path is a
    # regular file when it is stat()ed and a FIFO when it is opened.
    fifo = mkfifo(tmp_path / "swapped.m3u", fifos)
    regular = tmp_path / "regular.m3u"
    regular.write_text("a.ogg\n", encoding="utf-8")
    real_stat = os.stat
    monkeypatch.setattr(
        safe_files.os, "stat", lambda p, *a, **k: real_stat(regular if p == fifo else p, *a, **k)
    )
    message = refused(
        lambda: safe_files.read_regular_file(fifo, 1024), safe_files.NotARegularFile, fifos
    )
    assert message == "[Errno 22] a named pipe"


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused_not_read_forever(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    name = Path(device).name
    message = refused(lambda: read_playlist(device), PlaylistError)
    assert message == f"{name}: cannot be read (a device, not a regular file)"
    assert "a device" in refused(lambda: load_arc(device), ArcError)
    assert "a device" in refused(lambda: load_protocol(device), ProtocolError)


def test_the_command_line_names_a_fifo_and_returns(tmp_path: Path, fifos: list[Path]) -> None:
    fifo = mkfifo(tmp_path / "pipe.m3u", fifos)
    arc = mkfifo(tmp_path / "pipe.arc.toml", fifos)
    done = cli("playlist", "check", str(fifo))
    assert done.returncode == 2
    assert one_clear_line(done.stderr) == (
        "kapsession: pipe.m3u: cannot be read (a named pipe, not a regular file)"
    )
    done = cli("playlist", "check", str(arc))
    assert done.returncode == 2
    assert "pipe.arc.toml: cannot be read (a named pipe" in one_clear_line(done.stderr)
    done = cli("playlist", "check", "/dev/urandom")
    assert done.returncode == 2
    assert "urandom: cannot be read (a device" in one_clear_line(done.stderr)


# --- size ------------------------------------------------------------------------------------


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (its length set, nothing written)."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def test_files_bigger_than_their_cap_are_refused_unread(tmp_path: Path) -> None:
    huge = 4 * 2**30  # 4 GB: reading it would take minutes and the memory with it
    playlist = sparse(tmp_path / "huge.m3u", huge)
    assert str(refused(lambda: read_playlist(playlist), PlaylistError)) == (
        "huge.m3u: is larger than 8 MB; not a playlist"
    )
    arc = sparse(tmp_path / "huge.arc.toml", 2**20 + 1)
    assert "is larger than 1 MB; not an arc file" in refused(lambda: load_arc(arc), ArcError)
    protocol = sparse(tmp_path / "huge.toml", 256 * 1024 + 1)
    assert refused(lambda: load_protocol(protocol), ProtocolError) == (
        "huge.toml: is larger than 256 KB; not a protocol file"
    )


# --- TOML keys that tomllib reads in minutes -------------------------------------------------


def _arc_with_key(key: str) -> str:
    return ARC.replace('name = "Calm"', f'name = "Calm"\n{key} = 1')


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (".".join(["a"] * 100_000), f"a key of more than {MAX_KEY_PARTS} dotted parts"),
        (".".join(['"a"'] * 50_000), f"a key of more than {MAX_KEY_PARTS} dotted parts"),
        ("k" * 2**20, f"a key longer than {MAX_KEY_CHARS} characters"),
        ('"' + "k" * 2**20 + '"', f"a key longer than {MAX_KEY_CHARS} characters"),
    ],
    ids=["dotted-100k-deep", "quoted-dotted-50k-deep", "bare-1MB", "quoted-1MB"],
)
def test_hostile_toml_keys_are_refused_quickly(key: str, problem: str) -> None:
    message = refused(lambda: parse_arc(_arc_with_key(key), "x.arc.toml"), ArcError)
    assert message == f"x.arc.toml line 4, TOML syntax: {problem}"
    text = PROTOCOL.replace("[[checks]]", f"{key} = 1\n\n[[checks]]")
    message = refused(lambda: parse_protocol(text, "x.toml"), ProtocolError)
    assert message == f"x.toml line 9, TOML syntax: {problem}"


def test_a_deep_table_header_is_refused_quickly() -> None:
    header = "[" + ".".join(["t"] * 100_000) + "]\n"
    message = refused(lambda: parse_arc(ARC + header, "x.arc.toml"), ArcError)
    assert message.endswith(f"TOML syntax: a key of more than {MAX_KEY_PARTS} dotted parts")


def test_dots_and_long_text_inside_strings_and_comments_are_not_keys() -> None:
    long_text = "a.b " * 20_000
    text = (
        ARC
        + f"# {'x.' * 5_000}\n"
        + '[[phases]]\nname = "onset"\nstart_minutes = 10\nminutes = 5\n'
        + f'tracks = [{{silence_s = 30}}]\n# """ {long_text}\n'
    )
    arc = bounded(lambda: parse_arc(text, "ok.arc.toml"))
    assert [p.name for p in arc.phases] == ["settling", "onset"]
    assert arc.description.startswith("a.b.c.d")
    # The key scan itself stays linear on text built to make a regular expression backtrack.
    for nasty in ('"""' + '\\"""' * 200_000, '"\\"' * 300_000, "[a" + " . a" * 200_000):
        refused(lambda nasty=nasty: parse_arc(nasty, "n.arc.toml"), ArcError)  # type: ignore[misc]


# --- XSPF nested deep ------------------------------------------------------------------------

# The child's own peak: on Linux VmHWM of its memory map (getrusage's ru_maxrss also carries
# the high-water mark of the forked pytest process across exec), elsewhere ru_maxrss.
_DEEP_XSPF_PEAK = """
import resource, sys
from pathlib import Path
from kapsession.music.playlist_formats import PlaylistError, read_playlist
try:
    read_playlist(sys.argv[1])
    print("read")
except PlaylistError as exc:
    print(exc)
status = Path("/proc/self/status")
hwm = [l for l in status.read_text().splitlines() if l.startswith("VmHWM:")] if status.exists() else []
kb = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(kb // 1024)
"""


def deep_xspf(path: Path, depth: int) -> Path:
    head = b'<?xml version="1.0"?><playlist version="1" xmlns="http://xspf.org/ns/0/"><trackList>'
    path.write_bytes(head + b"<a>" * depth + b"</a>" * depth + b"</trackList></playlist>")
    return path


def test_deeply_nested_xspf_is_refused() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = deep_xspf(Path(folder) / "deep.xspf", 100_000)
        message = refused(lambda: read_playlist(path), PlaylistError)
    assert (
        message
        == f"deep.xspf line 1: nests elements more than {MAX_XSPF_DEPTH} deep; not an XSPF playlist"
    )


def test_deeply_nested_xspf_is_refused_before_it_costs_memory(tmp_path: Path) -> None:
    # As deep as the 8 MB cap allows (a million open elements cost expat ~150 MB before).
    path = deep_xspf(tmp_path / "deep.xspf", (8 * 2**20 - 200) // 7)
    done = subprocess.run(
        [sys.executable, "-c", _DEEP_XSPF_PEAK, str(path)],
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    message, peak_mb = done.stdout.splitlines()
    assert "nests elements more than" in message
    print(f"peak RSS reading a {path.stat().st_size} byte deep XSPF: {peak_mb} MB")
    assert int(peak_mb) < 200  # memory, not time: a guard against building the tree


# --- entries whose names the file system refuses ---------------------------------------------


def test_entries_with_names_over_255_bytes_are_named_not_a_traceback(tmp_path: Path) -> None:
    playlist = tmp_path / "long.m3u"
    playlist.write_bytes(
        b"#EXTM3U\n"
        + b"a" * 300
        + b".ogg\n"  # UTF-8
        + b"\xe9" * 300
        + b".ogg\n"  # Latin-1: the raw-name second look used to stat() it and crash
        + b"d" * 300
        + b"/x.ogg\n"  # a folder name too long
    )
    done = cli("playlist", "check", str(playlist))
    assert done.returncode == 1, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 4
    assert all(line.startswith("unreadable") and "ENAMETOOLONG" in line for line in lines[:3])
    arc = tmp_path / "long.arc.toml"
    done = cli("playlist", "import", str(playlist), "--to", str(arc))
    assert done.returncode == 0, done.stderr
    assert len(load_arc(arc).tracks()) == 3  # titles from 300-byte names were shortened


def test_a_playlist_name_over_255_bytes_is_one_clear_line(tmp_path: Path) -> None:
    name = str(tmp_path / ("p" * 300 + ".m3u"))
    done = cli("playlist", "check", name)
    assert done.returncode == 2
    assert one_clear_line(done.stderr).startswith("kapsession: There is no playlist or arc at")


@needs_root
def test_entries_in_a_folder_that_cannot_be_entered_as_an_unprivileged_user(
    world_readable_dir: Path,
) -> None:
    closed = world_readable_dir / "closed"
    closed.mkdir(mode=0o000)
    closed.chmod(0o000)  # mkdir's mode is masked by the umask
    playlist = world_readable_dir / "list.m3u"
    playlist.write_bytes(b"closed/caf\xe9.ogg\nclosed/plain.ogg\n")
    playlist.chmod(0o644)

    def check() -> object:
        # As 'nobody' (root enters any folder): read the playlist, make an arc of it and check
        # its files.
        try:
            entries = read_playlist(playlist)
            arc = arc_from_playlist(entries, "Closed")
            verdicts = [check_file(p) for p in arc.tracks()]
            return [(v.status, v.detail) if v else None for v in verdicts]
        except Exception as exc:  # reported to the parent, which fails the test
            return f"{type(exc).__name__}: {exc}"

    assert as_nobody(check) == [
        ["unreadable", "permission denied (folder)"],
        ["unreadable", "permission denied (folder)"],
    ]


# --- the app starts, and reopens a running session, with FIFOs in its folder ------------------


def app_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("KAPSESSION_DATA_DIR", "KAPSESSION_PASSPHRASE", "DISPLAY"):
        env.pop(name, None)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        KAPSESSION_AUDIO_OUTPUT="dummy",
        KAPSESSION_ENCRYPTION="off",
    )
    return env


def poll(condition: Callable[[], Any], what: str, proc: subprocess.Popen[bytes]) -> Any:
    """Polls the running app's record until ``condition`` holds, giving up after a generous
    BOUND_S * 2 (a bound on a hang, not a timing assertion)."""
    deadline = time.monotonic() + 2 * BOUND_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the app exited ({proc.returncode}) before {what}")
        value = condition()
        if value:
            return value
        threading.Event().wait(0.1)
    pytest.fail(f"timed out waiting for {what}")


def export(data: Path, env: dict[str, str]) -> dict[str, Any]:
    done = cli("export", "--data-dir", str(data), "--format", "json", env=env)
    return dict(json.loads(done.stdout)) if done.returncode == 0 else {}


def rehearsal(data: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The real app opening a rehearsal (or reopening the session running in ``data``)."""
    return subprocess.Popen(
        [*KAPSESSION, "--data-dir", str(data), "--rehearsal", "--time-scale", "10"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.timeout(240)
def test_the_app_opens_and_reopens_a_running_session_with_fifos_in_its_folder(
    tmp_path: Path, fifos: list[Path]
) -> None:
    env = app_env(tmp_path)
    data = tmp_path / "data"
    app = rehearsal(data, env)
    try:
        first = poll(lambda: export(data, env).get("session"), "the session started", app)
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(BOUND_S)
    mkfifo(data / "protocols" / "pipe.toml", fifos)
    mkfifo(data / "arcs" / "pipe.arc.toml", fifos)

    smoke = cli("--data-dir", str(data), "--smoke", env=env)
    assert smoke.returncode == 0, smoke.stderr

    app = rehearsal(data, env)
    try:
        doc = poll(
            lambda: (d := export(data, env)) and any(e["kind"] == "gap" for e in d["events"]) and d,
            "the running session was reopened",
            app,
        )
    finally:
        app.terminate()
        try:
            code = app.wait(BOUND_S)
        except subprocess.TimeoutExpired:
            app.kill()  # reaped here, not left to warn from a later test
            app.wait()
            raise
    # A termination (logout) closes it the orderly way, even with the skipped files' messages
    # open at that moment (they once kept a terminated app running for ever).
    assert code == 0
    assert doc["session"]["id"] == first["id"]
    assert doc["session"]["state"] == "running"
    assert export(data, env)["events"][-1]["kind"] == "app_closed"
