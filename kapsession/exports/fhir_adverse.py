"""FHIR AdverseEvent resources for the session's `adverse_event` entries (issue 15), as plain
data the bundle validates with the rest (fhir_bundle.py).

The World SIVA tier maps onto HL7's adverse-event severity (minimal and minor: mild; moderate;
sentinel: severe) and seriousness (moderate and sentinel are serious); the tier itself, the
intervention and the outcome are kept in words. The session's ketamine dose is the suspect."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kapsession.monitoring.adverse import KIND, TIER_LABELS

SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
TIER_SYSTEM = "urn:kapsession:world-siva-tier"
_SEVERITY = {"minimal": "mild", "minor": "mild", "moderate": "moderate", "sentinel": "severe"}
_SERIOUS = {"moderate", "sentinel"}


def resources(
    events: list[Mapping[str, Any]],
    common: Callable[[str], dict[str, Any]],
    patient_url: str,
    encounter_url: str,
    dose_url: str | None,
) -> Iterator[dict[str, Any]]:
    """One AdverseEvent (its values, without resourceType) per adverse_event entry."""
    for e in events:
        if e.get("kind") != KIND:
            continue
        tier = str(e.get("tier") or "")
        words = [str(e.get("event") or "adverse event")]
        intervention = e.get("intervention")
        if intervention:
            words.append(f"intervention: {intervention}")
        values: dict[str, Any] = {
            **common(f"adverse-event-{e.get('seq')}"),
            "actuality": "actual",
            "event": {"text": "; ".join(words)},
            "subject": {"reference": patient_url},
            "encounter": {"reference": encounter_url},
        }
        if e.get("at"):
            values["date"] = e["at"]
            values["recordedDate"] = e["at"]
        if tier in _SEVERITY:
            values["severity"] = {
                "coding": [
                    {"system": SEVERITY, "code": _SEVERITY[tier]},
                    {"system": TIER_SYSTEM, "code": tier, "display": TIER_LABELS[tier]},
                ],
                "text": f"World SIVA: {TIER_LABELS[tier]}",
            }
            serious = tier in _SERIOUS
            values["seriousness"] = {
                "coding": [
                    {
                        "system": SERIOUSNESS,
                        "code": "serious" if serious else "non-serious",
                        "display": "Serious" if serious else "Non-serious",
                    }
                ]
            }
        if e.get("outcome"):
            values["outcome"] = {"text": str(e["outcome"])}
        if dose_url is not None:
            values["suspectEntity"] = [{"instance": {"reference": dose_url}}]
        yield values
