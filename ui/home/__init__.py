"""The home screen and the windows opened from it: the plan form with its music pre-flight,
the session list, the actions on a session, preparation and the integration worksheet."""

from .arc_picker import NO_MUSIC, ArcCheck
from .plan_form import NO_PROTOCOL
from .screen import HomeView

__all__ = ["NO_MUSIC", "NO_PROTOCOL", "ArcCheck", "HomeView"]
