"""The review screen (one session as a timeline, its entries, search across sessions) and a
client's course of sessions, as small widgets composed by window.py and course.py."""

from ui.review.course import CourseWindow
from ui.review.window import ReviewWindow, open_review

__all__ = ["CourseWindow", "ReviewWindow", "open_review"]
