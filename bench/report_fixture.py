#!/usr/bin/env python3
"""Adds a reporting history to a bench data dir seeded with `vigil demo seed-hotspots`:
dated lifecycle steps for a third of the hotspots, drug-free records for 45 % of the communes,
20,000 flags (some confirmed, some eradicated) and 300 ready survey footprints.

Written straight into the SQLite store (bench set-up only: the service would take hours for a
million dated steps one request at a time). Deterministic (seeded). Run it while no vigil
process has the store open; the next start rebuilds the indexes from what it wrote.

usage: report_fixture.py DATA_DIR [SEED]
"""
import json
import random
import sqlite3
import sys

data_dir = sys.argv[1]
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 6)
db = sqlite3.connect(f"{data_dir}/vigil.sqlite")
db.execute("PRAGMA journal_mode=WAL")
now = "2026-11-01T00:00:00.000Z"

with db:
    # A third of the live, not-yet-eliminated hotspots: a dated step to `eliminated` between
    # their report and 2026-11-01; a tenth of those re-emerged later.
    db.execute(
        "INSERT INTO hotspot_events (hotspot_id, from_status, to_status, on_date, actor, note, recorded_at) "
        "SELECT id, status, 'eliminated', min(date(reported_on, '+' || (id % 400) || ' days'), '2026-10-01'), 'bench', NULL, ?1 "
        "FROM hotspots WHERE deleted_at IS NULL AND id % 3 = 0 AND status <> 'eliminated'",
        (now,),
    )
    db.execute(
        "UPDATE hotspots SET status = 'eliminated', status_since = min(date(reported_on, '+' || (id % 400) || ' days'), '2026-10-01') "
        "WHERE deleted_at IS NULL AND id % 3 = 0 AND status <> 'eliminated'"
    )
    db.execute(
        "INSERT INTO hotspot_events (hotspot_id, from_status, to_status, on_date, actor, note, recorded_at) "
        "SELECT id, 'eliminated', 'reemerged', '2026-10-15', 'bench', NULL, ?1 "
        "FROM hotspots WHERE deleted_at IS NULL AND id % 30 = 0 AND status = 'eliminated' AND status_since <= '2026-10-01'",
        (now,),
    )
    db.execute(
        "UPDATE hotspots SET status = 'reemerged', status_since = '2026-10-15' "
        "WHERE deleted_at IS NULL AND id % 30 = 0 AND status = 'eliminated' AND status_since <= '2026-10-01'"
    )

    communes = db.execute(
        "SELECT code, parent_code, geometry FROM boundaries WHERE level = 'commune' ORDER BY code"
    ).fetchall()

    def first_point(geometry):
        g = json.loads(geometry)
        ring = g["coordinates"][0][0] if g["type"] == "MultiPolygon" else g["coordinates"][0]
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        return sum(xs) / len(xs), sum(ys) / len(ys)

    centres = [(code, parent, *first_point(geom)) for code, parent, geom in communes]

    for year in (2025, 2026):
        share = 0.3 if year == 2025 else 0.45
        db.executemany(
            "INSERT INTO commune_drug_free (commune_code, province_code, year, status, decision_ref, decided_on, recorded_by, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'bench', ?)",
            [
                (code, parent, year, "drug_free" if rng.random() < share else "not_drug_free",
                 f"QĐ {i}/QĐ-UBND", f"{year}-06-01", now)
                for i, (code, parent, _, _) in enumerate(centres)
            ],
        )

    # 300 ready surveys (no tiles: they only carry footprints for coverage) and 20,000 flags.
    surveys = []
    for i in range(300):
        code, parent, x, y = rng.choice(centres)
        d = 0.01
        fp = {"type": "MultiPolygon", "coordinates": [[[[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]]]}
        day = f"20{rng.choice(['25', '26'])}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        sid = f"svbench{i:09d}"
        surveys.append((sid, x, y, code, parent, day))
        db.execute(
            "INSERT INTO surveys (id, name, state, source_path, source_size, filename, operator_id, operator, jurisdiction, "
            "acquired_at, footprint, min_lon, min_lat, max_lon, max_lat, province_code, commune_code, created_at, completed_at, updated_at) "
            "VALUES (?, ?, 'ready', '/dev/null', 0, 'bench.tif', 0, 'bench', '{}', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sid, f"bench {i}", day + "T08:00:00Z", json.dumps(fp), x - d, y - d, x + d, y + d, parent, code, now, now, now),
        )
    statuses = ["new", "confirmed_poppy", "confirmed_cannabis", "false_positive", "needs_field_check", "verified_in_field", "eradicated", "not_found"]
    for i in range(20000):
        sid, x, y, code, parent, day = rng.choice(surveys)
        status = rng.choice(statuses)
        cls = "poppy" if rng.random() < 0.7 else "cannabis"
        area = rng.uniform(20, 400)
        px, py = x + rng.uniform(-0.009, 0.009), y + rng.uniform(-0.009, 0.009)
        e = 0.0001
        geom = {"type": "Polygon", "coordinates": [[[px - e, py - e], [px + e, py - e], [px + e, py + e], [px - e, py + e], [px - e, py - e]]]}
        cur = db.execute(
            "INSERT INTO flags (survey_id, class, confidence, area_m2, status, geometry, min_lon, min_lat, max_lon, max_lat, lon, lat, "
            "province_code, commune_code, acquired_at, model_version, drivers, created_at, replanting_of) "
            "VALUES (?, ?, 0.9, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'bench', '[]', ?, NULL)",
            (sid, cls, area, status, json.dumps(geom), px - e, py - e, px + e, py + e, px, py, parent, code, day + "T08:00:00Z", now),
        )
        if status == "eradicated":
            db.execute(
                "INSERT INTO flag_decisions (flag_id, decision, from_status, to_status, eradicated_on, area_destroyed_m2, team, actor, decided_at, version) "
                "VALUES (?, 'eradicated', 'verified_in_field', 'eradicated', min(date(?, '+10 days'), '2026-11-01'), ?, 'bench', 'bench', ?, 2)",
                (cur.lastrowid, day, area * 0.9, now),
            )
n = db.execute("SELECT count(*) FROM hotspot_events WHERE from_status IS NOT NULL").fetchone()[0]
print(f"{n} dated steps, {len(centres)} communes with drug-free records, 300 footprints, 20000 flags")
