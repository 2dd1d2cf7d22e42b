//! Border guards' review of flagged plots (issue 5): the queue, decisions with reasons, queue
//! priority, the surveys that show a plot (before/after), and field evidence.
//!
//! Every change is one transaction: the flag's status and version, the append-only decision row
//! and the audit entry commit together or not at all. A decision names the version it was made
//! on; if the flag moved meanwhile the decision is refused with the current version (409), so two
//! reviewers cannot both win silently.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use crate::auth::{Principal, Role};
use crate::hotspots::model::FieldError;
use crate::review::{self, Decision, Status};
use crate::service::flags::visible;
use crate::service::surveys::Survey;
use crate::service::{Error, Result, Vigil, invalid};
use crate::store::flags::{self, FlagRow, LiveFilter};
use crate::store::review as rs;
pub use crate::store::review::{DecisionRow, EvidenceRow};
use crate::store::{self, NewAudit};
use crate::time_util::{format_date, now_rfc3339, parse_date, today};

/// Longest note a decision may carry (operational notes, never personal data).
pub const MAX_NOTE: usize = 2000;
/// Longest team name.
pub const MAX_TEAM: usize = 120;
/// Largest area a single eradication may record (100 ha).
pub const MAX_ERADICATED_M2: f64 = 1_000_000.0;

fn not_found(id: i64) -> Error {
    Error::NotFound(format!(
        "flag {id} does not exist or is outside your jurisdiction"
    ))
}

/// Whether a role records review decisions (border guards and admins).
pub fn can_review(role: Role) -> bool {
    matches!(role, Role::Reviewer | Role::Admin)
}

/// An `Idempotency-Key` header and the SHA-256 of the request it came with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_sha256: String,
}

impl IdempotencyKey {
    /// The header's value, checked: 1 to 200 visible ASCII characters.
    pub fn new(key: &str, request: &[u8]) -> Result<IdempotencyKey> {
        if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "Idempotency-Key",
                "1 to 200 visible ASCII characters (e.g. a UUID)",
            ));
        }
        use sha2::Digest;
        Ok(IdempotencyKey {
            key: key.to_string(),
            request_sha256: hex::encode(sha2::Sha256::digest(request)),
        })
    }
}

impl IdempotencyKey {
    /// The row `who` already made under this key for this request (`route` and body), or
    /// `None`; the key used for another request is refused.
    fn first_write(
        key: Option<&IdempotencyKey>,
        c: &crate::store::sql::Connection<'_>,
        who: &Principal,
        route: &str,
    ) -> Result<Option<i64>> {
        let Some(k) = key else { return Ok(None) };
        let Some(first) = rs::idempotent_write(c, &who.name, &k.key)? else {
            return Ok(None);
        };
        if first.route != route || first.request_sha256 != k.request_sha256 {
            return Err(Error::Conflict(format!(
                "Idempotency-Key {:?} was used for another request ({}); use a new key for a new request",
                k.key, first.route
            )));
        }
        Ok(Some(first.entity_id))
    }

    /// Records that this key made row `entity_id`, in the transaction that made it.
    fn record(
        key: Option<&IdempotencyKey>,
        tx: &crate::store::sql::Connection<'_>,
        who: &Principal,
        route: &str,
        entity_id: i64,
        now: &str,
    ) -> Result<()> {
        if let Some(k) = key {
            let w = rs::IdempotentWrite {
                route: route.to_string(),
                request_sha256: k.request_sha256.clone(),
                entity_id,
            };
            rs::record_idempotent_write(tx, &who.name, &k.key, &w, now)?;
        }
        Ok(())
    }
}

/// A decision as a reviewer sends it.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub decision: String,
    /// The flag version the reviewer read (or the `If-Match` header).
    pub version: Option<i64>,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub eradicated_on: Option<String>,
    pub area_destroyed_m2: Option<f64>,
    pub team: Option<String>,
}

/// The checked parts of a decision.
struct Checked {
    decision: Decision,
    version: i64,
    reason: Option<String>,
    note: Option<String>,
    eradicated_on: Option<String>,
    area_destroyed_m2: Option<f64>,
    team: Option<String>,
}

fn trimmed(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn check(input: DecisionInput, flag: &FlagRow) -> Result<Checked> {
    let mut errors = Vec::new();
    let decision = Decision::from_code(input.decision.trim());
    if decision.is_none() {
        let codes: Vec<&str> = Decision::all().iter().map(|d| d.code()).collect();
        errors.push(FieldError::new(
            "decision",
            format!(
                "{:?} is not a decision; one of {}",
                input.decision,
                codes.join(", ")
            ),
        ));
    }
    let version = match input.version {
        Some(v) => v,
        None => {
            errors.push(FieldError::new(
                "version",
                "is required: the flag version you read (its `version` property or ETag)",
            ));
            0
        }
    };
    let note = trimmed(input.note);
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        errors.push(FieldError::new(
            "note",
            format!("is longer than {MAX_NOTE} characters"),
        ));
    }
    let reason = trimmed(input.reason);
    let team = trimmed(input.team);
    let d = decision.map(|d| d.0);
    match (&reason, d) {
        (None, Some(Status::FalsePositive)) => errors.push(FieldError::new(
            "reason",
            format!(
                "is required for false_positive; one of {}",
                review::REASONS
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        (Some(r), Some(Status::FalsePositive)) => {
            if review::reason_label(r).is_none() {
                errors.push(FieldError::new(
                    "reason",
                    format!(
                        "{r:?} is not a reason; one of {}",
                        review::REASONS
                            .iter()
                            .map(|(c, _)| *c)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            } else if r == "other" && note.is_none() {
                errors.push(FieldError::new(
                    "note",
                    "is required when the reason is `other`: say what the plot is",
                ));
            }
        }
        (Some(_), Some(_)) => errors.push(FieldError::new(
            "reason",
            "goes only with false_positive (use note for other decisions)",
        )),
        _ => {}
    }
    if d == Some(Status::New) && note.is_none() {
        errors.push(FieldError::new(
            "note",
            "is required to reopen a flag: say why",
        ));
    }
    let eradicated = d == Some(Status::Eradicated);
    let mut eradicated_on = None;
    if eradicated {
        match input.eradicated_on.as_deref().map(str::trim) {
            None | Some("") => errors.push(FieldError::new(
                "eradicated_on",
                "is required for eradicated (YYYY-MM-DD)",
            )),
            Some(s) => match parse_date(s) {
                Err(e) => errors.push(FieldError::new("eradicated_on", e)),
                Ok(on) => {
                    let flight = flag
                        .acquired_at
                        .as_deref()
                        .and_then(|a| a.get(..10))
                        .and_then(|a| parse_date(a).ok());
                    if on > today().next_day().unwrap_or(on) {
                        errors.push(FieldError::new(
                            "eradicated_on",
                            format!("{} is in the future", format_date(on)),
                        ));
                    } else if let Some(f) = flight.filter(|f| on < *f) {
                        errors.push(FieldError::new(
                            "eradicated_on",
                            format!(
                                "{} is before the flight that found the plot ({})",
                                format_date(on),
                                format_date(f)
                            ),
                        ));
                    } else {
                        eradicated_on = Some(format_date(on));
                    }
                }
            },
        }
        match input.area_destroyed_m2 {
            None => errors.push(FieldError::new(
                "area_destroyed_m2",
                "is required for eradicated (square metres destroyed)",
            )),
            Some(a) if !(a.is_finite() && a > 0.0 && a <= MAX_ERADICATED_M2) => {
                errors.push(FieldError::new(
                    "area_destroyed_m2",
                    format!("{a} is not an area between 0 and {MAX_ERADICATED_M2} m²"),
                ))
            }
            Some(_) => {}
        }
        match &team {
            None => errors.push(FieldError::new(
                "team",
                "is required for eradicated (the unit or team, not people's names)",
            )),
            Some(t) if t.chars().count() > MAX_TEAM => errors.push(FieldError::new(
                "team",
                format!("is longer than {MAX_TEAM} characters"),
            )),
            Some(_) => {}
        }
    } else {
        for (field, given) in [
            ("eradicated_on", input.eradicated_on.is_some()),
            ("area_destroyed_m2", input.area_destroyed_m2.is_some()),
        ] {
            if given && d.is_some() {
                errors.push(FieldError::new(field, "goes only with eradicated"));
            }
        }
        if team.is_some() && !decision.is_some_and(|d| d.is_field_outcome()) {
            errors.push(FieldError::new(
                "team",
                "goes only with field outcomes (verified_in_field, eradicated, not_found)",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors.into_iter().map(with_code).collect()));
    }
    Ok(Checked {
        decision: decision.expect("checked"),
        version,
        reason,
        note,
        eradicated_on,
        area_destroyed_m2: if eradicated {
            input.area_destroyed_m2
        } else {
            None
        },
        team,
    })
}

/// Gives a decision's field error its stable code (what the review page translates), from the
/// one phrase each check's message starts with.
fn with_code(e: FieldError) -> FieldError {
    let m = e.message.as_str();
    let code = if m.starts_with("is required") {
        "required"
    } else if m.starts_with("goes only") {
        "not_allowed"
    } else if m.starts_with("is longer") {
        "too_long"
    } else if m.ends_with("is in the future") {
        "in_future"
    } else if m.contains("is before the flight") {
        "before_flight"
    } else if m.contains("is not an area") {
        "out_of_range"
    } else {
        "invalid"
    };
    e.code(code)
}

/// The review queue's filters and order.
#[derive(Debug, Clone, Default)]
pub struct QueueQuery {
    pub filter: LiveFilter,
    /// `priority` (default): priority level, re-planting first, confidence × area, newest;
    /// `newest`; `score` (confidence × area).
    pub sort: QueueSort,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueueSort {
    #[default]
    Priority,
    Newest,
    Score,
}

impl QueueSort {
    pub fn from_code(s: &str) -> Option<QueueSort> {
        match s {
            "priority" => Some(QueueSort::Priority),
            "newest" => Some(QueueSort::Newest),
            "score" => Some(QueueSort::Score),
            _ => None,
        }
    }
}

/// Confidence × area: the queue's default measure of how much a flag matters.
pub fn score(f: &FlagRow) -> f64 {
    (f.confidence * f.area_m2 * 10.0).round() / 10.0
}

fn newest_key(f: &FlagRow) -> (&str, i64) {
    (
        f.acquired_at.as_deref().unwrap_or(f.created_at.as_str()),
        f.id,
    )
}

/// A survey that shows a flagged plot.
#[derive(Debug, Clone)]
pub struct Imagery {
    pub survey: Arc<Survey>,
    /// The survey that raised the flag.
    pub own: bool,
}

impl Vigil {
    fn require_reviewer(&self, who: &Principal) -> Result<()> {
        if can_review(who.role) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "role `{}` cannot review flags (reviewer or admin needed)",
                who.role.code()
            )))
        }
    }

    /// Open (or filtered) flags the caller may see, in queue order, and how many there are.
    pub fn review_queue(&self, who: &Principal, q: &QueueQuery) -> Result<(Vec<FlagRow>, usize)> {
        let mut rows: Vec<FlagRow> = self
            .store()
            .read(|c| flags::live_filtered(c, &q.filter))?
            .into_iter()
            .filter(|f| visible(who, f))
            .collect();
        match q.sort {
            QueueSort::Priority => rows.sort_by(|a, b| {
                review::priority_rank(a.priority.as_deref().unwrap_or("normal"))
                    .cmp(&review::priority_rank(
                        b.priority.as_deref().unwrap_or("normal"),
                    ))
                    .then_with(|| b.replanting_of.is_some().cmp(&a.replanting_of.is_some()))
                    .then_with(|| score(b).total_cmp(&score(a)))
                    .then_with(|| newest_key(b).cmp(&newest_key(a)))
            }),
            QueueSort::Newest => rows.sort_by(|a, b| newest_key(b).cmp(&newest_key(a))),
            QueueSort::Score => rows.sort_by(|a, b| {
                score(b)
                    .total_cmp(&score(a))
                    .then_with(|| newest_key(b).cmp(&newest_key(a)))
            }),
        }
        let total = rows.len();
        let page = rows.into_iter().skip(q.offset).take(q.limit).collect();
        Ok((page, total))
    }

    /// Records a decision on a flag. Returns the flag after it and the decision row.
    pub fn decide(
        &self,
        who: &Principal,
        id: i64,
        input: DecisionInput,
    ) -> Result<(FlagRow, DecisionRow)> {
        self.decide_once(who, id, input, None)
            .map(|(f, d, _)| (f, d))
    }

    /// [`Vigil::decide`] under an `Idempotency-Key` (issue 16: an offline outbox replays its
    /// requests): the first request with a key decides and records the key in the same
    /// transaction; the same request again gets that decision back (`true`: replayed) and makes
    /// no second row; another request under a used key is refused.
    pub fn decide_once(
        &self,
        who: &Principal,
        id: i64,
        input: DecisionInput,
        key: Option<&IdempotencyKey>,
    ) -> Result<(FlagRow, DecisionRow, bool)> {
        self.require_reviewer(who)?;
        let now = now_rfc3339();
        let route = format!("POST /v1/flags/{id}/decisions");
        self.store().write(|tx| -> Result<(FlagRow, DecisionRow, bool)> {
            if let Some(first) = IdempotencyKey::first_write(key, tx, who, &route)? {
                let f = flags::get(tx, id)?
                    .filter(|f| visible(who, f))
                    .ok_or_else(|| not_found(id))?;
                let d = rs::decisions(tx, id)?
                    .into_iter()
                    .find(|d| d.id == first)
                    .ok_or_else(|| not_found(id))?;
                return Ok((f, d, true));
            }
            let before = flags::get(tx, id)?
                .filter(|f| visible(who, f))
                .ok_or_else(|| not_found(id))?;
            let c = check(input, &before)?;
            if let Some(at) = &before.superseded_at {
                return Err(Error::StateConflict {
                    code: "superseded",
                    message: format!(
                        "flag {id} was replaced when its survey was re-classified ({at}); decide on the survey's current flags"
                    ),
                    status: before.status.clone(),
                    version: before.version,
                });
            }
            if c.version != before.version {
                return Err(Error::StaleVersion {
                    what: format!("flag {id}"),
                    current: before.version,
                });
            }
            let from = Status::from_code(&before.status).ok_or_else(|| {
                Error::Conflict(format!(
                    "flag {id} has an unknown status {:?}",
                    before.status
                ))
            })?;
            let to = c
                .decision
                .apply(from)
                .map_err(|e| Error::StateConflict {
                    code: "illegal_transition",
                    message: e.to_string(),
                    status: before.status.clone(),
                    version: before.version,
                })?;
            let version = flags::set_status(tx, id, before.version, to.code(), &now)?.ok_or(
                Error::StaleVersion {
                    what: format!("flag {id}"),
                    current: before.version,
                },
            )?;
            let mut d = DecisionRow {
                id: 0,
                flag_id: id,
                decision: c.decision.code().to_string(),
                from_status: from.code().to_string(),
                to_status: to.code().to_string(),
                reason: c.reason,
                note: c.note,
                eradicated_on: c.eradicated_on,
                area_destroyed_m2: c.area_destroyed_m2,
                team: c.team,
                actor: who.name.clone(),
                decided_at: now.clone(),
                version,
            };
            d.id = rs::insert_decision(tx, &d)?;
            IdempotencyKey::record(key, tx, who, &route, d.id, &now)?;
            let after = flags::get(tx, id)?.ok_or_else(|| not_found(id))?;
            store::audit::append(
                tx,
                &NewAudit {
                    actor: &who.name,
                    action: "decide",
                    entity: "flag",
                    entity_id: Some(id.to_string()),
                    before: Some(json!({ "status": before.status, "version": before.version })),
                    after: Some(json!({
                        "status": after.status,
                        "version": after.version,
                        "decision": d.decision,
                        "decision_id": d.id,
                        "reason": d.reason,
                        "eradicated_on": d.eradicated_on,
                        "area_destroyed_m2": d.area_destroyed_m2,
                        "team": d.team,
                    })),
                },
                &now,
            )?;
            Ok((after, d, false))
        })
    }

    /// Sets (or clears, with `None` or `normal`) a flag's queue priority.
    pub fn set_flag_priority(
        &self,
        who: &Principal,
        id: i64,
        version: Option<i64>,
        level: Option<&str>,
    ) -> Result<FlagRow> {
        self.require_reviewer(who)?;
        let level = level
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "normal");
        if let Some(l) = level
            && !review::PRIORITIES.iter().any(|(c, _)| *c == l)
        {
            return Err(invalid(
                "priority",
                format!(
                    "{l:?} is not a priority; one of {}",
                    review::PRIORITIES
                        .iter()
                        .map(|(c, _)| *c)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let version = version.ok_or_else(|| {
            invalid(
                "version",
                "is required: the flag version you read (its `version` property or ETag)",
            )
        })?;
        let now = now_rfc3339();
        self.store().write(|tx| -> Result<FlagRow> {
            let before = flags::get(tx, id)?
                .filter(|f| visible(who, f))
                .ok_or_else(|| not_found(id))?;
            if before.superseded_at.is_some() {
                return Err(Error::Conflict(format!(
                    "flag {id} was replaced when its survey was re-classified"
                )));
            }
            if !flags::set_priority(tx, id, version, level)? {
                return Err(Error::StaleVersion {
                    what: format!("flag {id}"),
                    current: before.version,
                });
            }
            let after = flags::get(tx, id)?.ok_or_else(|| not_found(id))?;
            store::audit::append(
                tx,
                &NewAudit {
                    actor: &who.name,
                    action: "priority",
                    entity: "flag",
                    entity_id: Some(id.to_string()),
                    before: Some(json!({ "priority": before.priority, "version": before.version })),
                    after: Some(json!({ "priority": after.priority, "version": after.version })),
                },
                &now,
            )?;
            Ok(after)
        })
    }

    /// A flag's decisions, oldest first.
    pub fn flag_decisions(&self, who: &Principal, id: i64) -> Result<Vec<DecisionRow>> {
        self.flag(who, id)?;
        Ok(self.store().read(|c| rs::decisions(c, id))?)
    }

    /// Later flags over this plot after it was recorded eradicated (re-planting), that `who` sees.
    pub fn flag_replanted_by(&self, who: &Principal, id: i64) -> Result<Vec<i64>> {
        self.flag(who, id)?;
        let ids = self.store().read(|c| flags::replanted_by(c, id))?;
        Ok(ids
            .into_iter()
            .filter(|i| self.flag(who, *i).is_ok())
            .collect())
    }

    /// Flags for a field export (`what` names the format for the audit log): the live flags
    /// matching `filter` that `who` may see, with their outlines and place names.
    pub fn export_flags(
        &self,
        who: &Principal,
        filter: &LiveFilter,
        what: &str,
    ) -> Result<Vec<crate::export::ExportFlag>> {
        self.require_reviewer(who)?;
        let rows: Vec<FlagRow> = self
            .store()
            .read(|c| flags::live_filtered(c, filter))?
            .into_iter()
            .filter(|f| visible(who, f))
            .collect();
        let now = now_rfc3339();
        let ids: Vec<i64> = rows.iter().map(|f| f.id).collect();
        self.store().write(|tx| -> Result<()> {
            store::audit::append(
                tx,
                &NewAudit {
                    actor: &who.name,
                    action: "export",
                    entity: "flag",
                    entity_id: None,
                    before: None,
                    after: Some(json!({ "format": what, "flags": ids })),
                },
                &now,
            )?;
            Ok(())
        })?;
        let bi = self.boundaries();
        let name = |level, code: &Option<String>| {
            code.as_deref()
                .and_then(|c| bi.name(level, c))
                .map(str::to_string)
        };
        Ok(rows
            .iter()
            .map(|f| crate::export::ExportFlag {
                id: f.id,
                class: f.class.clone(),
                status: f.status.clone(),
                confidence: f.confidence,
                area_m2: f.area_m2,
                point: f.point,
                outline: outline(f).unwrap_or_else(|| geo::MultiPolygon::new(vec![])),
                survey_id: f.survey_id.clone(),
                acquired_at: f.acquired_at.clone(),
                commune_name: name(crate::boundaries::Level::Commune, &f.commune_code),
                province_name: name(crate::boundaries::Level::Province, &f.province_code),
                replanting_of: f.replanting_of,
            })
            .collect())
    }

    /// Attaches a field photo to a flag (optionally to one of its decisions). The photo is
    /// checked (JPEG, size, EXIF time and GPS against the plot and the flight); problems that
    /// weaken it are warnings stored with it, never a silent drop. The file is stored under its
    /// SHA-256, fsynced before the row is written, and never rewritten.
    pub fn add_evidence(
        &self,
        who: &Principal,
        id: i64,
        decision: Option<i64>,
        bytes: &[u8],
    ) -> Result<rs::EvidenceRow> {
        self.add_evidence_once(who, id, decision, None, bytes, None)
            .map(|(row, _)| row)
    }

    /// [`Vigil::add_evidence`] under an `Idempotency-Key`: a replayed upload gets the first
    /// evidence row back (`true`) and no second one; the key on another request is refused.
    pub fn add_evidence_once(
        &self,
        who: &Principal,
        id: i64,
        decision: Option<i64>,
        device: Option<DevicePosition>,
        bytes: &[u8],
        key: Option<&IdempotencyKey>,
    ) -> Result<(rs::EvidenceRow, bool)> {
        use crate::evidence::{self, PhotoError, PhotoLimits};
        self.require_reviewer(who)?;
        let f = self.flag(who, id)?;
        let route = format!("POST /v1/flags/{id}/evidence?decision={decision:?}");
        let replay = |c: &crate::store::sql::Connection<'_>| -> Result<Option<rs::EvidenceRow>> {
            match IdempotencyKey::first_write(key, c, who, &route)? {
                Some(first) => Ok(rs::evidence_by_id(c, first)?),
                None => Ok(None),
            }
        };
        if let Some(row) = self.store().read(|c| replay(c))? {
            return Ok((row, true));
        }
        if let Some(d) = decision {
            let row = self.store().read(|c| rs::decision_by_id(c, d))?;
            if row.is_none_or(|r| r.flag_id != id) {
                return Err(invalid(
                    "decision",
                    format!("decision {d} is not a decision on flag {id}"),
                ));
            }
        }
        let cfg = &self.config.evidence;
        let limits = PhotoLimits {
            max_bytes: usize::try_from(cfg.max_bytes).unwrap_or(usize::MAX),
            max_pixels: cfg.max_pixels,
        };
        let mut info = evidence::inspect(bytes, &limits).map_err(|e| match e {
            PhotoError::TooLarge { size, .. } => Error::PayloadTooLarge {
                message: e.to_string(),
                limit: "evidence.max_bytes",
                bytes: size as u64,
            },
            PhotoError::NotAnImage { .. } | PhotoError::UnsupportedFormat { .. } => {
                Error::UnsupportedMedia(e.to_string())
            }
            PhotoError::Corrupt { .. } | PhotoError::TooManyPixels { .. } => {
                invalid("photo", format!("{} ({})", e, e.code()))
            }
        })?;
        if let Some(d) = device {
            info.use_device_position(d.lon, d.lat, d.accuracy_m);
        }
        let location = outline(&f)
            .and_then(|plot| evidence::check_location(&mut info, &plot, cfg.max_distance_m));
        let flight = f.acquired_at.as_deref().and_then(|a| {
            time::OffsetDateTime::parse(a, &time::format_description::well_known::Rfc3339).ok()
        });
        evidence::check_time(&mut info, flight, time::OffsetDateTime::now_utc());
        let path = self.evidence_path(&info.sha256);
        write_once(&path, bytes)?;
        // On object storage too (when configured) before any row names it, so every node can
        // serve it.
        if let Some(o) = self.objects() {
            o.put_named(&evidence_key(&info.sha256), &path)
                .map_err(|e| Error::storage("storing the photo", e))?;
        }
        let now = now_rfc3339();
        let mut row = rs::EvidenceRow {
            id: 0,
            flag_id: id,
            decision_id: decision,
            kind: "photo".into(),
            sha256: info.sha256.clone(),
            bytes: bytes.len() as i64,
            content_type: "image/jpeg".into(),
            width: Some(i64::from(info.width)),
            height: Some(i64::from(info.height)),
            taken_at: info.taken_at.clone(),
            lon: info.gps.as_ref().map(|g| g.lon),
            lat: info.gps.as_ref().map(|g| g.lat),
            gps_accuracy_m: info.gps.as_ref().and_then(|g| g.accuracy_m),
            distance_m: location.map(|l| (l.distance_m * 10.0).round() / 10.0),
            camera: info.camera.clone(),
            warnings: serde_json::to_string(&info.warnings).unwrap_or_else(|_| "[]".into()),
            uploaded_by: who.name.clone(),
            uploaded_at: now.clone(),
        };
        let replayed = self
            .store()
            .write(|tx| -> Result<Option<rs::EvidenceRow>> {
                // Checked again inside the write: two copies of one upload in flight make one row.
                if let Some(first) = replay(tx)? {
                    return Ok(Some(first));
                }
                row.id = rs::insert_evidence(tx, &row)?;
                IdempotencyKey::record(key, tx, who, &route, row.id, &now)?;
                store::audit::append(
                    tx,
                    &NewAudit {
                        actor: &who.name,
                        action: "evidence",
                        entity: "flag",
                        entity_id: Some(id.to_string()),
                        before: None,
                        after: Some(json!({
                            "evidence_id": row.id,
                            "decision_id": decision,
                            "sha256": row.sha256,
                            "bytes": row.bytes,
                            "warnings": info.warnings.iter().map(|w| w.code).collect::<Vec<_>>(),
                        })),
                    },
                    &now,
                )?;
                Ok(None)
            })?;
        Ok(match replayed {
            Some(first) => (first, true),
            None => (row, false),
        })
    }

    pub(crate) fn evidence_path(&self, sha256: &str) -> std::path::PathBuf {
        self.config
            .server
            .data_dir
            .join("evidence")
            .join(&sha256[..2])
            .join(format!("{sha256}.jpg"))
    }

    /// A stored photo and its bytes, checked against its recorded SHA-256.
    pub fn evidence_photo(
        &self,
        who: &Principal,
        evidence: i64,
    ) -> Result<(rs::EvidenceRow, Vec<u8>)> {
        let missing = || {
            Error::NotFound(format!(
                "evidence {evidence} does not exist or is outside your jurisdiction"
            ))
        };
        let row = self
            .store()
            .read(|c| rs::evidence_by_id(c, evidence))?
            .ok_or_else(missing)?;
        self.flag(who, row.flag_id).map_err(|_| missing())?;
        let path = self.evidence_path(&row.sha256);
        let bytes = match (std::fs::read(&path), self.objects()) {
            (Ok(b), _) => b,
            // Uploaded through another node (or this node's disk was replaced).
            (Err(e), Some(o)) if e.kind() == std::io::ErrorKind::NotFound => o
                .get_named(&evidence_key(&row.sha256))
                .map_err(|e| Error::storage(format!("reading evidence {evidence}"), e))?
                .ok_or_else(|| Error::Disk {
                    context: format!("reading evidence {evidence}"),
                    source: std::io::Error::other(
                        "neither this node nor the object storage has the file",
                    ),
                })?,
            (Err(source), _) => {
                return Err(Error::Disk {
                    context: format!("reading evidence {evidence}"),
                    source,
                });
            }
        };
        let actual = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        if actual != row.sha256 {
            return Err(Error::Disk {
                context: format!("evidence {evidence}"),
                source: std::io::Error::other(format!(
                    "the stored file no longer matches its SHA-256 ({} recorded, {actual} found)",
                    row.sha256
                )),
            });
        }
        Ok((row, bytes))
    }

    /// Labelled cells from reviewers' decisions (issue 5, item 5): every live flag whose review
    /// says what the plot is (see [`feedback_class`]) gives the classifier's cells inside its
    /// outline, read from its survey's analysis tiles with the survey's own sample domain.
    pub fn feedback_samples(&self) -> Result<Vec<FeedbackSample>> {
        self.feedback_samples_in(None)
    }

    /// [`Vigil::feedback_samples`] of the flags of one province only (`None`: all).
    pub fn feedback_samples_in(&self, province: Option<&str>) -> Result<Vec<FeedbackSample>> {
        use crate::classify::train::Sample;
        let rows = self.store().read(|c| {
            flags::live_filtered(
                c,
                &LiveFilter {
                    statuses: [
                        "confirmed_poppy",
                        "confirmed_cannabis",
                        "verified_in_field",
                        "eradicated",
                        "false_positive",
                    ]
                    .map(String::from)
                    .to_vec(),
                    ..Default::default()
                },
            )
        })?;
        let idx = self.survey_index();
        // The flags that teach, with their survey's native level; then one reader per survey
        // (opening one samples the survey's photometry), in the flags' order.
        let mut jobs = Vec::new();
        for f in rows {
            if province.is_some() && f.province_code.as_deref() != province {
                continue;
            }
            let history = self.store().read(|c| rs::decisions(c, f.id))?;
            let Some(class) = feedback_class(&f, &history) else {
                continue;
            };
            let (Some(s), Some(shape)) = (idx.get(&f.survey_id), outline(&f)) else {
                continue;
            };
            let Some(meta) = &s.meta else { continue };
            let Some(level) = meta.levels.iter().find(|l| l.z == meta.native_zoom) else {
                continue;
            };
            let domain = self.survey_domain(s);
            jobs.push((f, class, shape, *level, domain));
        }
        let mut dirs: std::collections::HashMap<&str, crate::tiling::layout::SurveyDir> =
            std::collections::HashMap::new();
        for j in &jobs {
            let id = j.0.survey_id.as_str();
            if !dirs.contains_key(id) {
                let meta = idx.get(id).and_then(|s| s.meta.as_ref());
                let ext = meta.map_or("png", |m| m.format.as_str());
                let archive = meta.map_or_else(|| id.to_string(), |m| m.archive_key(id));
                dirs.insert(id, self.survey_dir(id, ext, &archive)?);
            }
        }
        let mut readers = std::collections::HashMap::new();
        let mut out = Vec::new();
        for (f, class, shape, native, domain) in &jobs {
            let (f, class) = (f, *class);
            let disk = |e: String| Error::Disk {
                context: format!("analysis tiles of {}", f.survey_id),
                source: std::io::Error::other(e),
            };
            let reader = match readers.entry(f.survey_id.as_str()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let dir = &dirs[f.survey_id.as_str()];
                    e.insert(
                        crate::classify::reader::SurveyReader::open(dir, *native, *domain, None)
                            .map_err(disk)?,
                    )
                }
            };
            for (x, nir) in flag_cells(reader, f, shape).map_err(disk)? {
                out.push(FeedbackSample {
                    flag: f.id,
                    sample: Sample { x, class, nir },
                });
            }
        }
        Ok(out)
    }

    /// A flag's evidence, oldest first.
    pub fn flag_evidence(&self, who: &Principal, id: i64) -> Result<Vec<rs::EvidenceRow>> {
        self.flag(who, id)?;
        Ok(self.store().read(|c| rs::evidence_for(c, id))?)
    }

    /// Ready surveys the caller may see whose tiles cover the plot, oldest flight first: the first
    /// is the "before" image, the last the "after".
    pub fn flag_imagery(&self, who: &Principal, id: i64) -> Result<(FlagRow, Vec<Imagery>)> {
        let f = self.flag(who, id)?;
        let idx = self.survey_index();
        let a = crate::grid::lon_lat_to_mercator(f.bbox[0], f.bbox[1]);
        let b = crate::grid::lon_lat_to_mercator(f.bbox[2], f.bbox[3]);
        let mut out: Vec<Imagery> = idx
            .in_mercator([a[0], a[1], b[0], b[1]])
            .filter(|s| Vigil::survey_visible(who, &s.row))
            .map(|s| Imagery {
                own: s.row.id == f.survey_id,
                survey: s.clone(),
            })
            .collect();
        out.sort_by(|x, y| {
            x.survey
                .row
                .acquired_at
                .cmp(&y.survey.row.acquired_at)
                .then_with(|| x.survey.row.created_at.cmp(&y.survey.row.created_at))
        });
        Ok((f, out))
    }
}

/// The phone's own GPS fix sent with a field photo (the offline app records it when the photo goes
/// into the outbox): used only where the photo carries no position of its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DevicePosition {
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
}

impl DevicePosition {
    /// Checked: WGS 84 degrees in range, a finite non-negative error radius.
    pub fn new(lon: f64, lat: f64, accuracy_m: Option<f64>) -> Result<DevicePosition> {
        if !(lon.is_finite()
            && lat.is_finite()
            && (-180.0..=180.0).contains(&lon)
            && (-90.0..=90.0).contains(&lat))
        {
            return Err(invalid(
                "lon",
                format!("{lon}, {lat} is not a WGS 84 position (lon −180…180, lat −90…90)"),
            ));
        }
        if accuracy_m.is_some_and(|a| !(a.is_finite() && a >= 0.0)) {
            return Err(invalid(
                "accuracy_m",
                "must be a number of metres, 0 or more",
            ));
        }
        Ok(DevicePosition {
            lon,
            lat,
            accuracy_m,
        })
    }
}

/// A labelled cell from a reviewer's decision, for `vigil train`.
#[derive(Debug, Clone, Copy)]
pub struct FeedbackSample {
    pub flag: i64,
    pub sample: crate::classify::train::Sample,
}

/// The class a reviewed flag teaches, from its status and decisions: confirmed (and verified or
/// eradicated) plots are the confirmed class; false positives are other vegetation, or
/// non-vegetation when the reason says soil, structures or an image artifact. `None`: not
/// decided from imagery yet.
pub fn feedback_class(f: &FlagRow, history: &[DecisionRow]) -> Option<u8> {
    use crate::classify::model::{CANNABIS, POPPY};
    let confirmed = history
        .iter()
        .rev()
        .find_map(|d| match d.to_status.as_str() {
            "confirmed_poppy" => Some(POPPY as u8),
            "confirmed_cannabis" => Some(CANNABIS as u8),
            _ => None,
        });
    match f.status.as_str() {
        "confirmed_poppy" => Some(POPPY as u8),
        "confirmed_cannabis" => Some(CANNABIS as u8),
        "verified_in_field" | "eradicated" => confirmed.or(match f.class.as_str() {
            "poppy" => Some(POPPY as u8),
            "cannabis" => Some(CANNABIS as u8),
            _ => None,
        }),
        "false_positive" => {
            let reason = history
                .iter()
                .rev()
                .find(|d| d.to_status == "false_positive")
                .and_then(|d| d.reason.as_deref());
            Some(match reason {
                Some("bare_soil_or_structure" | "image_artifact") => 3,
                _ => 2,
            })
        }
        _ => None,
    }
}

/// Writes `bytes` to `path` unless a file with them is already there (content-addressed:
/// same name, same bytes): a temporary file, fsynced, renamed, directory fsynced.
fn write_once(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let disk = |what: &str, source| Error::Disk {
        context: format!("{what} {}", path.display()),
        source,
    };
    if std::fs::metadata(path).is_ok_and(|m| m.len() == bytes.len() as u64) {
        return Ok(());
    }
    let dir = path.parent().expect("evidence paths have a directory");
    std::fs::create_dir_all(dir).map_err(|e| disk("creating the directory of", e))?;
    let mut salt = [0u8; 6];
    getrandom::fill(&mut salt).map_err(|e| {
        disk(
            "naming a temporary file for",
            std::io::Error::other(e.to_string()),
        )
    })?;
    let tmp = path.with_extension(format!("{}.part", hex::encode(salt)));
    let mut f = std::fs::File::create(&tmp).map_err(|e| disk("creating", e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| disk("writing", e))?;
    std::fs::rename(&tmp, path).map_err(|e| disk("storing", e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| disk("syncing the directory of", e))?;
    Ok(())
}

/// One cell's classifier features and whether they include NIR.
pub(super) type CellFeatures = ([f32; crate::classify::features::N_FEATURES], bool);

/// The classifier's features of every cell whose centre lies inside a flag's outline, read
/// through the survey's reader (its classification zoom and photometric correction).
pub(super) fn flag_cells(
    reader: &crate::classify::reader::SurveyReader<'_>,
    f: &FlagRow,
    shape: &geo::MultiPolygon<f64>,
) -> std::result::Result<Vec<CellFeatures>, String> {
    use crate::classify::features::{CELL, CELLS};
    use geo::Contains;
    let level = reader.level;
    let a = crate::grid::lon_lat_to_mercator(f.bbox[0], f.bbox[1]);
    let b = crate::grid::lon_lat_to_mercator(f.bbox[2], f.bbox[3]);
    let (x0, y0, x1, y1) = crate::grid::tile_range_mercator([a[0], a[1], b[0], b[1]], level.z);
    let res = crate::grid::resolution(level.z);
    let mut out = Vec::new();
    for y in y0.max(level.min_y)..=y1.min(level.max_y) {
        for x in x0.max(level.min_x)..=x1.min(level.max_x) {
            let t = crate::grid::Tile { z: level.z, x, y };
            let Some(feats) = reader.features(t)? else {
                continue;
            };
            let tb = t.bounds_mercator();
            for c in 0..CELLS * CELLS {
                if !feats.valid[c] {
                    continue;
                }
                let mx = tb[0] + ((c % CELLS) as f64 + 0.5) * CELL as f64 * res;
                let my = tb[3] - ((c / CELLS) as f64 + 0.5) * CELL as f64 * res;
                let [lon, lat] = crate::grid::mercator_to_lon_lat(mx, my);
                if shape.contains(&geo::Point::new(lon, lat)) {
                    out.push((feats.values[c], feats.has_nir));
                }
            }
        }
    }
    Ok(out)
}

/// A flag's outline (`None` when its stored outline could not be read).
pub fn outline(f: &FlagRow) -> Option<geo::MultiPolygon<f64>> {
    (!f.geometry.0.is_empty()).then(|| f.geometry.clone())
}

/// A field photo's name on object storage: `evidence/{sha[..2]}/{sha}.jpg`, as on disk.
pub(crate) fn evidence_key(sha256: &str) -> String {
    format!("evidence/{}/{sha256}.jpg", &sha256[..2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag() -> FlagRow {
        FlagRow {
            id: 1,
            survey_id: "s".into(),
            class: "poppy".into(),
            confidence: 0.9,
            area_m2: 100.0,
            status: "new".into(),
            geometry: geo::MultiPolygon(vec![]),
            bbox: [0.0; 4],
            point: [0.0; 2],
            province_code: None,
            commune_code: None,
            acquired_at: Some("2026-01-10T03:00:00Z".into()),
            model_version: "m".into(),
            drivers: Vec::new(),
            created_at: "2026-01-11T00:00:00Z".into(),
            replanting_of: None,
            near_hotspots: Vec::new(),
            probabilities: Default::default(),
            version: 1,
            priority: None,
            status_at: None,
            superseded_at: None,
        }
    }

    fn fields(e: Error) -> Vec<String> {
        match e {
            Error::Invalid(v) => v.into_iter().map(|f| f.field).collect(),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn decisions_need_their_details_and_nothing_else() {
        let f = flag();
        let ok = |d: DecisionInput| check(d, &f).map(|c| c.decision.code());
        let base = |d: &str| DecisionInput {
            decision: d.into(),
            version: Some(1),
            ..Default::default()
        };
        assert_eq!(ok(base("confirmed_poppy")).unwrap(), "confirmed_poppy");
        assert_eq!(fields(ok(base("false_positive")).unwrap_err()), ["reason"]);
        assert_eq!(
            fields(
                ok(DecisionInput {
                    reason: Some("other".into()),
                    ..base("false_positive")
                })
                .unwrap_err()
            ),
            ["note"]
        );
        assert_eq!(
            fields(ok(base("eradicated")).unwrap_err()),
            ["eradicated_on", "area_destroyed_m2", "team"]
        );
        let before_flight = DecisionInput {
            eradicated_on: Some("2026-01-09".into()),
            area_destroyed_m2: Some(80.0),
            team: Some("Đồn BP Lũng Cú".into()),
            ..base("eradicated")
        };
        let e = ok(before_flight).unwrap_err();
        match &e {
            Error::Invalid(v) => assert_eq!(v[0].code, Some("before_flight")),
            e => panic!("{e}"),
        }
        assert_eq!(fields(e), ["eradicated_on"]);
        let fine = DecisionInput {
            eradicated_on: Some("2026-01-12".into()),
            area_destroyed_m2: Some(80.0),
            team: Some("Đồn BP Lũng Cú".into()),
            ..base("eradicated")
        };
        assert_eq!(ok(fine).unwrap(), "eradicated");
        assert_eq!(
            fields(
                ok(DecisionInput {
                    area_destroyed_m2: Some(3.0),
                    ..base("confirmed_poppy")
                })
                .unwrap_err()
            ),
            ["area_destroyed_m2"]
        );
        assert_eq!(fields(ok(base("reopen")).unwrap_err()), ["note"]);
        assert_eq!(
            fields(
                ok(DecisionInput {
                    version: None,
                    ..base("approve")
                })
                .unwrap_err()
            ),
            ["decision", "version"]
        );
    }
}
