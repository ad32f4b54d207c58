-- archive.db as a new archive starts: written by postprocess.storage.db.schema_script
-- from a database the migrations were applied to; do not edit (tests/
-- test_migrations_schema.py says how to write it again after adding a migration).
-- migration: m001_core
-- migration: m_failed_checks_view
-- migration: m002_reports_long_columns_last
-- migration: m003_captures_parent_record
-- migration: m_list_entry_and_published_source
-- migration: m003_crawl_history
-- migration: m004_report_versions
-- migration: m_reports_agency_identity
-- migration: m003_h3_scale
-- migration: m_cells_method
-- migration: m_search_view_rowid
-- migration: m_search_body_first
-- migration: m_cells_method_code
-- migration: m_stats_compact
-- migration: m_cells_compact
CREATE TABLE "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
);
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
CREATE TABLE "sources" (
   "id" TEXT PRIMARY KEY,
   "agency" TEXT,
   "division_code" TEXT,
   "level" TEXT,
   "cms" TEXT,
   "province" TEXT,
   "city" TEXT,
   "start_urls" TEXT,
   "verified" INTEGER,
   "example_url" TEXT,
   "notes" TEXT,
   "demo" INTEGER
);
CREATE TABLE "crawls" (
   "id" INTEGER PRIMARY KEY,
   "started_at" TEXT,
   "finished_at" TEXT,
   "sources" TEXT,
   "status" TEXT,
   "pages" INTEGER,
   "reports" INTEGER,
   "errors" INTEGER,
   "stats" TEXT
, "pid" INTEGER, "host" TEXT, "resumes" TEXT, "warnings" TEXT);
CREATE TABLE "captures" (
   "id" INTEGER PRIMARY KEY,
   "crawl_id" INTEGER REFERENCES "crawls"("id"),
   "source_id" TEXT REFERENCES "sources"("id"),
   "url" TEXT,
   "method" TEXT,
   "fetched_at" TEXT,
   "status" INTEGER,
   "content_type" TEXT,
   "sha256" TEXT,
   "size" INTEGER,
   "warc_file" TEXT,
   "warc_record_id" TEXT,
   "warc_offset" INTEGER,
   "role" TEXT,
   "parent_capture_id" INTEGER REFERENCES "captures"("id"),
   "referer" TEXT,
   "etag" TEXT,
   "last_modified" TEXT,
   "blocked" INTEGER,
   "note" TEXT
, "parent_record_id" TEXT, "list_title" TEXT, "list_date" TEXT, revisit_of INTEGER REFERENCES captures(id));
CREATE UNIQUE INDEX "idx_captures_warc_record_id"
    ON "captures" ("warc_record_id");
CREATE INDEX "idx_captures_url"
    ON "captures" ("url");
CREATE INDEX "idx_captures_source_id_role"
    ON "captures" ("source_id", "role");
CREATE TABLE "fetch_errors" (
   "id" INTEGER PRIMARY KEY,
   "crawl_id" INTEGER REFERENCES "crawls"("id"),
   "source_id" TEXT REFERENCES "sources"("id"),
   "url" TEXT,
   "at" TEXT,
   "role" TEXT,
   "error" TEXT,
   "message" TEXT,
   "status" INTEGER
);
CREATE TABLE "attachments" (
   "id" INTEGER PRIMARY KEY,
   "report_id" INTEGER REFERENCES "reports"("id"),
   "capture_id" INTEGER REFERENCES "captures"("id"),
   "url" TEXT,
   "media" TEXT,
   "parse_status" TEXT,
   "parse_error" TEXT,
   "text_chars" INTEGER
);
CREATE TABLE "checks" (
   "id" INTEGER PRIMARY KEY,
   "report_id" INTEGER REFERENCES "reports"("id"),
   "rule" TEXT,
   "ok" INTEGER,
   "detail" TEXT
);
CREATE INDEX "idx_attachments_report_id"
    ON "attachments" ("report_id");
CREATE VIEW failed_checks AS
        SELECT checks.report_id, reports.agency, reports.year, reports.title, reports.format,
               checks.rule, checks.detail, reports.url
        FROM checks JOIN reports ON reports.id = checks.report_id
        WHERE checks.ok = 0;
CREATE TABLE "crawl_runs" (
   "id" INTEGER PRIMARY KEY,
   "crawl_id" INTEGER REFERENCES "crawls"("id"),
   "source_id" TEXT REFERENCES "sources"("id"),
   "started_at" TEXT,
   "finished_at" TEXT,
   "status" TEXT,
   "captures" INTEGER,
   "pages" INTEGER,
   "reports" INTEGER,
   "attachments" INTEGER,
   "new" INTEGER,
   "changed" INTEGER,
   "unchanged" INTEGER,
   "deleted" INTEGER,
   "errors" INTEGER,
   "blocked" INTEGER,
   "capped" INTEGER,
   "warnings" TEXT
);
CREATE INDEX "idx_crawl_runs_source_id_crawl_id"
    ON "crawl_runs" ("source_id", "crawl_id");
CREATE TABLE "list_links" (
   "id" INTEGER PRIMARY KEY,
   "crawl_id" INTEGER REFERENCES "crawls"("id"),
   "source_id" TEXT REFERENCES "sources"("id"),
   "url" TEXT,
   "links" INTEGER
);
CREATE INDEX "idx_list_links_url_crawl_id"
    ON "list_links" ("url", "crawl_id");
CREATE VIEW document_versions AS
        WITH bodies AS (
            SELECT url, role, source_id, sha256, MIN(id) AS capture_id,
                   MIN(fetched_at) AS first_seen, size
            FROM captures
            WHERE status = 200 AND role IN ('report', 'attachment') AND NOT blocked
            GROUP BY url, sha256
        )
        SELECT url, role, source_id,
               ROW_NUMBER() OVER (PARTITION BY url ORDER BY capture_id) AS version,
               COUNT(*) OVER (PARTITION BY url) AS versions,
               capture_id,
               LAG(capture_id) OVER (PARTITION BY url ORDER BY capture_id) AS previous_capture_id,
               first_seen, sha256, size
        FROM bodies;
CREATE VIEW document_changes AS
        WITH latest AS (
            SELECT url, MAX(id) AS capture_id FROM captures
            WHERE role IN ('report', 'attachment') GROUP BY url
        ),
        seen AS (
            SELECT url, MAX(fetched_at) AS last_seen FROM captures
            WHERE role IN ('report', 'attachment') AND status IN (200, 304) GROUP BY url
        ),
        versions AS (
            SELECT url, role, source_id, MAX(versions) AS versions, MAX(first_seen) AS changed_at,
                   MAX(capture_id) AS latest_version_capture_id
            FROM document_versions GROUP BY url
        )
        SELECT versions.url, versions.role, versions.source_id, versions.versions,
               CASE WHEN versions.versions > 1 THEN versions.changed_at END AS changed_at,
               CASE WHEN c.status IN (404, 410) THEN c.fetched_at END AS deleted_at,
               c.status AS last_status, seen.last_seen, versions.latest_version_capture_id
        FROM versions
        JOIN latest ON latest.url = versions.url
        JOIN captures c ON c.id = latest.capture_id
        LEFT JOIN seen ON seen.url = versions.url
        WHERE versions.versions > 1 OR c.status IN (404, 410);
CREATE VIEW sources_attention AS
        SELECT crawl_runs.source_id, sources.agency, crawl_runs.crawl_id,
               crawl_runs.finished_at, crawl_runs.status, crawl_runs.reports,
               crawl_runs.errors, crawl_runs.warnings
        FROM crawl_runs JOIN sources ON sources.id = crawl_runs.source_id
        WHERE crawl_runs.id IN (SELECT MAX(id) FROM crawl_runs GROUP BY source_id)
          AND crawl_runs.warnings IS NOT NULL AND crawl_runs.warnings != '';
CREATE VIEW report_versions AS
        SELECT id AS report_id, url, fetched_at,
               ROW_NUMBER() OVER (PARTITION BY url ORDER BY id) AS version,
               COUNT(*) OVER (PARTITION BY url) AS versions,
               LAG(id) OVER (PARTITION BY url ORDER BY id) AS previous_report_id,
               LEAD(id) OVER (PARTITION BY url ORDER BY id) AS next_report_id
        FROM reports;
CREATE VIEW report_figure_changes AS
        WITH pairs AS (
            SELECT report_id, previous_report_id, url, fetched_at FROM report_versions
            WHERE previous_report_id IS NOT NULL
        ),
        keys AS (
            SELECT p.report_id, p.previous_report_id, p.url, p.fetched_at, s.key
            FROM pairs p JOIN stats s ON s.report_id IN (p.report_id, p.previous_report_id)
            GROUP BY p.report_id, s.key
        )
        SELECT k.url, k.previous_report_id, k.report_id, k.fetched_at AS changed_at, k.key,
               (SELECT MAX(value) FROM stats WHERE report_id = k.previous_report_id
                  AND key = k.key) AS previous_value,
               (SELECT MAX(value) FROM stats WHERE report_id = k.report_id
                  AND key = k.key) AS value
        FROM keys k
        WHERE previous_value IS NOT value;
CREATE TABLE "reports" (
   "id" INTEGER PRIMARY KEY,
   "source_id" TEXT REFERENCES "sources"("id"),
   "capture_id" INTEGER REFERENCES "captures"("id"),
   "document_capture_id" INTEGER REFERENCES "captures"("id"),
   "url" TEXT,
   "document_url" TEXT,
   "title" TEXT,
   "agency" TEXT,
   "year" INTEGER,
   "published" TEXT,
   "kind" TEXT,
   "format" TEXT,
   "text_source" TEXT,
   "parse_status" TEXT,
   "province" TEXT,
   "city" TEXT,
   "level" TEXT,
   "division_code" TEXT,
   "sha256" TEXT,
   "fetched_at" TEXT,
   "published_source" TEXT,
   "agency_id" TEXT,
   "agency_name" TEXT,
   "kind_reason" TEXT,
   "parse_error" TEXT,
   "text" TEXT
);
CREATE INDEX "idx_reports_source_id_year"
    ON "reports" ("source_id", "year");
CREATE INDEX "idx_reports_agency_id_year"
    ON "reports" ("agency_id", "year");
CREATE TABLE cell_keys (id INTEGER PRIMARY KEY, section TEXT NOT NULL, row_key TEXT NOT NULL, col_key TEXT NOT NULL);
CREATE UNIQUE INDEX idx_cell_keys_key ON cell_keys (section, row_key, col_key);
CREATE TABLE cell_labels (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE);
CREATE UNIQUE INDEX idx_checks_report_rule ON checks (report_id, rule);
CREATE INDEX idx_checks_rule_ok ON checks (rule, ok);
CREATE INDEX idx_checks_failed ON checks (rule, report_id) WHERE ok = 0;
CREATE INDEX idx_reports_kind_year ON reports (kind, year);
CREATE INDEX idx_reports_province_city ON reports (province, city);
CREATE INDEX idx_reports_level ON reports (level);
CREATE INDEX idx_reports_year ON reports (year);
CREATE INDEX idx_reports_format ON reports (format);
CREATE VIRTUAL TABLE [reports_fts] USING fts5(body, title, agency, content='', tokenize='unicode61 remove_diacritics 2');
CREATE VIEW [report_search] AS SELECT f.rowid AS id, f.rank AS rank, r.[title], r.[agency], r.[agency_name], r.[province], r.[city], r.[level], r.[year], r.[kind], r.[format], r.[published], r.[text], r.[url], r.[document_url], f.[reports_fts] AS [search_index] FROM [reports_fts] f JOIN reports r ON r.id = f.rowid;
CREATE TABLE stat_keys (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
CREATE TABLE stat_evidence (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
CREATE TABLE stat_values (id INTEGER PRIMARY KEY, report_id INTEGER NOT NULL REFERENCES reports(id), key_id INTEGER NOT NULL REFERENCES stat_keys(id), value FLOAT, raw TEXT, approx INTEGER, origin_code INTEGER, origin TEXT, cell_id INTEGER REFERENCES cell_values(id), evidence_id INTEGER REFERENCES stat_evidence(id), evidence_start INTEGER, evidence_length INTEGER);
CREATE VIEW stats AS
SELECT s.id, s.report_id, k.key, s.value, s.raw, s.approx,
       coalesce(s.origin, CASE s.origin_code
           WHEN 0 THEN 'cell' WHEN 1 THEN 'sentence' END) AS origin,
       s.cell_id,
       CASE
           WHEN s.evidence_id IS NOT NULL THEN
               (SELECT e.text FROM stat_evidence e WHERE e.id = s.evidence_id)
           -- a start without a length: the figure has no evidence (substr gives NULL)
           WHEN s.evidence_start IS NOT NULL THEN
               (SELECT substr(r.text, s.evidence_start + 1, s.evidence_length) FROM reports r
                WHERE r.id = s.report_id)
           WHEN s.cell_id IS NOT NULL THEN
               (SELECT ck.section || '.' || ck.row_key || '.' || ck.col_key
                FROM cell_values cv JOIN cell_keys ck ON ck.id = cv.key_id WHERE cv.id = s.cell_id)
       END AS evidence
FROM stat_values s
JOIN stat_keys k ON k.id = s.key_id;
CREATE INDEX idx_stat_values_report_id ON stat_values (report_id);
CREATE INDEX idx_stat_values_key_id ON stat_values (key_id);
CREATE TABLE cell_prints (id INTEGER PRIMARY KEY, unit_id INTEGER REFERENCES cell_labels(id), row_label_id INTEGER REFERENCES cell_labels(id), col_label_id INTEGER REFERENCES cell_labels(id));
CREATE UNIQUE INDEX idx_cell_prints_labels ON cell_prints (unit_id, row_label_id, col_label_id);
CREATE TABLE "cell_values" (
   "id" INTEGER PRIMARY KEY,
   "report_id" INTEGER NOT NULL REFERENCES "reports"("id"),
   "key_id" INTEGER NOT NULL REFERENCES "cell_keys"("id"),
   "value" REAL,
   "raw" TEXT,
   "print_id" INTEGER REFERENCES "cell_prints"("id"),
   "known" INTEGER,
   "method_code" INTEGER,
   "method" TEXT
);
CREATE INDEX idx_cell_values_key ON cell_values (key_id);
CREATE UNIQUE INDEX idx_cell_values_report_key ON cell_values (report_id, key_id);
CREATE VIEW cells AS
SELECT v.id, v.report_id, k.section, k.row_key, k.col_key, v.value, coalesce(v.raw, CASE WHEN v.value = CAST(v.value AS INTEGER) AND abs(v.value) < 1000000000000000 THEN CAST(CAST(v.value AS INTEGER) AS TEXT) END) AS raw,
       u.label AS unit, rl.label AS row_label, cl.label AS col_label, v.known,
       coalesce(v.method, CASE v.method_code WHEN 0 THEN 'header' WHEN 1 THEN 'arithmetic' WHEN 2 THEN 'split' END) AS method
FROM cell_values v
JOIN cell_keys k ON k.id = v.key_id
LEFT JOIN cell_prints p ON p.id = v.print_id
LEFT JOIN cell_labels u ON u.id = p.unit_id
LEFT JOIN cell_labels rl ON rl.id = p.row_label_id
LEFT JOIN cell_labels cl ON cl.id = p.col_label_id;
INSERT INTO [reports_fts] ([reports_fts], [rank]) VALUES ('rank', 'bm25(1.0, 10.0, 5.0)');
