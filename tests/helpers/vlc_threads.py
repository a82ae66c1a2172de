"""The thread of every libVLC call: libVLC must be called from one thread only."""

from __future__ import annotations

import threading
from typing import Any


class CallThreads:
    """Wraps a deck's vlc.MediaPlayer and records the thread of every libVLC call made on it."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.threads: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.threads.add(threading.get_ident())
            return attr(*args, **kwargs)

        return call
