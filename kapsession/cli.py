"""The command line: argument parsing for the whole program, and the subcommands that need no GUI.

`kapsession` with no subcommand opens the app (ui.app does that; this module never imports Qt)."""

from __future__ import annotations

import argparse
import errno
import getpass
import math
import os
import sqlite3
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn, TextIO

from . import exports, fileio, hygiene, keys, paths
from .clock import SystemClock
from .errors import KapsessionError
from .store import SessionRecord, Store, parse_iso

EXIT_USAGE = 2
FORMATS = exports.FORMATS


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one clear line and exit 2 (no usage dump to wade through)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"kapsession: {message} (see kapsession --help)\n")


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
    export = sub.add_parser("export", parents=[common], help="export a session")
    export.add_argument("--session", default="latest", metavar="ID|latest")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of to stdout")
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
    handout.add_argument("--which", required=True, choices=exports.HANDOUTS)
    handout.add_argument("--session", default="latest", metavar="ID|latest")
    handout.add_argument("-o", "--output", metavar="FILE", help="write here instead of to stdout")
    playlist = sub.add_parser("playlist", parents=[common], help="music arcs and playlists")
    playlist_sub = playlist.add_subparsers(
        dest="playlist_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    check = playlist_sub.add_parser(
        "check", help="pre-check every track of an arc (.arc.toml) or an M3U/M3U8/XSPF playlist"
    )
    check.add_argument("path", metavar="PATH")
    check.add_argument(
        "--planned-minutes",
        type=int,
        metavar="N",
        help="compare the playable length with a session of N minutes (default: the arc's own)",
    )
    imp = playlist_sub.add_parser(
        "import", help="make an arc (.arc.toml) from an M3U/M3U8/XSPF playlist, tracks in order"
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
        "export", help="write an arc's tracks as an M3U8 or XSPF playlist (by -o's extension)"
    )
    exp.add_argument("path", metavar="ARC")
    exp.add_argument("-o", "--output", required=True, metavar="FILE", help="a .m3u8 or .xspf")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
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
    hygiene.private_umask()
    args = parse_args(argv)
    if not args.command:
        print("kapsession: the app is opened by the kapsession program (ui.app).", file=sys.stderr)
        return EXIT_USAGE
    return run_command(args)


EXIT_BROKEN = 1
EXIT_ALREADY_OPEN = 3


def run_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    hygiene.install_excepthook()
    if args.command == "verify":
        path = Path(args.path) if args.path else data_dir_of(args)
        try:
            key = _key_to_read(path, getattr(args, "data_dir", None))
        except KapsessionError as exc:
            print(f"kapsession: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return _verify(path, out, key)
    if args.command == "backup":
        return _backup(args, out)
    if args.command == "restore":
        return _restore(args, out)
    if args.command == "playlist":
        try:
            if args.playlist_command == "import":
                return _playlist_import(args, out)
            if args.playlist_command == "export":
                return _playlist_export(Path(args.path), Path(args.output), out)
            return _playlist_check(Path(args.path), args.planned_minutes, out)
        except KapsessionError as exc:
            print(f"kapsession: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.command in ("encrypt", "passphrase"):
        try:
            return _key_command(args.command, data_dir_of(args), out)
        except KapsessionError as exc:
            print(f"kapsession: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        store = _open_store(data_dir_of(args))
    except KapsessionError as exc:
        if args.command == "sessions" and "no kapsession data" in str(exc):
            print("No sessions yet.", file=out)
            return 0
        print(f"kapsession: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "sessions":
            return _sessions(store, out)
        return _export(store, args, out)
    except KapsessionError as exc:
        print(f"kapsession: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()


def _key_to_read(path: Path, data_dir: str | None) -> bytes | None:
    """The data key for reading PATH (a data folder or a backup file), or None when it is not
    encrypted. A folder: its own key file. A backup file: the key file of --data-dir when given,
    else the kapsession.key beside the backup (backups keep a copy there), else the default
    data folder's. The passphrase: the keyring (data folders), $KAPSESSION_PASSPHRASE or a prompt."""
    from .store import is_plaintext

    if path.is_dir():
        return keys.key_for(path, ask=_prompt)
    if not path.is_file() or is_plaintext(path):
        return None
    for folder in (Path(data_dir) if data_dir else None, path.parent, paths.data_dir(None)):
        if folder is not None and keys.has_key_file(folder):
            return keys.key_for(folder, ask=_prompt)
    return None  # not a database, or no key file to open it with: said by _verify


def _verify(path: Path, out: TextIO, key: bytes | None = None) -> int:
    """0 and one line when whole; 1 and every break, one a line; 2 when there is nothing usable."""
    from . import audit
    from . import backup as backup_mod

    try:
        store = Store.open_readonly(path, key)
    except KapsessionError as exc:
        hint = ""
        if key is None and path.is_file():
            hint = (
                " If it is an encrypted backup, give the data folder it came from with "
                "--data-dir, or keep its kapsession.key beside it."
            )
        print(f"kapsession: {exc}{hint}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = audit.verify(store.db.conn)
        if path.is_dir():
            backups = backup_mod.backup_dir(None, path)
            problems = backup_mod.cross_check(store.db.conn, backups, key=key)
            report.problems += problems
    except sqlite3.DatabaseError as exc:
        print(f"kapsession: {path} is not a readable kapsession database ({exc}).", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    if report.ok:
        print(f"OK: integrity ok, foreign keys ok, {report.summary()}.", file=out)
        return 0
    print(f"BROKEN: {len(report.problems)} problem(s) in {path}", file=out)
    for problem in report.problems:
        print(f"  {problem}", file=out)
    return EXIT_BROKEN


def _backup(args: argparse.Namespace, out: TextIO) -> int:
    from . import backup as backup_mod

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
        print(f"kapsession: {exc}", file=sys.stderr)
        return EXIT_USAGE
    v = result.verified
    print(
        f"Backup written and verified: {result.path} ({v.entries} audit entries, {v.rows} rows)",
        file=out,
    )
    for path in result.pruned:
        print(f"Removed by the retention rule: {path.name}", file=out)
    if v.problems:
        print(f"The record itself has {len(v.problems)} audit problem(s):", file=out)
        for problem in v.problems:
            print(f"  {problem}", file=out)
        return EXIT_BROKEN
    return 0


def _restore(args: argparse.Namespace, out: TextIO) -> int:
    from . import backup as backup_mod
    from .errors import AlreadyOpenError
    from .store import is_plaintext

    source, folder = Path(args.backup), data_dir_of(args)
    try:
        key, key_file = None, None
        if keys.has_key_file(folder):
            key = keys.key_for(folder, ask=_prompt)
        elif source.is_file() and not is_plaintext(source) and keys.has_key_file(source.parent):
            key_file = keys.key_path(source.parent)
            key = keys.key_for(source.parent, ask=_prompt)
        result = backup_mod.restore(
            source, folder, SystemClock().now(), replace=args.yes, key=key, key_file=key_file
        )
    except AlreadyOpenError:
        print(
            "kapsession: kapsession is open on this data folder; close it before restoring.",
            file=sys.stderr,
        )
        return EXIT_ALREADY_OPEN
    except KapsessionError as exc:
        print(f"kapsession: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"Restored {result.restored_from.name} ({result.verified.entries} audit entries).", file=out
    )
    if result.replaced is not None:
        print(f"The replaced database was kept as {result.replaced}", file=out)
    return 0


def _open_store(folder: Path) -> Store:
    """Open for reading; an encrypted folder with its key (keyring, $KAPSESSION_PASSPHRASE or a
    prompt). A set-up interrupted before its database was encrypted is finished here, only
    while no app has the folder open."""
    from .instance import InstanceLock
    from .store import is_plaintext

    key = keys.key_for(folder, ask=_prompt)
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
        keys.check_passphrase(given)
        return given
    first = _prompt(f"New passphrase (at least {keys.MIN_PASSPHRASE} characters): ")
    if first is None:
        raise KapsessionError(
            "A new passphrase is needed: run this at a terminal, or set $KAPSESSION_NEW_PASSPHRASE."
        )
    keys.check_passphrase(first, _prompt("The same passphrase again: ") or "")
    return first


def _key_command(command: str, folder: Path, out: TextIO) -> int:
    from .instance import InstanceLock

    lock = InstanceLock(folder)
    if not folder.is_dir():
        raise KapsessionError(f"There is no kapsession data in {folder}.")
    lock.acquire()  # the app (or another command) must not have the database open
    try:
        if command == "passphrase":
            if not keys.has_key_file(folder):
                raise KapsessionError(
                    f"The data in {folder} is not encrypted; use `kapsession encrypt`."
                )
            old = os.environ.get(keys.PASSPHRASE_ENV) or _prompt("Current passphrase: ")
            if not old:
                raise KapsessionError("The current passphrase is needed.")
            key = keys.unlock(folder, old)  # wrong: say so before asking for a new one
            keys.change_passphrase(folder, old, _new_passphrase())
            # On the audit trail once the new key file is in place (a kill before this leaves
            # the change done but unrecorded, never recorded but not done).
            store = Store.open(folder, create=False, key=key)
            try:
                store.audit("key_change", "database", detail="passphrase changed; key re-wrapped")
            finally:
                store.close()
            print(
                "Passphrase changed (the data key was re-wrapped; the data is unchanged).", file=out
            )
            return 0
        if keys.has_key_file(folder):
            raise KapsessionError(f"The data in {folder} is already encrypted.")
        if not keys.encryption_available():
            raise KapsessionError(keys.UNAVAILABLE)
        key = keys.create_key(folder, _new_passphrase())
        # Encrypts the existing database in place and puts `encrypt` on its audit trail.
        Store.open(folder, key=key).close()
        print(f"The data in {folder} is now encrypted.", file=out)
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
    minutes, seconds = divmod(int(record.ended_t), 60)
    return f"{minutes}:{seconds:02d}"


def _sessions(store: Store, out: TextIO) -> int:
    records = store.sessions()
    if not records:
        print("No sessions yet.", file=out)
        return 0
    header = f"{'ID':>4}  {'STATE':<8} {'CLIENT':<16} {'ROUTE':<13} {'DOSE':>7}  {'PLAN':>4}  {'DOSE GIVEN':<16} {'LENGTH':>6}"
    print(header, file=out)
    for r in records:
        client = r.client_code + (" (R)" if r.rehearsal else "")
        print(
            f"{r.id:>4}  {r.state:<8} {client[:16]:<16} {r.route:<13} {r.dose_mg:>5g}mg"
            f"  {r.planned_minutes:>4}  {_local(r.dose_at):<16} {_duration(r):>6}",
            file=out,
        )
    if any(r.rehearsal for r in records):
        print("(R) = rehearsal session", file=out)
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
    return store.session(int(which))


def _export(store: Store, args: argparse.Namespace, out: TextIO) -> int:
    """`export` and `handout`: render, write the whole file (or nothing), then note it on the
    session's timeline."""
    record = _pick_session(store, args.session)
    doc = exports.timeline(store, record.id, SystemClock().now())
    what = f"{args.which} handout" if args.command == "handout" else f"{args.format} export"
    try:
        if args.command == "handout":
            kind, data = "handout", {"which": args.which}
            payload = exports.render_handout(doc, args.which)
        else:
            kind, data = "export", {"format": args.format}
            payload = exports.render(doc, args.format)
    except KapsessionError:
        raise
    except Exception as exc:
        # Never the exception's text: a validation message can quote a note.
        raise KapsessionError(
            f"The {what} could not be made ({type(exc).__name__}); nothing was written."
        ) from None
    binary = kind == "handout" or args.format == "pdf"
    if args.output:
        write_atomically(Path(args.output), payload)
        data["to"] = "file"
    else:
        _to_stdout(payload, binary, out)
        data["to"] = "stdout"
    try:
        exports.record_output(
            store, record, kind, data, payload, now_local_zone(), getpass.getuser()
        )
        store.audit(
            kind,
            "sessions",
            target_id=record.id,
            detail=args.which if kind == "handout" else args.format,
        )
    except (sqlite3.Error, OSError) as exc:
        # The file is complete; only the note of it is missing. Say so, without failing.
        print(
            f"kapsession: written, but not noted on the session's timeline ({type(exc).__name__}).",
            file=sys.stderr,
        )
    return 0


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


def _playlist_check(path: Path, planned_minutes: int | None, out: TextIO) -> int:
    """One line per track (ok with its length, missing, unreadable, undecodable), a summary
    against the planned length; exit 1 if any track would fail."""
    from .arc import load_arc
    from .playlist_formats import read_playlist
    from .preflight import MediaProbe, format_report, summarize
    from .vlc_player import probe_media

    if not os.path.exists(path):  # False, not an error, for a name too long to exist
        raise KapsessionError(f"There is no playlist or arc at {path}.")
    if path.name.endswith(".toml"):
        arc = load_arc(path)
        probes = probe_media(arc.tracks())
        planned_minutes = planned_minutes or arc.planned_minutes
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
    report = summarize(probes, planned_minutes)
    for line in format_report(report):
        print(line, file=out)
    return 1 if report.failed else 0


def _playlist_import(args: argparse.Namespace, out: TextIO) -> int:
    """Playlist -> arc: local tracks in order, shared among the named phases; URLs left out and
    said so. The written arc is read back, so what is written is what the app will load."""
    from .arc import ARC_SUFFIX, load_arc, write_arc
    from .playlist_formats import arc_from_playlist, read_playlist

    source, target = Path(args.path), Path(args.to)
    if not os.path.isfile(source):  # False, not an error, for a name too long to exist
        raise KapsessionError(f"There is no playlist at {source}.")
    if not target.name.endswith(ARC_SUFFIX):
        raise KapsessionError(f"The arc's file name must end in {ARC_SUFFIX}.")
    if target.exists():
        raise KapsessionError(f"{target} exists already; choose another name.")
    phases = [p.strip() for p in str(args.phases).split(",")]
    name = args.name or source.stem
    arc = arc_from_playlist(read_playlist(source), name, phases, args.minutes)
    write_arc(arc, target)
    written = load_arc(target)
    tracks = len(written.tracks())
    print(
        f"Wrote {target}: {tracks} track{'' if tracks == 1 else 's'} in "
        f"{len(written.phases)} phase{'' if len(written.phases) == 1 else 's'}, "
        f"{written.total_minutes:g} minutes.",
        file=out,
    )
    for warning in arc.warnings:
        print(f"  left out: {warning}", file=out)
    print(f"Check it with: kapsession playlist check {target}", file=out)
    return 0


def _playlist_export(source: Path, target: Path, out: TextIO) -> int:
    from .arc import load_arc
    from .playlist_formats import playlist_from_arc, write_m3u8, write_xspf

    if not source.is_file():
        raise KapsessionError(f"There is no arc at {source}.")
    arc = load_arc(source)
    entries = playlist_from_arc(arc)
    suffix = target.suffix.lower()
    if suffix in (".m3u8", ".m3u"):
        write_m3u8(entries, target)
    elif suffix == ".xspf":
        write_xspf(entries, target, arc.name)
    else:
        raise KapsessionError("The playlist's file name must end in .m3u8, .m3u or .xspf.")
    print(
        f"Wrote {target}: {len(entries)} tracks (phases, silences and fades stay in the arc).",
        file=out,
    )
    return 0


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write a whole file or nothing: a temp file beside it, fsync, rename. Whatever fails
    (a folder that is not writable, a full disk, an interruption), no partial file is left."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise KapsessionError(f"{path} is a folder; give a file name.")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if not folder.is_dir():
        raise KapsessionError(f"Cannot write to {path}: no such folder; nothing was written.")
    try:
        fileio.write_atomically(path, payload)
    except OSError as exc:
        raise KapsessionError(_cannot_write(path, exc)) from None


def _cannot_write(where: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return f"Cannot write {where}: the disk is full ({exc.strerror}); nothing was written."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"Cannot write to {where}: {exc.strerror}; nothing was written."
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"Cannot write to {where}: no such folder; nothing was written."
    return f"Cannot write {where}: {exc.strerror or type(exc).__name__}; nothing was written."


def now_local_zone() -> str:
    """The IANA name of the local time zone, stored beside every UTC timestamp."""
    import tzlocal

    try:
        return str(tzlocal.get_localzone_name() or "UTC")
    except Exception:  # a broken /etc/localtime must not stop a session
        return datetime.now().astimezone().tzname() or "UTC"


if __name__ == "__main__":
    raise SystemExit(main())
