"""Importers of agent logs (filled in by the importer work)."""
