"""One entry point for every export and handout: render a session to bytes, and note on the
session's timeline that it was produced (which format, how many bytes, a SHA-256 of what was
handed out: never a file name or any clinical text)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kapsession.clock import Clock, ScaledClock, SystemClock
from kapsession.session.dose_clock import DoseClock
from kapsession.storage.store import Event, SessionRecord, Store, parse_iso

FORMATS = ("json", "md", "pdf", "fhir", "form")
# Formats whose file is binary (a PDF): never written to a terminal as text.
BINARY_FORMATS = ("pdf", "form")
HANDOUTS = ("preparation", "integration")
SUFFIX = {"json": ".json", "md": ".md", "pdf": ".pdf", "fhir": ".fhir.json", "form": ".form.pdf"}


def _renderer(fmt: str, validate: bool = False) -> Callable[[Mapping[str, Any]], bytes]:
    # Imported on use: reportlab and the FHIR models cost start-up time nobody else should pay.
    if fmt == "json":
        from kapsession.exports import timeline_json

        return lambda doc: timeline_json.dumps(dict(doc)).encode("utf-8")
    if fmt == "md":
        from kapsession.exports import markdown_summary

        return lambda doc: markdown_summary.render(doc).encode("utf-8")
    if fmt == "pdf":
        from kapsession.exports import pdf_summary

        return pdf_summary.render
    if fmt == "fhir":
        from kapsession.exports import fhir_bundle

        return lambda doc: fhir_bundle.render(doc, validate=validate).encode("utf-8")
    if fmt == "form":  # the monitoring form (issue 15)
        from kapsession.exports import form

        return form.render
    raise ValueError(f"unknown export format {fmt!r}")


def timeline(store: Store, session_id: int, exported_at: datetime) -> dict[str, Any]:
    from kapsession.exports import timeline_json

    return timeline_json.timeline(store, session_id, exported_at)


def render(doc: Mapping[str, Any], fmt: str, *, validate: bool = False) -> bytes:
    """The session in one of FORMATS, as the bytes of the file. `validate` (FHIR only) checks
    the bundle against the FHIR models first (pydantic.ValidationError if it fails)."""
    if validate and fmt != "fhir":
        raise ValueError(f"only the FHIR export is validated, not {fmt!r}")
    return _renderer(fmt, validate)(doc)


def render_handout(doc: Mapping[str, Any], which: str) -> bytes:
    from kapsession.exports import handouts

    return handouts.render(doc, which)


def session_clock(record: SessionRecord, base: Clock | None = None) -> Clock:
    """The clock a session's entries are timed by: a rehearsal keeps its scaled clock."""
    base = base or SystemClock()
    if record.rehearsal and record.clock_origin:
        return ScaledClock(base, record.time_scale, parse_iso(record.clock_origin))
    return base


def record_output(
    store: Store,
    record: SessionRecord,
    kind: str,
    data: Mapping[str, Any],
    payload: bytes,
    tz: str,
    author: str,
    clock: Clock | None = None,
) -> Event:
    """Note an `export` or `handout` on the timeline. Time since dose only while the session
    runs; before the dose and after the end it is None (as for worksheets)."""
    if kind not in ("export", "handout"):
        raise ValueError(f"not an output kind: {kind!r}")
    clock = session_clock(record, clock)
    t = None
    if record.state == "running" and record.anchor is not None:
        t = round(DoseClock.resume(clock, record.anchor)[0].elapsed(), 3)
    entry = {**data, "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    return store.append(record.id, kind, clock.now(), tz, t, entry, author=author)
