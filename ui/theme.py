"""The default low-light theme: no bright surfaces, warm low-contrast text, one muted accent.

A dim room with a client in eyeshades: the screen should glow no more than a candle."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#121110"
SURFACE = "#1b1917"
RAISED = "#25221f"
BORDER = "#3a3530"
TEXT = "#cfc6ba"
MUTED = "#8f867b"
ACCENT = "#c89b5a"  # amber, muted
CLOCK = "#c99a5e"  # bright enough across a room, dim enough not to light it
ALERT = "#c7755e"  # soft terracotta, never alarm red
OK = "#8fae8b"

STYLESHEET = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; }}
QLabel {{ background: transparent; }}
QLabel[role="muted"] {{ color: {MUTED}; }}
QLabel[role="clock"] {{ color: {CLOCK}; }}
QLabel[role="badge"] {{ color: {BACKGROUND}; background: {ACCENT}; border-radius: 6px;
    padding: 2px 10px; font-weight: bold; }}
QLabel[role="status"] {{ color: {ALERT}; }}
QLabel[role="due"] {{ color: {ACCENT}; background: {RAISED}; border: 2px solid {ACCENT};
    border-radius: 8px; }}
QLabel[role="late"] {{ color: {ALERT}; background: {RAISED}; border: 2px solid {ALERT};
    border-radius: 8px; }}
QLabel[role="alert"] {{ color: {TEXT}; background: {RAISED}; border: 2px solid {ALERT};
    border-radius: 8px; padding: 8px 12px; font-size: 13pt; }}
QLabel[role="saved"] {{ color: {OK}; }}
QLineEdit, QPlainTextEdit, QTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {{
    background: {SURFACE}; color: {TEXT}; border: 1px solid {BORDER}; border-radius: 6px;
    padding: 6px 8px; selection-background-color: {ACCENT}; selection-color: {BACKGROUND}; }}
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus {{
    border: 1px solid {ACCENT}; }}
QComboBox QAbstractItemView {{ background: {SURFACE}; color: {TEXT};
    selection-background-color: {RAISED}; }}
QPushButton, QToolButton {{ background: {RAISED}; color: {TEXT}; border: 1px solid {BORDER};
    border-radius: 8px; padding: 8px 16px; min-height: 24px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {ACCENT}; }}
QPushButton:focus {{ border-color: {ACCENT}; }}
QPushButton:default {{ border-color: {ACCENT}; }}
QToolButton:checked {{ background: {ACCENT}; color: {BACKGROUND}; border-color: {ACCENT}; }}
QListWidget, QTableWidget {{ background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 8px;
    alternate-background-color: {BACKGROUND}; gridline-color: {BORDER}; }}
QListWidget::item {{ padding: 6px 4px; }}
QListWidget::item:selected {{ background: {RAISED}; color: {TEXT};
    border-left: 3px solid {ACCENT}; }}
QTableWidget::item:selected {{ background: {RAISED}; color: {TEXT}; }}
QHeaderView::section {{ background: {SURFACE}; color: {MUTED}; border: none;
    border-bottom: 1px solid {BORDER}; padding: 6px; }}
QProgressBar {{ background: {SURFACE}; border: none; border-radius: 3px; max-height: 6px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QScrollBar:vertical {{ background: {SURFACE}; width: 10px; }}
QScrollBar::handle:vertical {{ background: {BORDER}; border-radius: 5px; min-height: 24px; }}
QScrollBar:horizontal {{ background: {SURFACE}; height: 10px; border: none; }}
QScrollBar::handle:horizontal {{ background: {BORDER}; border-radius: 5px; min-width: 24px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; border: none; }}
QSplitter::handle {{ background: {BACKGROUND}; }}
QGroupBox {{ border: 1px solid {BORDER}; border-radius: 8px; margin-top: 14px; padding-top: 8px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; color: {MUTED}; }}
QMessageBox, QDialog {{ background: {BACKGROUND}; }}
QRadioButton::indicator, QCheckBox::indicator {{ width: 16px; height: 16px;
    border: 2px solid {MUTED}; background: {SURFACE}; }}
QRadioButton::indicator {{ border-radius: 10px; }}
QCheckBox::indicator {{ border-radius: 4px; }}
QRadioButton::indicator:checked, QCheckBox::indicator:checked {{ background: {ACCENT};
    border-color: {ACCENT}; }}
QRadioButton:focus, QCheckBox:focus {{ color: {ACCENT}; }}
QToolTip {{ background: {RAISED}; color: {TEXT}; border: 1px solid {BORDER}; }}
"""


def apply(app: QApplication) -> None:
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, BACKGROUND),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, SURFACE),
        (QPalette.ColorRole.AlternateBase, BACKGROUND),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, RAISED),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, ACCENT),
        (QPalette.ColorRole.HighlightedText, BACKGROUND),
        (QPalette.ColorRole.ToolTipBase, RAISED),
        (QPalette.ColorRole.ToolTipText, TEXT),
        (QPalette.ColorRole.PlaceholderText, MUTED),
    ):
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)
