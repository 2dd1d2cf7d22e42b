//! The hotspot registry: reading inside a jurisdiction, writing through the lifecycle with
//! versions, bulk import all-or-nothing, demo seeding.

use super::*;

/// The most hotspots a vector tile draws one by one; above it, counts per cell.
pub const MAX_TILE_POINTS: usize = 10_000;

/// Result of a bulk hotspot import.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportSummary {
    pub imported: usize,
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
    pub outside_boundaries: usize,
}

impl Vigil {
    /// One page of hotspots matching `filter` inside the caller's jurisdiction.
    /// One page of hotspot ids matching `filter` inside the caller's jurisdiction (memory only).
    pub fn hotspot_page(
        &self,
        who: &Principal,
        filter: &HotspotFilter,
        after: Option<i64>,
        limit: usize,
    ) -> Page {
        self.hotspots.query(filter, &who.jurisdiction, after, limit)
    }

    /// Ids of registry hotspots (any status, any jurisdiction) within `radius_m` of a point, at
    /// most `limit`, smallest ids first. For linking flags to hotspots inside the service.
    pub(crate) fn hotspots_near(
        &self,
        lon: f64,
        lat: f64,
        radius_m: f64,
        limit: usize,
    ) -> Vec<i64> {
        let dlat = radius_m / 111_320.0;
        let dlon = dlat / lat.to_radians().cos().max(0.01);
        let filter = HotspotFilter {
            bbox: Some([lon - dlon, lat - dlat, lon + dlon, lat + dlat]),
            ..Default::default()
        };
        self.hotspots
            .query(&filter, &Jurisdiction::national(), None, limit)
            .ids
    }

    /// A vector tile (MVT) of the hotspots `who` may see that match `filter` (its `bbox` is the
    /// tile's): each one as a point with `id`, `status`, `kind` when the tile holds at most
    /// [`MAX_TILE_POINTS`], else counts per cell of a grid with the status breakdown — the
    /// counts add up to the items' `numberMatched` over the tile.
    pub fn hotspot_tile(
        &self,
        who: &Principal,
        filter: &HotspotFilter,
        t: crate::grid::Tile,
    ) -> Result<Vec<u8>> {
        use crate::index::hotspots::STATUS_CODES;
        use crate::mvt::{Cells, Point};
        use geozero::mvt::TileValue;
        // One pass: points are kept until there are more than a tile draws one by one, while
        // every hotspot is counted in its cell, so a national z0 tile holds a 128² grid in memory,
        // not a million points.
        let merc = t.bounds_mercator();
        let mut cells = Cells::new(merc, &STATUS_CODES);
        let mut points: Vec<Point> = Vec::new();
        let mut many = false;
        self.hotspots
            .visit(filter, &who.jurisdiction, t.bounds_lon_lat(), &mut |e| {
                let [x, y] = crate::grid::lon_lat_to_mercator(e.pos[0], e.pos[1]);
                cells.add(x, y, e.status.as_u8() as usize);
                if many {
                    return;
                }
                if points.len() == MAX_TILE_POINTS {
                    many = true;
                    points = Vec::new();
                    return;
                }
                points.push(Point {
                    x,
                    y,
                    props: vec![
                        ("id".into(), TileValue::Sint(e.id)),
                        ("status".into(), TileValue::Str(e.status.code().into())),
                        ("kind".into(), TileValue::Str(e.kind.code().into())),
                        ("count".into(), TileValue::Uint(1)),
                    ],
                });
            });
        if many {
            points = cells.points("status");
        }
        crate::mvt::encode("hotspots", merc, &points)
            .map_err(crate::service::boundaries::tile_error)
    }

    /// The extent of the hotspots `who` may see: lon/lat bbox and first and last `reported_on`
    /// day (memory only).
    pub fn hotspot_extent(&self, who: &Principal) -> Option<([f64; 4], i32, i32)> {
        self.hotspots.extent(&who.jurisdiction)
    }

    /// Hotspot renderings in the cache (for `/healthz`-style checks and tests).
    pub fn cached_renderings(&self) -> usize {
        self.rendered.len()
    }

    /// Calls `f` with the cached rendering of every hotspot in `ids`, in order, when all are
    /// cached (memory only; safe on async threads).
    pub fn with_cached_hotspots<R>(
        &self,
        ids: &[i64],
        f: impl FnOnce(&mut dyn Iterator<Item = &[u8]>) -> R,
    ) -> Option<R> {
        self.rendered.with_all(ids, f)
    }

    /// Renderings of the hotspots in `ids` that `who` may see, in order: cached ones as they are,
    /// the rest read from the store, rendered by `render` and cached — unless a change was
    /// committed while they were read (the cache's epoch), so a stale rendering never goes back.
    pub fn rendered_hotspots<E: From<Error>>(
        &self,
        who: &Principal,
        ids: &[i64],
        render: impl Fn(&Hotspot, &BoundaryIndex) -> std::result::Result<bytes::Bytes, E>,
    ) -> std::result::Result<Vec<bytes::Bytes>, E> {
        let (mut out, epoch) = self.rendered.get_many(ids);
        let missing: Vec<i64> = ids
            .iter()
            .zip(&out)
            .filter(|(_, r)| r.is_none())
            .map(|(id, _)| *id)
            .collect();
        if missing.is_empty() {
            return Ok(out.into_iter().flatten().collect());
        }
        let rows = self.hotspots_by_id(who, &missing)?;
        let bi = self.boundaries();
        let mut fresh = Vec::with_capacity(rows.len());
        for h in &rows {
            fresh.push((h.id, render(h, &bi)?));
        }
        for (id, bytes) in &fresh {
            if let Some(slot) = ids.iter().position(|x| x == id) {
                out[slot] = Some(bytes.clone());
            }
        }
        self.rendered.put_many(epoch, fresh);
        Ok(out.into_iter().flatten().collect())
    }

    /// Hotspots by id that the caller may see, ascending (ids from [`Vigil::hotspot_page`]).
    pub fn hotspots_by_id(&self, who: &Principal, ids: &[i64]) -> Result<Vec<Hotspot>> {
        let rows = self.store.read(|c| hs::get_many(c, ids))?;
        Ok(rows.into_iter().filter(|h| self.visible(who, h)).collect())
    }

    pub fn query_hotspots(
        &self,
        who: &Principal,
        filter: &HotspotFilter,
        after: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<Hotspot>, Page)> {
        let page = self.hotspots.query(filter, &who.jurisdiction, after, limit);
        let rows = self.store.read(|c| hs::get_many(c, &page.ids))?;
        Ok((rows, page))
    }

    fn visible(&self, who: &Principal, h: &Hotspot) -> bool {
        who.jurisdiction
            .covers(h.province_code.as_deref(), h.commune_code.as_deref())
    }

    /// A hotspot the caller may see; outside the jurisdiction it does not exist (404, not 403).
    pub fn get_hotspot(&self, who: &Principal, id: i64) -> Result<Hotspot> {
        match self.store.read(|c| hs::get(c, id))? {
            Some(h) if self.visible(who, &h) => Ok(h),
            _ => Err(hotspot_not_found(id)),
        }
    }

    pub fn history(&self, who: &Principal, id: i64) -> Result<Vec<HotspotEvent>> {
        self.get_hotspot(who, id)?;
        Ok(self.store.read(|c| hs::history(c, id))?)
    }

    // ---- writing hotspots ------------------------------------------------------------------------

    fn require_writer(&self, who: &Principal) -> Result<()> {
        if who.role.can_write_hotspots() {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "role `{}` cannot change the hotspot registry (analyst or admin needed)",
                who.role.code()
            )))
        }
    }

    /// Resolves commune/province for a point and checks the caller may act there.
    fn place(
        &self,
        who: &Principal,
        input: crate::hotspots::HotspotInput,
    ) -> Result<HotspotChange> {
        let loc = self.boundaries().locate(input.lon, input.lat);
        if !who
            .jurisdiction
            .covers(loc.province.as_deref(), loc.commune.as_deref())
        {
            return Err(Error::Forbidden(format!(
                "the point ({}, {}) lies outside your jurisdiction{}",
                input.lon,
                input.lat,
                match &loc.province {
                    Some(p) => format!(" (province {p})"),
                    None => " (outside every loaded boundary)".into(),
                }
            )));
        }
        Ok(HotspotChange {
            input,
            province: loc.province,
            commune: loc.commune,
        })
    }

    /// Reads a hotspot inside a write transaction, as the caller may see it, at the version they read.
    fn load_for_write(
        &self,
        tx: &crate::store::sql::Connection<'_>,
        who: &Principal,
        id: i64,
        if_match: Option<i64>,
    ) -> Result<Hotspot> {
        let h = hs::get(tx, id)?
            .filter(|h| self.visible(who, h))
            .ok_or_else(|| hotspot_not_found(id))?;
        check_version(&h, if_match)?;
        Ok(h)
    }

    /// Brings the index and the render cache in step with a committed change (`after` = `None`: deleted).
    fn reindex(&self, before: &Hotspot, after: Option<&Hotspot>) {
        self.hotspots.remove(before.id, before.lon, before.lat);
        if let Some(after) = after {
            self.hotspots.insert(hs::entry_row(after));
        }
        self.rendered.invalidate(before.id);
    }

    /// Creates a hotspot.
    pub fn create_hotspot(&self, who: &Principal, raw: RawHotspot) -> Result<Hotspot> {
        self.require_writer(who)?;
        let input = raw.validate().map_err(Error::Invalid)?;
        let change = self.place(who, input)?;
        let now = now_rfc3339();
        let h = self.store.write_then(
            |tx| -> Result<Hotspot> {
                let id = hs::insert(tx, &change, &who.name, &now, Some("tạo mới / created"))?;
                let h = hs::get(tx, id)?.ok_or_else(|| hotspot_not_found(id))?;
                store::audit::append(tx, &audit_hotspot(who, "create", &h, None, Some(&h)), &now)?;
                Ok(h)
            },
            |h| self.hotspots.insert(hs::entry_row(h)),
        )?;
        Ok(h)
    }

    /// Replaces a hotspot's fields with `raw` (PUT, PATCH). A different status goes through the
    /// lifecycle; `if_match` is the version the caller last read.
    pub fn update_hotspot(
        &self,
        who: &Principal,
        id: i64,
        if_match: Option<i64>,
        edit: impl FnOnce(&mut RawHotspot),
    ) -> Result<Hotspot> {
        self.require_writer(who)?;
        let now = now_rfc3339();
        let result = self.store.write_then(
            |tx| -> Result<(Hotspot, Hotspot)> {
                let before = self.load_for_write(tx, who, id, if_match)?;
                let mut raw = RawHotspot::from(&before);
                edit(&mut raw);
                let input = raw.validate().map_err(Error::Invalid)?;
                let new_status = input.status;
                let change = self.place(who, input)?;
                hs::update_fields(tx, id, &change, &now)?;
                if new_status != before.status {
                    before
                        .status
                        .transition(new_status)
                        .map_err(|e| Error::Conflict(e.to_string()))?;
                    hs::set_status(
                        tx,
                        id,
                        before.status,
                        new_status,
                        &format_date(today()),
                        &who.name,
                        None,
                        &now,
                    )?;
                }
                let after = hs::get(tx, id)?.ok_or_else(|| hotspot_not_found(id))?;
                store::audit::append(
                    tx,
                    &audit_hotspot(who, "update", &after, Some(&before), Some(&after)),
                    &now,
                )?;
                Ok((before, after))
            },
            |(before, after)| self.reindex(before, Some(after)),
        )?;
        Ok(result.1)
    }

    /// Moves a hotspot along its lifecycle on a given date, with an optional note.
    pub fn transition(
        &self,
        who: &Principal,
        id: i64,
        to: Status,
        on: Option<&str>,
        note: Option<String>,
        if_match: Option<i64>,
    ) -> Result<Hotspot> {
        self.require_writer(who)?;
        let on = match on {
            Some(s) => parse_date(s).map_err(|e| invalid("on", e))?,
            None => today(),
        };
        if on > today().next_day().unwrap_or(on) {
            return Err(invalid(
                "on",
                format!("{} is in the future", format_date(on)),
            ));
        }
        let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > crate::hotspots::model::MAX_NOTES)
        {
            return Err(invalid("note", "is too long"));
        }
        let now = now_rfc3339();
        let (_, after) = self.store.write_then(
            |tx| -> Result<(Hotspot, Hotspot)> {
                let before = self.load_for_write(tx, who, id, if_match)?;
                before
                    .status
                    .transition(to)
                    .map_err(|e| Error::Conflict(e.to_string()))?;
                if on < before.status_since {
                    return Err(invalid(
                        "on",
                        format!(
                            "{} is before the current status began ({})",
                            format_date(on),
                            format_date(before.status_since)
                        ),
                    ));
                }
                hs::set_status(
                    tx,
                    id,
                    before.status,
                    to,
                    &format_date(on),
                    &who.name,
                    note.as_deref(),
                    &now,
                )?;
                let after = hs::get(tx, id)?.ok_or_else(|| hotspot_not_found(id))?;
                store::audit::append(
                    tx,
                    &audit_hotspot(who, "transition", &after, Some(&before), Some(&after)),
                    &now,
                )?;
                Ok((before, after))
            },
            |(before, after)| self.reindex(before, Some(after)),
        )?;
        Ok(after)
    }

    /// Deletes a hotspot from the registry (kept in the store with its history, for the record).
    pub fn delete_hotspot(&self, who: &Principal, id: i64, if_match: Option<i64>) -> Result<()> {
        self.require_writer(who)?;
        let now = now_rfc3339();
        self.store.write_then(
            |tx| -> Result<Hotspot> {
                let before = self.load_for_write(tx, who, id, if_match)?;
                hs::soft_delete(tx, id, &now)?;
                store::audit::append(
                    tx,
                    &audit_hotspot(who, "delete", &before, Some(&before), None),
                    &now,
                )?;
                Ok(before)
            },
            |before| self.reindex(before, None),
        )?;
        Ok(())
    }

    /// Imports a whole file of hotspots, all or nothing.
    pub fn import_hotspots(
        &self,
        who: &Principal,
        bytes: &[u8],
        format: Format,
        crs: Option<&str>,
        source_name: &str,
    ) -> Result<ImportSummary> {
        self.require_writer(who)?;
        let transform = match crs
            .map(str::trim)
            .filter(|c| !c.is_empty() && !is_wgs84_name(c))
        {
            Some(name) => Some(ToWgs84::new(name)?),
            None => None,
        };
        let (inputs, mut errors) = import::parse_rows(
            bytes,
            format,
            transform.as_ref().map(|t| t as &dyn import::PointTransform),
            self.config.api.max_import_rows,
        )?;
        let b = self.boundaries();
        let mut changes = Vec::with_capacity(inputs.len());
        let mut outside = 0;
        for (row, input) in inputs {
            let loc = b.locate(input.lon, input.lat);
            if loc.province.is_none() {
                outside += 1;
            }
            if !who
                .jurisdiction
                .covers(loc.province.as_deref(), loc.commune.as_deref())
            {
                errors.push(import::RowError {
                    row,
                    field: "geometry".into(),
                    message: format!(
                        "({}, {}) lies outside your jurisdiction",
                        input.lon, input.lat
                    ),
                });
                continue;
            }
            changes.push(HotspotChange {
                input,
                province: loc.province,
                commune: loc.commune,
            });
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.row);
            return Err(ImportError::Rows(errors).into());
        }
        let now = now_rfc3339();
        let n = changes.len();
        let note = format!("nhập từ tệp / imported from {source_name}");
        let ids = self.store.write_then(
            |tx| -> Result<Vec<i64>> {
                let mut ids = Vec::with_capacity(n);
                for ch in &changes {
                    ids.push(hs::insert(tx, ch, &who.name, &now, Some(&note))?);
                }
                let after = json!({ "file": source_name, "count": n, "first_id": ids.first(), "last_id": ids.last() });
                store::audit::append(tx, &NewAudit { actor: &who.name, action: "import", entity: "hotspot", entity_id: None, before: None, after: Some(after) }, &now)?;
                Ok(ids)
            },
            |ids| {
                self.hotspots.insert_many(ids.iter().zip(&changes).map(|(id, ch)| {
                    let h = &ch.input;
                    EntryRow {
                        id: *id,
                        lon: h.lon,
                        lat: h.lat,
                        status: h.status,
                        kind: h.kind,
                        province: ch.province.clone(),
                        commune: ch.commune.clone(),
                        reported: crate::time_util::day_number(h.reported_on),
                    }
                }));
            },
        )?;
        Ok(ImportSummary {
            imported: n,
            first_id: ids.first().copied(),
            last_id: ids.last().copied(),
            outside_boundaries: outside,
        })
    }

    /// Adds `count` seeded synthetic hotspots inside the loaded communes (or provinces), for demos
    /// and benchmarks. Names say they are samples.
    pub fn seed_demo_hotspots(
        &self,
        who: &Principal,
        count: usize,
        seed: u64,
    ) -> Result<ImportSummary> {
        let csv = crate::demo::hotspots_csv(&self.boundaries(), count, seed)
            .map_err(|m| invalid("boundaries", m))?;
        self.import_hotspots(
            who,
            csv.as_bytes(),
            Format::Csv,
            None,
            &format!("demo seed {seed}"),
        )
    }
}

fn is_wgs84_name(c: &str) -> bool {
    matches!(
        c.to_ascii_uppercase().as_str(),
        "EPSG:4326" | "4326" | "CRS84" | "OGC:CRS84" | "WGS84"
    )
}

fn check_version(h: &Hotspot, if_match: Option<i64>) -> Result<()> {
    match if_match {
        Some(v) if v != h.version => Err(Error::PreconditionFailed { current: h.version }),
        _ => Ok(()),
    }
}

fn audit_hotspot<'a>(
    who: &'a Principal,
    action: &'a str,
    h: &Hotspot,
    before: Option<&Hotspot>,
    after: Option<&Hotspot>,
) -> NewAudit<'a> {
    NewAudit {
        actor: &who.name,
        action,
        entity: "hotspot",
        entity_id: Some(h.id.to_string()),
        before: before.and_then(|b| serde_json::to_value(b).ok()),
        after: after.and_then(|a| serde_json::to_value(a).ok()),
    }
}
