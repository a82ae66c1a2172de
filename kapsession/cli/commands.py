"""The command line: argument parsing for the whole program, and the subcommands that need no GUI.

`kapsession` with no subcommand opens the app (ui.app does that; this module never imports Qt)."""

from __future__ import annotations

import argparse
import getpass
import math
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from kapsession.cli.terminal_text import printable
from kapsession.clock import SystemClock, local_zone_name
from kapsession.errors import EXIT_USAGE, InvalidEntry, KapsessionError
from kapsession.exports import session_export
from kapsession.session.dose_clock import minutes_seconds
from kapsession.storage import datakey, outpaths, paths, privacy
from kapsession.storage.store import SessionRecord, Store, parse_iso

FORMATS = session_export.FORMATS
# SQLite's integers are 64-bit: a larger session number names no session.
MAX_SESSION_ID = 2**63 - 1


def _say(text: object, file: TextIO) -> None:
    """Every line the command line prints: text from files and databases (titles, paths,
    entries, messages quoting them) escaped, so it can never drive the terminal."""
    print(printable(text), file=file)


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one clear line and exit 2 (no usage dump to wade through)."""

    def error(self, message: str) -> NoReturn:
        # argparse quotes what was typed: a newline or an escape in it stays one printed line.
        self.exit(EXIT_USAGE, f"kapsession: {printable(message)} (see kapsession --help)\n")


def _time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--time-scale must be a number, not {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("--time-scale must be more than 0 and at most 3600")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--data-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=f"data folder (default: ${paths.ENV_VAR} or the platform's user data folder)",
    )
    parser = _Parser(
        prog="kapsession",
        description="Session-room assistant for ketamine-assisted psychotherapy.",
        parents=[common],
    )
    parser.add_argument(
        "--rehearsal",
        action="store_true",
        help="open a rehearsal session with a demo client; the dose is given at start",
    )
    parser.add_argument(
        "--time-scale",
        type=_time_scale,
        metavar="N",
        help="with --rehearsal: run the session clock N times faster",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="open the main window, paint once, exit 0"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.add_parser("sessions", parents=[common], help="list sessions")
    verify = sub.add_parser(
        "verify",
        parents=[common],
        help="check the database's integrity and its audit trail; exit 1 if anything is broken",
    )
    verify.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="a backup file or data folder (default: --data-dir); an encrypted backup file is "
        "opened with the key file of --data-dir if given, else the kapsession.key beside it",
    )
    backup = sub.add_parser(
        "backup", parents=[common], help="write a verified backup of the database"
    )
    backup.add_argument(
        "--to",
        metavar="DIR",
        help=f"backup folder (default: ${paths.BACKUP_ENV_VAR} or 'backups' in the data folder)",
    )
    restore = sub.add_parser(
        "restore", parents=[common], help="put a backup in place of the data folder's database"
    )
    restore.add_argument(
        "backup",
        metavar="BACKUP",
        help="a kapsession-*.sqlite3 backup file (an encrypted one: with the data folder's key, "
        "or into a new folder with the kapsession.key beside the backup)",
    )
    restore.add_argument(
        "--yes", action="store_true", help="replace an existing database (kept aside, not deleted)"
    )
    restore.add_argument(
        "--encrypt-plaintext",
        action="store_true",
        help="restore an unencrypted backup into an encrypted data folder, encrypting it with "
        "the folder's key on the way in (refused without this)",
    )
    export = sub.add_parser("export", parents=[common], help="export a session")
    export.add_argument("--session", default="latest", metavar="ID|latest")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of to stdout")
    export.add_argument(
        "--validate",
        action="store_true",
        help="with --format fhir: check the bundle against the FHIR R4(B) models before writing "
        "it (several seconds for a long session; nothing is written if it fails)",
    )
    sub.add_parser(
        "encrypt",
        parents=[common],
        help="encrypt this data folder with a new passphrase (the app must be closed)",
    )
    sub.add_parser(
        "passphrase", parents=[common], help="change the passphrase of an encrypted data folder"
    )
    handout = sub.add_parser(
        "handout", parents=[common], help="print a client handout (PDF) for a session"
    )
    handout.add_argument("--which", required=True, choices=session_export.HANDOUTS)
    handout.add_argument("--session", default="latest", metavar="ID|latest")
    handout.add_argument("-o", "--output", metavar="FILE", help="write here instead of to stdout")
    _clinician_parsers(sub, common)
    from kapsession.cli import measure_commands

    measure_commands.add_parsers(sub, common, _Parser)
    from kapsession.cli import hub_commands

    hub_commands.add_parsers(sub, common, _Parser)
    playlist = sub.add_parser("playlist", parents=[common], help="music arcs and playlists")
    playlist_sub = playlist.add_subparsers(
        dest="playlist_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    check = playlist_sub.add_parser(
        "check",
        parents=[common],
        help="pre-check every track of an arc (.arc.toml) or an M3U/M3U8/XSPF playlist",
    )
    check.add_argument("path", metavar="PATH")
    check.add_argument(
        "--planned-minutes",
        type=int,
        metavar="N",
        help="compare the playable length with a session of N minutes (default: the arc's own)",
    )
    check.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="json: one object per track (path, status, duration_s, loudness_lufs, "
        "true_peak_dbtp, gain_db)",
    )
    imp = playlist_sub.add_parser(
        "import",
        parents=[common],
        help="make an arc (.arc.toml) from an M3U/M3U8/XSPF playlist, tracks in order",
    )
    imp.add_argument("path", metavar="PLAYLIST")
    imp.add_argument("--to", required=True, metavar="ARC", help="the arc file to write")
    imp.add_argument("--name", help="the arc's name (default: the playlist's file name)")
    imp.add_argument(
        "--phases",
        default="session",
        metavar="A,B,...",
        help="phase names; the tracks are shared among them in order (default: one phase)",
    )
    imp.add_argument(
        "--minutes",
        type=float,
        metavar="N",
        help="the arc's length when the playlist gives no track durations (default 60)",
    )
    exp = playlist_sub.add_parser(
        "export",
        parents=[common],
        help="write an arc's tracks as an M3U8 or XSPF playlist (by -o's extension)",
    )
    exp.add_argument("path", metavar="ARC")
    exp.add_argument("-o", "--output", required=True, metavar="FILE", help="a .m3u8 or .xspf")
    return parser


# Arguments that name a file or folder: an empty one would silently mean "." or the default.
_PATH_ARGS = {
    "data_dir": "--data-dir",
    "path": "PATH",
    "backup": "BACKUP",
    "to": "--to",
    "output": "-o/--output",
    "clinic_key": "--clinic-key",
    "logins": "--logins",
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, shown in _PATH_ARGS.items():
        if getattr(args, name, None) == "":
            parser.error(f"{shown} is empty; give a file or folder name")
    if args.time_scale is not None and not args.rehearsal:
        parser.error("--time-scale only applies with --rehearsal")
    if args.command and (args.rehearsal or args.smoke):
        parser.error(
            f"--rehearsal and --smoke open the app; they do not combine with {args.command}"
        )
    return args


def data_dir_of(args: argparse.Namespace) -> Path:
    return paths.data_dir(getattr(args, "data_dir", None))


def main(argv: Sequence[str] | None = None) -> int:
    privacy.private_umask()
    args = parse_args(argv)
    if not args.command:
        _say("kapsession: the app is opened by the kapsession program (ui.app).", file=sys.stderr)
        return EXIT_USAGE
    return run_command(args)


EXIT_BROKEN = 1
EXIT_ALREADY_OPEN = 3


def run_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    privacy.install_excepthook()
    try:
        folder = data_dir_of(args)
        if folder.exists() and not folder.is_dir():
            raise KapsessionError(f"The data folder {folder} is not a folder.")
        return _run(args, out or sys.stdout)
    except KapsessionError as exc:
        _say(f"kapsession: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        # A path the system refuses (too long, a loop of links, not a folder...): the name
        # and the reason, never a traceback.
        where = f" {os.fsdecode(exc.filename)}" if exc.filename is not None else ""
        _say(f"kapsession: cannot use{where}: {exc.strerror or type(exc).__name__}.", sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace, out: TextIO) -> int:
    """The subcommand; a KapsessionError it raises is said by run_command in one line."""
    if args.command == "verify":
        path = Path(args.path) if args.path else data_dir_of(args)
        return _verify(path, out, _key_to_read(path, getattr(args, "data_dir", None)))
    if args.command == "backup":
        return _backup(args, out)
    if args.command == "restore":
        return _restore(args, out)
    if args.command == "playlist":
        if args.playlist_command == "import":
            return _playlist_import(args, out)
        if args.playlist_command == "export":
            return _playlist_export(args, out)
        return _playlist_check(
            Path(args.path), args.planned_minutes, out, args.format, data_dir_of(args)
        )
    if args.command == "board":
        raise KapsessionError(
            "The room board is a window: open it with the kapsession program "
            "(`kapsession board --dsn DSN`)."
        )
    if args.command == "hub":
        from kapsession.cli import hub_commands

        return hub_commands.run(args, out, data_dir_of(args), _open_store)
    if args.command in ("encrypt", "passphrase"):
        return _key_command(args.command, data_dir_of(args), out)
    if args.command == "clinicians" and args.clinicians_command == "add":
        _create_if_new(data_dir_of(args))  # the first clinician may come before the app
    try:
        store = _open_store(data_dir_of(args))
    except KapsessionError as exc:
        if args.command == "sessions" and "no kapsession data" in str(exc):
            _say("No sessions yet.", file=out)
            return 0
        raise
    try:
        if args.command == "sessions":
            return _sessions(store, out)
        if args.command in ("clinicians", "sign"):
            from kapsession.cli import clinician_commands

            return clinician_commands.run(store, args, out, _pick_session, local_zone_name())
        if args.command == "measures":
            from kapsession.cli import measure_commands

            return measure_commands.run(store, args, out, data_dir_of(args))
        return _export(store, args, out)
    finally:
        store.close()


def _key_to_read(path: Path, data_dir: str | None) -> bytes | None:
    """The data key for reading PATH (a data folder or a backup file), or None when it is not
    encrypted. A folder: its own key file. A backup file: the key file of --data-dir when given,
    else the copy of its folder's key file beside the backup (kapsession-<folder id>.key, or
    kapsession.key for a backup from before folder ids), else the default
    data folder's. The passphrase: the keyring (data folders), $KAPSESSION_PASSPHRASE or a prompt."""
    from kapsession.storage.backup import key_file_beside
    from kapsession.storage.store import is_plaintext

    if path.is_dir():
        return datakey.key_for(path, ask=_prompt)
    if not path.is_file() or is_plaintext(path):
        return None
    if data_dir and datakey.has_key_file(Path(data_dir)):
        return datakey.key_for(Path(data_dir), ask=_prompt)
    if key_file_beside(path).exists():
        return datakey.key_from_file(key_file_beside(path), ask=_prompt)
    if datakey.has_key_file(paths.data_dir(None)):
        return datakey.key_for(paths.data_dir(None), ask=_prompt)
    return None  # not a database, or no key file to open it with: said by _verify


def _verify(path: Path, out: TextIO, key: bytes | None = None) -> int:
    """0 and one line when whole; 1 and every break, one a line; 2 when there is nothing usable."""
    from kapsession.storage import backup as backup_mod

    try:
        store = Store.open_readonly(path, key)
    except KapsessionError as exc:
        hint = ""
        if key is None and path.is_file():
            hint = (
                " If it is an encrypted backup, give the data folder it came from with "
                "--data-dir, or keep its kapsession.key beside it."
            )
        _say(f"kapsession: {exc}{hint}", file=sys.stderr)
        return EXIT_USAGE
    try:
        chains = None
        if path.is_file():  # a backup: its folder's chain key is kept beside it, by its id
            chains = store.chain.candidates + backup_mod.beside_chain_keys(path, store.key)
        report = backup_mod.verify_connection(store.db.conn, chains)
        report.problems += _signature_problems(store)
        if path.is_dir():
            backups = backup_mod.backup_dir(None, path)
            problems = backup_mod.cross_check(store.db.conn, backups, key=key)
            report.problems += problems
    except sqlite3.DatabaseError as exc:
        _say(f"kapsession: {path} is not a readable kapsession database ({exc}).", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    if report.ok:
        _say(f"OK: integrity ok, foreign keys ok, {report.summary()}.", file=out)
        return 0
    _say(f"BROKEN: {len(report.problems)} problem(s) in {path}", file=out)
    for problem in report.problems:
        _say(f"  {problem}", file=out)
    return EXIT_BROKEN


def _backup(args: argparse.Namespace, out: TextIO) -> int:
    from kapsession.storage import backup as backup_mod

    folder = data_dir_of(args)
    target = backup_mod.backup_dir(args.to, folder)
    try:
        store = _open_store(folder)  # an encrypted folder: its key, asked for once
        try:
            result = backup_mod.create(folder, target, SystemClock().now(), key=store.key)
            backup_mod.record(store, result)
        finally:
            store.close()
    except KapsessionError as exc:
        _say(f"kapsession: {exc}", file=sys.stderr)
        return EXIT_USAGE
    v = result.verified
    _say(
        f"Backup written and verified: {result.path} ({v.entries} audit entries, {v.rows} rows)",
        file=out,
    )
    for path in result.pruned:
        _say(f"Removed by the retention rule: {path.name}", file=out)
    if v.problems:
        _say(f"The record itself has {len(v.problems)} audit problem(s):", file=out)
        for problem in v.problems:
            _say(f"  {problem}", file=out)
        return EXIT_BROKEN
    return 0


def _restore(args: argparse.Namespace, out: TextIO) -> int:
    from kapsession.errors import AlreadyOpenError
    from kapsession.storage import backup as backup_mod
    from kapsession.storage.store import is_plaintext

    source, folder = Path(args.backup), data_dir_of(args)
    try:
        key, key_file = None, None
        if datakey.has_key_file(folder):
            key = datakey.key_for(folder, ask=_prompt)
        elif source.is_file() and not is_plaintext(source):
            beside = backup_mod.key_file_beside(source)
            if beside.exists():
                key_file, key = beside, datakey.key_from_file(beside, ask=_prompt)
        result = backup_mod.restore(
            source,
            folder,
            SystemClock().now(),
            replace=args.yes,
            key=key,
            key_file=key_file,
            encrypt_plaintext=args.encrypt_plaintext,
        )
    except AlreadyOpenError:
        _say(
            "kapsession: kapsession is open on this data folder; close it before restoring.",
            file=sys.stderr,
        )
        return EXIT_ALREADY_OPEN
    except KapsessionError as exc:
        _say(f"kapsession: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _say(
        f"Restored {result.restored_from.name} ({result.verified.entries} audit entries).", file=out
    )
    if result.replaced is not None:
        _say(f"The replaced database was kept as {result.replaced}", file=out)
    return 0


def _open_store(folder: Path) -> Store:
    """Open for reading; an encrypted folder with its key (keyring, $KAPSESSION_PASSPHRASE or a
    prompt). A set-up interrupted before its database was encrypted is finished here, only
    while no app has the folder open."""
    from kapsession.storage.instance_lock import InstanceLock
    from kapsession.storage.store import is_plaintext

    key = datakey.key_for(folder, ask=_prompt)
    if key is None or not is_plaintext(folder / paths.DB_NAME):
        return Store.open(folder, create=False, key=key)
    lock = InstanceLock(folder)
    lock.acquire()
    try:
        return Store.open(folder, create=False, key=key)
    finally:
        lock.release()


def _prompt(label: str = "Passphrase for the kapsession data: ") -> str | None:
    """A passphrase typed at a terminal (never echoed); None when there is no terminal."""
    if not sys.stdin.isatty():
        return None
    import getpass

    try:
        return getpass.getpass(label)
    except (EOFError, KeyboardInterrupt):
        return None


def _new_passphrase() -> str:
    """A new passphrase: $KAPSESSION_NEW_PASSPHRASE, or typed twice at a terminal."""
    given = os.environ.get("KAPSESSION_NEW_PASSPHRASE")
    if given is not None:
        datakey.check_passphrase(given)
        return given
    first = _prompt(f"New passphrase (at least {datakey.MIN_PASSPHRASE} characters): ")
    if first is None:
        raise KapsessionError(
            "A new passphrase is needed: run this at a terminal, or set $KAPSESSION_NEW_PASSPHRASE."
        )
    datakey.check_passphrase(first, _prompt("The same passphrase again: ") or "")
    return first


def _key_command(command: str, folder: Path, out: TextIO) -> int:
    from kapsession.storage.instance_lock import InstanceLock

    lock = InstanceLock(folder)
    if not folder.is_dir():
        raise KapsessionError(f"There is no kapsession data in {folder}.")
    lock.acquire()  # the app (or another command) must not have the database open
    try:
        if command == "passphrase":
            if not datakey.has_key_file(folder):
                raise KapsessionError(
                    f"The data in {folder} is not encrypted; use `kapsession encrypt`."
                )
            old = privacy.secret_from_env(datakey.PASSPHRASE_ENV) or _prompt("Current passphrase: ")
            if not old:
                raise KapsessionError("The current passphrase is needed.")
            key = datakey.unlock(folder, old)  # wrong: say so before asking for a new one
            datakey.change_passphrase(folder, old, _new_passphrase())
            # On the audit trail once the new key file is in place (a kill before this leaves
            # the change done but unrecorded, never recorded but not done).
            store = Store.open(folder, create=False, key=key)
            try:
                store.audit("key_change", "database", detail="passphrase changed; key re-wrapped")
            finally:
                store.close()
            _say(
                "Passphrase changed (the data key was re-wrapped; the data is unchanged).", file=out
            )
            return 0
        if datakey.has_key_file(folder):
            raise KapsessionError(f"The data in {folder} is already encrypted.")
        if not datakey.encryption_available():
            raise KapsessionError(datakey.UNAVAILABLE)
        key = datakey.create_key(folder, _new_passphrase())
        # Encrypts the existing database in place and puts `encrypt` on its audit trail.
        Store.open(folder, key=key).close()
        _say(f"The data in {folder} is now encrypted.", file=out)
        return 0
    finally:
        lock.release()


def _local(text: str | None) -> str:
    if not text:
        return "-"
    return parse_iso(text).astimezone().strftime("%Y-%m-%d %H:%M")


def _duration(record: SessionRecord) -> str:
    if record.ended_t is None:
        return "-"
    return minutes_seconds(record.ended_t)


def _sessions(store: Store, out: TextIO) -> int:
    records = store.sessions()
    if not records:
        _say("No sessions yet.", file=out)
        return 0
    header = f"{'ID':>4}  {'STATE':<8} {'CLIENT':<16} {'ROUTE':<13} {'DOSE':>7}  {'PLAN':>4}  {'DOSE GIVEN':<16} {'LENGTH':>6}"
    _say(header, file=out)
    for r in records:
        client = r.client_code + (" (R)" if r.rehearsal else "")
        _say(
            f"{r.id:>4}  {r.state:<8} {client[:16]:<16} {r.route:<13} {r.dose_mg:>5g}mg"
            f"  {r.planned_minutes:>4}  {_local(r.dose_at):<16} {_duration(r):>6}",
            file=out,
        )
    if any(r.rehearsal for r in records):
        _say("(R) = rehearsal session", file=out)
    return 0


def _pick_session(store: Store, which: str) -> SessionRecord:
    if which == "latest":
        records = store.sessions()
        if not records:
            raise KapsessionError("There are no sessions to export.")
        started = [r for r in records if r.state != "planned"]
        return (started or records)[-1]
    if not which.isdigit() or not which.isascii():
        raise KapsessionError(f"--session must be a session number or 'latest', not {which!r}.")
    number = int(which)
    if number > MAX_SESSION_ID:
        raise KapsessionError(f"There is no session {number}.")
    return store.session(number)


def _export(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    """`export` and `handout`: render, write the whole file (or nothing), then note it on the
    session's timeline."""
    if getattr(args, "validate", False) and args.format != "fhir":
        raise KapsessionError("--validate checks a FHIR bundle: use it with --format fhir.")
    folder = data_dir_of(args)
    backups = outpaths.backup_folders(folder)
    if args.output is not None:  # before anything is made: a refused place costs nothing
        outpaths.check_output_path(args.output, folder, backups)
    record = _pick_session(store, args.session)
    _chart_from_environment(store)  # a wrong PIN: refused before anything is written
    doc = session_export.timeline(store, record.id, SystemClock().now())
    what = f"{args.which} handout" if args.command == "handout" else f"{args.format} export"
    try:
        if args.command == "handout":
            kind, data = "handout", {"which": args.which}
            payload = session_export.render_handout(doc, args.which)
        else:
            kind, data = "export", {"format": args.format}
            payload = session_export.render(doc, args.format, validate=args.validate)
    except KapsessionError:
        raise
    except Exception as exc:
        # Never the exception's text: a validation message can quote a note.
        raise KapsessionError(
            f"The {what} could not be made ({type(exc).__name__}); nothing was written."
        ) from None
    binary = kind == "handout" or args.format in session_export.BINARY_FORMATS
    if args.output is not None:
        outpaths.write_output(Path(args.output), payload, folder, backups)
        data["to"] = "file"
    else:
        _to_stdout(payload, binary, out)
        data["to"] = "stdout"
    try:
        session_export.record_output(
            store, record, kind, data, payload, local_zone_name(), getpass.getuser()
        )
        store.audit(
            kind,
            "sessions",
            target_id=record.id,
            detail=args.which if kind == "handout" else args.format,
        )
    except (sqlite3.Error, OSError) as exc:
        # The file is complete; only the note of it is missing. Say so, without failing.
        _say(
            f"kapsession: written, but not noted on the session's timeline ({type(exc).__name__}).",
            file=sys.stderr,
        )
    return 0


def _clinician_parsers(sub: argparse._SubParsersAction[_Parser], common: _Parser) -> None:
    from kapsession.storage.clinicians import ROLES

    clin = sub.add_parser("clinicians", parents=[common], help="the clinicians who chart and sign")
    clin_sub = clin.add_subparsers(
        dest="clinicians_command", metavar="list|add|deactivate", parser_class=_Parser
    )
    clin_sub.required = True
    clin_sub.add_parser("list", parents=[common], help="every clinician, active or not")
    add = clin_sub.add_parser(
        "add",
        parents=[common],
        help="add a clinician (PIN typed twice, or $KAPSESSION_CLINICIAN_PIN)",
    )
    add.add_argument("--name", required=True, metavar="NAME")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--credentials", default="", metavar="TEXT", help="e.g. LCSW, MD, RN")
    off = clin_sub.add_parser(
        "deactivate", parents=[common], help="a clinician can no longer chart or sign"
    )
    off.add_argument("--name", required=True, metavar="NAME")
    sign = sub.add_parser(
        "sign",
        parents=[common],
        help="sign or co-sign an ended session (PIN typed, or $KAPSESSION_SIGNER_PIN)",
    )
    sign.add_argument("--session", default="latest", metavar="ID|latest")
    sign.add_argument("--as", dest="signer", required=True, metavar="NAME")
    sign.add_argument("--meaning", metavar="TEXT", help='default: "reviewed and approved"')


def _create_if_new(folder: Path) -> None:
    """A new, unencrypted data folder (the app's first launch can still encrypt it)."""
    if not (folder / paths.DB_NAME).exists() and not datakey.has_key_file(folder):
        Store.open(folder).close()


def _signature_problems(store: Store) -> list[Any]:
    """`verify` also checks every signature against its record (exports/signing.py)."""
    from kapsession.exports import signing

    try:
        exists = store.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'clinicians'"
        ).fetchone()
        if not exists:
            return []
        return list(signing.signature_problems(store))
    except (sqlite3.Error, ValueError, KapsessionError) as exc:
        return [f"signatures: not checked ({type(exc).__name__})"]


def _chart_from_environment(store: Store) -> None:
    """A scripted command's entries carry $KAPSESSION_CLINICIAN when it is set."""
    from kapsession.storage import clinicians

    found = clinicians.from_environment(store, SystemClock(), register=False)
    if found is not None:
        clinicians.charting_as(store, found)


def _to_stdout(payload: bytes, binary: bool, out: TextIO) -> None:
    if not binary:
        out.write(payload.decode("utf-8"))
        out.flush()
        return
    buffer = getattr(out, "buffer", None)
    if buffer is None or out.isatty():
        raise KapsessionError("A PDF cannot be shown here; give a file name with -o FILE.")
    buffer.write(payload)
    buffer.flush()


def _playlist_check(
    path: Path,
    planned_minutes: int | None,
    out: TextIO,
    fmt: str = "text",
    folder: Path | None = None,
) -> int:
    """One line per track (ok with its length and loudness, missing, unreadable, undecodable),
    a summary against the planned length; exit 1 if any track would fail. Loudness levels are
    cached in the data folder (kapsession.music.r128), so a second check only hashes."""
    from kapsession.music import r128
    from kapsession.music.arc import load_arc
    from kapsession.music.playlist_formats import read_playlist
    from kapsession.music.preflight import format_report, probe_json, summarize, with_levels
    from kapsession.music.probe import MediaProbe
    from kapsession.music.vlc_player import probe_media

    _input_file(path, "playlist or arc")
    target = r128.TARGET_LUFS
    if path.name.endswith(".toml"):
        arc = load_arc(path)
        probes = probe_media(arc.tracks())
        planned_minutes = planned_minutes or arc.planned_minutes
        target = arc.target_lufs
    else:
        entries = read_playlist(path)
        local = [e.path for e in entries if e.path is not None]
        found = iter(probe_media(local))
        probes = [
            next(found)
            if e.path is not None
            else MediaProbe(
                Path(e.location),
                "unreadable",
                None,
                "a URL: sessions play local files, offline",
                shown=e.location,
            )
            for e in entries
        ]
    probes = with_levels(probes, r128.LevelCache.in_folder(folder), target)
    report = summarize(probes, planned_minutes)
    if fmt == "json":
        import json

        for probe in report.probes:
            out.write(json.dumps(probe_json(probe), ensure_ascii=True) + "\n")
        out.flush()
    else:
        for line in format_report(report):
            _say(line, file=out)
    return 1 if report.failed else 0


def _playlist_import(args: argparse.Namespace, out: TextIO) -> int:
    """Playlist -> arc: local tracks in order, shared among the named phases; URLs left out and
    said so. The arc's text is read back before it is written, so what is written is what the
    app will load, and a name or title it would refuse leaves no file behind. A new arc may go
    into the data folder's arcs/ (created if missing), where the app finds it; nowhere else in
    the data folder."""
    from kapsession.music.arc import ARC_SUFFIX, arc_to_toml, parse_arc
    from kapsession.music.playlist_formats import arc_from_playlist, read_playlist

    source, target = Path(args.path), Path(args.to)
    folder = data_dir_of(args)
    arcs = folder / "arcs"
    _input_file(source, "playlist")
    if not target.name.endswith(ARC_SUFFIX):
        raise KapsessionError(f"The arc's file name must end in {ARC_SUFFIX}.")
    if os.path.lexists(target):
        raise KapsessionError(f"{target} exists already; choose another name.")
    into_arcs = folder.is_dir() and _same_folder(target.parent, arcs)
    if not into_arcs:
        outpaths.check_output_path(target, folder, outpaths.backup_folders(folder))
    phases = [p.strip() for p in str(args.phases).split(",")]
    name = args.name if args.name is not None else source.stem
    arc = arc_from_playlist(read_playlist(source), name, phases, args.minutes)
    try:
        text = arc_to_toml(arc, target.parent.absolute())
        written = parse_arc(text, target.name, target.parent)
    except InvalidEntry as exc:  # e.g. a --name longer than an arc's name may be
        raise KapsessionError(f"{exc}; nothing was written.") from None
    if into_arcs:
        try:
            arcs.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise KapsessionError(outpaths.cannot_write(target, exc)) from None
        outpaths.check_output_path(
            target, folder, outpaths.backup_folders(folder), new_file_in=arcs
        )
    _write(target, text.encode("utf-8"))
    tracks = len(written.tracks())
    _say(
        f"Wrote {target}: {tracks} track{'' if tracks == 1 else 's'} in "
        f"{len(written.phases)} phase{'' if len(written.phases) == 1 else 's'}, "
        f"{written.total_minutes:g} minutes.",
        file=out,
    )
    for warning in arc.warnings:
        _say(f"  left out: {warning}", file=out)
    _say(f"Check it with: kapsession playlist check {target}", file=out)
    return 0


def _input_file(path: Path, what: str) -> None:
    """A file to read must exist; what it is (a FIFO would block the read, a device never end)
    is for the one safe reader to say (safe_files.read_handed_in), which names it exactly."""
    if not os.path.exists(path):  # False, not an error, for a name too long to exist
        raise KapsessionError(f"There is no {what} at {path}.")


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.absolute().resolve() == b.absolute().resolve()
    except (OSError, RuntimeError):
        return False


def _write(target: Path, data: bytes) -> None:
    from kapsession.storage import safe_files

    try:
        safe_files.write_atomically(target, data)
    except OSError as exc:
        raise KapsessionError(outpaths.cannot_write(target, exc)) from None


def _playlist_export(args: argparse.Namespace, out: TextIO) -> int:
    from kapsession.music.arc import load_arc
    from kapsession.music.playlist_formats import playlist_from_arc, write_m3u8, write_xspf

    source, target = Path(args.path), Path(args.output)
    folder = data_dir_of(args)
    _input_file(source, "arc")
    suffix = target.suffix.lower()
    if args.output and suffix not in (".m3u8", ".m3u", ".xspf"):
        raise KapsessionError("The playlist's file name must end in .m3u8, .m3u or .xspf.")
    outpaths.check_output_path(args.output, folder, outpaths.backup_folders(folder))
    arc = load_arc(source)
    entries = playlist_from_arc(arc)
    try:
        if suffix == ".xspf":
            write_xspf(entries, target, arc.name)
        else:
            write_m3u8(entries, target)
    except OSError as exc:
        raise KapsessionError(outpaths.cannot_write(target, exc)) from None
    _say(
        f"Wrote {target}: {len(entries)} tracks (phases, silences and fades stay in the arc).",
        file=out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
