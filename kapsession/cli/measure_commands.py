"""`kapsession measures add|list` (DESIGN.md, "Clinicians, signatures, the medical record"): a
paper PHQ-9, GAD-7 or clinic instrument entered by the clinician, and a client's measures as
JSON. Entered as $KAPSESSION_CLINICIAN (with its PIN) when set, else as the computer account
(shown as unassigned). Every refusal is one line naming the field, exit 2, nothing written."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from kapsession.cli.terminal_text import printable
from kapsession.clock import SystemClock
from kapsession.errors import AlreadyOpenError
from kapsession.integration import client_run, measures
from kapsession.storage import clinicians
from kapsession.storage.instance_lock import InstanceLock
from kapsession.storage.store import Store


def recover_if_alone(store: Store, data_dir: Path, clock: SystemClock) -> None:
    """A client-mode run left open by a stopped app becomes its incomplete measure first (as
    the app does when it opens), so a listing never shows a run half-way. Not while the app
    has the folder open: its run is still being answered, and not a measure yet."""
    if not client_run.open_run_count(store):
        return
    lock = InstanceLock(data_dir)
    try:
        lock.acquire()
    except (AlreadyOpenError, OSError):  # an app has it, or the folder is read-only
        return
    try:
        client_run.recover_open_runs(store, data_dir, clock)
    finally:
        lock.release()


def add_parsers(sub: argparse._SubParsersAction[Any], common: Any, parser_class: Any) -> None:
    top = sub.add_parser("measures", parents=[common], help="a client's rating scales (PHQ-9, ...)")
    which = top.add_subparsers(
        dest="measures_command", metavar="add|list", parser_class=parser_class
    )
    which.required = True
    add = which.add_parser("add", parents=[common], help="enter a paper questionnaire")
    add.add_argument("--client", required=True, metavar="CODE")
    add.add_argument("--instrument", required=True, metavar="ID", help="phq9, gad7, ebi, ...")
    add.add_argument(
        "--items", required=True, metavar="A,B,C", help="every item's answer, in order"
    )
    add.add_argument("--date", metavar="YYYY-MM-DD", help="the day it was answered (default today)")
    listing = which.add_parser("list", parents=[common], help="a client's measures, oldest first")
    listing.add_argument("--client", required=True, metavar="CODE")
    listing.add_argument("--format", choices=("json", "text"), default="text")


def run(store: Store, args: argparse.Namespace, out: TextIO, data_dir: Path) -> int:
    clock = SystemClock()
    recover_if_alone(store, data_dir, clock)
    if args.measures_command == "list":
        found = measures.measures_json(store, data_dir, args.client)
        if args.format == "json":
            out.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
            return 0
        for m in found:
            total = "incomplete" if m["total"] is None else f"{m['total']:g} {m['severity'] or ''}"
            flags = f"  [{', '.join(m['flags'])}]" if m["flags"] else ""
            print(printable(f"{m['date']}  {m['instrument']}  {total.strip()}{flags}"), file=out)
        if not found:
            print("No measures for this client yet.", file=out)
        return 0
    answers = measures.parse_items(args.items)
    day = measures.parse_date(args.date) if args.date else None
    who = clinicians.from_environment(store, clock, register=False)
    if who is not None:
        clinicians.charting_as(store, who)
    added = measures.add_measure(
        store, data_dir, args.client, args.instrument, answers, clock, taken_on=day, source="paper"
    )
    total = f"{added.total or 0:g}"
    line = f"Measure {added.id}: {added.instrument} of {added.taken_on}, total {total}"
    print(printable(f"{line} ({added.severity})" if added.severity else line), file=out)
    for flag in added.flags:
        print(printable(f"Needs acknowledging: {measures.FLAG_TEXT.get(flag, flag)}"), file=out)
    return 0
