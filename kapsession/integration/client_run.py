"""One questionnaire answered by the client on the laptop (client mode, issue 18), item by item.
The screen shows `item`, hands every key or click to `key` / `answer`, and when the run ends,
`save` stores it: complete with its score, or (stopped early) as incomplete, never scored.

The model decides what a key means: a number key answers an item with options (0-3); on a
0-100 item digits are typed and Enter answers; Backspace on an empty entry goes back an item;
Escape twice stops (the first only asks).

Nothing answered is lost if the app dies mid-run: `keep` writes the answers so far to
`open_client_runs` (schema m010) after each answer, committed before the next item shows; `save`
turns the run into a measure in the same transaction that removes that row; and the next open
of the data folder turns a run left there (killed, crashed, power lost) into an incomplete
measure with `recover_open_runs`, audited, never scored. Its flags (PHQ-9 item 9) are kept as
they were raised, whatever became of the instrument since."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from kapsession.clock import Clock
from kapsession.errors import KapsessionError
from kapsession.integration.instrument import Instrument, Item, MeasureError, instrument
from kapsession.integration.measures import (
    Measure,
    add_measure,
    insert_measure,
    instrument_dict,
    measure_by_id,
)
from kapsession.storage.records import iso, parse_iso
from kapsession.storage.store import Store

OPEN_RUNS = "open_client_runs"
RECOVERED = "recover"  # the audit action of a run recovered on the next open


@dataclass
class ClientRun:
    instrument: Instrument
    client_code: str
    answers: list[int | None] = field(default_factory=list)
    index: int = 0  # the item on screen (0-based); == len(items) when every item is answered
    typed: str = ""  # digits typed on a 0-100 item
    stopping: bool = False  # Escape pressed once
    stopped: bool = False
    saved: Measure | None = None
    open_id: int | None = None  # its row in open_client_runs once an answer was kept
    _kept: list[int | None] | None = None

    def __post_init__(self) -> None:
        self.answers = [None] * len(self.instrument.items)

    @property
    def item(self) -> Item | None:
        items = self.instrument.items
        return items[self.index] if self.index < len(items) else None

    @property
    def done(self) -> bool:
        return self.index >= len(self.instrument.items)

    @property
    def ended(self) -> bool:
        return self.done or self.stopped

    @property
    def progress(self) -> str:
        n = len(self.instrument.items)
        return f"{min(self.index + 1, n)} of {n}"

    @property
    def uses_options(self) -> bool:
        return bool(self.instrument.options) and self.instrument.high <= 9

    def answer(self, value: int) -> bool:
        """Answer the item on screen and go to the next; False (nothing changes) when the
        value is not one of its answers."""
        if self.ended or not self.instrument.low <= value <= self.instrument.high:
            return False
        self.answers[self.index] = value
        self.index += 1
        self.typed, self.stopping = "", False
        return True

    def back(self) -> None:
        if self.index > 0 and not self.stopped:
            self.index -= 1
            self.typed, self.stopping = "", False

    def key(self, text: str) -> None:
        """A key the client pressed: a digit, "enter", "backspace" or "escape"."""
        if self.ended:
            return
        if text == "escape":
            self.stopped, self.stopping = self.stopping, True
            return
        self.stopping = False
        if text.isdigit() and len(text) == 1:
            if self.uses_options:
                self.answer(int(text))
            elif len(self.typed) < len(str(self.instrument.high)):
                self.typed += text
        elif text == "enter" and self.typed and not self.uses_options:
            if not self.answer(int(self.typed)):
                self.typed = ""
        elif text == "backspace":
            if self.typed:
                self.typed = self.typed[:-1]
            else:
                self.back()

    def stop(self) -> None:
        """The clinician (or the lock) ends the run before it is done."""
        if not self.done:
            self.stopped = True

    def keep(self, store: Store, clock: Clock) -> None:
        """Make the answers given so far durable, committed when it returns (the screen calls
        it before the next item shows): the open run is written at the first answer and
        updated at each change. Nothing to do before an answer, or once saved."""
        if self.saved is not None:
            return
        answers = list(self.answers)
        if answers == self._kept or (
            self.open_id is None and not any(a is not None for a in answers)
        ):
            return
        flags = ",".join(self.instrument.flags(answers))
        now = iso(clock.now())
        with store.db.atomic():
            if self.open_id is None:
                client = store.client_by_code(self.client_code.strip())
                if client is None:
                    raise MeasureError("client", f"no client with the code {self.client_code!r}")
                who, role = store.charting if store.charting else (store.actor, None)
                cur = store.conn.execute(
                    f"INSERT INTO {OPEN_RUNS} (client_id, instrument, fingerprint, answers, "
                    "flags, started_at, answered_at, author, author_role) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        client.id,
                        self.instrument.id,
                        fingerprint(self.instrument),
                        json.dumps(answers),
                        flags,
                        now,
                        now,
                        who,
                        role,
                    ],
                )
                self.open_id = int(cur.lastrowid or 0)
            else:
                store.conn.execute(
                    f"UPDATE {OPEN_RUNS} SET answers = ?, flags = ?, answered_at = ? WHERE id = ?",
                    [json.dumps(answers), flags, now, self.open_id],
                )
        self._kept = answers

    def save(self, store: Store, data_dir: Path | None, clock: Clock) -> Measure | None:
        """Store the run once: complete and scored, or incomplete (nothing answered: nothing
        to keep, None), in one transaction with removing its open run."""
        if self.saved is not None:
            return self.saved
        with store.db.atomic():
            saved = None
            if self.done or any(a is not None for a in self.answers):
                saved = add_measure(
                    store,
                    data_dir,
                    self.client_code,
                    self.instrument.id,
                    self.answers,
                    clock,
                    source="client",
                    complete=self.done,
                    timed=True,
                )
            if self.open_id is not None:
                store.conn.execute(f"DELETE FROM {OPEN_RUNS} WHERE id = ?", [self.open_id])
        self.saved, self.open_id = saved, None
        return saved


def fingerprint(scale: Instrument) -> str:
    """The instrument as the client saw it (items, wording, range, scoring, bands)."""
    text = json.dumps(instrument_dict(scale), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def has_open_runs_table(store: Store) -> bool:
    found = store.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [OPEN_RUNS]
    ).fetchone()
    return found is not None


def open_run_count(store: Store) -> int:
    if not has_open_runs_table(store):
        return 0
    return int(store.conn.execute(f"SELECT count(*) FROM {OPEN_RUNS}").fetchone()[0])


def recover_open_runs(store: Store, data_dir: Path | None, clock: Clock) -> list[Measure]:
    """Every run left open (the app was killed, crashed or lost power mid-run) becomes an
    incomplete measure, never scored, through the normal audited insert, with a `recover`
    entry on the audit trail, in one transaction with removing the open run. Idempotent.
    Only while no app has the folder open: an app's own run is still being answered.

    The instrument as it is now is used only when it is the one the client answered; a
    changed or removed instrument keeps the answers as they were given, unchecked against
    it, with the flags they raised then."""
    if not has_open_runs_table(store):
        return []
    rows = store.conn.execute(
        f"SELECT r.id, c.code, r.client_id, r.instrument, r.fingerprint, r.answers, r.flags, "
        f"r.started_at, r.answered_at, r.author, r.author_role FROM {OPEN_RUNS} r "
        "JOIN clients c ON c.id = r.client_id ORDER BY r.id"
    ).fetchall()
    out: list[Measure] = []
    for row in rows:
        with store.db.atomic():
            ident, detail = _recover(store, data_dir, clock, row)
            store.conn.execute(f"DELETE FROM {OPEN_RUNS} WHERE id = ?", [row[0]])
            store.audit(RECOVERED, "measures", target_id=ident, detail=detail)
        out.append(measure_by_id(store, ident))
    return out


def _recover(
    store: Store, data_dir: Path | None, clock: Clock, row: tuple[object, ...]
) -> tuple[int, str]:
    (_, code, client_id, ident, printed, raw, flags_text, started, answered, who, role) = row
    try:
        parsed = json.loads(str(raw))
    except ValueError:
        parsed = []
    answers = [
        a if isinstance(a, int) and not isinstance(a, bool) else None
        for a in (parsed if isinstance(parsed, list) else [])
    ]
    flags = tuple(f for f in str(flags_text or "").split(",") if f)
    at = parse_iso(str(answered or started))
    author = (str(who), None if role is None else str(role))
    detail = "an interrupted client-mode run, kept as incomplete"
    try:
        scale = instrument(data_dir, str(ident))
    except KapsessionError:
        scale, detail = None, detail + "; its instrument is no longer known"
    if scale is not None and fingerprint(scale) == printed:
        try:
            measure = add_measure(
                store,
                data_dir,
                str(code),
                scale.id,
                answers,
                clock,
                source="client",
                complete=False,
                at=at,
                author=author,
                extra_flags=flags,
            )
            return measure.id, detail
        except MeasureError:
            detail += "; its answers no longer fit the instrument"
    elif scale is not None:
        detail += "; its instrument has changed since"
    number = insert_measure(
        store,
        int(str(client_id)),
        str(ident),
        at.astimezone().date(),
        at,
        answers,
        None,
        "",
        flags,
        "client",
        None,
        author,
        clock.now(),
    )
    return number, detail
