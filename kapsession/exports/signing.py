"""Signing an ended session (21 CFR 11.50/11.70): the signer's printed name, credentials and role,
the time, the meaning ("reviewed and approved", ...) and the SHA-256 of the session's canonical
record, linked to it so that it can be neither copied to another session nor left standing on
a record that changed.

A signature is one timeline entry of kind `signature` (so it is on the audit trail, by the
same INSERT's trigger, and one COMMIT: a kill leaves the session signed or not, never half).
Its record is the canonical kapsession.timeline/1 document of the session as it stood just
before the signature: the session and every entry before it, without signatures and outputs
(exports, handouts), serialised with sorted keys and no spaces. Its `seal` is an HMAC of the
signature's own fields and that digest with the audit chain key (kapsession.storage.chain_key),
so a signature written by hand into the database, or moved from another session, does not
verify. (Who holds the chain key, as for the audit trail, could forge one.)

The database refuses new entries on a signed session but amendments (themselves shown as
"amended after signing" and waiting for a new signature), further signatures and outputs
(schema m007)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kapsession.clock import Clock
from kapsession.exports import timeline_json
from kapsession.exports.signature_entries import KIND as KIND
from kapsession.exports.signature_entries import Signature as Signature
from kapsession.exports.signature_entries import amended_after_signing as amended_after_signing
from kapsession.exports.signature_entries import signature_line as signature_line
from kapsession.exports.signature_entries import signatures as signatures
from kapsession.storage import audit as audit_trail
from kapsession.storage import clinicians
from kapsession.storage.clinicians import Clinician, ClinicianError
from kapsession.storage.store import Event, SessionRecord, Store

DEFAULT_MEANING = "reviewed and approved"
DEFAULT_COSIGN_MEANING = "co-signed"
MEANING_MAX = 80
# Entries that are not part of the signed record: the signatures themselves, and what was
# handed out (noted after the fact, and allowed on a signed session).
NOT_RECORD = ("signature", "export", "handout")


def _canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_document(
    record: SessionRecord, events: Sequence[Event], before_seq: int
) -> dict[str, Any]:
    """The canonical kapsession.timeline/1 document a signature at `before_seq` covers."""
    kept = [e for e in events if e.seq < before_seq and e.kind not in NOT_RECORD]
    kept.sort(key=lambda e: (e.t if e.t is not None else float("-inf"), e.seq))
    return {
        "format": timeline_json.FORMAT,
        "session": timeline_json.session_dict(record),
        "events": [timeline_json.event_dict(e) for e in kept],
    }


def record_sha256(record: SessionRecord, events: Sequence[Event], before_seq: int) -> str:
    return hashlib.sha256(_canonical(record_document(record, events, before_seq))).hexdigest()


def _seal(key: bytes, session_id: int, sig: Mapping[str, Any], at: str) -> str:
    body = [session_id, sig.get("name"), sig.get("credentials"), sig.get("role")]
    body += [sig.get("meaning"), at, sig.get("record_sha256")]
    return hmac.new(key, _canonical({"signature": body}), hashlib.sha256).hexdigest()


def check_meaning(meaning: str) -> str:
    text = " ".join(meaning.split())
    if not text:
        raise ClinicianError("A signature needs its meaning (e.g. 'reviewed and approved').")
    if len(text) > MEANING_MAX or any(not c.isprintable() for c in text):
        raise ClinicianError(
            f"A signature's meaning is one line of at most {MEANING_MAX} characters."
        )
    return text


def signature_problems(store: Store, session_id: int | None = None) -> list[str]:
    """Every signature checked against its record and its seal; one line per bad one, naming
    it. Without the chain key the seals are not checked (said once)."""
    problems: list[str] = []
    key = store.chain.key
    ids = [session_id] if session_id is not None else _signed_session_ids(store)
    unsealed = False
    for sid in ids:
        record = store.session(sid)
        events = store.events(sid)
        for sig in signatures(events):
            where = f"session {sid} signature #{sig.seq} ({sig.name}, {sig.meaning})"
            data = store.event(sig.seq)
            assert data is not None
            if record_sha256(record, events, sig.seq) != sig.record_sha256:
                problems.append(f"{where}: the record changed after it was signed")
            if key is None:
                unsealed = True
            elif not hmac.compare_digest(
                _seal(key, sid, data.data, sig.at), str(data.data.get("seal", ""))
            ):
                problems.append(f"{where}: forged (its seal does not match this record)")
    if unsealed:
        problems.append("signatures: seals not checked (the audit chain key is missing)")
    return problems


def _signed_session_ids(store: Store) -> list[int]:
    rows = store.db.execute(
        "SELECT DISTINCT session_id FROM events WHERE kind = ? ORDER BY session_id", [KIND]
    ).fetchall()
    return [int(r[0]) for r in rows]


def sign(
    store: Store,
    session_id: int,
    name: str,
    pin: str,
    clock: Clock,
    tz: str,
    meaning: str | None = None,
) -> Signature:
    """Sign (or co-sign) an ended session as NAME with their PIN. Refused, with nothing written
    (but a wrong PIN's try, for the back-off): a session that is not ended, a wrong PIN, a
    deactivated clinician, the same clinician signing the same record with the same meaning
    again, a record that fails verify."""
    record = store.session(session_id)
    if record.state != "ended":
        raise ClinicianError(
            f"Session {session_id} is {record.state}; only an ended session can be signed."
        )
    named = clinicians.by_name(store, name)
    if named is None:
        raise ClinicianError(f"There is no clinician named {name!r}.")
    if not named.active:
        raise ClinicianError(f"{named.name} is deactivated and can neither chart nor sign.")
    events = store.events(session_id)
    earlier = signatures(events)
    cosign = any(s.name != named.name for s in earlier) and not any(
        s.name == named.name for s in earlier
    )
    text = check_meaning(
        meaning if meaning is not None else (DEFAULT_COSIGN_MEANING if cosign else DEFAULT_MEANING)
    )
    report = audit_trail.verify(store.db.conn)
    problems = [str(p) for p in report.problems] + signature_problems(store, session_id)
    if problems:
        raise ClinicianError(
            f"Session {session_id} cannot be signed: its record fails verify "
            f"({len(problems)} problem(s); run `kapsession verify`). Nothing was signed."
        )
    digest = record_sha256(record, events, (max((e.seq for e in events), default=0)) + 1)
    for s in earlier:
        if s.name == named.name and s.meaning == text and s.record_sha256 == digest:
            raise ClinicianError(
                f"{named.name} already signed session {session_id} as {text!r}; "
                "nothing changed since."
            )
    if store.chain.key is None:
        raise ClinicianError("The audit chain key is missing; nothing can be signed.")
    signer = clinicians.authenticate(store, name, pin, clock)  # last: a wrong PIN's try counts
    return _write(store, record, signer, text, digest, cosign, clock, tz)


def _write(
    store: Store,
    record: SessionRecord,
    signer: Clinician,
    meaning: str,
    digest: str,
    cosign: bool,
    clock: Clock,
    tz: str,
) -> Signature:
    assert store.chain.key is not None
    at = clock.now()
    from kapsession.storage.store import iso

    stamp = iso(at)
    data: dict[str, Any] = {
        "name": signer.name,
        "credentials": signer.credentials,
        "role": signer.role,
        "meaning": meaning,
        "record_sha256": digest,
        "cosignature": cosign,
    }
    data["seal"] = _seal(store.chain.key, record.id, data, stamp)
    before, actor = store.charting, store.actor
    try:
        # The signer is the entry's author whoever is charting; one transaction for the entry
        # (with its audit entry) and the `sign` audit entry.
        clinicians.charting_as(store, signer)
        with store.db.atomic():
            event = store.append(record.id, KIND, at, tz, None, data)
            # The INSERT holds the write lock: what it covers can no longer change. An entry
            # another process added since the digest was taken means it covers the wrong record.
            if record_sha256(record, store.events(record.id), event.seq) != digest:
                raise ClinicianError(
                    "The record changed while it was being signed; nothing was signed. "
                    "Sign it again."
                )
            store.audit(
                "cosign" if cosign else "sign",
                "sessions",
                target_id=record.id,
                detail=f"event {event.seq}; sha256 {digest}",
                at=at,
            )
    finally:
        store.charting, store.actor = before, actor
    return Signature(
        event.seq, signer.name, signer.credentials, signer.role, meaning, stamp, digest, cosign
    )


@dataclass(frozen=True)
class Waiting:
    session: SessionRecord
    reason: str  # "signature", "co-signature", "signature after amendment"


def waiting(store: Store, cosign_protocols: Collection[str] = ()) -> list[Waiting]:
    """Ended clinical sessions waiting for a signature or a co-signature, oldest first."""
    out: list[Waiting] = []
    ended = [r for r in store.sessions() if r.state == "ended" and not r.rehearsal]
    ended.sort(key=lambda r: (r.ended_at or "", r.id))
    for record in ended:
        events = store.events(record.id)
        sigs = signatures(events)
        if not sigs:
            out.append(Waiting(record, "signature"))
            continue
        last = sigs[-1].seq
        if any(e.kind == "amendment" and e.seq > last for e in events):
            out.append(Waiting(record, "signature after amendment"))
        elif record.protocol in cosign_protocols and len({s.name for s in sigs}) < 2:
            out.append(Waiting(record, "co-signature"))
    return out
