"""kapsession: the Qt-free core of the session-room assistant."""

__version__ = "0.1.0"
