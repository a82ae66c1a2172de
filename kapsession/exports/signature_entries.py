"""Signature entries as they are read back (kapsession.exports.signing writes and checks them;
the timeline export lists them in `session.signatures[]`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kapsession.storage.store import Event

KIND = "signature"


@dataclass(frozen=True)
class Signature:
    seq: int
    name: str
    credentials: str
    role: str
    meaning: str
    at: str
    record_sha256: str
    cosignature: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "name": self.name,
            "credentials": self.credentials,
            "role": self.role,
            "meaning": self.meaning,
            "at": self.at,
            "record_sha256": self.record_sha256,
            "cosignature": self.cosignature,
        }


def signatures(events: Sequence[Event]) -> list[Signature]:
    out: list[Signature] = []
    for e in events:
        if e.kind != KIND:
            continue
        d = e.data
        out.append(
            Signature(
                e.seq,
                str(d.get("name", "")),
                str(d.get("credentials", "")),
                str(d.get("role", "")),
                str(d.get("meaning", "")),
                e.at,
                str(d.get("record_sha256", "")),
                bool(d.get("cosignature", False)),
            )
        )
    return out


def amended_after_signing(events: Sequence[Event]) -> set[int]:
    """The seqs of amendments made after the session's first signature."""
    first = next((e.seq for e in events if e.kind == KIND), None)
    if first is None:
        return set()
    return {e.seq for e in events if e.kind == "amendment" and e.seq > first}


def signature_line(sig: Mapping[str, Any], when: str) -> str:
    """ "Signed by A. Rivera, LCSW (therapist) · 2026-12-06 14:03 · reviewed and approved"."""
    cred = f", {sig.get('credentials')}" if sig.get("credentials") else ""
    verb = "Co-signed" if sig.get("cosignature") else "Signed"
    return f"{verb} by {sig.get('name')}{cred} ({sig.get('role')}) · {when} · {sig.get('meaning')}"
