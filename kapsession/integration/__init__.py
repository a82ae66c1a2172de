"""Integration: preparation, the worksheet and the review of finished sessions. Imports the session and the rooms below it."""
