"""The session: the dose clock, notes, phases and the live session that composes notes, monitoring and music. Imports the rooms below it (ground, storage, monitoring, music)."""
