"""The monitoring form: one A4 page laid out like the Spravato REMS Patient Monitoring Form,
every field filled from the session's timeline with the T+ of the entry it comes from.

Nothing is retyped and nothing is invented: a field whose source is not on the timeline says
"not recorded". Reads the exported JSON document only (summary.py's rule), so the form agrees
with the other exports. `kapsession export --format form` and the app's export dialog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kapsession.exports import summary as s
from kapsession.monitoring import adverse
from kapsession.monitoring.ready import ready_to_leave
from kapsession.session.entry_text import t_mark

NOT_RECORDED = "not recorded"
FORMAT = "form"
# BP "around 40 minutes" (REMS: about 40 minutes after the dose): the reading nearest to it
# within this window.
AROUND_40_S = 40 * 60.0
AROUND_WINDOW_S = 15 * 60.0
# Pre-dose BP: a reading before the dose, else the baseline taken at the dose (within 5 min).
PRE_DOSE_S = 5 * 60.0
# Preparation keys a clinic may record concomitant CNS depressants under.
_CNS_KEYS = ("cns_depressants", "concomitant_cns_depressants", "concomitant_medications")
SERIOUS = ("moderate", "sentinel")
MAX_LISTED = 6


@dataclass(frozen=True)
class Field:
    """One line of the form: its label, the value, and where it comes from ("T+40:02", "the
    preparation", or NOT_RECORDED)."""

    label: str
    value: str
    source: str


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _t(e: Mapping[str, Any]) -> float | None:
    return _num(e.get("t"))


def _source(e: Mapping[str, Any]) -> str:
    t = _t(e)
    if t is None:
        return f"before the dose ({s.local_time(e.get('at'), e.get('tz'))})"
    return t_mark(t)


def _g(value: object) -> str:
    v = _num(value)
    return "" if v is None else f"{v:g}"


def _bp(e: Mapping[str, Any]) -> str:
    sys_v, dia = _g(e.get("systolic")), _g(e.get("diastolic"))
    if not sys_v:
        return ""
    text = f"{sys_v}/{dia} mmHg" if dia else f"{sys_v} mmHg systolic"
    return text


def _missing(label: str) -> Field:
    return Field(label, NOT_RECORDED, NOT_RECORDED)


def _with_bp(vitals: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [v for v in vitals if _bp(v)]


def _drug(sm: s.Summary) -> str:
    """Esketamine when the protocol says so (fhir_bundle.medication_of's rule); else ketamine."""
    names = [str(sm.session.get("protocol") or "")]
    snap = sm.dose.get("monitoring") if sm.dose else None
    if isinstance(snap, Mapping):
        names += [str(snap.get("id") or ""), str(snap.get("name") or "")]
    text = " ".join(names).lower()
    return "esketamine" if "esketamine" in text or "spravato" in text else "ketamine"


def _lot(e: Mapping[str, Any]) -> str:
    lot = e.get("lot")
    return f"lot {lot}" if isinstance(lot, str) and lot else "lot not recorded"


def _administration(e: Mapping[str, Any], sm: s.Summary) -> str:
    """One administration on one line: "ondansetron · 4 mg · sublingual · lot A12 · by B. Chen"."""
    kind = e.get("kind")
    if kind == "medication":
        parts = [str(e.get("drug") or "?"), f"{_g(e.get('dose'))} {e.get('unit') or ''}".strip()]
        route = e.get("route")
    elif kind == "booster_dose":
        parts = [f"{_drug(sm)} booster", f"{_g(e.get('mg'))} mg"]
        route = e.get("route")
    else:  # the dose
        parts = [_drug(sm), f"{_g(e.get('mg', sm.session.get('dose_mg')))} mg"]
        route = e.get("route") or sm.session.get("route")
    if route:
        parts.append(str(route))
    parts.append(_lot(e))
    if e.get("given_by"):
        parts.append(f"by {e['given_by']}")
    return " · ".join(parts)


def _medicines(sm: s.Summary) -> list[Field]:
    """The dose, boosters and every medication entry (engineer A's medication log), in time
    order. A medication entry at the dose's moment is the dose itself: not listed twice."""
    label = "Medicine, dose, lot"
    meds = [e for e in sm.events if e.get("kind") in ("medication", "booster_dose")]
    given: list[Mapping[str, Any]] = list(meds)
    dose = sm.dose
    if dose is not None:
        at_dose = [
            m
            for m in meds
            if m.get("kind") == "medication"
            and _t(m) is not None
            and abs((_t(m) or 0) - (_t(dose) or 0)) < 1
        ]
        if not at_dose:
            given.insert(0, dose)
    if not given:
        return [_missing(label)]
    given.sort(key=lambda e: (_t(e) if _t(e) is not None else float("-inf"), e.get("seq") or 0))
    out = [Field(label, _administration(e, sm), _source(e)) for e in given[:MAX_LISTED]]
    if len(given) > MAX_LISTED:
        rest = given[MAX_LISTED:]
        out.append(
            Field(label, f"and {len(rest)} more (see the session summary)", _source(rest[0]))
        )
    return out


def _monitoring_minutes(sm: s.Summary) -> Field:
    label = "Total monitoring time"
    ended = next((e for e in reversed(sm.events) if e.get("kind") == "session_ended"), None)
    if sm.dose is None or ended is None or _t(ended) is None:
        return _missing(label)
    t = _t(ended) or 0.0
    return Field(label, f"{int(t // 60)} minutes (dose to end of session)", t_mark(t))


def _ready(sm: s.Summary) -> list[Field]:
    found = ready_to_leave(sm.events)
    out: list[Field] = []
    if found.ready_t is not None:
        out.append(
            Field(
                "Would have been ready to leave",
                f"yes, at {t_mark(found.ready_t)}: criteria held from "
                f"{t_mark(found.from_t or 0)} for {found.sustained_s / 60:g} min "
                "(modified Aldrete >= 9 and MOAA/S 5)",
                t_mark(found.ready_t),
            )
        )
    elif any(e.get("kind") in ("vitals", "observation") for e in sm.events):
        out.append(Field("Would have been ready to leave", f"no: {found.reason}", "computed"))
    else:
        out.append(_missing("Would have been ready to leave"))
    discharge = next((e for e in reversed(sm.events) if e.get("kind") == "discharge"), None)
    if discharge is not None and _num(discharge.get("ready_at_t")) is not None:
        out.append(
            Field(
                "Ready to leave, as recorded by the clinician",
                t_mark(_num(discharge.get("ready_at_t")) or 0),
                _source(discharge),
            )
        )
    else:
        out.append(_missing("Ready to leave, as recorded by the clinician"))
    return out


def _blood_pressures(sm: s.Summary) -> list[Field]:
    readings = _with_bp(sm.vitals)
    before = [v for v in readings if _t(v) is None or (_t(v) or 0) < 0]
    baseline = [v for v in readings if _t(v) is not None and 0 <= (_t(v) or 0) <= PRE_DOSE_S]
    out: list[Field] = []
    if before:
        pre = before[-1]
        out.append(Field("Blood pressure before the dose", _bp(pre), _source(pre)))
    elif baseline:
        pre = baseline[0]
        out.append(
            Field(
                "Blood pressure before the dose", f"{_bp(pre)} (baseline at the dose)", _source(pre)
            )
        )
    else:
        out.append(_missing("Blood pressure before the dose"))
    near = [v for v in readings if abs((_t(v) or -1e9) - AROUND_40_S) <= AROUND_WINDOW_S]
    if near:
        mid = min(near, key=lambda v: abs((_t(v) or 0) - AROUND_40_S))
        out.append(Field("Blood pressure around 40 minutes", _bp(mid), _source(mid)))
    else:
        out.append(_missing("Blood pressure around 40 minutes"))
    discharge = next((e for e in reversed(sm.events) if e.get("kind") == "discharge"), None)
    limit = _t(discharge) if discharge is not None else None
    after_dose = [v for v in readings if _t(v) is not None and _t(v) != _t(readings[0])]
    last = [v for v in after_dose if limit is None or (_t(v) or 0) <= limit]
    if last and (_t(last[-1]) or 0) > AROUND_40_S:
        out.append(Field("Blood pressure before discharge", _bp(last[-1]), _source(last[-1])))
    else:
        out.append(_missing("Blood pressure before discharge"))
    return out


def _scale_field(sm: s.Summary, scale: str, label: str, present: Any) -> Field:
    obs = [
        o for o in sm.observations if o.get("scale") == scale and _num(o.get("value")) is not None
    ]
    if not obs:
        return _missing(label)
    worst = present(obs)
    if worst is None:
        first = obs[0]
        return Field(label, f"no ({len(obs)} ratings)", f"{_source(first)}–{_source(obs[-1])}")
    return Field(
        label,
        f"yes: {worst.get('label') or _g(worst.get('value'))} ({_g(worst.get('value'))})",
        _source(worst),
    )


def _sedation(obs: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    low = min(obs, key=lambda o: _num(o.get("value")) or 0)
    return low if (_num(low.get("value")) or 0) < 5 else None


def _dissociation(obs: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    high = max(obs, key=lambda o: _num(o.get("value")) or 0)
    return high if (_num(high.get("value")) or 0) >= 1 else None


def _respiratory(sm: s.Summary) -> Field:
    label = "Respiratory depression"
    measured = [
        v
        for v in sm.vitals
        if _num(v.get("spo2")) is not None or _num(v.get("resp_rate")) is not None
    ]
    if not measured:
        return _missing(label)
    for v in measured:
        spo2, rr = _num(v.get("spo2")), _num(v.get("resp_rate"))
        if (spo2 is not None and spo2 < adverse.SPO2_LOW) or (rr is not None and rr < 8):
            what = []
            if spo2 is not None:
                what.append(f"SpO2 {spo2:g} %")
            if rr is not None:
                what.append(f"RR {rr:g}/min")
            return Field(label, "yes: " + ", ".join(what), _source(v))
    return Field(
        label,
        f"no (SpO2 >= 90 % and RR >= 8 in {len(measured)} readings)",
        f"{_source(measured[0])}–{_source(measured[-1])}",
    )


def _serious(sm: s.Summary) -> list[Field]:
    label = "Serious adverse events"
    events = [e for e in sm.events if e.get("kind") == adverse.KIND]
    serious = [e for e in events if e.get("tier") in SERIOUS]
    if serious:
        return [
            Field(label, f"{e.get('event')} ({e.get('tier')}; {e.get('intervention')})", _source(e))
            for e in serious[:MAX_LISTED]
        ]
    if events:
        return [
            Field(
                label,
                f"none ({len(events)} minimal or minor recorded: "
                + "; ".join(f"{e.get('event')} ({e.get('tier')})" for e in events[:3])
                + ")",
                ", ".join(_source(e) for e in events[:3]),
            )
        ]
    return [Field(label, "none recorded", "no adverse_event entry")]


def _cns(sm: s.Summary) -> Field:
    label = "Concomitant CNS depressants"
    prep = sm.preparation
    if prep is None:
        return _missing(label)
    screening = prep.get("screening") if isinstance(prep.get("screening"), Mapping) else {}
    for where in (prep, screening):
        for key in _CNS_KEYS:
            value = where.get(key) if isinstance(where, Mapping) else None
            if isinstance(value, str) and value.strip():
                return Field(label, value.strip(), f"the preparation ({_source(prep)})")
            if isinstance(value, list) and value:
                return Field(
                    label, ", ".join(map(str, value)), f"the preparation ({_source(prep)})"
                )
            if value is False or value == []:
                return Field(label, "none", f"the preparation ({_source(prep)})")
    return _missing(label)


def form_fields(doc: Mapping[str, Any]) -> list[Field]:
    """Every field of the form, in the form's order."""
    sm = s.summarize(doc)
    fields = _medicines(sm)
    fields.append(_monitoring_minutes(sm))
    fields += _ready(sm)
    fields += _blood_pressures(sm)
    fields.append(_scale_field(sm, "moaas", "Sedation (MOAA/S below 5)", _sedation))
    fields.append(_scale_field(sm, "dissociation", "Dissociation", _dissociation))
    fields.append(_respiratory(sm))
    fields += _serious(sm)
    fields.append(_cns(sm))
    return fields


def render(doc: Mapping[str, Any]) -> bytes:
    """The one-page monitoring form PDF."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    from kapsession.exports import pdf_base as pb

    sm = s.summarize(doc)
    st = pb.styles()
    session = sm.session
    head = [
        Paragraph("Patient Monitoring Form", st["title"]),
        Paragraph(
            pb.para(
                f"Client {sm.client} · session {session.get('id')} · dose given "
                f"{s.local_time(session.get('dose_at'), session.get('dose_tz'), with_date=True)}"
                f" · protocol {session.get('protocol') or '-'}"
            ),
            st["small"],
        ),
        Paragraph(
            pb.para(
                "Every field is filled from the session's timeline; the source column gives the "
                "time since the dose (T+) of the entry it comes from."
            ),
            st["small"],
        ),
        Spacer(1, 4 * mm),
    ]
    rows = [
        [
            Paragraph("<b>Field</b>", st["cell"]),
            Paragraph("<b>Value</b>", st["cell"]),
            Paragraph("<b>Source</b>", st["cell"]),
        ]
    ]
    for f in form_fields(doc):
        rows.append(
            [
                Paragraph(pb.para(f.label), st["cell"]),
                Paragraph(pb.para(f.value[:400]), st["cell"]),
                Paragraph(pb.para(f.source), st["cell"]),
            ]
        )
    table = Table(rows, colWidths=[0.27 * pb.WIDTH, 0.53 * pb.WIDTH, 0.20 * pb.WIDTH], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, pb.RULE),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    signatures = s.signature_lines(doc)
    tail = [Spacer(1, 5 * mm)]
    tail += [Paragraph(pb.para(line), st["small"]) for line in signatures] or [
        Paragraph("Not signed", st["small"])
    ]
    return pb.build(
        [*head, table, *tail],
        title="Patient Monitoring Form",
        rehearsal=sm.rehearsal,
        footer="kapsession · monitoring form" + (" · REHEARSAL" if sm.rehearsal else ""),
        rehearsal_text=s.REHEARSAL_NOTICE,
    )
