"""Export speed on a long, busy session: a 4-hour session with 10,000 timeline entries on a real
SQLite file, exported to every format. Run from the repository root:

    .venv/bin/python bench/export_bench.py [--runs 7] [--entries 10000]

The session is generated through the real store (Store.append, one transaction), shaped like a
session with a monitor feeding vitals: vitals every ~3 s with alerts, checks, scale ratings,
notes (some amended), the music (phases, tracks, volume) and a preparation and worksheet.

Measured, each as the median of --runs runs after one warm-up of every step, the steps taking
turns in every run, each timed on its own (wall and CPU time of the process):
  read      timeline_json.timeline: the session read from SQLite into the JSON document
  json      read + dumps                 (the floor the other exports are compared with)
  md        read + Markdown
  fhir      read + FHIR bundle, as every export writes it: plain data, not validated
            (target <= 2 s)
  fhir+check read + FHIR bundle validated by the fhir.resources models first, as
            `kapsession export --format fhir --validate` does (informative)
  pdf       read + PDF summary           (target <= 0.8 s and <= 4x json)
  pdf-1page reportlab writing a one-page PDF with the same fonts (reportlab's own floor)
Targets are reported, not enforced. bench/run.py runs bench_export (read, json, pdf, fhir,
pdf-1page) as part of the suite, on the review benchmark's session (bench/review_data.py big_session) so that
both figures are for one session; this script alone exports its own monitor-shaped session."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportlab.platypus import Paragraph

from kapsession.clock import FakeClock
from kapsession.exports import fhir_bundle, markdown_summary, pdf_base, pdf_summary, timeline_json
from kapsession.monitoring.protocol import builtin_protocols
from kapsession.session.live import SessionPlan, SessionService
from kapsession.storage.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TZ = "Europe/Berlin"
HOURS = 4
PDF_TARGET_S = 0.8
PDF_TARGET_X = 4.0  # times the JSON export
FHIR_TARGET_S = 2.0
WORDS = [
    "ocean",
    "breathing",
    "light",
    "warm",
    "heavy",
    "floating",
    "door",
    "blue",
    "father",
    "voice",
    "hands",
    "chest",
    "soft",
    "tears",
    "laughing",
    "music",
    "colour",
    "falling",
    "held",
    "safe",
    "open",
    "quiet",
    "river",
    "home",
    "child",
]


def generate(folder: Path, entries: int, seed: int = 7) -> tuple[Store, int, datetime]:
    """A 4-hour session with `entries` timeline entries (the dose included)."""
    rng = random.Random(seed)
    store = Store.open(folder)
    clock = FakeClock(T0)
    service = SessionService(store, clock, TZ, "bench", builtin_protocols())
    record = service.plan(
        SessionPlan("BENCH-1", "esketamine-rems", "intranasal", 84.0, 120, "Rest and listen")
    )
    sid = record.id
    store.append(
        sid, "preparation", clock.now(), TZ, None,
        {"intention": "Rest and listen", "hopes": "", "patterns": "", "concerns": "",
         "screening": {}, "setting": {}, "grounding_done": True},
    )  # fmt: skip
    service.give_dose(sid)
    span = HOURS * 3600.0
    # The shares of a busy session (of the entries after the dose).
    plan = {
        "vitals": 0.46,
        "alert": 0.02,
        "alert_ack": 0.02,
        "observation": 0.12,
        "check_due": 0.04,
        "note": 0.10,
        "amendment": 0.01,
        "track_started": 0.08,
        "track_ended": 0.08,
        "volume": 0.05,
        "phase": 0.0006,
    }
    rest = entries - 3  # the preparation, the dose and the worksheet
    counts = {k: max(1, int(rest * share)) for k, share in plan.items()}
    counts["vitals"] += rest - sum(counts.values())
    timed: list[tuple[float, str, dict[str, Any], int | None, str | None]] = []
    for kind, n in counts.items():
        for i in range(n):
            t = round(span * (i + rng.random()) / n, 3)
            timed.append((t, kind, {}, None, None))
    timed.sort(key=lambda item: item[0])
    notes: list[int] = []
    with store.db.atomic():
        for t, kind, _, _, _ in timed:
            at = T0 + timedelta(seconds=t)
            amends, reason = None, None
            data: dict[str, Any]
            if kind == "vitals":
                data = {
                    "systolic": rng.randint(105, 150),
                    "diastolic": rng.randint(65, 95),
                    "heart_rate": rng.randint(55, 105),
                    "spo2": rng.randint(93, 100),
                    "resp_rate": rng.randint(10, 20),
                    "temperature": None,
                    "trend_text": "sys +3 % · dia −2 % · HR +5 %",
                }
            elif kind == "alert":
                data = {"field": "systolic", "value": 181, "low": 85.0, "high": 180.0,
                        "source": "OpenMRS critical range",
                        "message": "Systolic 181 mmHg is above 180"}  # fmt: skip
            elif kind == "alert_ack":
                data = {"alert": 0, "text": "repeated, settling"}
            elif kind == "observation":
                data = {"scale": "moaas", "value": rng.randint(2, 5), "label": "rating"}
            elif kind == "check_due":
                data = {"check": "c-bench", "label": "Monitoring", "due_t": t}
            elif kind == "note":
                data = {"text": " ".join(rng.choices(WORDS, k=rng.randint(4, 30))), "tags": []}
            elif kind == "amendment":
                if not notes:
                    continue
                data = {"text": "corrected: " + " ".join(rng.choices(WORDS, k=8)), "tags": []}
                amends, reason = rng.choice(notes), "typo"
            elif kind in ("track_started", "track_ended"):
                data = {"title": f"Track {int(t // 240)}", "path": f"/m/{int(t // 240)}.flac"}
            elif kind == "volume":
                data = {"volume": rng.randint(30, 80)}
            else:
                data = {"name": rng.choice(["settling", "onset", "peak", "return"]), "begins_t": t}
            event = store.append(sid, kind, at, TZ, t, data, "bench", amends, reason)
            if kind == "note":
                notes.append(event.seq)
    clock.advance(span)
    store.end_session(sid, clock.now(), TZ, span, "bench: end without discharge")
    answers = {k: " ".join(rng.choices(WORDS, k=20)) for k in
               ("experienced", "different", "insight", "meaning", "next_step")}  # fmt: skip
    store.append(
        sid, "worksheet", clock.now(), TZ, None,
        {"answers": answers, "follow_up": ["call in a week"], "shared": ["next_step"],
         "from_notes": notes[:3]},
    )  # fmt: skip
    return store, sid, clock.now()


def one_page_pdf() -> bytes:
    st = pdf_base.styles()
    story = [Paragraph("Session summary", st["title"]), Paragraph("One page.", st["body"])]
    return pdf_base.build(story, "floor", False, "floor", "")


def timed(
    runs: int, steps: dict[str, Callable[[], object]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of each of `runs` calls of every step, after one warm-up of each
    (imports, font registration, SQLite page cache). The steps take turns within every run,
    so a change in the machine's load touches the floor and the exports alike."""
    for step in steps.values():
        step()
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(runs):
        for name, step in steps.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            step()
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)
    return wall, cpu


STEPS = ("read", "json", "md", "fhir", "fhir+check", "pdf", "pdf-1page")


@dataclass
class ExportResult:
    times: dict[str, list[float]]  # seconds per run, by step
    cpu: dict[str, list[float]]  # CPU seconds of this process per run, by step
    entries: int  # timeline entries exported
    pages: int  # of the session's PDF
    pdf_bytes: int
    fhir_resources: int  # entries of the session's FHIR bundle
    fhir_bytes: int


def bench_export(
    store: Store, sid: int, now: datetime, runs: int, steps: Sequence[str] = STEPS
) -> ExportResult:
    """Times each of `steps` (see the module's text) `runs` times on the session `sid`; every
    step but pdf-1page reads the session from SQLite inside the timed part."""
    doc = timeline_json.timeline(store, sid, now)
    pdf = pdf_summary.render(doc)
    fhir = fhir_bundle.render(doc)
    every: dict[str, Callable[[], object]] = {
        "read": lambda: timeline_json.timeline(store, sid, now),
        "json": lambda: timeline_json.dumps(timeline_json.timeline(store, sid, now)),
        "md": lambda: markdown_summary.render(timeline_json.timeline(store, sid, now)),
        "fhir": lambda: fhir_bundle.render(timeline_json.timeline(store, sid, now)),
        "fhir+check": lambda: fhir_bundle.render(
            timeline_json.timeline(store, sid, now), validate=True
        ),
        "pdf": lambda: pdf_summary.render(timeline_json.timeline(store, sid, now)),
        "pdf-1page": one_page_pdf,
    }
    wall, cpu = timed(runs, {name: every[name] for name in steps})
    return ExportResult(
        wall,
        cpu,
        len(doc["events"]),
        pdf.count(b"/Type /Page\n"),
        len(pdf),
        fhir.count('"fullUrl":'),
        len(fhir.encode("utf-8")),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--entries", type=int, default=10_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store, sid, now = generate(Path(tmp) / "data", args.entries)
        try:
            result = bench_export(store, sid, now, args.runs)
        finally:
            store.close()
    results = {
        name: (statistics.median(times), min(times), max(times))
        for name, times in result.times.items()
    }
    cpu = {name: statistics.median(times) for name, times in result.cpu.items()}
    floor = results["json"][0]
    print(
        f"Export of a {HOURS}-hour session with {result.entries} timeline entries "
        f"(PDF: {result.pages} pages, {result.pdf_bytes / 1024:.0f} KiB); medians of {args.runs} runs"
    )
    print()
    print("| step | median s | min s | max s | x json | CPU median s | CPU x json |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (med, lo, hi) in results.items():
        print(
            f"| {name} | {med:.3f} | {lo:.3f} | {hi:.3f} | {med / floor:.2f} "
            f"| {cpu[name]:.3f} | {cpu[name] / cpu['json']:.2f} |"
        )
    pdf, fhir = results["pdf"][0], results["fhir"][0]
    verdict = "met" if pdf <= PDF_TARGET_S and pdf <= PDF_TARGET_X * floor else "missed"
    print()
    print(
        f"PDF target <= {PDF_TARGET_S:.1f} s and <= {PDF_TARGET_X:g}x json: {verdict} "
        f"({pdf:.3f} s, {pdf / floor:.2f}x)"
    )
    verdict = "met" if fhir <= FHIR_TARGET_S else "missed"
    print(f"FHIR target <= {FHIR_TARGET_S:.1f} s: {verdict} ({fhir:.3f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
