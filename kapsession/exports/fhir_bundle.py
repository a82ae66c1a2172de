"""The FHIR R4 export: one Bundle (type "collection"), checked against the fhir.resources models.

fhir.resources 8.x defaults to R5; its R4B package (FHIR 4.3) is the closest model set to R4
(4.0.1): every resource used here (Patient, Encounter, MedicationAdministration, Observation,
QuestionnaireResponse, Bundle) has the same shape in R4 and R4B. The bundle is built as plain
JSON data in the form the models write it, and written with json.dumps. The models' validation
(types, required elements, choice types, unknown elements, code and dateTime patterns) costs
~0.3 ms a resource, ~6 s for a 4-hour session's 20,000 resources against ~1 s for the whole
export, so it runs on demand: `render(doc, validate=True)` (`kapsession export --format fhir
--validate`) and in the tests, which check on real sessions that the output validates and that
the models read it back unchanged (tests/unit/test_fhir_fast.py). An invalid field then raises
before anything is written.

What is in it (DESIGN.md, Interfaces):
- Patient: the pseudonymous client code as its only identifier (no name, no birth date).
- Encounter: the session, period from the dose to the end.
- MedicationAdministration: ketamine or esketamine (by protocol), dose in mg, route coded in
  SNOMED CT and HL7 v3 RouteOfAdministration; booster doses as further administrations; every
  ``medication`` entry (issue 15) as one more, its medicine by ATC code where the list has it.
- vital-sign Observations with the LOINC codes of the FHIR vital-signs profile: BP panel
  85354-9 (8480-6 systolic, 8462-4 diastolic, mm[Hg]), heart rate 8867-4 /min, respiratory rate
  9279-1 /min, SpO2 2708-6 + 59408-5 %, body temperature 8310-5 Cel. Values that raised an
  alert carry an H/L interpretation.
- QuestionnaireResponse: one per observation-scale rating (MOAA/S, RASS, ...), one for the
  current integration worksheet, and one per administration of the client's rating scales
  (PHQ-9 as LOINC 44249-1, GAD-7 as 69737-5: item answers and the total; issue 18).
- Observation (category survey) for the client's music ratings in the current worksheet
  (issue 17): code text, one valueInteger component each for liking, resonance and openness
  (0-10), the arc in a note.
- Practitioner and PractitionerRole for each clinician who charted or signed; a Provenance for
  each signature (target the Encounter, the meaning as its activity, an ASTM E1762 signature
  type, the signed record's SHA-256 as the signature's data).
- Rehearsal bundles: meta.tag HTEST (v3 ActReason "test health data") on the bundle and every
  resource, plus a kapsession tag whose display says it is training data."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kapsession import gc_pause
from kapsession.exports import fhir_adverse
from kapsession.exports import medication_record as mr
from kapsession.exports import summary as s
from kapsession.music.rating import SCALES as RATING_SCALES
from kapsession.music.rating import arc_label, read_rating
from kapsession.session.entry_text import scale_name, text_of

if TYPE_CHECKING:
    from fhir.resources.R4B.bundle import Bundle

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
V3_ROUTE = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ATC = "http://www.whocc.no/atc"
CLIENT_SYSTEM = "urn:kapsession:client-code"
TAG_SYSTEM = "urn:kapsession:tag"
QUESTIONNAIRE = "urn:kapsession:questionnaire:"
SCALE_SYSTEM = "urn:kapsession:scale:"
CLINICIAN_ROLE_SYSTEM = "urn:kapsession:clinician-role"
PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"
AUTHOR_SIGNATURE = ("1.2.840.10065.1.12.1.1", "Author's Signature")
COSIGNATURE = ("1.2.840.10065.1.12.1.2", "Coauthor's Signature")
# Stable ids: the same session exports to the same fullUrls every time.
_NAMESPACE = uuid.UUID("6f1c1f0e-5c7a-4b8e-9d51-6b0e3a4f8a11")

ROUTES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    # route: ((SNOMED code, display), (HL7 v3 code, display))
    "sublingual": (("37839007", "Sublingual route"), ("SL", "Sublingual")),
    "intramuscular": (("78421000", "Intramuscular route"), ("IM", "Injection, intramuscular")),
    "intravenous": (("47625008", "Intravenous route"), ("IVINFUS", "Infusion, intravenous")),
    "intranasal": (("46713006", "Nasal route"), ("NASINHL", "Inhalation, nasal")),
}
# ATC: ketamine N01AX03; esketamine as used against depression (nasal spray) N06AX27.
MEDICATIONS = {
    "ketamine": ("N01AX03", "ketamine"),
    "esketamine": ("N06AX27", "esketamine"),
}

VITAL_SIGNS = [
    {
        "system": OBS_CATEGORY,
        "code": "vital-signs",
        "display": "Vital Signs",
    }
]
SURVEY = [{"system": OBS_CATEGORY, "code": "survey", "display": "Survey"}]

# field: (LOINC codings, text, UCUM code, unit shown)
SIMPLE_VITALS: dict[str, tuple[list[tuple[str, str]], str, str, str]] = {
    "heart_rate": ([("8867-4", "Heart rate")], "Heart rate", "/min", "beats/minute"),
    "resp_rate": ([("9279-1", "Respiratory rate")], "Respiratory rate", "/min", "breaths/minute"),
    "spo2": (
        [
            ("2708-6", "Oxygen saturation in Arterial blood"),
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ],
        "SpO2",
        "%",
        "%",
    ),
    "temperature": ([("8310-5", "Body temperature")], "Body temperature", "Cel", "C"),
}


def medication_of(session: Mapping[str, Any], dose: Mapping[str, Any] | None) -> str:
    """Esketamine when the protocol says so (by id or name); ketamine otherwise."""
    names = [str(session.get("protocol") or "")]
    monitoring = dose.get("monitoring") if dose else None
    if isinstance(monitoring, Mapping):
        names += [str(monitoring.get("id") or ""), str(monitoring.get("name") or "")]
    text = " ".join(names).lower()
    return "esketamine" if "esketamine" in text or "spravato" in text else "ketamine"


def _id(session_id: object, *parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in (session_id, *parts))))


def _meta(rehearsal: bool) -> dict[str, Any] | None:
    if not rehearsal:
        return None
    return {
        "tag": [
            {"system": V3_ACT_REASON, "code": "HTEST", "display": "test health data"},
            {"system": TAG_SYSTEM, "code": "rehearsal", "display": s.REHEARSAL_NOTICE},
        ]
    }


def _quantity(value: float, code: str, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _route(route: str) -> dict[str, Any]:
    found = ROUTES.get(route)
    if found is None:
        return {"text": route}
    (sct, sct_display), (v3, v3_display) = found
    return {
        "coding": [
            {"system": SNOMED, "code": sct, "display": sct_display},
            {"system": V3_ROUTE, "code": v3, "display": v3_display},
        ],
        "text": route,
    }


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class _Builder:
    def __init__(self, sm: s.Summary) -> None:
        self.sm = sm
        self.sid = sm.session.get("id")
        self.meta = _meta(sm.rehearsal)
        self.entries: list[dict[str, Any]] = []
        self.patient_url = "urn:uuid:" + _id(self.sid, "patient")
        self.encounter_url = "urn:uuid:" + _id(self.sid, "encounter")
        # (vitals seq) -> {field: "H" | "L"} from the alerts stored with those vitals.
        self.flags: dict[int, dict[str, str]] = {}
        for owner, alerts in s.alerts_by_vitals(sm).items():
            for alert in alerts:
                value, high = _number(alert.get("value")), _number(alert.get("high"))
                if value is not None:
                    above = high is not None and value > high
                    self.flags.setdefault(owner, {})[str(alert.get("field"))] = (
                        "H" if above else "L"
                    )

    def add(self, resource_type: str, values: dict[str, Any]) -> None:
        url = "urn:uuid:" + values["id"]
        # Plain data here; the Bundle model validates every resource once, at the end.
        self.entries.append({"fullUrl": url, "resource": {"resourceType": resource_type, **values}})

    def common(self, key: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": _id(self.sid, key)}
        if self.meta:
            out["meta"] = self.meta
        return out

    def patient(self) -> None:
        values = {
            **self.common("patient"),
            "identifier": [{"system": CLIENT_SYSTEM, "value": self.sm.client}],
        }
        self.add("Patient", values)

    def encounter(self) -> None:
        session = self.sm.session
        period: dict[str, Any] = {}
        if session.get("dose_at"):
            period["start"] = session["dose_at"]
        if session.get("ended_at"):
            period["end"] = session["ended_at"]
        status = {"ended": "finished", "running": "in-progress"}.get(
            str(session.get("state")), "planned"
        )
        text = "Ketamine-assisted psychotherapy session"
        if self.sm.rehearsal:
            text += f" ({s.REHEARSAL_NOTICE})"
        values: dict[str, Any] = {
            **self.common("encounter"),
            "status": status,
            "class": {"system": V3_ACT_CODE, "code": "AMB", "display": "ambulatory"},
            "type": [{"text": text}],
            "subject": {"reference": self.patient_url},
        }
        if period:
            values["period"] = period
        self.add("Encounter", values)

    def administrations(self) -> None:
        session, dose = self.sm.session, self.sm.dose
        drug = medication_of(session, dose)
        atc, name = MEDICATIONS[drug]
        medication = {"coding": [{"system": ATC, "code": atc, "display": name}], "text": name}
        given: list[tuple[str, Mapping[str, Any], float | None, str]] = []
        if dose is not None:
            given.append(("dose", dose, _number(dose.get("mg")), str(dose.get("route") or "")))
        for e in self.sm.others:
            if e.get("kind") == "booster_dose":
                given.append(
                    (f"booster-{e['seq']}", e, _number(e.get("mg")), str(e.get("route") or ""))
                )
        for key, event, mg, route in given:
            dosage: dict[str, Any] = {"route": _route(route or str(session.get("route")))}
            if mg is not None:
                dosage["dose"] = _quantity(mg, "mg", "mg")
            values: dict[str, Any] = {
                **self.common(key),
                "status": "completed",
                "medicationCodeableConcept": medication,
                "subject": {"reference": self.patient_url},
                "context": {"reference": self.encounter_url},
                "effectiveDateTime": event.get("at"),
                "dosage": dosage,
            }
            if key != "dose":
                values["note"] = [{"text": "Booster dose"}]
            self.add("MedicationAdministration", values)
        self._medications()

    def _medications(self) -> None:
        """Every ``medication`` entry (issue 15) as its own MedicationAdministration: the
        medicine by ATC where the list has it, the dose in its unit, the lot in a note, who
        gave it as the performer."""
        for e in mr.medication_entries(self.sm.doc):
            values: dict[str, Any] = {
                **self.common(f"medication-{e['seq']}"),
                "status": "completed",
                "medicationCodeableConcept": mr.medication_concept(str(e.get("drug")), ATC),
                "subject": {"reference": self.patient_url},
                "context": {"reference": self.encounter_url},
                "effectiveDateTime": e.get("at"),
                "dosage": mr.dosage(e, _route(str(e.get("route") or ""))),
            }
            notes = []
            if e.get("lot"):
                notes.append({"text": f"Lot {e['lot']}"})
            if isinstance(e.get("total_mg"), int | float):
                notes.append({"text": f"Ketamine total after it: {e['total_mg']:g} mg"})
            if notes:
                values["note"] = notes
            if e.get("given_by"):
                values["performer"] = [{"actor": {"display": str(e["given_by"])}}]
            self.add("MedicationAdministration", values)

    def _observation(
        self, key: str, event: Mapping[str, Any], code: dict[str, Any], **fields: Any
    ) -> None:
        values: dict[str, Any] = {
            **self.common(key),
            "status": "final",
            "category": [{"coding": VITAL_SIGNS}],
            "code": code,
            "subject": {"reference": self.patient_url},
            "encounter": {"reference": self.encounter_url},
            "effectiveDateTime": event.get("at"),
            **fields,
        }
        self.add("Observation", values)

    def _interpretation(self, seq: int, field: str) -> list[dict[str, Any]] | None:
        flag = self.flags.get(seq, {}).get(field)
        if flag is None:
            return None
        display = "High" if flag == "H" else "Low"
        return [{"coding": [{"system": V3_INTERPRETATION, "code": flag, "display": display}]}]

    def vitals(self) -> None:
        for v in self.sm.vitals:
            seq = int(v["seq"])
            sys_, dia = _number(v.get("systolic")), _number(v.get("diastolic"))
            if sys_ is not None and dia is not None:
                components = []
                for field, value, loinc, display in (
                    ("systolic", sys_, "8480-6", "Systolic blood pressure"),
                    ("diastolic", dia, "8462-4", "Diastolic blood pressure"),
                ):
                    component: dict[str, Any] = {
                        "code": {
                            "coding": [{"system": LOINC, "code": loinc, "display": display}],
                            "text": display,
                        },
                        "valueQuantity": _quantity(value, "mm[Hg]", "mmHg"),
                    }
                    flag = self._interpretation(seq, field)
                    if flag:
                        component["interpretation"] = flag
                    components.append(component)
                self._observation(
                    f"vitals-{seq}-bp",
                    v,
                    {
                        "coding": [
                            {
                                "system": LOINC,
                                "code": "85354-9",
                                "display": "Blood pressure panel with all children optional",
                            }
                        ],
                        "text": "Blood pressure",
                    },
                    component=components,
                )
            for field, (codings, text, ucum, unit) in SIMPLE_VITALS.items():
                amount = _number(v.get(field))
                if amount is None:
                    continue
                extra: dict[str, Any] = {"valueQuantity": _quantity(amount, ucum, unit)}
                flag = self._interpretation(seq, field)
                if flag:
                    extra["interpretation"] = flag
                self._observation(
                    f"vitals-{seq}-{field}",
                    v,
                    {
                        "coding": [{"system": LOINC, "code": c, "display": d} for c, d in codings],
                        "text": text,
                    },
                    **extra,
                )

    def _response(
        self, key: str, event: Mapping[str, Any], questionnaire: str, items: list[dict[str, Any]]
    ) -> None:
        values: dict[str, Any] = {
            **self.common(key),
            "questionnaire": QUESTIONNAIRE + questionnaire,
            "status": "amended" if event.get("amends") is not None else "completed",
            "subject": {"reference": self.patient_url},
            "encounter": {"reference": self.encounter_url},
            "authored": event.get("at"),
            "item": items,
        }
        if event.get("author"):
            values["author"] = {"display": str(event["author"])}
        self.add("QuestionnaireResponse", values)

    def scales(self) -> None:
        for o in self.sm.observations:
            scale = str(o.get("scale") or "")
            name = scale_name(scale)
            if scale == "free_text":
                answer: dict[str, Any] = {"valueString": text_of(o.get("text"))}
            else:
                value = o.get("value")
                answer = {
                    "valueCoding": {
                        "system": SCALE_SYSTEM + scale,
                        "code": str(value),
                        "display": text_of(o.get("label")) or str(value),
                    }
                }
            item: dict[str, Any] = {"linkId": scale or "observation", "text": name}
            if answer.get("valueString", "x"):
                item["answer"] = [answer]
            items = [item]
            remark = text_of(o.get("text")) if scale != "free_text" else ""
            if remark:
                items.append(
                    {"linkId": "remark", "text": "Remark", "answer": [{"valueString": remark}]}
                )
            self._response(f"observation-{o['seq']}", o, scale or "observation", items)

    def _practitioner_url(self, name: str) -> str:
        return "urn:uuid:" + _id(self.sid, "practitioner", name)

    def practitioners(self) -> None:
        """A Practitioner and a PractitionerRole for each clinician who charted or signed."""
        doc = self.sm.doc
        people: dict[str, dict[str, str]] = {}
        events = doc.get("events")
        for e in events if isinstance(events, list) else []:
            if isinstance(e, Mapping) and e.get("author") and e.get("author_role"):
                people.setdefault(str(e["author"]), {"role": str(e["author_role"])})
        for sig in _signatures(doc):
            who = people.setdefault(str(sig.get("name")), {"role": str(sig.get("role"))})
            if sig.get("credentials"):
                who["credentials"] = str(sig["credentials"])
        for name, facts in people.items():
            values: dict[str, Any] = {
                **self.common(f"practitioner-{name}"),
                "name": [{"text": name}],
            }
            values["id"] = _id(self.sid, "practitioner", name)
            if facts.get("credentials"):
                values["qualification"] = [{"code": {"text": facts["credentials"]}}]
            self.add("Practitioner", values)
            role: dict[str, Any] = {
                **self.common(f"practitioner-role-{name}"),
                "practitioner": {"reference": self._practitioner_url(name), "display": name},
                "code": [
                    {
                        "coding": [{"system": CLINICIAN_ROLE_SYSTEM, "code": facts["role"]}],
                        "text": facts["role"],
                    }
                ],
            }
            self.add("PractitionerRole", role)

    def provenances(self) -> None:
        """A Provenance for each signature: who signed the Encounter, when, what it means, and
        the SHA-256 of the record signed (base64, in the signature's data)."""
        for sig in _signatures(self.sm.doc):
            name = str(sig.get("name"))
            who = {"reference": self._practitioner_url(name), "display": name}
            kind = COSIGNATURE if sig.get("cosignature") else AUTHOR_SIGNATURE
            digest = str(sig.get("record_sha256") or "")
            signature: dict[str, Any] = {
                "type": [{"system": SIGNATURE_TYPE, "code": kind[0], "display": kind[1]}],
                "when": sig.get("at"),
                "who": who,
            }
            if len(digest) == 64:
                signature["sigFormat"] = "application/octet-stream"
                signature["data"] = base64.b64encode(bytes.fromhex(digest)).decode("ascii")
            values: dict[str, Any] = {
                **self.common(f"provenance-{sig.get('seq')}"),
                "target": [{"reference": self.encounter_url}],
                "recorded": sig.get("at"),
                "activity": {"text": str(sig.get("meaning") or "")},
                "agent": [
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": PROVENANCE_AGENT,
                                    "code": "attester",
                                    "display": "Attester",
                                }
                            ]
                        },
                        "who": who,
                    }
                ],
                "signature": [signature],
            }
            self.add("Provenance", values)

    def worksheet(self) -> None:
        ws = self.sm.worksheet
        if ws is None:
            return
        answers = self.sm.answers()
        items: list[dict[str, Any]] = []
        for key, question in s.WORKSHEET_QUESTIONS:
            item: dict[str, Any] = {"linkId": key, "text": question}
            if answers.get(key, "").strip():
                item["answer"] = [{"valueString": answers[key]}]
            items.append(item)
        follow = self.sm.follow_up()
        item = {"linkId": "follow_up", "text": "Follow-up items"}
        if follow:
            item["answer"] = [{"valueString": f} for f in follow]
        items.append(item)
        self._response(f"worksheet-{ws['seq']}", ws, "integration-worksheet", items)

    def music_rating(self) -> None:
        """The client's three ratings of the music (issue 17) as one Observation: code text
        (there is no LOINC code for them), a 0-10 integer component per rating."""
        ws = self.sm.worksheet
        rating = read_rating(ws.get("music_rating")) if ws is not None else None
        if ws is None or rating is None:
            return
        components = [
            {
                "code": {"text": f"{key.capitalize()}: {question} (0 {low} - 10 {high})"},
                "valueInteger": rating.value(key),
            }
            for key, question, low, high in RATING_SCALES
        ]
        values: dict[str, Any] = {
            **self.common(f"music-rating-{ws['seq']}"),
            "status": "amended" if ws.get("amends") is not None else "final",
            "category": [{"coding": SURVEY}],
            "code": {
                "text": "Client's rating of the session's music (liking, resonance, openness)"
            },
            "subject": {"reference": self.patient_url},
            "encounter": {"reference": self.encounter_url},
            "effectiveDateTime": ws.get("at"),
            "component": components,
        }
        if rating.arc_id or rating.arc_name:
            values["note"] = [{"text": f"Music arc: {arc_label(rating)}"}]
        self.add("Observation", values)

    def measures(self) -> None:
        """One QuestionnaireResponse per administration of a rating scale (issue 18): the
        questionnaire is LOINC's (http://loinc.org/q/44249-1 for PHQ-9, 69737-5 for GAD-7), one
        group item per panel whose items are linked by their LOINC codes, the total as the
        panel's total-score item. An incomplete run is "in-progress", with no total."""
        course = self.sm.doc.get("measures")
        if not isinstance(course, Mapping):
            return
        scales = {str(i["id"]): i for i in course.get("instruments") or []}
        for a in course.get("administrations") or []:
            scale = scales.get(str(a["instrument"]))
            if scale is None:
                continue
            panel = scale.get("loinc")
            options = {int(o["value"]): str(o["text"]) for o in scale.get("options") or []}
            items: list[dict[str, Any]] = []
            for item, value in zip(scale["items"], a["answers"], strict=False):
                entry: dict[str, Any] = {
                    "linkId": item.get("loinc") or f"{scale['id']}-{item['number']}",
                    "text": item.get("text") or f"Statement {item['number']}",
                }
                if value is not None:
                    answer: dict[str, Any] = {"valueInteger": int(value)}
                    if value in options:
                        answer = {
                            "valueCoding": {
                                "system": f"{SCALE_SYSTEM}{scale['id']}",
                                "code": str(value),
                                "display": options[value],
                            }
                        }
                    entry["answer"] = [answer]
                items.append(entry)
            if a.get("total") is not None:
                total = float(a["total"])
                value_key = "valueInteger" if total.is_integer() else "valueDecimal"
                items.append(
                    {
                        "linkId": scale.get("total_loinc") or f"{scale['id']}-total",
                        "text": f"{scale['name']} total score",
                        "answer": [{value_key: int(total) if total.is_integer() else total}],
                    }
                )
            group = {"linkId": panel or str(scale["id"]), "text": str(scale["name"]), "item": items}
            values: dict[str, Any] = {
                **self.common(f"measure-{a['id']}"),
                "questionnaire": f"{LOINC}/q/{panel}" if panel else QUESTIONNAIRE + scale["id"],
                "status": "completed" if a.get("complete") else "in-progress",
                "subject": {"reference": self.patient_url},
                "authored": a.get("at") or a["date"],
                "item": [group],
            }
            if a.get("author"):
                values["author"] = {"display": str(a["author"])}
            self.add("QuestionnaireResponse", values)


# The models' validation cost grows faster than the bundle (about 0.25 ms an entry at 2,000
# entries, 0.6 ms at 20,000), so a long session is validated in slices of this many entries.
_SLICE = 500


def _signatures(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    session = doc.get("session")
    sigs = session.get("signatures") if isinstance(session, Mapping) else None
    return [x for x in sigs if isinstance(x, Mapping)] if isinstance(sigs, list) else []


def bundle_data(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The Bundle as plain JSON data (not yet validated)."""
    sm = s.summarize(doc)
    b = _Builder(sm)
    b.patient()
    b.encounter()
    b.administrations()
    b.vitals()
    b.scales()
    b.worksheet()
    b.music_rating()
    b.measures()
    # Adverse events (issue 15): one AdverseEvent each, the session's dose as the suspect.
    dose_url = "urn:uuid:" + _id(b.sid, "dose") if sm.dose is not None else None
    for event in fhir_adverse.resources(
        sm.events, b.common, b.patient_url, b.encounter_url, dose_url
    ):
        b.add("AdverseEvent", event)
    b.practitioners()
    b.provenances()
    values: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": _id(b.sid, "bundle", doc.get("exported_at")),
    }
    if b.meta:
        values["meta"] = b.meta
    values.update(type="collection", timestamp=doc.get("exported_at"), entry=b.entries)
    return values


def validate(data: Mapping[str, Any]) -> None:
    """Check the bundle against the R4(B) models (raises pydantic.ValidationError): the bundle
    itself, then every entry and its resource, a slice at a time."""
    # Imported here: the models take a while to import, and only a check needs them.
    from fhir.resources.R4B.bundle import Bundle

    shell = {k: v for k, v in data.items() if k != "entry"}
    Bundle.model_validate(shell)
    entries = list(data.get("entry") or [])
    for start in range(0, len(entries), _SLICE):
        Bundle.model_validate({**shell, "entry": entries[start : start + _SLICE]})


_validate = validate  # render's keyword of the same name hides it there


def bundle(doc: Mapping[str, Any]) -> Bundle:
    """The validated Bundle model for a JSON timeline document."""
    from fhir.resources.R4B.bundle import Bundle

    return Bundle.model_validate(bundle_data(doc))


def render(doc: Mapping[str, Any], *, validate: bool = False) -> str:
    """The bundle as compact FHIR JSON; with `validate`, checked against the models first
    (raises pydantic.ValidationError, nothing returned). Written with json.dumps from the plain
    data: the models' own serialiser takes ~1 ms per resource, and indenting a long session's
    20,000 resources (30 MB) takes seconds for no reader's benefit."""
    with gc_pause.paused():
        data = bundle_data(doc)
        if validate:
            _validate(data)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
