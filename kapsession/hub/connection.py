"""Connecting to the hub: psycopg imported here, on first use, and every way a connection can
fail said in one line (never a traceback, never the password)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kapsession.errors import KapsessionError

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 5
TCP_USER_TIMEOUT_MS = 15_000


class HubError(KapsessionError):
    """The hub refused or failed something; the message is one line a person can act on.

    `kind` names the fault for the live screen's short line (kapsession/hub/status_text.py):
    "login" (a refused login), "tls" (not the clinic's server), "schema" (a newer hub),
    "conflict" (a restored backup), "room" (row-level security), "refused" (anything else)."""

    kind = "refused"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class HubUnavailable(HubError):
    """The hub cannot be reached now (down, the network away): try again later."""

    kind = "offline"


def parse_dsn(dsn: str) -> dict[str, str]:
    from psycopg import conninfo

    try:
        return {k: str(v) for k, v in conninfo.conninfo_to_dict(dsn).items() if v is not None}
    except Exception:
        raise HubError(
            "--dsn is not a PostgreSQL connection string (e.g. 'host=hub.clinic dbname=kap')."
        ) from None


def without_secrets(dsn: str) -> str:
    """The connection string with its password left out: what may be shown and stored openly."""
    from psycopg import conninfo

    parts = parse_dsn(dsn)
    parts.pop("password", None)
    return conninfo.make_conninfo(**parts)


def with_password(dsn: str, password: str | None) -> str:
    from psycopg import conninfo

    parts = parse_dsn(dsn)
    if password is not None:
        parts["password"] = password
    parts.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    # A network cut mid-transaction: give up after this long rather than wait on TCP for ever.
    parts.setdefault("tcp_user_timeout", str(TCP_USER_TIMEOUT_MS))
    return conninfo.make_conninfo(**parts)


def connect(
    dsn: str, password: str | None = None, autocommit: bool = False
) -> psycopg.Connection[Any]:
    import psycopg

    try:
        return psycopg.connect(with_password(dsn, password), autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise explain(exc, dsn) from None


def explain(exc: BaseException, dsn: str) -> HubError:
    """One line for a psycopg error, naming the hub by its password-less address."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1].strip()
    where = _address(dsn)
    text = str(exc)
    if "password authentication failed" in text or "no password supplied" in text:
        user = parse_dsn(dsn).get("user", "")
        return HubError(
            f"The clinic hub at {where} refused the login {user!r}: wrong password or role.",
            "login",
        )
    if "unexpected eof" in text or "SSL SYSCALL" in text:
        # The server went away mid-connection over TLS (stopped, the network cut): not a
        # certificate to check, a hub to wait for.
        return HubUnavailable(f"The clinic hub at {where} cannot be reached ({_short(first)}).")
    if "certificate" in text or "sslrootcert" in text or "SSL error" in text:
        return HubError(
            f"The clinic hub at {where} did not prove it is the clinic's server "
            f"({_short(first)}): check sslrootcert (the clinic's CA) and the host name.",
            "tls",
        )
    if "pg_hba.conf" in text:
        tls = (
            " (it takes TLS connections only: sslmode=verify-full)"
            if "no encryption" in text
            else ""
        )
        return HubError(f"The clinic hub at {where} refused this connection{tls}.")
    if "does not exist" in text and "database" in text:
        return HubError(f"The clinic hub at {where} has no such database.")
    return HubUnavailable(f"The clinic hub at {where} cannot be reached ({_short(first)}).")


def _address(dsn: str) -> str:
    try:
        parts = parse_dsn(dsn)
    except HubError:
        return "(unreadable address)"
    host = parts.get("host") or parts.get("hostaddr") or "localhost"
    port = parts.get("port", "5432")
    return f"{host}:{port}/{parts.get('dbname', '')}"


def _short(text: str) -> str:
    text = text.removeprefix("connection failed: ").strip()
    return text if len(text) <= 160 else text[:157] + "..."
