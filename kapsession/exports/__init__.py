"""Exports: the JSON timeline, Markdown, PDF and FHIR documents and the client handouts. Imports integration and the rooms below it."""
