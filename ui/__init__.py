"""kapsession's Qt user interface. Everything PySide6 lives here; the core is in kapsession/."""
