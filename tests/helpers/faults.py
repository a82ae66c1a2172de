"""Faults the tests put in the store's way."""

from __future__ import annotations

import sqlite3

from kapsession.storage.store import Event


def disk_full(*_args: object, **_kwargs: object) -> Event:
    """Stands in for a store write when the disk is full."""
    raise sqlite3.OperationalError("database or disk is full")
