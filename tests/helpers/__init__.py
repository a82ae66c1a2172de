"""What several test files need, in one place: imported as `helpers.<module>` from any test
folder (pytest puts tests/, the root conftest's folder, on sys.path)."""
