"""`kapsession clinicians list|add|deactivate` and `kapsession sign` (DESIGN.md, "Clinicians,
signatures, the medical record"). PINs are read from the terminal (never echoed), or from
$KAPSESSION_CLINICIAN_PIN (add) / $KAPSESSION_SIGNER_PIN (sign) in scripted runs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TextIO

from kapsession.cli.terminal_text import printable
from kapsession.clock import SystemClock
from kapsession.errors import KapsessionError
from kapsession.exports import signing
from kapsession.storage import clinicians
from kapsession.storage.store import SessionRecord, Store, parse_iso


def _say(text: object, file: TextIO) -> None:
    print(printable(text), file=file)


def _pin(env: str, label: str, twice: bool) -> str:
    given = os.environ.get(env)
    if given is not None:
        return given
    if not sys.stdin.isatty():
        raise KapsessionError(f"A PIN is needed: run this at a terminal, or set ${env}.")
    import getpass

    try:
        first = getpass.getpass(label)
        if twice and getpass.getpass("The same PIN again: ") != first:
            raise KapsessionError("The two PINs differ; nothing was changed.")
    except (EOFError, KeyboardInterrupt):
        raise KapsessionError("No PIN was given; nothing was changed.") from None
    return first


def run(
    store: Store,
    args: argparse.Namespace,
    out: TextIO,
    pick: Callable[[Store, str], SessionRecord],
    tz: str,
) -> int:
    """`pick` finds --session (ID or latest), `tz` is the local zone's name (commands.py)."""
    clock = SystemClock()
    if args.command == "sign":
        if not store.sessions():
            raise KapsessionError("There are no sessions to sign.")
        record = pick(store, args.session)
        pin = _pin(clinicians.ENV_SIGNER_PIN, f"PIN for {args.signer}: ", twice=False)
        sig = signing.sign(store, record.id, args.signer, pin, clock, tz, args.meaning)
        when = parse_iso(sig.at).astimezone().strftime("%Y-%m-%d %H:%M")
        _say(f"Session {record.id}: {signing.signature_line(sig.as_json(), when)}", file=out)
        _say(f"record sha256 {sig.record_sha256}", file=out)
        return 0
    which = args.clinicians_command
    if which == "list":
        found = clinicians.all_clinicians(store)
        if not found:
            _say("No clinicians yet.", file=out)
            return 0
        for c in found:
            state = "active" if c.active else "deactivated"
            demo = " (demo: rehearsals only)" if c.demo else ""
            _say(f"{c.label}  {state}{demo}", file=out)
        return 0
    if which == "add":
        clinicians.check_name(args.name)  # before asking for a PIN
        clinicians.check_credentials(args.credentials)
        pin = _pin(clinicians.ENV_PIN, f"PIN for {args.name} (4 to 12 digits): ", twice=True)
        added = clinicians.add(store, args.name, args.role, args.credentials, pin, clock.now())
        _say(f"Added {added.label}.", file=out)
        return 0
    gone = clinicians.deactivate(store, args.name, clock.now())
    _say(f"Deactivated {gone.label}: their entries keep their name.", file=out)
    return 0
