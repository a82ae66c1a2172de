"""The composition root: builds the concrete clock, store and services, and the main window.

`kapsession` starts here. Subcommands (sessions, export) run without ever importing Qt."""

from __future__ import annotations

import argparse
import contextlib
import gc
import getpass
import logging
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from kapsession import gc_pause
from kapsession.cli import commands
from kapsession.clock import Clock, ScaledClock, SystemClock, local_zone_name
from kapsession.errors import EXIT_USAGE, AlreadyOpenError, KapsessionError, NeedsKey, WrongKey
from kapsession.exports.session_export import session_clock
from kapsession.storage import datakey, paths, privacy, security_settings
from kapsession.storage.instance_lock import InstanceLock
from kapsession.storage.records import import_sqlite_utils
from kapsession.storage.security_settings import SecuritySettings
from kapsession.storage.store import SessionRecord, Store, prepare_folder
from kapsession.storage.unlock_tries import UnlockTries

if TYPE_CHECKING:
    from PySide6.QtCore import QObject
    from PySide6.QtWidgets import QApplication, QWidget

    from kapsession.hub.worker import SyncWorker
    from kapsession.music.arc import Arc
    from kapsession.music.cue import CuePlayer
    from kapsession.music.levels import Level
    from kapsession.music.preflight import PreflightReport
    from kapsession.session.live import LiveSession, SessionService

    from .backup_runner import BackupRunner
    from .executor import Executor
    from .first_paint import FirstPaint
    from .live.music import MusicController
    from .main_window import MainWindow
    from .setup_view import SetupChoice

log = logging.getLogger("kapsession.ui")

EXIT_ALREADY_OPEN = 3


def main(argv: Sequence[str] | None = None) -> int:
    privacy.private_umask()
    # The one entry point of the app and the command line (gui-script, bundle): here, not in
    # commands.main, which scripts and tests call in-process.
    privacy.keep_secrets_in_process()
    args = commands.parse_args(argv)
    if args.command == "board":  # a window of its own, on no data folder
        from .board.run import run_board

        return run_board(args.dsn)
    if args.command:
        return commands.run_command(args)
    return run_gui(args)


@dataclass(frozen=True)
class StartUp:
    """What the environment says about opening the data folder, read once at start (run_gui)
    and handed on: $KAPSESSION_PASSPHRASE and KAPSESSION_ENCRYPTION=off (scripted runs)."""

    passphrase: str | None = None
    encryption_off: bool = False

    @classmethod
    def from_environment(cls) -> StartUp:
        return cls(
            privacy.secret_from_env(datakey.PASSPHRASE_ENV),
            os.environ.get("KAPSESSION_ENCRYPTION") == "off",
        )

    def key_env(self) -> dict[str, str]:
        return {datakey.PASSPHRASE_ENV: self.passphrase} if self.passphrase else {}


def open_store(
    folder: Path, smoke: bool, start: StartUp | None = None, painted: FirstPaint | None = None
) -> tuple[Store, SecuritySettings] | None:
    """The store, opened the way this data folder asks (the instance lock is held):

    - encrypted (a key file): the key from the OS keyring or $KAPSESSION_PASSPHRASE, else the
      passphrase prompt; a wrong passphrase is said plainly and never falls back to plaintext;
    - never asked yet: the set-up screen (encrypt, or not now) — or, without a screen
      (--smoke, KAPSESSION_ENCRYPTION=off for scripted runs), unencrypted as it was;
      $KAPSESSION_PASSPHRASE there sets encryption up without asking;
    - "not now" chosen earlier: unencrypted, as it was.
    None when the therapist quits at the prompt. `start` defaults to the environment now;
    `painted` watches the prompts' first paint."""
    start = start if start is not None else StartUp.from_environment()
    security = security_settings.load(folder)
    if datakey.has_key_file(folder):
        try:
            key = datakey.key_for(folder, start.key_env())
        except (NeedsKey, WrongKey):
            if smoke:
                raise
            key = None
        if key is None:
            from .setup_view import UnlockDialog  # only for a prompt (~5 ms of imports)

            found: list[bytes] = []
            prompt = UnlockDialog(
                lambda text: found.append(datakey.unlock(folder, text)), str(folder)
            )
            if painted is not None:
                painted.prompt(prompt)
            collect_normally()  # someone types a passphrase: no start-up to hurry
            if not prompt.exec() or not found:
                return None
            key = found[0]
        return Store.open(folder, key=key), security
    passphrase = start.passphrase
    if security.encryption is None and passphrase and datakey.encryption_available():
        key = datakey.create_key(folder, passphrase)
        security_settings.save(folder, replace(security, encryption="on"))
        return Store.open(folder, key=key), security_settings.load(folder)
    if security.encryption is not None or smoke or start.encryption_off:
        return Store.open(folder), security

    from .setup_view import SetupDialog

    opened: list[tuple[Store, SecuritySettings]] = []

    def apply(choice: SetupChoice) -> None:
        settings = security.with_pin(choice.pin)
        if not choice.encrypt:
            security_settings.save(folder, replace(settings, encryption="declined"))
            opened.append((Store.open(folder), settings))
            return
        assert choice.passphrase is not None
        key = datakey.create_key(folder, choice.passphrase)  # first: a crash later re-encrypts
        security_settings.save(folder, replace(settings, encryption="on"))
        if choice.remember:
            with contextlib.suppress(datakey.KeyringUnavailable):
                datakey.remember_key(folder, key)
        opened.append((Store.open(folder, key=key), settings))

    dialog = SetupDialog(
        apply, str(folder), datakey.encryption_available(), datakey.keyring_available()
    )
    if painted is not None:
        painted.prompt(dialog)
    collect_normally()
    if not dialog.exec() or not opened:
        return None
    return opened[0]


def clock_for(record: SessionRecord | None) -> Clock:
    """A rehearsal session keeps its scaled clock across restarts; everything else is real time."""
    return SystemClock() if record is None else session_clock(record)


def run_gui(args: argparse.Namespace) -> int:
    """Paint first: the main window is shown as soon as the store is open and the home screen
    filled (an encrypted folder shows "Opening the record…" before its key is derived); the
    music pre-flight, the backup timer, naming skipped files and warming sqlite-utils run from
    the event loop after that first paint (ui/first_paint.py, which also says what --smoke
    waits for).

    No cyclic garbage collection until that paint (or a prompt that someone answers): start-up
    makes ~100k long-lived objects (modules, classes, widgets' wrappers) and the collector
    walked them again and again (measured: ~25 ms of CPU of a returning launch). They are then
    frozen (gc.freeze: never walked again) and collection runs as usual."""
    with gc_pause.paused():  # whatever happens, the collector is not left off
        return _run_gui(args)


def collect_normally() -> None:
    """End start-up's hold on the garbage collector: what start-up made is frozen (it lives as
    long as the app), collection runs as usual from now on. Once; later calls do nothing."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _run_gui(args: argparse.Namespace) -> int:
    # Messages in logs name what failed, never what was written (no clinical text); uncaught
    # exceptions are logged by type and place only.
    privacy.setup_logging(None)
    privacy.install_excepthook()
    from PySide6.QtWidgets import QApplication

    from .pyside_scan import answer_cheaply

    answer_cheaply()  # before the imports below: PySide6 looks at each of them (25-45 ms)
    # Not ui.messages here: it reaches for the `Qt` namespace, whose first use makes its 93
    # enum types (~20 ms) — after an encrypted folder's "Opening the record…" has painted.
    from . import theme
    from .executor import HeldExecutor, ThreadExecutor
    from .first_paint import STAMPS_ENV, FirstPaint, opening_window
    from .settings import Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("kapsession")
    app.setOrganizationName("kapsession")
    app.setDesktopFileName("kapsession")
    theme.apply(app)
    settings = Settings()  # after the organization's name: it names the QSettings file
    painted = FirstPaint(os.environ.get(STAMPS_ENV) if args.smoke else None)

    folder = paths.data_dir(getattr(args, "data_dir", None))
    lock = InstanceLock(folder)
    opening = None
    try:
        prepare_folder(folder)
        lock.acquire()
        start = StartUp.from_environment()
        if start.passphrase and datakey.has_key_file(folder):
            # The key derivation (Argon2id, ~0.3 s) runs behind a painted, calm window. Only
            # with the passphrase at hand: without it a prompt comes first (after the keyring
            # was asked), and a window standing in for it would only be in its way.
            opening = opening_window(1280, 800)
            painted.show_painted(opening)
        opened = open_store(folder, args.smoke, start, painted)
    except AlreadyOpenError as exc:
        _close(opening)
        from . import messages

        return messages.fatal(str(exc), EXIT_ALREADY_OPEN, show=not args.smoke)
    except KapsessionError as exc:
        _close(opening)
        from . import messages

        return messages.fatal(str(exc), EXIT_USAGE, show=not args.smoke)
    if opened is None:  # the therapist chose Quit at the passphrase prompt
        _close(opening)
        lock.release()
        return 0
    store, security = opened
    privacy.setup_logging(folder)  # the rotating log in the (now private) data folder
    # After the store: an encrypted folder's "Opening the record…" is up before these load.
    from kapsession.monitoring.protocol import available_protocols
    from kapsession.music.arc import available_arcs
    from kapsession.music.cue import PLAYLISTS, REHEARSAL_ARC
    from kapsession.session.live import SessionService

    from . import messages
    from .clinicians.start import choose_at_start, lock_verifier
    from .lock import LockConfig
    from .main_window import MainWindow, new_scheduler

    if not args.smoke:
        collect_normally()  # who is charting may be asked: a person at a prompt
    if not choose_at_start(store, args.rehearsal, args.smoke):  # Quit at the first prompt
        store.close()
        lock.release()
        return 0

    # A client-mode run the app was stopped in (killed, crashed, power lost) becomes an
    # incomplete measure before any screen reads the measures (its item-9 prompt included).
    recovered = recover_client_runs(store, Path(folder))
    protocols, problems = available_protocols(folder)
    # The shipped arcs, then the clinic's own in <data folder>/arcs (same id: the clinic's wins).
    arcs, arc_problems = available_arcs([PLAYLISTS, Path(folder) / "arcs"])
    tz = local_zone_name()
    author = getpass.getuser()

    def service(clock: Clock) -> SessionService:
        return SessionService(store, clock, tz, author, protocols)

    def start_rehearsal(scale: float) -> LiveSession:
        base = SystemClock()
        origin = base.now()
        svc = service(ScaledClock(base, scale, origin))
        arc = str(REHEARSAL_ARC) if REHEARSAL_ARC.is_file() else None
        return svc.give_dose(svc.plan_rehearsal(scale, origin, arc).id)

    def resume() -> LiveSession | None:
        return service(clock_for(store.running_session())).resume()

    players: list[CuePlayer] = []

    def cue_player() -> CuePlayer:
        # libVLC is loaded the first time a cue actually plays, never at start-up.
        if not players:
            from kapsession.music.vlc_player import open_cue_player

            players.append(open_cue_player())
        return players[0]

    # Each track's loudness (kapsession.music.r128) by path: filled off the GUI thread, read by
    # the arc player as a track starts (a dict read, never a wait).
    levels: dict[Path, Level] = {}
    measuring: set[str] = set()  # arcs whose levels a loudness thread is measuring now

    def music(live: LiveSession, report: Callable[[str], None]) -> MusicController:
        from .live.music import MusicController, open_vlc_decks
        from .settings import Settings

        settings = Settings()  # one for the whole app once ui/app.py builds it
        arc_path = live.record.arc
        if arc_path:  # reopened, a rehearsal, or a dose before the pre-flight came back
            preflight.submit(lambda: measure_levels(arc_path, background=True), lambda _n: None)

        return MusicController(
            live,
            live.record.arc,
            opener=lambda hand_on: open_vlc_decks(hand_on, settings.audio_output),
            report=report,
            levels=levels.get,
            settings=settings,
        )

    def check_arc(arc: Arc, minutes: int) -> PreflightReport:
        """Whether the arc's tracks play (the home screen's line), with the levels already
        known (cache, tags: hashes only); the tracks not yet measured are then decoded on a
        loudness thread of their own, so the line never waits for them. Just before the dose
        the check runs again on the GUI thread (ArcPicker.check_now): there it measures
        nothing, not even a hash."""
        import threading

        from kapsession.music.preflight import check_arc_tracks, known_levels
        from kapsession.music.r128 import LevelCache

        on_worker = threading.current_thread() is not threading.main_thread()
        cache = LevelCache.in_folder(Path(folder)) if on_worker else None
        report = check_arc_tracks(arc.tracks(), minutes, cache, arc.target_lufs, decode=False)
        known = known_levels(report.probes)
        levels.update(known)
        if on_worker and any(p.status == "ok" and p.path not in known for p in report.probes):
            measure_levels(arc.path, background=True)
        return report

    def measure_levels(arc_path: str, background: bool = False) -> None:
        """Measure the arc's tracks (kapsession.music.r128: the cache, tags, else ffmpeg and
        libebur128: ~30 s for 45 minutes of audio the first time, a few hashes after) into
        `levels`; with `background`, on a daemon thread of its own. Never on the GUI thread,
        never before the first paint (only the pre-flight's work calls it). Tracks that start
        before it is done play as mastered."""
        import threading

        from kapsession.music.arc import load_arc
        from kapsession.music.r128 import LevelCache, measure

        if background:
            if arc_path in measuring:
                return
            measuring.add(arc_path)

            def run() -> None:
                from kapsession.music.r128 import lower_this_threads_priority

                lower_this_threads_priority()  # never before the clock and the music
                try:
                    measure_levels(arc_path)
                except Exception as exc:  # a worker thread must report, never die silently
                    log.error("loudness measurement failed: %s", type(exc).__name__)
                finally:
                    measuring.discard(arc_path)

            threading.Thread(target=run, name="kapsession-loudness", daemon=True).start()
            return
        found = measure(load_arc(arc_path).tracks(), LevelCache.in_folder(Path(folder)))
        levels.update({path: level for path, level in found.items() if level is not None})

    # The pre-flight's thread imports libVLC and decodes: not before the first paint.
    preflight = HeldExecutor(ThreadExecutor("kapsession-preflight"))
    tries = UnlockTries(store, SystemClock())
    charting_changed: list[Callable[[], None]] = [lambda: None]  # set once the window exists
    window = MainWindow(
        service(SystemClock()),
        start_rehearsal,
        Path(folder),
        smoke=args.smoke,
        cue_player=cue_player,
        music=music,
        arcs=arcs,
        check_arc=check_arc,
        executor=preflight,
        settings=settings,
        schedulers=new_scheduler,
        screen_lock=None
        if args.smoke
        else LockConfig(
            lock_verifier(
                store,
                security_settings.unlocker(security, folder, store.encrypted),
                lambda: charting_changed[0](),
            ),
            security.idle_ms,
            tries,
        ),
    )
    painted.watch(window, ready=True)
    painted.after_ready(collect_normally)
    charting_changed[0] = window.home.clinicians.refresh
    # Before the session reopens (and writes its gap): a SIGTERM from then on closes it the
    # orderly way, once the event loop runs, instead of killing the process mid-start.
    termination = _close_on_termination(window)
    try:
        if not args.smoke:
            live = resume()
            running = live.record if live else None
            if args.rehearsal and running is not None and not running.rehearsal:
                messages.inform(
                    window,
                    "A session is running",
                    "A real session is running in this data folder, so it was reopened "
                    "instead of starting a rehearsal.",
                )
            elif args.rehearsal and live is None:
                live = start_rehearsal(args.time_scale or 1.0)
            if live is not None:
                window.show_live(live)
    except KapsessionError as exc:
        messages.error(window, str(exc))
    audit_locks(window, store)
    if recovered:
        window.home.form_status.setText(recovered)
    window.show()
    _close(opening)  # the main window stands where it stood
    if tries.locked_at_exit and not args.smoke:
        # Stopped while locked (killed, logged out): it opens locked, with any wait still
        # to run; a restart is no way round the lock or its back-off.
        window.lock()
    if args.smoke:
        return _exit_when_ready(app, painted)
    painted.after_ready(preflight.release)
    backups = ThreadExecutor("kapsession-backup", window)
    painted.after_ready(lambda: _start_backups(window, store, folder, backups))
    # Files that were skipped are named once the window (and any reopened session) is up: a
    # bad clinic file never holds up a running session behind a dialog.
    painted.after_ready(lambda: _name_skipped(window, "protocol files", "protocols", problems))
    painted.after_ready(lambda: _name_skipped(window, "music arcs", "arcs", arc_problems))
    # The first write (a note, a plan) goes through sqlite-utils: import it now, idle.
    painted.after_ready(import_sqlite_utils)
    # A folder joined to a clinic hub syncs in the background (kapsession/hub/worker.py);
    # nothing on the GUI thread waits on the network. Its status reaches the live screen later.
    hub_sync: list[SyncWorker] = []
    painted.after_ready(lambda: _start_hub_sync(window, Path(folder), store, hub_sync))
    code = app.exec()
    for worker in hub_sync:
        worker.stop()
    termination.close()
    store.close()
    lock.release()
    return code


def _start_hub_sync(
    window: MainWindow, folder: Path, store: Store, started: list[SyncWorker]
) -> None:
    from kapsession.hub import settings, worker

    if not settings.joined(folder):
        return
    feed = window.hub_feed
    feed.joined.emit()
    try:
        found = worker.start_for_folder(folder, store.key, on_status=feed.post)
    except KapsessionError as exc:
        # Said on the hub's line (the detail on hover), never in a dialog: the room goes on.
        fault = getattr(exc, "kind", "refused")
        feed.post(worker.SyncStatus(False, 0, None, f"The sync did not start: {exc}", fault))
        return
    if found is not None:
        feed.on_commit = found.committed
        started.append(found)


def _start_backups(window: MainWindow, store: Store, folder: Path, executor: Executor) -> None:
    _backups(window, store, folder, executor)


def _close(window: QWidget | None) -> None:
    if window is not None:
        window.close()


# If the first paint never comes, --smoke fails instead of hanging a packaging check.
SMOKE_TIMEOUT_MS = 20_000


def _exit_when_ready(app: QApplication, painted: FirstPaint) -> int:
    """--smoke: 0 once the main window's first paint (the first screen a therapist can act
    on) has been delivered; 1 if it never comes."""
    from PySide6.QtCore import QTimer

    painted.after_ready(app.quit)
    QTimer.singleShot(SMOKE_TIMEOUT_MS, app.quit)
    app.exec()
    if not painted.ready:
        print("kapsession: the main window was never painted", file=sys.stderr)
        return 1
    return 0


def _name_skipped(
    window: MainWindow, what: str, others: str, problems: Sequence[KapsessionError]
) -> None:
    """Name the files that were not loaded, from the event loop (never before it runs)."""
    if not problems:
        return
    from PySide6.QtCore import QTimer

    from . import messages

    text = "\n\n".join(str(p) for p in problems) + f"\n\nThe other {others} are available."
    title = f"Some {what} were not loaded"
    QTimer.singleShot(0, window, lambda: messages.inform(window, title, text))


def recover_client_runs(store: Store, folder: Path) -> str:
    """Open client-mode runs left by a stopped app, kept as incomplete measures (the instance
    lock is held: no other app is answering one). What the home screen says of them ("" for
    none); a failure is logged by its kind only and never stops the start."""
    try:  # one cheap read on every start; the measures' modules only when there is a run
        found = store.conn.execute("SELECT 1 FROM open_client_runs LIMIT 1").fetchone()
    except sqlite3.Error:
        found = None  # no such table: a database the app could not migrate (read-only)
    if found is None:
        return ""
    from kapsession.integration.client_run import recover_open_runs

    try:
        kept = recover_open_runs(store, folder, SystemClock())
    except (KapsessionError, sqlite3.Error) as exc:
        log.error("interrupted client-mode runs not recovered: %s", type(exc).__name__)
        return "An interrupted questionnaire could not be recovered yet; it stays kept."
    if not kept:
        return ""
    names = ", ".join(m.instrument.upper() for m in kept)
    return f"Interrupted questionnaire kept as incomplete: {names}."


def audit_locks(window: MainWindow, store: Store) -> None:
    """Every lock and unlock of the window goes on the store's audit trail."""
    window.lock_changed.connect(lambda locked: _audit_lock(store, locked))


def _audit_lock(store: Store, locked: bool) -> None:
    """Lock and unlock go on the audit trail; a write that fails must never stop the lock."""
    try:
        store.audit("lock" if locked else "unlock", "app")
    except (sqlite3.Error, OSError, KapsessionError) as exc:
        log.error("lock change not audited: %s", type(exc).__name__)


# Hourly look: a backup is written when the newest is a day old (and after every session).
BACKUP_CHECK_MS = 60 * 60 * 1000
FIRST_BACKUP_CHECK_MS = 30 * 1000


def _backups(window: MainWindow, store: Store, folder: Path, executor: Executor) -> BackupRunner:
    """Automatic backups to the folder the clinic chose (the settings' backup folder, else
    $KAPSESSION_BACKUP_DIR, else `backups` in the data folder). Never during a live session.
    The runner and its timer belong to the window (Qt parents): they live as long as it."""
    from PySide6.QtCore import QTimer

    from kapsession.storage import backup

    from . import messages
    from .backup_runner import BackupRunner

    target = backup.backup_dir(window.settings.backup_folder, folder)
    runner = BackupRunner(store, folder, target, SystemClock(), executor, window)
    runner.failed.connect(lambda text: messages.error(window, text))

    def on_written(result: backup.BackupResult) -> None:
        if window.live_view is None and not result.verified.problems:
            shown = window.home.form_status.text()
            window.home.form_status.setText(f"{shown} Backup written and verified.".strip())

    runner.written.connect(on_written)
    window.session_ended.connect(lambda: runner.start(after_session=True))

    def daily() -> None:
        # Not from a window already closed (the app ending; a test's window left behind).
        if window.isVisible() and window.live_view is None:
            runner.start(after_session=False)

    timer = QTimer(window)
    timer.setInterval(BACKUP_CHECK_MS)
    timer.timeout.connect(daily)
    timer.start()
    QTimer.singleShot(FIRST_BACKUP_CHECK_MS, window, daily)
    return runner


class TerminationWatch:
    """The wake-up sockets and their notifier, kept by run_gui while the app runs."""

    def __init__(self, receive: socket.socket, send: socket.socket, notifier: QObject) -> None:
        self._receive, self._send, self.notifier = receive, send, notifier

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        self._receive.close()
        self._send.close()


def _close_on_termination(window: MainWindow) -> TerminationWatch:
    """SIGTERM/SIGHUP (logout, shutdown) close the window the orderly way: a running session
    records `app_closed` and resumes on the next launch.

    Python runs signal handlers only when it next executes bytecode, and an idle Qt event loop
    runs none. So the C-level handler's wake-up byte (signal.set_wakeup_fd) lands on a socket
    that Qt watches: the event loop wakes at once, with no polling timer."""
    from PySide6.QtCore import QSocketNotifier, QTimer

    def on_signal(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, window.shut_down)

    receive, send = socket.socketpair()
    receive.setblocking(False)
    send.setblocking(False)
    signal.set_wakeup_fd(send.fileno())
    notifier = QSocketNotifier(receive.fileno(), QSocketNotifier.Type.Read, window)

    def drain() -> None:
        with contextlib.suppress(OSError):
            receive.recv(512)

    notifier.activated.connect(drain)
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, on_signal)
    return TerminationWatch(receive, send, notifier)


if __name__ == "__main__":
    raise SystemExit(main())
