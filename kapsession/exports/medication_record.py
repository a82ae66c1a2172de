"""The medication log and the start gate in the exports (issue 15): one table of every
administration (the dose, boosters and ``medication`` entries) with the ketamine total after
each, for Markdown and PDF; and the FHIR MedicationAdministration of a ``medication`` entry.

Works on the exported JSON document (entries carry their data at the top level)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kapsession.monitoring.medication import (
    KIND,
    builtin_catalogue,
    medication_log,
    route_short,
)
from kapsession.session.entry_text import num, t_mark, text_of

HEAD = ["Time", "Medicine", "Dose", "Route", "Lot", "Given by", "Ketamine total"]


class _Entry:
    """A JSON entry seen as an entry: kind and data."""

    def __init__(self, e: Mapping[str, Any]) -> None:
        self.kind = str(e.get("kind"))
        self.data = e
        self.source = e


def session_drug(doc: Mapping[str, Any]) -> str:
    session = doc.get("session") or {}
    names = [str(session.get("protocol") or "")]
    for e in doc.get("events") or []:
        if e.get("kind") == "dose" and isinstance(e.get("monitoring"), Mapping):
            names += [str(e["monitoring"].get("id") or ""), str(e["monitoring"].get("name") or "")]
    text = " ".join(names).lower()
    return "esketamine" if "esketamine" in text or "spravato" in text else "ketamine"


def rows(doc: Mapping[str, Any]) -> list[list[str]]:
    """The log's rows as text: T+, medicine, dose with unit, route, lot, given by, total."""
    events: Sequence[Mapping[str, Any]] = doc.get("events") or []
    out: list[list[str]] = []
    for row in medication_log([_Entry(e) for e in events], session_drug(doc)):
        e = row.entry.data
        kind = str(e.get("kind"))
        medicine = row.drug + {"dose": " (dose)", "booster_dose": " (booster)"}.get(kind, "")
        if e.get("unlisted"):
            medicine += " (not in the list)"
        given_by = text_of(e.get("given_by")) or text_of(e.get("author"))
        out.append(
            [
                t_mark(e.get("t")),
                medicine,
                f"{num(row.dose)} {row.unit}".strip(),
                route_short(row.route),
                row.lot,
                given_by,
                f"{num(round(row.total_mg, 3))} mg",
            ]
        )
    return out


def gate_lines(doc: Mapping[str, Any]) -> list[str]:
    """The start gate as recorded with the dose: each unmet item, then the reason."""
    for e in doc.get("events") or []:
        if e.get("kind") == "dose" and isinstance(e.get("start_gate"), Mapping):
            gate = e["start_gate"]
            unmet = [str(i) for i in gate.get("unmet") or []]
            if not unmet:
                return ["Start gate: every item met."]
            return [
                "Start gate: unmet before the dose: " + "; ".join(unmet) + ".",
                f"Reason for going ahead: {text_of(gate.get('reason'))}",
            ]
    return []


def markdown(doc: Mapping[str, Any], cell: Any) -> list[str]:
    table = rows(doc)
    if not table:
        return []
    out = ["## Medication log", ""]
    out += ["| " + " | ".join(HEAD) + " |", "|" + "|".join("---" for _ in HEAD) + "|"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in table]
    out.append("")
    out += [f"{cell(line)}" for line in gate_lines(doc)]
    return [*out, ""] if gate_lines(doc) else out


# --- FHIR -------------------------------------------------------------------------------------


def medication_entries(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [e for e in doc.get("events") or [] if e.get("kind") == KIND]


def medication_concept(drug: str, atc_system: str) -> dict[str, Any]:
    medicine = builtin_catalogue().find(drug)
    if medicine is not None and medicine.atc:
        return {
            "coding": [{"system": atc_system, "code": medicine.atc, "display": medicine.name}],
            "text": medicine.name,
        }
    return {"text": drug}


def dosage(e: Mapping[str, Any], route: dict[str, Any] | None) -> dict[str, Any]:
    """The dosage of a medication entry: its dose in its unit (UCUM: mg, ug, g, L/min)."""
    unit = text_of(e.get("unit"))
    ucum = {"mcg": "ug"}.get(unit, unit)
    out: dict[str, Any] = {}
    if route is not None:
        out["route"] = route
    else:
        out["route"] = {"text": text_of(e.get("route"))}
    dose = e.get("dose")
    if isinstance(dose, int | float) and not isinstance(dose, bool):
        out["dose"] = {
            "value": float(dose),
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": ucum,
        }
    return out
