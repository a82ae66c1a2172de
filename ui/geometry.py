"""Windows remember their size and place (QSettings), so a therapist arranges them once."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QWidget


def restore(window: QWidget, key: str, width: int, height: int) -> None:
    """The window's last geometry, else the given size."""
    saved = QSettings().value(f"{key}/geometry")
    if not (isinstance(saved, QByteArray) and window.restoreGeometry(saved)):
        window.resize(width, height)


def remember(window: QWidget, key: str) -> None:
    QSettings().setValue(f"{key}/geometry", window.saveGeometry())
