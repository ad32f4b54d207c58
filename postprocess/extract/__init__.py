"""Extraction: pure functions from captured bytes to the model (text, tables, figures, checks).

No SQLite, no network: imports only the storage layer's decoder and its own modules."""
