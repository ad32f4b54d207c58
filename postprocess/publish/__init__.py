"""Publication: the Datasette plugin (templates, static files, charts) and `nianbao serve`.

Reads archive.db through the storage layer only."""
