"""From archived captures to a published archive.

Layers, each importing only those below it:
    storage  (WARC, archive.db, search index)
    extract  (pure: bytes -> text, tables, figures, checks)
    publish  (Datasette plugin, serve)
    build, cli, extract_cli  (on top)
The crawler (crawler/) imports only storage."""
