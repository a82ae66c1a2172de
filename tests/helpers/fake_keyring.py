"""A keyring the tests install (keyring.set_keyring) instead of the machine's."""

from __future__ import annotations

from jaraco.classes import properties
from keyring.backend import KeyringBackend


class DictKeyring(KeyringBackend):
    """A real keyring backend (the library's plugin interface) that keeps entries in a dict.
    Installed only by keyring.set_keyring: its priority raises, which keyring's own discovery
    reads as "not viable", so it never becomes anyone's default."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("test backend: only by set_keyring")

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)
