"""Protocol files: every shipped template loads and plans as its header says; a clinic's own file
is added beside them; a broken file is refused at load time with a message naming the file, the
line and the field, and never crashes the loader or hides the other protocols."""

from __future__ import annotations

import json
import math
import pickle
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kapsession.errors import InvalidEntry
from kapsession.monitoring.protocol import (
    SCALES,
    THRESHOLD_FIELDS,
    CheckSpec,
    Protocol,
    ProtocolError,
    available_protocols,
    builtin_protocols,
    load_protocol,
    parse_protocol,
    plan_from_data,
    plan_to_data,
)
from kapsession.storage.schema import ROUTES

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "kapsession" / "monitoring" / "protocols"

EXPECTED_MINUTES = {
    "sublingual": [0, 15, 30, 45, 60, 75],
    "intramuscular": [0, 10, 20, 30, 45, 60],
    "intravenous": [0, 15, 30, 45, 60],
    "intravenous-10": [0, 10, 20, 30, 40, 50, 60],
    "esketamine-rems": [0, 40, 70, 100, 120],
}


def minutes(plan: tuple[CheckSpec, ...]) -> list[int]:
    return [round(c.offset_s / 60) for c in plan]


# --- the shipped protocols -------------------------------------------------------------------


def test_every_shipped_file_loads_and_plans_as_documented() -> None:
    protocols = builtin_protocols()
    assert set(protocols) == set(EXPECTED_MINUTES)
    assert {p.name for p in SHIPPED_DIR.glob("*.toml")} == {f"{i}.toml" for i in protocols}
    for ident, protocol in protocols.items():
        plan = protocol.plan()
        assert minutes(plan) == EXPECTED_MINUTES[ident], ident
        assert plan == protocol.checks
        assert protocol.route in ROUTES
        assert plan[-1].offset_s <= protocol.planned_minutes * 60 <= 120 * 60
        assert len({c.key for c in plan}) == len(plan)
        assert all(c.vitals or c.scales for c in plan)
        assert all(set(c.scales) <= set(SCALES) for c in plan)
        assert 0 < protocol.late_after_s < protocol.missed_after_s
        assert protocol.thresholds, f"{ident} has no thresholds"
        for threshold in protocol.thresholds:
            assert threshold.field in THRESHOLD_FIELDS
            assert threshold.source.strip()
            assert threshold.low is not None or threshold.high is not None


@pytest.mark.parametrize("path", sorted(SHIPPED_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_each_shipped_file_opens_with_a_header_citing_its_sources(path: Path) -> None:
    text = path.read_text("utf-8")
    header = text[: text.index("[protocol]")]
    assert all(line.startswith("#") or not line.strip() for line in header.splitlines())
    assert "Sources:" in header
    assert load_protocol(path) == builtin_protocols()[path.stem]
    assert all(len(line) <= 100 for line in text.splitlines()), "readable without scrolling"


def test_shipped_thresholds_use_the_design_figures() -> None:
    subl = {t.field: t for t in builtin_protocols()["sublingual"].thresholds}
    assert (subl["systolic"].low, subl["systolic"].high) == (85, 180)
    assert (subl["heart_rate"].low, subl["heart_rate"].high) == (49, 130)
    assert (subl["resp_rate"].low, subl["resp_rate"].high) == (8, 26)
    assert (subl["spo2"].low, subl["spo2"].high) == (90, None)
    assert "OpenMRS" in subl["systolic"].source and "World SIVA" in subl["spo2"].source


def test_rems_pre_dose_bp_guide_applies_to_the_baseline_only() -> None:
    rems = builtin_protocols()["esketamine-rems"]
    assert rems.route == "intranasal" and rems.planned_minutes == 120
    baseline, at_40 = rems.plan()[0], rems.plan()[1]
    assert "before dosing" in baseline.label and baseline.offset_s == 0
    assert all(c.vitals for c in rems.plan()), "BP and pulse oximetry at every check"
    pre_dose = {(t.field, t.high) for t in rems.thresholds_for(baseline) if "REMS" in t.source}
    assert pre_dose == {("systolic", 140), ("diastolic", 90)}
    assert not [t for t in rems.thresholds_for(at_40) if "REMS" in t.source]
    assert not [t for t in rems.thresholds_for(None) if t.applies_to == "baseline"]
    assert {t.field for t in rems.thresholds_for(at_40)} >= {"systolic", "spo2", "heart_rate"}


# --- plans for sessions longer or shorter than the protocol ---------------------------------


def test_a_longer_session_extends_the_repeating_checks_and_moves_the_end_check() -> None:
    subl = builtin_protocols()["sublingual"]
    plan = subl.plan(90)
    assert minutes(plan) == [0, 15, 30, 45, 60, 75, 90]
    assert plan[-1].label == "End of session" and plan[-2].label == "Monitoring"
    assert minutes(subl.plan(120)) == list(range(0, 121, 15))


def test_a_shorter_session_truncates_and_the_end_check_takes_the_last_slot() -> None:
    protocols = builtin_protocols()
    assert minutes(protocols["sublingual"].plan(45)) == [0, 15, 30, 45]
    assert protocols["sublingual"].plan(45)[-1].label == "End of session"
    assert minutes(protocols["sublingual"].plan(50)) == [0, 15, 30, 45, 50]
    assert minutes(protocols["esketamine-rems"].plan(60)) == [0, 40, 60]
    assert minutes(protocols["intramuscular"].plan(90)) == [0, 10, 20, 30, 45, 60, 75, 90]


def test_plans_are_ordered_with_unique_stable_keys_for_every_length() -> None:
    for protocol in builtin_protocols().values():
        for length in range(45, 121):
            plan = protocol.plan(length)
            offsets = [c.offset_s for c in plan]
            assert offsets == sorted(set(offsets))
            assert len({c.key for c in plan}) == len(plan)
            assert plan[-1].offset_s == length * 60, "every shipped protocol ends with a check"
            assert plan == protocol.plan(length), "pure: same input, same plan"
    assert builtin_protocols()["sublingual"].plan()[0].key == "c00-baseline"
    assert builtin_protocols()["sublingual"].plan()[1].key == "c15-monitoring"


def test_checks_that_meet_in_a_longer_plan_merge_and_ask_everything() -> None:
    end_block = BASE[BASE.index('[[checks]]\nlabel = "End') : BASE.index("[[thresholds]]")]
    text = BASE.replace(
        end_block,
        '[[checks]]\nlabel = "Dissociation"\nevery = 20\nfrom = 70\nvitals = false\n'
        'scales = ["dissociation"]\n\n',
    )
    protocol = parse_protocol(text, "merge.toml")
    assert minutes(protocol.plan()) == [0, 15, 30, 45, 60, 70, 75]
    plan = protocol.plan(90)  # 90 is both every-15 and every-20-from-70
    merged = next(c for c in plan if c.offset_s == 90 * 60)
    assert merged.label == "Monitoring" and merged.vitals
    assert merged.scales == ("moaas", "dissociation", "nausea")
    assert len({c.offset_s for c in plan}) == len(plan)


@pytest.mark.parametrize("length", [44, 121, 0, -5, 60.0, True, None, "75"])
def test_plan_refuses_a_length_a_session_cannot_have(length: Any) -> None:
    protocol = builtin_protocols()["sublingual"]
    if length is None:
        assert protocol.plan(length) == protocol.checks
        return
    with pytest.raises(InvalidEntry, match="Planned length"):
        protocol.plan(length)


def test_a_plan_survives_being_recorded_and_read_back() -> None:
    for protocol in builtin_protocols().values():
        plan = protocol.plan(100)
        data = json.loads(json.dumps(plan_to_data(plan)))
        assert plan_from_data(data) == plan
    with pytest.raises(InvalidEntry):
        plan_from_data(
            [{"key": "c1", "offset_s": math.nan, "label": "x", "vitals": True, "scales": []}]
        )
    with pytest.raises(InvalidEntry):
        plan_from_data("not a plan")


# --- broken files: the message names the file, the line and the field ------------------------

BASE = """\
# A clinic's protocol
[protocol]
id = "clinic-test"
name = "Clinic test"
route = "sublingual"
planned_minutes = 75
late_after_minutes = 5
missed_after_minutes = 15

[[checks]]
label = "Baseline"
at = 0
vitals = true
scales = ["moaas", "nausea"]

[[checks]]
label = "Monitoring"
every = 15
from = 15
vitals = true
scales = ["moaas", "dissociation", "nausea"]

[[checks]]
label = "End of session"
at = "end"
vitals = true
scales = ["moaas", "nausea"]

[[thresholds]]
field = "systolic"
low = 85
high = 180
source = "OpenMRS critical range"

[[thresholds]]
field = "spo2"
low = 90
source = "World SIVA"
"""


def line_of(text: str, snippet: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if snippet in line:
            return number
    raise AssertionError(f"{snippet!r} not in text")


# (id, old, new, field, a snippet on the line the message must name, words in the message)
# fmt: off
BROKEN: list[tuple[str, str, str, str, str, str]] = [
    ("every-zero", "every = 15", "every = 0", "checks[2].every", "every = 0",
     "must be a whole number of minutes greater than 0"),
    ("every-negative", "every = 15", "every = -15", "checks[2].every", "every = -15",
     "greater than 0"),
    ("every-text", "every = 15", 'every = "15"', "checks[2].every", 'every = "15"', "whole number"),
    ("every-fraction", "every = 15", "every = 7.5", "checks[2].every", "every = 7.5",
     "whole number"),
    ("every-nan", "every = 15", "every = nan", "checks[2].every", "every = nan",
     "not NaN or infinity"),
    ("every-inf", "every = 15", "every = inf", "checks[2].every", "every = inf",
     "not NaN or infinity"),
    ("every-huge", "every = 15", "every = 1" + "0" * 400, "checks[2].every", "every = 1000",
     "whole number"),
    ("threshold-huge", "low = 85", "low = -1" + "0" * 400, "thresholds[1].low", "low = -1000",
     "must be a number from 0 to 250"),
    ("every-bool", "every = 15", "every = true", "checks[2].every", "every = true", "whole number"),
    ("at-negative", "at = 0", "at = -1", "checks[1].at", "at = -1", "whole number of minutes"),
    ("at-word", 'at = "end"', 'at = "finish"', "checks[3].at", 'at = "finish"', 'or "end"'),
    ("at-date", "at = 0", "at = 1979-05-27", "checks[1].at", "at = 1979", "whole number"),
    ("at-after-end", "at = 0", "at = 80", "checks[1].at", "at = 80",
     "after the planned end (75 min)"),
    ("from-after-end", "from = 15", "from = 90", "checks[2].from", "from = 90",
     "after the planned end"),
    ("until-after-end", "from = 15\n", "from = 15\nuntil = 100\n", "checks[2].until",
     "until = 100", "after the planned end"),
    ("until-before-from", "from = 15\n", "from = 15\nuntil = 10\n", "checks[2].until",
     "until = 10", "must not be before from"),
    ("overlap", "from = 15", "from = 0", "checks[2].from", "from = 0",
     "before or with the check above"),
    ("same-minute", 'label = "End of session"\nat = "end"', 'label = "Peak"\nat = 45',
     "checks[3].at", "at = 45", "same minute as checks[2]"),
    ("out-of-order", "at = 0", "at = 20", "checks[2].from", "from = 15",
     "list checks in time order"),
    ("end-not-last", 'label = "Monitoring"\nevery = 15\nfrom = 15',
     'label = "Monitoring"\nat = "end"', "checks[2].at", 'at = "end"', "must be listed last"),
    ("at-and-every", "from = 15\n", "from = 15\nat = 20\n", "checks[2].every", "every = 15",
     "either at"),
    ("neither-at-nor-every", 'at = "end"\n', "", "checks[3].at",
     '[[checks]]\nlabel = "End of session"', "is required"),
    ("from-with-at", "at = 0\n", "at = 0\nfrom = 3\n", "checks[1].from", "from = 3",
     "only goes with every"),
    ("unknown-check-key", "at = 0\n", "at = 0\ncolour = 'red'\n", "checks[1].colour", "colour = ",
     "unknown field"),
    ("unknown-scale", '"moaas", "dissociation"', '"moaas", "vibes"', "checks[2].scales", '"vibes"',
     '"vibes" is not a known scale'),
    ("scale-not-text", '["moaas", "nausea"]\n\n[[checks]]', '["moaas", 3]\n\n[[checks]]',
     "checks[1].scales", '["moaas", 3]', "is not a known scale"),
    ("scales-not-list", '["moaas", "nausea"]\n\n[[checks]]', '"moaas"\n\n[[checks]]',
     "checks[1].scales", 'scales = "moaas"', "must be a list"),
    ("scale-twice", '["moaas", "nausea"]\n\n[[checks]]', '["moaas", "moaas"]\n\n[[checks]]',
     "checks[1].scales", '"moaas", "moaas"', "twice"),
    ("vitals-missing", 'vitals = true\nscales = ["moaas", "dissociation"',
     'scales = ["moaas", "dissociation"', "checks[2].vitals", '[[checks]]\nlabel = "Monitoring"',
     "is required"),
    ("vitals-not-bool", "at = 0\nvitals = true", "at = 0\nvitals = 1", "checks[1].vitals",
     "vitals = 1", "true or false"),
    ("asks-nothing", 'at = 0\nvitals = true\nscales = ["moaas", "nausea"]',
     "at = 0\nvitals = false\nscales = []", "checks[1].vitals", "vitals = false", "asks nothing"),
    ("label-missing", 'label = "Monitoring"\n', "", "checks[2].label", "[[checks]]\nevery = 15",
     "is required"),
    ("label-empty", 'label = "Monitoring"', 'label = "  "', "checks[2].label", 'label = "  "',
     "must not be empty"),
    ("label-control", 'label = "Monitoring"', 'label = "Moni\\u0007toring"', "checks[2].label",
     "Moni", "control characters"),
    ("no-checks", BASE[BASE.index("[[checks]]") : BASE.index("[[thresholds]]")], "", "checks",
     "# A clinic", "is required"),
    ("late-equals-missed", "missed_after_minutes = 15", "missed_after_minutes = 5",
     "protocol.missed_after_minutes", "missed_after_minutes = 5", "more than late_after_minutes"),
    ("late-after-missed", "late_after_minutes = 5", "late_after_minutes = 20",
     "protocol.missed_after_minutes", "missed_after_minutes", "more than late_after_minutes"),
    ("late-zero", "late_after_minutes = 5", "late_after_minutes = 0",
     "protocol.late_after_minutes", "late_after_minutes = 0", "greater than 0"),
    ("late-nan", "late_after_minutes = 5", "late_after_minutes = nan",
     "protocol.late_after_minutes", "late_after_minutes = nan", "not NaN"),
    ("missed-missing", "missed_after_minutes = 15\n", "", "protocol.missed_after_minutes",
     "[protocol]", "is required"),
    ("planned-too-long", "planned_minutes = 75", "planned_minutes = 180",
     "protocol.planned_minutes", "planned_minutes = 180", "from 45 to 120"),
    ("planned-fraction", "planned_minutes = 75", "planned_minutes = 75.5",
     "protocol.planned_minutes", "planned_minutes = 75.5", "whole number"),
    ("planned-bool", "planned_minutes = 75", "planned_minutes = false", "protocol.planned_minutes",
     "planned_minutes = false", "whole number"),
    ("unknown-route", 'route = "sublingual"', 'route = "oral"', "protocol.route", 'route = "oral"',
     "must be one of: sublingual, intramuscular, intravenous, intranasal"),
    ("route-not-text", 'route = "sublingual"', "route = 3", "protocol.route", "route = 3",
     "must be text"),
    ("bad-id", 'id = "clinic-test"', 'id = "Clinic Test"', "protocol.id", 'id = "Clinic Test"',
     "lowercase letters"),
    ("unknown-protocol-key", "route = ", "colour = 'red'\nroute = ", "protocol.colour",
     "colour = 'red'", "unknown field; expected one of: id, name"),
    ("unknown-root-key", "# A clinic's protocol\n", "# A clinic's protocol\nversion = 2\n",
     "version", "version = 2", "unknown field"),
    ("protocol-missing", "[protocol]\n", "[protocol_]\n", "protocol_", "[protocol_]",
     "unknown field"),
    ("threshold-field", 'field = "spo2"', 'field = "glucose"', "thresholds[2].field",
     'field = "glucose"', "must be one of: systolic, diastolic, heart_rate, spo2"),
    ("threshold-low-not-below-high", "low = 85", "low = 190", "thresholds[1].low", "low = 190",
     "must be below high (180)"),
    ("threshold-equal", "low = 85", "low = 180", "thresholds[1].low", "low = 180", "below high"),
    ("threshold-implausible", "low = 90", "low = 150", "thresholds[2].low", "low = 150",
     "from 0 to 100 (%)"),
    ("threshold-nan", "high = 180", "high = nan", "thresholds[1].high", "high = nan", "not NaN"),
    ("threshold-bool", "high = 180", "high = true", "thresholds[1].high", "high = true",
     "must be a number"),
    ("threshold-no-bounds", "low = 90\n", "", "thresholds[2].field", 'field = "spo2"',
     "needs low, high or both"),
    ("threshold-no-source", 'source = "World SIVA"\n', "", "thresholds[2].source",
     '[[thresholds]]\nfield = "spo2"', "is required"),
    ("threshold-empty-source", 'source = "World SIVA"', 'source = ""', "thresholds[2].source",
     'source = ""', "must not be empty"),
    ("threshold-twice", 'field = "spo2"', 'field = "systolic"', "thresholds[2].field",
     'field = "systolic"\nlow = 90', "already has a threshold (thresholds[1])"),
    ("threshold-scope", 'source = "World SIVA"', 'source = "World SIVA"\napplies_to = "peak"',
     "thresholds[2].applies_to", 'applies_to = "peak"', "must be one of: all, baseline"),
    ("threshold-unknown-key", 'source = "World SIVA"', 'source = "World SIVA"\nunit = "%"',
     "thresholds[2].unit", 'unit = "%"', "unknown field"),
    ("toml-syntax", "planned_minutes = 75", "planned_minutes = ", "TOML syntax",
     "planned_minutes = ", "Invalid value"),
    ("toml-duplicate-key", "route = ", 'route = "intravenous"\nroute = ', "TOML syntax",
     'route = "sublingual"', "Cannot overwrite a value"),
    ("toml-unclosed", 'scales = ["moaas", "nausea"]\n\n[[checks]]',
     'scales = ["moaas", "nausea"\n\n[[checks]]', "TOML syntax", "[[checks]]", "column"),
]
# fmt: on
# The last entry's line is the first [[checks]] after the unclosed list: tomllib stops there.


@pytest.mark.parametrize(
    ("old", "new", "field", "line_snippet", "words"),
    [b[1:] for b in BROKEN],
    ids=[b[0] for b in BROKEN],
)
def test_a_broken_file_names_the_line_and_the_field(
    old: str, new: str, field: str, line_snippet: str, words: str
) -> None:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "clinic.toml")
    error = caught.value
    if "\n" in line_snippet:  # a snippet spanning lines names its first line
        first, second = line_snippet.split("\n")
        lines = text.splitlines()
        expected = next(
            n for n in range(1, len(lines)) if first in lines[n - 1] and second in lines[n]
        )
    elif field.startswith("TOML") and line_snippet == "[[checks]]":
        expected = line_of(text, '"nausea"') + 2
    else:
        expected = line_of(text, line_snippet)
    assert (error.file, error.field, error.line) == ("clinic.toml", field, expected), str(error)
    assert str(error).startswith(f"clinic.toml line {expected}, {field}: "), str(error)
    assert words in str(error)
    assert isinstance(error, InvalidEntry)


def test_the_base_text_of_the_broken_table_is_itself_valid() -> None:
    protocol = parse_protocol(BASE, "clinic.toml")
    assert minutes(protocol.plan()) == [0, 15, 30, 45, 60, 75]
    assert protocol.path == "clinic.toml"


def test_the_message_reads_like_the_example_in_the_brief() -> None:
    text = BASE.replace("every = 15", "every = 0")
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "sublingual.toml")
    assert str(caught.value) == (
        "sublingual.toml line 18, checks[2].every: must be a whole number of minutes greater than 0"
    )
    again = pickle.loads(pickle.dumps(caught.value))
    assert str(again) == str(caught.value) and again.line == 18


def test_inline_tables_still_get_a_line() -> None:
    text = (
        "# inline checks\n"
        'checks = [{label = "Baseline", at = 0, vitals = true, scales = []},\n'
        '          {label = "Later", at = -5, vitals = true, scales = []}]\n'
    ) + BASE[: BASE.index("[[checks]]")]
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "inline.toml")
    assert caught.value.field == "checks[2].at"
    assert caught.value.line == line_of(text, "checks = [")


def test_a_file_that_is_not_utf8_or_too_big_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(BASE.replace("Clinic test", "Klinik Müller").encode("latin-1"))
    with pytest.raises(ProtocolError, match=r"latin1.toml line 4: is not UTF-8 text"):
        load_protocol(path)
    big = tmp_path / "big.toml"
    big.write_bytes(BASE.encode() + b"#" * 300_000)
    with pytest.raises(ProtocolError, match="larger than"):
        load_protocol(big)
    with pytest.raises(ProtocolError, match=r"missing.toml: cannot be read"):
        load_protocol(tmp_path / "missing.toml")


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_protocol(path).id == "clinic-test"
    assert load_protocol(path).path == str(path)


# --- a clinic's own protocols ------------------------------------------------------------------


def test_a_clinic_file_joins_the_shipped_ones_and_a_bad_one_hides_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "protocols"
    folder.mkdir()
    (folder / "clinic.toml").write_text(BASE, "utf-8")
    (folder / "broken.toml").write_text(BASE.replace("every = 15", "every = 0"), "utf-8")
    (folder / "clash.toml").write_text(BASE.replace('"clinic-test"', '"sublingual"'), "utf-8")
    (folder / "twin.toml").write_text(BASE, "utf-8")  # same id as clinic.toml, read after it
    (folder / "notes.txt").write_text("not a protocol", "utf-8")
    (folder / ".#clinic.toml").write_text("editor lock file", "utf-8")

    protocols, errors = available_protocols(tmp_path)
    assert set(protocols) == set(EXPECTED_MINUTES) | {"clinic-test"}
    assert protocols["clinic-test"].path == str(folder / "clinic.toml")
    assert protocols["sublingual"] == builtin_protocols()["sublingual"], "not replaced"
    messages = sorted(str(e) for e in errors)
    assert messages == [
        "broken.toml line 18, checks[2].every: must be a whole number of minutes greater than 0",
        'clash.toml line 3, protocol.id: "sublingual" is already used by a shipped protocol; '
        "choose another id",
        'twin.toml line 3, protocol.id: "clinic-test" is already used by another clinic file; '
        "choose another id",
    ]


def test_no_clinic_folder_means_just_the_shipped_protocols(tmp_path: Path) -> None:
    assert available_protocols(tmp_path) == (builtin_protocols(), [])
    (tmp_path / "protocols").write_text("a file where the folder should be", "utf-8")
    protocols, errors = available_protocols(tmp_path)
    assert protocols == builtin_protocols()
    assert len(errors) == 1 and "cannot be read" in str(errors[0])


# --- property: nothing a clinic writes crashes the loader --------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(doc: dict[str, Any]) -> str:
    """Tables and arrays of tables as a person writes them, so line finding is exercised."""
    out: list[str] = []
    scalars = {
        k: v
        for k, v in doc.items()
        if not isinstance(v, dict | list)
        or (isinstance(v, list) and not (v and all(isinstance(x, dict) for x in v)))
    }
    for key, value in scalars.items():
        out.append(f"{json.dumps(key)} = {toml_value(value)}")
    for key, value in doc.items():
        if key in scalars:
            continue
        blocks = [value] if isinstance(value, dict) else value
        for block in blocks:
            out.append(
                f"[{json.dumps(key)}]" if isinstance(value, dict) else f"[[{json.dumps(key)}]]"
            )
            for k, v in block.items():
                out.append(f"{json.dumps(k)} = {toml_value(v)}")
    return "\n".join(out) + "\n"


def base_doc() -> dict[str, Any]:
    return tomllib.loads(BASE)


KEYS = [
    "id",
    "name",
    "route",
    "planned_minutes",
    "late_after_minutes",
    "missed_after_minutes",
    "label",
    "at",
    "every",
    "from",
    "until",
    "vitals",
    "scales",
    "field",
    "low",
    "high",
    "source",
    "applies_to",
    "protocol",
    "checks",
    "thresholds",
    "x",
]
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.integers(10**300, 10**400),
    st.sampled_from([0, 1, 15, 45, 75, 120, 121, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["end", "sublingual", "intranasal", "moaas", "spo2", "baseline", "all", ""]),
)
value = st.recursive(
    scalar,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_none(v) for v in value if v is not None]
    return value


def mutate(doc: dict[str, Any], path: list[int], new: Any, delete: bool) -> None:
    """Replace or delete one value somewhere in the document, chosen by ``path``."""
    node: Any = doc
    while True:
        if isinstance(node, dict) and node:
            keys = list(node)
            key = keys[path.pop(0) % len(keys)] if path else keys[0]
            child = node[key]
            if path and isinstance(child, dict | list) and child and path[0] % 3:
                node = child
                continue
            if delete:
                del node[key]
            else:
                node[key] = new
            return
        if isinstance(node, list) and node:
            index = path.pop(0) % len(node) if path else 0
            child = node[index]
            if path and isinstance(child, dict | list) and child and path[0] % 3:
                node = child
                continue
            if delete:
                del node[index]
            else:
                node[index] = new
            return
        return


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutations=st.lists(
        st.tuples(st.lists(st.integers(0, 50), max_size=5), value, st.booleans()), max_size=4
    )
)
def test_mutated_protocols_load_or_give_a_protocol_error(mutations: list[Any]) -> None:
    doc = base_doc()
    for path, new, delete in mutations:
        mutate(doc, list(path), strip_none(new), delete)
    doc = strip_none(doc)
    try:
        text = to_toml(doc)
    except TypeError:
        return
    check_parse(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_loads_or_gives_a_protocol_error(text: str) -> None:
    check_parse(text)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, len(BASE)), insert=st.text(max_size=20))
def test_a_damaged_file_loads_or_gives_a_protocol_error(cut: int, insert: str) -> None:
    check_parse(BASE[:cut] + insert + BASE[cut:])


def check_parse(text: str) -> None:
    try:
        protocol = parse_protocol(text, "fuzz.toml")
    except ProtocolError as error:
        assert re.match(r"^fuzz\.toml line \d+", str(error)), str(error)
        assert error.line is not None and 1 <= error.line <= text.count("\n") + 1
        return
    assert isinstance(protocol, Protocol)
    plan = protocol.plan()
    assert [c.offset_s for c in plan] == sorted({c.offset_s for c in plan})
    assert plan[-1].offset_s <= protocol.planned_minutes * 60


def test_a_stray_key_is_shown_escaped_in_the_message() -> None:
    text = BASE.replace("route = ", '"odd\\u0007key" = 1\nroute = ', 1)
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "odd.toml")
    assert caught.value.field == 'protocol."odd\\u0007key"'
    assert "\x07" not in str(caught.value)


# --- agreement with the modules that use protocols ----------------------------------------------


def test_scale_names_are_the_observation_scales() -> None:
    from kapsession.monitoring.observations import SCALES as OBSERVATION_SCALES

    assert tuple(OBSERVATION_SCALES) == SCALES


def test_thresholds_drive_vitals_alerts_with_their_source() -> None:
    from kapsession.monitoring.vitals import Vitals, check_thresholds

    rems = builtin_protocols()["esketamine-rems"]
    baseline, later = rems.plan()[0], rems.plan()[1]
    high_bp = Vitals(systolic=150, diastolic=95, heart_rate=80, spo2=97)
    at_baseline = check_thresholds(high_bp, rems.thresholds_for(baseline))
    assert {(a.field, a.high) for a in at_baseline} == {("systolic", 140), ("diastolic", 90)}
    assert all("REMS" in a.source for a in at_baseline)
    assert check_thresholds(high_bp, rems.thresholds_for(later)) == []
    low_spo2 = Vitals(systolic=120, diastolic=80, heart_rate=80, spo2=88)
    [alert] = check_thresholds(low_spo2, rems.thresholds_for(later))
    assert alert.field == "spo2" and "World SIVA" in alert.source
