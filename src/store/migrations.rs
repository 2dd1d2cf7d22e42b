//! Schema migrations, applied in order at start-up inside one transaction each; the applied count
//! is SQLite's `user_version`.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: registry, boundaries, users, audit.
    r#"
    CREATE TABLE boundaries (
        level       TEXT NOT NULL CHECK (level IN ('province', 'commune')),
        code        TEXT NOT NULL,
        name        TEXT NOT NULL,
        parent_code TEXT,
        geometry    TEXT NOT NULL,          -- GeoJSON MultiPolygon, EPSG:4326
        source      TEXT,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (level, code)
    );

    CREATE TABLE hotspots (
        id            INTEGER PRIMARY KEY,
        lon           REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
        lat           REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
        name          TEXT NOT NULL,
        kind          TEXT NOT NULL,
        status        TEXT NOT NULL,
        address       TEXT,
        source        TEXT,
        notes         TEXT,
        reported_on   TEXT NOT NULL,
        status_since  TEXT NOT NULL,
        commune_code  TEXT,
        province_code TEXT,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        version       INTEGER NOT NULL DEFAULT 1,
        deleted_at    TEXT
    );
    CREATE INDEX hotspots_live ON hotspots (id) WHERE deleted_at IS NULL;

    CREATE TABLE hotspot_events (
        id          INTEGER PRIMARY KEY,
        hotspot_id  INTEGER NOT NULL REFERENCES hotspots (id),
        from_status TEXT,
        to_status   TEXT NOT NULL,
        on_date     TEXT NOT NULL,
        actor       TEXT NOT NULL,
        note        TEXT,
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX hotspot_events_by_hotspot ON hotspot_events (hotspot_id, id);
    CREATE TRIGGER hotspot_events_append_only_u BEFORE UPDATE ON hotspot_events
        BEGIN SELECT RAISE(ABORT, 'hotspot history is append-only'); END;
    CREATE TRIGGER hotspot_events_append_only_d BEFORE DELETE ON hotspot_events
        BEGIN SELECT RAISE(ABORT, 'hotspot history is append-only'); END;

    CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        role        TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'reviewer', 'operator', 'viewer')),
        national    INTEGER NOT NULL DEFAULT 0,
        provinces   TEXT NOT NULL DEFAULT '[]',   -- JSON array of province codes
        communes    TEXT NOT NULL DEFAULT '[]',   -- JSON array of commune codes
        created_at  TEXT NOT NULL,
        disabled_at TEXT
    );

    CREATE TABLE tokens (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users (id),
        hash       TEXT NOT NULL UNIQUE,          -- SHA-256 of the token; the token itself is never stored
        label      TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT
    );

    CREATE TABLE audit_log (
        id        INTEGER PRIMARY KEY,
        at        TEXT NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        entity    TEXT NOT NULL,
        entity_id TEXT,
        before    TEXT,
        after     TEXT
    );
    CREATE INDEX audit_by_entity ON audit_log (entity, entity_id);
    CREATE TRIGGER audit_append_only_u BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_append_only_d BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    "#,
    // 2: `id` is the rowid; the partial index only doubled every lookup.
    "DROP INDEX IF EXISTS hotspots_live;",
    // 3: web-map passwords (argon2id PHC strings); API tokens stay the machine credential.
    "ALTER TABLE users ADD COLUMN password_hash TEXT;",
    // 4: resumable uploads (issue 3): sessions and the chunks on disk. A chunk row is written only
    // after its bytes are fsynced.
    r#"
    CREATE TABLE uploads (
        id           TEXT PRIMARY KEY,              -- 32 hex digits, random
        owner_id     INTEGER NOT NULL,
        owner        TEXT NOT NULL,
        jurisdiction TEXT NOT NULL,                 -- JSON, the owner's when the session started
        filename     TEXT NOT NULL,
        content_type TEXT,
        size         INTEGER NOT NULL CHECK (size > 0),
        sha256       TEXT NOT NULL,
        chunk_size   INTEGER NOT NULL CHECK (chunk_size > 0),
        state        TEXT NOT NULL CHECK (state IN ('receiving', 'complete', 'committed', 'failed', 'cancelled')),
        failure      TEXT,
        path         TEXT,                          -- the committed file
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        expires_at   TEXT NOT NULL
    );
    CREATE INDEX uploads_by_owner ON uploads (owner_id, state);
    CREATE TABLE upload_chunks (
        upload_id   TEXT NOT NULL REFERENCES uploads (id),
        n           INTEGER NOT NULL CHECK (n >= 0),
        sha256      TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (upload_id, n)
    ) WITHOUT ROWID;
    "#,
    // 5: surveys (issue 3): one per ingested orthomosaic, and the persisted job queue that tiles
    // them. A survey is served only in state 'ready'; its tiles live in TILES_DIR/{id}.
    r#"
    CREATE TABLE surveys (
        id            TEXT PRIMARY KEY,             -- 'sv' + 16 hex digits, random
        name          TEXT NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'ready', 'failed', 'cancelled')),
        upload_id     TEXT REFERENCES uploads (id),
        source_path   TEXT NOT NULL,
        source_size   INTEGER NOT NULL,
        source_sha256 TEXT,
        filename      TEXT NOT NULL,
        operator_id   INTEGER NOT NULL,
        operator      TEXT NOT NULL,
        jurisdiction  TEXT NOT NULL,                -- JSON, the uploader's
        bands_override TEXT,                        -- roles given by the uploader, JSON
        acquired_at   TEXT,                         -- RFC 3339
        acquired_from TEXT CHECK (acquired_from IN ('metadata', 'request', 'upload')),
        meta          TEXT,                         -- JSON: CRS, size, bands, GSD, zooms, levels, timings
        footprint     TEXT,                         -- GeoJSON MultiPolygon, lon/lat
        min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL,
        province_code TEXT,
        commune_code  TEXT,
        progress      REAL NOT NULL DEFAULT 0,
        stage         TEXT,
        error_code    TEXT,
        error         TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        attempts      INTEGER NOT NULL DEFAULT 0,
        created_at    TEXT NOT NULL,
        started_at    TEXT,
        completed_at  TEXT,
        updated_at    TEXT NOT NULL
    );
    CREATE INDEX surveys_by_state ON surveys (state, created_at);
    CREATE INDEX surveys_by_acquired ON surveys (acquired_at);
    CREATE UNIQUE INDEX surveys_one_live_per_upload ON surveys (upload_id)
        WHERE upload_id IS NOT NULL AND state IN ('queued', 'running', 'ready');
    "#,
    // 6: which process runs a job (`pid@boot-id`), so a restart re-queues only jobs whose process
    // is gone and leaves a running `vigil ingest` alone.
    "ALTER TABLE surveys ADD COLUMN runner TEXT;",
    // 7: flagged plots (issue 4): what the classifier raised for people to review. A re-run of a
    // survey supersedes its flags (superseded_at) instead of deleting them, so review history stays.
    r#"
    CREATE TABLE flags (
        id            INTEGER PRIMARY KEY,
        survey_id     TEXT NOT NULL REFERENCES surveys (id),
        class         TEXT NOT NULL CHECK (class IN ('poppy', 'cannabis')),
        confidence    REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
        area_m2       REAL NOT NULL CHECK (area_m2 > 0),
        status        TEXT NOT NULL DEFAULT 'new',
        geometry      TEXT NOT NULL,               -- GeoJSON (Multi)Polygon, lon/lat
        min_lon REAL NOT NULL, min_lat REAL NOT NULL, max_lon REAL NOT NULL, max_lat REAL NOT NULL,
        lon           REAL NOT NULL,               -- a point inside the plot
        lat           REAL NOT NULL,
        province_code TEXT,
        commune_code  TEXT,
        acquired_at   TEXT,
        model_version TEXT NOT NULL,
        drivers       TEXT NOT NULL,               -- JSON [[feature, z-score], ...]
        created_at    TEXT NOT NULL,
        superseded_at TEXT
    );
    CREATE INDEX flags_live_by_survey ON flags (survey_id) WHERE superseded_at IS NULL;
    CREATE INDEX flags_live_by_place ON flags (min_lon, min_lat) WHERE superseded_at IS NULL;
    "#,
    // 8: re-planting (tái trồng): a flag overlapping a plot recorded as eradicated earlier links to
    // it; and the registry hotspots near each flag.
    r#"
    ALTER TABLE flags ADD COLUMN replanting_of INTEGER REFERENCES flags (id);
    ALTER TABLE flags ADD COLUMN near_hotspots TEXT NOT NULL DEFAULT '[]';
    "#,
    // 9: the mean probability of every class over a flagged plot (JSON object).
    "ALTER TABLE flags ADD COLUMN probabilities TEXT NOT NULL DEFAULT '{}';",
    // 10: review (issue 5). Each flag has a version (optimistic concurrency) and a queue priority
    // a reviewer may set; decisions and evidence are append-only (triggers refuse UPDATE/DELETE);
    // evidence files live under DATA_DIR/evidence/ by SHA-256 and are never rewritten.
    r#"
    ALTER TABLE flags ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE flags ADD COLUMN priority TEXT;
    ALTER TABLE flags ADD COLUMN status_at TEXT;
    CREATE TABLE flag_decisions (
        id                INTEGER PRIMARY KEY,
        flag_id           INTEGER NOT NULL REFERENCES flags (id),
        decision          TEXT NOT NULL,
        from_status       TEXT NOT NULL,
        to_status         TEXT NOT NULL,
        reason            TEXT,
        note              TEXT,
        eradicated_on     TEXT,
        area_destroyed_m2 REAL,
        team              TEXT,
        actor             TEXT NOT NULL,
        decided_at        TEXT NOT NULL,
        version           INTEGER NOT NULL          -- the flag's version this decision made
    );
    CREATE INDEX flag_decisions_by_flag ON flag_decisions (flag_id, id);
    CREATE TRIGGER flag_decisions_append_only_u BEFORE UPDATE ON flag_decisions
        BEGIN SELECT RAISE(ABORT, 'flag decisions are append-only'); END;
    CREATE TRIGGER flag_decisions_append_only_d BEFORE DELETE ON flag_decisions
        BEGIN SELECT RAISE(ABORT, 'flag decisions are append-only'); END;
    CREATE TABLE evidence (
        id             INTEGER PRIMARY KEY,
        flag_id        INTEGER NOT NULL REFERENCES flags (id),
        decision_id    INTEGER REFERENCES flag_decisions (id),
        kind           TEXT NOT NULL DEFAULT 'photo',
        sha256         TEXT NOT NULL,
        bytes          INTEGER NOT NULL,
        content_type   TEXT NOT NULL,
        width          INTEGER,
        height         INTEGER,
        taken_at       TEXT,
        lon            REAL,
        lat            REAL,
        gps_accuracy_m REAL,
        distance_m     REAL,
        camera         TEXT,
        warnings       TEXT NOT NULL DEFAULT '[]',
        uploaded_by    TEXT NOT NULL,
        uploaded_at    TEXT NOT NULL
    );
    CREATE INDEX evidence_by_flag ON evidence (flag_id, id);
    CREATE TRIGGER evidence_append_only_u BEFORE UPDATE ON evidence
        BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END;
    CREATE TRIGGER evidence_append_only_d BEFORE DELETE ON evidence
        BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END;
    "#,
    // 11: reports (issue 6). Drug-free commune records (*xã, phường không ma túy*): one row per
    // decision, append-only; the newest row for a (commune, year) is the one in force, the older
    // ones are its history. The partial index lets reports read the lifecycle transitions (not
    // the first event every hotspot has) without scanning the whole history.
    r#"
    CREATE TABLE commune_drug_free (
        id            INTEGER PRIMARY KEY,
        commune_code  TEXT NOT NULL,
        province_code TEXT,                         -- the commune's province when recorded
        year          INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2100),
        status        TEXT NOT NULL CHECK (status IN ('drug_free', 'not_drug_free')),
        decision_ref  TEXT NOT NULL,                -- e.g. "QĐ 123/QĐ-UBND"
        decided_on    TEXT,                         -- YYYY-MM-DD
        recorded_by   TEXT NOT NULL,
        recorded_at   TEXT NOT NULL
    );
    CREATE INDEX commune_drug_free_by_year ON commune_drug_free (year, commune_code, id);
    CREATE INDEX commune_drug_free_by_commune ON commune_drug_free (commune_code, id);
    CREATE TRIGGER commune_drug_free_append_only_u BEFORE UPDATE ON commune_drug_free
        BEGIN SELECT RAISE(ABORT, 'drug-free records are append-only'); END;
    CREATE TRIGGER commune_drug_free_append_only_d BEFORE DELETE ON commune_drug_free
        BEGIN SELECT RAISE(ABORT, 'drug-free records are append-only'); END;
    CREATE INDEX hotspot_events_transitions ON hotspot_events (hotspot_id, id)
        WHERE from_status IS NOT NULL;
    "#,
    // 12: failed password logins per user name (issue 13), counted in the store so the lock-out
    // holds across parallel requests, processes and restarts. `first_at` is Unix seconds.
    r#"
    CREATE TABLE login_failures (
        name     TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        first_at INTEGER NOT NULL
    );
    "#,
    // 13: `Idempotency-Key`s of review writes (issue 16: an offline outbox replays its requests
    // on reconnection). One row per user and key, written in the transaction of the write it
    // names, so a replay finds the first answer and never makes a second row.
    r#"
    CREATE TABLE idempotency_keys (
        user_name      TEXT NOT NULL,
        key            TEXT NOT NULL,
        route          TEXT NOT NULL,
        request_sha256 TEXT NOT NULL,
        entity_id      INTEGER NOT NULL,
        created_at     TEXT NOT NULL,
        PRIMARY KEY (user_name, key)
    );
    "#,
    // 14: job leases (issue 17): a running job's runner renews `lease_until` (Unix seconds)
    // while it works; a job whose runner is on another machine is taken over only once its
    // lease has run out.
    "ALTER TABLE surveys ADD COLUMN lease_until INTEGER;",
];

/// Applies every migration newer than the database's `user_version`.
pub fn run(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(StoreError::TooNew {
            path: path.display().to_string(),
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_refuse_newer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let mut c = Connection::open(&path).unwrap();
        run(&mut c, &path).unwrap();
        run(&mut c, &path).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        c.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(run(&mut c, &path), Err(StoreError::TooNew { .. })));
    }

    #[test]
    fn audit_log_is_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let mut c = Connection::open(&path).unwrap();
        run(&mut c, &path).unwrap();
        c.execute(
            "INSERT INTO audit_log (at, actor, action, entity) VALUES ('t', 'a', 'x', 'y')",
            [],
        )
        .unwrap();
        let err = c
            .execute("UPDATE audit_log SET actor = 'b'", [])
            .unwrap_err();
        assert!(err.to_string().contains("append-only"));
        assert!(c.execute("DELETE FROM audit_log", []).is_err());
    }
}
