"""A real PostgreSQL for the hub tests: Debian's initdb/pg_ctl, one private cluster per test
session on loopback (a private socket folder and a free port under a temporary folder), and a
fresh database per test.

Run as root (CI, containers), the cluster belongs to the `postgres` user (PostgreSQL refuses to
run as root) through runuser; as anyone else, to that user. The superuser connects through the
socket (trust, local only); every other role logs in over TCP with its password (scram), as a
clinic's laptops do."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SKIP_REASON = (
    "PostgreSQL is not installed (Debian: apt-get install postgresql; scripts/bootstrap.sh test "
    "installs it)"
)


# Set by .ci/run (and honoured when CI is set): a missing PostgreSQL fails the hub tests instead
# of skipping them, so a broken install cannot pass silently.
REQUIRE_ENV = "KAPSESSION_REQUIRE_POSTGRES"


def required() -> bool:
    return bool(os.environ.get(REQUIRE_ENV) or os.environ.get("CI"))


def server_or_skip() -> Path:
    """The server's bin folder; a skip with the reason where PostgreSQL is not installed, a
    failure where it must be (CI)."""
    import pytest

    found = server_bin()
    if found is None:
        if required():
            pytest.fail(
                f"{SKIP_REASON}, and the hub tests must run here ({REQUIRE_ENV} or CI is set).",
                pytrace=False,
            )
        pytest.skip(SKIP_REASON)
    return found


def server_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    bindir: Path
    root: Path
    port: int
    as_user: list[str]  # the prefix that runs a server command as the cluster's owner
    # TLS and the loopback address on pg_ctl's command line (False: left to the configuration,
    # for what configures the server itself: packaging/hub-server.sh)
    options: bool = True

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sockets(self) -> Path:
        return self.root / "sockets"

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, str(self.bindir / tool), *args],
            # From the cluster's own folder: run as root, the commands run as `postgres`, which
            # cannot enter the test's working folder (e.g. a clone under /root).
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )

    @property
    def ca_file(self) -> Path:
        """The clinic's own CA (made at set-up) that signed the server's certificate."""
        return self.root / "ca.crt"

    def start(self) -> None:
        if not self.options:
            self.run(
                "pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "server.log"),
                "-o", f"-k {self.sockets} -p {self.port}", "start",
            )  # fmt: skip
            return
        tls = (
            f"-c ssl=on -c ssl_cert_file={self.root / 'server.crt'} "
            f"-c ssl_key_file={self.root / 'server.key'}"
        )
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.root / "server.log"),
            "-o",
            f"-k {self.sockets} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off {tls}",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` closes the connections; `immediate` is the server crashing."""
        self.run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")

    def admin_dsn(self, dbname: str = "postgres") -> str:
        """The superuser, through the private socket."""
        return f"host={self.sockets} port={self.port} user=postgres dbname={dbname}"

    def tcp_dsn(self, dbname: str, user: str, password: str | None = None) -> str:
        dsn = f"host=127.0.0.1 port={self.port} dbname={dbname} user={user} connect_timeout=3"
        return dsn + (f" password={password}" if password is not None else "")

    def create_database(self) -> str:
        import psycopg

        name = "hub_" + secrets.token_hex(4)
        with psycopg.connect(self.admin_dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def pg_dump(self, dbname: str) -> str:
        return self.run("pg_dump", "-h", str(self.sockets), "-p", str(self.port), dbname).stdout


@contextlib.contextmanager
def cluster(options: bool = True) -> Iterator[Cluster]:
    bindir = server_bin()
    if bindir is None:
        raise LookupError(SKIP_REASON)
    root = Path(tempfile.mkdtemp(prefix="kap-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    root.chmod(0o755)  # the test process reads the server log; the data folder stays 0700
    c = Cluster(bindir, root, _free_port(), as_user, options)
    subprocess.run([*as_user, "mkdir", "-m", "0755", str(c.sockets)], check=True, cwd=root)
    password = root / "pw"
    subprocess.run(
        [*as_user, "sh", "-c", f"echo postgres-{secrets.token_hex(8)} > {password}"],
        check=True,
        cwd=root,
    )
    c.run(
        "initdb",
        "-D",
        str(c.data),
        "-U",
        "postgres",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        f"--pwfile={password}",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C",
    )
    _make_certificates(c.root, as_user)
    c.start()
    try:
        yield c
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            c.stop()
        shutil.rmtree(root, ignore_errors=True)


def make_ca(name: str) -> tuple[Any, Any]:
    """A self-signed CA: (certificate, private key), with the cryptography library."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def write_pem(path: Path, cert: Any) -> Path:
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _make_certificates(root: Path, as_user: list[str]) -> None:
    """The clinic's CA and the server's certificate for localhost and 127.0.0.1 (verify-full)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca, ca_key = make_ca("kapsession test clinic CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_pem(root / "ca.crt", ca)
    write_pem(root / "server.crt", cert)
    (root / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (root / "server.key").chmod(0o600)  # PostgreSQL refuses a key others can read
    if as_user:
        owner = pwd.getpwnam("postgres")
        for name in ("server.crt", "server.key", "ca.crt"):
            os.chown(root / name, owner.pw_uid, owner.pw_gid)
