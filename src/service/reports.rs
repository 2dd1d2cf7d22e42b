//! Reports (issue 6): drug-free commune records, and the KPIs of an area for a period gathered
//! from the registry, flags, decisions and surveys, scoped to the caller's jurisdiction.
//!
//! An area outside the caller's jurisdiction does not exist for them (404). Inside it, every
//! figure covers the whole area: hotspots come from the same in-memory index that answers the
//! layer's `numberMatched`, flags and decisions from the store, so the report and the layers
//! agree for the same filters. Statuses at a period's end come from the history (hotspot
//! transitions, flag decisions); for a period not over yet they are today's, as in the layers.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;

use crate::auth::Principal;
use crate::boundaries::{Boundary, Level};
use crate::hotspots::model::FieldError;
use crate::index::HotspotFilter;
use crate::reports::kpi::{
    self, AreaTallies, EradicationFact, Facts, FlagFact, FlagStep, HotspotFact, SlotExtras, Step,
    Tally,
};
use crate::reports::period::{Period, Season};
use crate::reports::targets::Targets;
use crate::reports::{
    Area, BreakdownRow, DrugFreeInfo, Format, KpiReport, RenderError, coverage, document,
};
use crate::service::{Error, Result, Vigil, invalid};
use crate::store::reports as rs;
pub use crate::store::reports::DrugFreeRow;
use crate::store::{self, NewAudit};
use crate::time_util::{day_number, format_date, now_rfc3339, parse_date, today};

/// Longest decision reference (*số, ký hiệu quyết định*).
pub const MAX_DECISION_REF: usize = 200;

/// A drug-free record as an analyst sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrugFreeInput {
    pub year: i32,
    pub drug_free: bool,
    pub decision_ref: String,
    pub decided_on: Option<String>,
}

/// Which area a report is about: a province, a commune, or (neither) the caller's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AreaQuery {
    pub province: Option<String>,
    pub commune: Option<String>,
}

/// A resolved area: its level, codes and communes.
struct Scope<'a> {
    area: Area,
    communes: Vec<&'a Boundary>,
    filter: HotspotFilter,
    bbox: [f64; 4],
}

fn crop_of(class: &str) -> usize {
    usize::from(class == "cannabis")
}

fn day(s: &str) -> Option<i32> {
    parse_date(s).ok().map(day_number)
}

impl Vigil {
    /// The commune as the caller may see it, or 404.
    fn commune_in_jurisdiction(&self, who: &Principal, code: &str) -> Result<Boundary> {
        let bi = self.boundaries();
        bi.get(Level::Commune, code)
            .filter(|c| who.jurisdiction.covers(c.parent.as_deref(), Some(&c.code)))
            .cloned()
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "commune {code:?} does not exist or is outside your jurisdiction"
                ))
            })
    }

    /// Records that a commune is (or is not) drug-free for a year; analysts and admins, within
    /// their jurisdiction; audited. Earlier records stay as its history.
    pub fn record_drug_free(
        &self,
        who: &Principal,
        commune: &str,
        input: DrugFreeInput,
    ) -> Result<DrugFreeRow> {
        if !who.role.can_write_hotspots() {
            return Err(Error::Forbidden(format!(
                "role `{}` cannot record drug-free communes (analyst or admin needed)",
                who.role.code()
            )));
        }
        let c = self.commune_in_jurisdiction(who, commune)?;
        let mut errors = Vec::new();
        let this_year = today().year();
        if !(2000..=this_year + 1).contains(&input.year) {
            errors.push(FieldError::new(
                "year",
                format!(
                    "{} is not a year from 2000 to {}",
                    input.year,
                    this_year + 1
                ),
            ));
        }
        let decision_ref = input.decision_ref.trim().to_string();
        if decision_ref.is_empty() {
            errors.push(FieldError::new(
                "decision_ref",
                "is required: the decision's number and sign, e.g. \"QĐ 123/QĐ-UBND\"",
            ));
        } else if decision_ref.chars().count() > MAX_DECISION_REF {
            errors.push(FieldError::new(
                "decision_ref",
                format!("is longer than {MAX_DECISION_REF} characters"),
            ));
        }
        let decided_on = match input.decided_on.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => match parse_date(s) {
                Err(e) => {
                    errors.push(FieldError::new("decided_on", e));
                    None
                }
                Ok(d) if d > today().next_day().unwrap_or(d) => {
                    errors.push(FieldError::new(
                        "decided_on",
                        format!("{} is in the future", format_date(d)),
                    ));
                    None
                }
                Ok(d) => Some(format_date(d)),
            },
        };
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let now = now_rfc3339();
        let mut row = DrugFreeRow {
            id: 0,
            commune_code: c.code.clone(),
            province_code: c.parent.clone(),
            year: input.year,
            status: if input.drug_free {
                "drug_free"
            } else {
                "not_drug_free"
            }
            .into(),
            decision_ref,
            decided_on,
            recorded_by: who.name.clone(),
            recorded_at: now.clone(),
        };
        self.store().write(|tx| -> Result<()> {
            row.id = rs::insert_drug_free(tx, &row)?;
            store::audit::append(
                tx,
                &NewAudit {
                    actor: &who.name,
                    action: "record",
                    entity: "commune_drug_free",
                    entity_id: Some(row.commune_code.clone()),
                    before: None,
                    after: Some(json!({
                        "id": row.id,
                        "commune": row.commune_code,
                        "year": row.year,
                        "status": row.status,
                        "decision_ref": row.decision_ref,
                        "decided_on": row.decided_on,
                    })),
                },
                &now,
            )?;
            Ok(())
        })?;
        Ok(row)
    }

    /// A commune's drug-free records, oldest first.
    pub fn drug_free_history(&self, who: &Principal, commune: &str) -> Result<Vec<DrugFreeRow>> {
        let c = self.commune_in_jurisdiction(who, commune)?;
        Ok(self
            .store()
            .read(|conn| rs::drug_free_history(conn, &c.code))?)
    }

    fn scope<'a>(
        &self,
        who: &Principal,
        q: &AreaQuery,
        bi: &'a crate::index::BoundaryIndex,
    ) -> Result<Scope<'a>> {
        let j = &who.jurisdiction;
        let (province, commune) = match (&q.province, &q.commune) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "province",
                    "give a province or a commune, not both",
                ));
            }
            (None, None) if j.national => (None, None),
            (None, None) if j.provinces.len() == 1 && j.communes.is_empty() => {
                (j.provinces.first().cloned(), None)
            }
            (None, None) if j.communes.len() == 1 && j.provinces.is_empty() => {
                (None, j.communes.first().cloned())
            }
            (None, None) => {
                return Err(invalid(
                    "province",
                    "your jurisdiction has several areas: give province= or commune=",
                ));
            }
            (p, c) => (p.clone(), c.clone()),
        };
        let world = [-180.0, -90.0, 180.0, 90.0];
        let bbox_of = |items: &[&Boundary]| {
            items.iter().filter_map(|b| b.bbox()).reduce(|a, b| {
                [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ]
            })
        };
        if let Some(code) = commune {
            let c = bi
                .get(Level::Commune, &code)
                .filter(|c| j.covers(c.parent.as_deref(), Some(&c.code)))
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "commune {code:?} does not exist or is outside your jurisdiction"
                    ))
                })?;
            let province_name = c
                .parent
                .as_deref()
                .and_then(|p| bi.name(Level::Province, p))
                .map(str::to_string);
            return Ok(Scope {
                area: Area {
                    level: "commune",
                    code: Some(c.code.clone()),
                    name: c.name.clone(),
                    province_code: c.parent.clone(),
                    province_name,
                },
                communes: vec![c],
                filter: HotspotFilter {
                    commune: Some(c.code.clone()),
                    ..Default::default()
                },
                bbox: c.bbox().unwrap_or(world),
            });
        }
        if let Some(code) = province {
            let p = bi
                .get(Level::Province, &code)
                .filter(|p| j.covers(Some(&p.code), None))
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "province {code:?} does not exist or is outside your jurisdiction"
                    ))
                })?;
            let communes: Vec<&Boundary> = bi
                .list(Level::Commune)
                .iter()
                .filter(|c| c.parent.as_deref() == Some(p.code.as_str()))
                .collect();
            let bbox = bbox_of(&communes)
                .into_iter()
                .chain(p.bbox())
                .reduce(|a, b| {
                    [
                        a[0].min(b[0]),
                        a[1].min(b[1]),
                        a[2].max(b[2]),
                        a[3].max(b[3]),
                    ]
                })
                .unwrap_or(world);
            return Ok(Scope {
                area: Area {
                    level: "province",
                    code: Some(p.code.clone()),
                    name: p.name.clone(),
                    province_code: Some(p.code.clone()),
                    province_name: Some(p.name.clone()),
                },
                communes,
                filter: HotspotFilter {
                    province: Some(p.code.clone()),
                    ..Default::default()
                },
                bbox,
            });
        }
        Ok(Scope {
            area: Area {
                level: "national",
                code: None,
                name: "Toàn quốc".into(),
                province_code: None,
                province_name: None,
            },
            communes: bi.list(Level::Commune).iter().collect(),
            filter: HotspotFilter::default(),
            bbox: world,
        })
    }

    /// The KPIs of an area for a period, with the previous period, the same period a year
    /// before, the breakdown by commune (by province for the whole country) and every commune.
    pub fn kpi_report(&self, who: &Principal, q: &AreaQuery, period: &Period) -> Result<KpiReport> {
        let t0 = std::time::Instant::now();
        let mut stages: Vec<(&str, u128)> = Vec::new();
        let mut lap = |name: &'static str| stages.push((name, t0.elapsed().as_micros()));
        let bi = self.boundaries();
        let scope = self.scope(who, q, &bi)?;
        let n = scope.communes.len();
        let slot_of: HashMap<&str, u32> = scope
            .communes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.as_str(), i as u32))
            .collect();
        let slot = |commune: Option<&str>| {
            commune
                .and_then(|c| slot_of.get(c).copied())
                .unwrap_or(n as u32)
        };

        // Hotspots (memory) and their lifecycle steps (store), joined by id.
        let (mut scanned, codes) = self.hotspots.scan(&scope.filter);
        let slot_by_code: Vec<u32> = codes.iter().map(|c| slot(Some(c))).collect();
        scanned.sort_unstable_by_key(|h| h.id);
        lap("scan");
        let transitions = self.store().read(rs::transitions)?;
        lap("transitions");
        let mut facts = Facts {
            slots: n + 1,
            is_commune: (0..=n).map(|i| i < n).collect(),
            ..Default::default()
        };
        facts.hotspots.reserve(scanned.len());
        let mut t = transitions.iter().peekable();
        for h in &scanned {
            while t.peek().is_some_and(|x| x.hotspot < h.id) {
                t.next();
            }
            let start = facts.steps.len() as u32;
            while let Some(x) = t.next_if(|x| x.hotspot == h.id) {
                facts.steps.push(Step {
                    from: x.from,
                    to: x.to,
                    on: x.on,
                });
            }
            facts.hotspots.push(HotspotFact {
                slot: slot_by_code[h.commune as usize],
                diem_nong: h.kind == crate::hotspots::Kind::DiemNong,
                status: h.status,
                reported: h.reported,
                steps: (start, facts.steps.len() as u32),
            });
        }
        drop(scanned);
        lap("join");

        // Flags with their dated decisions, eradications, drug-free records, footprints.
        let (province, commune) = (
            scope.filter.province.as_deref(),
            scope.filter.commune.as_deref(),
        );
        let previous = period.previous();
        let last_year = period.same_period_last_year();
        let previous_last_year = previous.same_period_last_year();
        let (year, previous_year) = (period.year_of_end(), previous.year_of_end());
        let (flags, flag_steps, eradications, drug_free, drug_free_prev, footprints) =
            self.store().read(|c| -> Result<_> {
                Ok((
                    rs::flag_facts(c, province, commune)?,
                    rs::flag_steps(c, province, commune)?,
                    rs::eradications(c, province, commune)?,
                    rs::drug_free_in_force(c, year)?,
                    rs::drug_free_in_force(c, previous_year)?,
                    rs::footprints(c, scope.bbox)?,
                ))
            })?;
        lap("store");
        drop(transitions);
        let mut flag_place: HashMap<i64, (u32, usize)> = HashMap::with_capacity(flags.len());
        // Both by flag id: each flag takes its run of decisions.
        let mut d = flag_steps.iter().peekable();
        for f in &flags {
            while d.peek().is_some_and(|x| x.flag < f.id) {
                d.next();
            }
            let start = facts.flag_steps.len() as u32;
            while let Some(x) = d.next_if(|x| x.flag == f.id) {
                facts.flag_steps.push(FlagStep { to: x.to, on: x.on });
            }
            let steps = (start, facts.flag_steps.len() as u32);
            let (Some(status), Some(found)) = (
                crate::review::Status::from_code(&f.status),
                day(&f.found_on),
            ) else {
                continue;
            };
            let s = slot(f.commune.as_deref());
            let crop = crop_of(&f.class);
            flag_place.insert(f.id, (s, crop));
            facts.flags.push(FlagFact {
                slot: s,
                crop,
                status,
                area_m2: f.area_m2,
                found,
                replanting: f.replanting,
                steps,
            });
        }
        for e in &eradications {
            let (Some(&(s, crop)), Some(on)) = (flag_place.get(&e.flag), day(&e.on)) else {
                continue;
            };
            facts.eradications.push(EradicationFact {
                slot: s,
                crop,
                on,
                area_m2: e.area_destroyed_m2,
            });
        }

        let by_slot = |rows: &[DrugFreeRow]| {
            let mut v: Vec<Option<bool>> = vec![None; n + 1];
            let mut info: Vec<Option<DrugFreeInfo>> = vec![None; n + 1];
            for r in rows {
                if let Some(&i) = slot_of.get(r.commune_code.as_str()) {
                    v[i as usize] = Some(r.status == "drug_free");
                    info[i as usize] = Some(DrugFreeInfo {
                        status: r.status.clone(),
                        decision_ref: r.decision_ref.clone(),
                        decided_on: r.decided_on.clone(),
                    });
                }
            }
            (v, info)
        };
        let (df_now, df_info) = by_slot(&drug_free);
        let (df_prev, _) = by_slot(&drug_free_prev);

        let shapes: Vec<(i32, geo::MultiPolygon<f64>)> = footprints
            .iter()
            .filter_map(|f| {
                let g: geojson::Geometry = f.footprint.parse().ok()?;
                let g: geo::Geometry<f64> = g.try_into().ok()?;
                let mp = match g {
                    geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                    geo::Geometry::MultiPolygon(m) => m,
                    _ => return None,
                };
                Some((day(&f.flown_on)?, mp))
            })
            .collect();
        let commune_shapes: Vec<&geo::MultiPolygon<f64>> =
            scope.communes.iter().map(|c| &c.geometry).collect();
        let km2 = |keep: &dyn Fn(i32) -> bool| -> Vec<f64> {
            let chosen: Vec<geo::MultiPolygon<f64>> = shapes
                .iter()
                .filter(|(d, _)| keep(*d))
                .map(|(_, g)| g.clone())
                .collect();
            let mut v = if chosen.is_empty() {
                vec![0.0; n]
            } else {
                coverage::km2_per_commune(&chosen, &commune_shapes)
            };
            v.push(0.0);
            v
        };
        let span = |p: &Period| (day_number(p.from), day_number(p.to));
        let extras = |p: &Period, drug_free: Vec<Option<bool>>| {
            let (from, to) = span(p);
            let season = Season::at(p.to);
            let (s0, s1) = (day_number(season.from), day_number(season.to));
            SlotExtras {
                drug_free,
                km2: km2(&|d| from <= d && d <= to),
                flown_in_season: km2(&|d| s0 <= d && d <= s1 && d <= to)
                    .into_iter()
                    .map(|x| x > 0.0)
                    .collect(),
            }
        };
        let count = |p: &Period, x: &SlotExtras| {
            let (from, to) = span(p);
            kpi::tally(&facts, from, to, x)
        };
        lap("facts");
        let cur = count(period, &extras(period, df_now));
        let prev = count(&previous, &extras(&previous, df_prev));
        let none = SlotExtras::default();
        let cur_ly = count(&last_year, &none);
        let prev_ly = count(&previous_last_year, &none);

        lap("tally");
        let targets_for = |province: Option<&str>| Targets::resolve(&self.config.targets, province);
        let area_targets = targets_for(scope.area.province_code.as_deref());
        let tallies = |pick: &dyn Fn(usize) -> bool| AreaTallies {
            current: Tally::sum(
                cur.iter()
                    .enumerate()
                    .filter(|(i, _)| pick(*i))
                    .map(|x| x.1),
            ),
            previous: Tally::sum(
                prev.iter()
                    .enumerate()
                    .filter(|(i, _)| pick(*i))
                    .map(|x| x.1),
            ),
            current_last_year: Tally::sum(
                cur_ly
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| pick(*i))
                    .map(|x| x.1),
            ),
            previous_last_year: Tally::sum(
                prev_ly
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| pick(*i))
                    .map(|x| x.1),
            ),
            year,
            previous_year,
        };
        let all = tallies(&|_| true);
        let commune_rows: Vec<BreakdownRow> = scope
            .communes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let a = AreaTallies {
                    current: cur[i],
                    previous: prev[i],
                    current_last_year: cur_ly[i],
                    previous_last_year: prev_ly[i],
                    year,
                    previous_year,
                };
                BreakdownRow {
                    level: "commune",
                    code: Some(c.code.clone()),
                    name: c.name.clone(),
                    province_code: c.parent.clone(),
                    tally: a.current,
                    kpis: kpi::kpis(&a, &targets_for(c.parent.as_deref())),
                    drug_free: df_info[i].clone(),
                }
            })
            .collect();
        let unplaced = AreaTallies {
            current: cur[n],
            previous: prev[n],
            current_last_year: cur_ly[n],
            previous_last_year: prev_ly[n],
            year,
            previous_year,
        };
        let unplaced_row = (unplaced.current != Tally::default()
            || unplaced.previous != Tally::default())
        .then(|| BreakdownRow {
            level: "none",
            code: None,
            name: "Ngoài ranh giới xã, phường đã nhập".into(),
            province_code: scope.area.province_code.clone(),
            tally: unplaced.current,
            kpis: kpi::kpis(&unplaced, &area_targets),
            drug_free: None,
        });
        let (breakdown_level, mut breakdown) = if scope.area.level == "national" {
            let rows = bi
                .list(Level::Province)
                .iter()
                .map(|p| {
                    let a = tallies(&|j| {
                        j < n && scope.communes[j].parent.as_deref() == Some(p.code.as_str())
                    });
                    BreakdownRow {
                        level: "province",
                        code: Some(p.code.clone()),
                        name: p.name.clone(),
                        province_code: Some(p.code.clone()),
                        tally: a.current,
                        kpis: kpi::kpis(&a, &targets_for(Some(&p.code))),
                        drug_free: None,
                    }
                })
                .collect();
            ("province", rows)
        } else {
            ("commune", commune_rows.clone())
        };
        breakdown.extend(unplaced_row);
        lap("kpis");
        tracing::info!(
            area = ?scope.area.code,
            period = %period.code,
            hotspots = facts.hotspots.len(),
            steps = facts.steps.len(),
            flags = facts.flags.len(),
            flag_steps = facts.flag_steps.len(),
            communes = n,
            stages_us = ?stages,
            "KPI report computed"
        );
        Ok(KpiReport {
            area: scope.area,
            period: period.clone(),
            previous_period: previous,
            same_period_last_year: last_year,
            season: Season::at(period.to),
            drug_free_year: year,
            kpis: kpi::kpis(&all, &area_targets),
            totals: all.current,
            previous_totals: all.previous,
            last_year_totals: all.current_last_year,
            breakdown_level,
            breakdown,
            communes: commune_rows,
            generated_at: now_rfc3339(),
        })
    }

    /// The font files for PDF reports (`[reports] font`, else the first known one installed).
    pub fn report_fonts(&self) -> Result<crate::reports::pdf::Fonts> {
        let cfg = &self.config.reports;
        let read = |p: &std::path::Path| std::fs::read(p);
        let font_error = |m: String| Error::Disk {
            context: "PDF report".into(),
            source: std::io::Error::other(RenderError::Font(m)),
        };
        let (regular, bold_path) = match &cfg.font {
            Some(p) => (
                read(p).map_err(|e| font_error(format!("{}: {e}", p.display())))?,
                cfg.font_bold.clone(),
            ),
            None => {
                let found = crate::reports::pdf::KNOWN_FONTS
                    .iter()
                    .find_map(|(r, b)| Some((read(std::path::Path::new(r)).ok()?, Some(b.into()))))
                    .ok_or_else(|| {
                        font_error(format!(
                            "none of {} is installed",
                            crate::reports::pdf::KNOWN_FONTS
                                .iter()
                                .map(|f| f.0)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                (found.0, cfg.font_bold.clone().or(found.1))
            }
        };
        let bold = bold_path
            .and_then(|p| read(&p).ok())
            .unwrap_or_else(|| regular.clone());
        Ok(crate::reports::pdf::Fonts { regular, bold })
    }

    /// A report file: the bytes and the file name.
    pub fn render_report(
        &self,
        who: &Principal,
        q: &AreaQuery,
        period: &Period,
        format: Format,
    ) -> Result<(Vec<u8>, String)> {
        let r = self.kpi_report(who, q, period)?;
        let doc = document::build(&r);
        let name = format!("{}.{}", doc.file_stem, format.extension());
        let render_err = |e: RenderError| Error::Disk {
            context: format!("rendering {name}"),
            source: std::io::Error::other(e),
        };
        let bytes = match format {
            Format::Csv => crate::reports::csv::render(&r),
            Format::Html => crate::reports::html::render(&doc).into_bytes(),
            Format::Xlsx => crate::reports::xlsx::render(&doc).map_err(render_err)?,
            Format::Pdf => {
                let fonts = self.report_fonts()?;
                crate::reports::pdf::render(&doc, &fonts).map_err(render_err)?
            }
        };
        Ok((bytes, name))
    }
}
