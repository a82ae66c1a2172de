"""How long a session may be planned for: shared by protocols and music arcs."""

PLANNED_MIN, PLANNED_MAX = 45, 120
