//! Property tests of the state machines (issue 13): random sequences of operations against a plain
//! model, with a simulated crash — the service dropped and the data dir opened again — between
//! operations; after each step the store (read back through the service) must match the model.
//!
//! - hotspot lifecycle: create, transition (legal or not), stale `If-Match`, delete;
//! - flag review: every decision (legal or not) on a flag version that is current or stale;
//! - survey jobs: queue, claim by a live or a dead process, finish, cancel, the dead-job sweep;
//! - upload sessions: create, chunks (in any order, repeated), commit (early or complete), cancel,
//!   with reconciliation after each reopen as `vigil serve` runs it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use vigil::auth::{Jurisdiction, Principal, Role};
use vigil::hotspots::Status;
use vigil::hotspots::model::RawHotspot;
use vigil::service::Error;
use vigil::store::surveys::{self as ss, SurveyRow, SurveyState};
use vigil::{Config, Vigil};

fn open(dir: &Path) -> Arc<Vigil> {
    Arc::new(Vigil::open(Config::for_tests(dir)).expect("open the data dir"))
}

fn admin() -> Principal {
    Principal {
        role: Role::Admin,
        jurisdiction: Jurisdiction::national(),
        ..Principal::cli()
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- hotspot lifecycle ----------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum HotspotOp {
    Create,
    Transition { pick: usize, to: usize, stale: bool },
    Delete { pick: usize, stale: bool },
    Reopen,
}

fn hotspot_op() -> impl Strategy<Value = HotspotOp> {
    prop_oneof![
        3 => Just(HotspotOp::Create),
        6 => (any::<usize>(), 0..4usize, proptest::bool::weighted(0.2))
            .prop_map(|(pick, to, stale)| HotspotOp::Transition { pick, to, stale }),
        1 => (any::<usize>(), proptest::bool::weighted(0.3))
            .prop_map(|(pick, stale)| HotspotOp::Delete { pick, stale }),
        2 => Just(HotspotOp::Reopen),
    ]
}

/// What the model knows of one hotspot.
#[derive(Debug, Clone)]
struct HotspotModel {
    id: i64,
    status: Status,
    version: i64,
    deleted: bool,
    transitions: usize,
}

fn check_hotspots(v: &Vigil, model: &[HotspotModel]) -> Result<(), TestCaseError> {
    let who = admin();
    for m in model {
        match v.get_hotspot(&who, m.id) {
            Ok(h) => {
                prop_assert!(!m.deleted, "hotspot {} is deleted but readable", m.id);
                prop_assert_eq!(h.status, m.status, "hotspot {}", m.id);
                prop_assert_eq!(h.version, m.version, "hotspot {}", m.id);
                let history = v
                    .history(&who, m.id)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(history.len(), 1 + m.transitions, "history of {}", m.id);
            }
            Err(Error::NotFound(_)) => prop_assert!(m.deleted, "hotspot {} vanished", m.id),
            Err(e) => return Err(TestCaseError::fail(format!("hotspot {}: {e}", m.id))),
        }
    }
    let live = model.iter().filter(|m| !m.deleted).count();
    prop_assert_eq!(v.hotspot_count(), live, "index count");
    Ok(())
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn hotspot_lifecycle_matches_the_model_across_reopens(ops in proptest::collection::vec(hotspot_op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut v = open(dir.path());
        let who = admin();
        let mut model: Vec<HotspotModel> = Vec::new();
        for op in ops {
            match op {
                HotspotOp::Create => {
                    let raw = RawHotspot {
                        lon: Some(105.2),
                        lat: Some(21.8),
                        name: Some(format!("mẫu {}", model.len())),
                        kind: Some("khac".into()),
                        reported_on: Some("2025-01-01".into()),
                        ..Default::default()
                    };
                    let h = v.create_hotspot(&who, raw).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    model.push(HotspotModel { id: h.id, status: h.status, version: h.version, deleted: false, transitions: 0 });
                }
                HotspotOp::Transition { pick, to, stale } => {
                    if model.is_empty() { continue; }
                    let i = pick % model.len();
                    let m = &mut model[i];
                    let to = Status::ALL[to];
                    let if_match = Some(if stale { m.version - 1 } else { m.version });
                    let r = v.transition(&who, m.id, to, None, None, if_match);
                    match r {
                        Ok(h) => {
                            prop_assert!(!m.deleted && !stale && m.status.can_become(to), "{:?} accepted", (m.status, to, stale));
                            m.status = h.status;
                            prop_assert_eq!(h.version, m.version + 1);
                            m.version = h.version;
                            m.transitions += 1;
                        }
                        Err(Error::NotFound(_)) => prop_assert!(m.deleted),
                        Err(Error::PreconditionFailed { current }) => {
                            prop_assert!(stale && !m.deleted);
                            prop_assert_eq!(current, m.version);
                        }
                        Err(Error::Conflict(_)) => prop_assert!(!m.status.can_become(to)),
                        Err(e) => return Err(TestCaseError::fail(format!("transition: {e}"))),
                    }
                }
                HotspotOp::Delete { pick, stale } => {
                    if model.is_empty() { continue; }
                    let i = pick % model.len();
                    let m = &mut model[i];
                    let if_match = Some(if stale { m.version - 1 } else { m.version });
                    match v.delete_hotspot(&who, m.id, if_match) {
                        Ok(()) => { prop_assert!(!m.deleted && !stale); m.deleted = true; }
                        Err(Error::NotFound(_)) => prop_assert!(m.deleted),
                        Err(Error::PreconditionFailed { .. }) => prop_assert!(stale && !m.deleted),
                        Err(e) => return Err(TestCaseError::fail(format!("delete: {e}"))),
                    }
                }
                HotspotOp::Reopen => {
                    drop(v);
                    v = open(dir.path());
                }
            }
            check_hotspots(&v, &model)?;
        }
    }
}

// ---- survey jobs ----------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum JobOp {
    Queue,
    /// The worker of a live process (this one) or of one that has died claims the oldest job.
    Claim {
        dead: bool,
    },
    Finish {
        pick: usize,
        ready: bool,
    },
    Cancel {
        pick: usize,
    },
    Sweep,
    Reopen,
}

fn job_op() -> impl Strategy<Value = JobOp> {
    prop_oneof![
        3 => Just(JobOp::Queue),
        3 => any::<bool>().prop_map(|dead| JobOp::Claim { dead }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(pick, ready)| JobOp::Finish { pick, ready }),
        1 => any::<usize>().prop_map(|pick| JobOp::Cancel { pick }),
        2 => Just(JobOp::Sweep),
        2 => Just(JobOp::Reopen),
    ]
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq)]
struct JobModel {
    id: String,
    state: SurveyState,
    /// Whether the process running it is alive (meaningful while running).
    alive: bool,
    attempts: i64,
    cancel_requested: bool,
}

fn queued_row(n: usize) -> SurveyRow {
    let now = format!("2026-01-01T00:00:{:02}Z", n % 60);
    SurveyRow {
        id: format!("sv{:016x}", n as u64 + 1),
        name: format!("job {n}"),
        state: SurveyState::Queued,
        upload_id: None,
        source_path: "/nonexistent/scene.tif".into(),
        source_size: 1,
        source_sha256: None,
        filename: "scene.tif".into(),
        operator_id: 0,
        operator: "cli".into(),
        jurisdiction: "{}".into(),
        bands_override: None,
        acquired_at: None,
        acquired_from: None,
        meta: None,
        footprint: None,
        bbox: None,
        province_code: None,
        commune_code: None,
        progress: 0.0,
        stage: None,
        error_code: None,
        error: None,
        cancel_requested: false,
        attempts: 0,
        created_at: now.clone(),
        started_at: None,
        completed_at: None,
        updated_at: now,
    }
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn survey_jobs_match_the_model_across_reopens(ops in proptest::collection::vec(job_op(), 1..40)) {
        const MAX_ATTEMPTS: i64 = 3;
        let dir = tempfile::tempdir().unwrap();
        let mut v = open(dir.path());
        let me = format!("{}@{}", std::process::id(), boot_id());
        let dead = format!("{}@{}", u32::MAX - 1, boot_id());
        let mut model: Vec<JobModel> = Vec::new();
        let fail = |e: vigil::store::StoreError| TestCaseError::fail(e.to_string());
        for op in ops {
            match op {
                JobOp::Queue => {
                    let row = queued_row(model.len());
                    v.store().write(|tx| ss::insert(tx, &row)).map_err(fail)?;
                    model.push(JobModel { id: row.id, state: SurveyState::Queued, alive: false, attempts: 0, cancel_requested: false });
                }
                JobOp::Claim { dead: is_dead } => {
                    let runner = if is_dead { &dead } else { &me };
                    let got = v.store().write(|tx| ss::claim_next(tx, "2026-01-02T00:00:00Z", runner, i64::MAX)).map_err(fail)?;
                    // The oldest queued job (created_at, then id: the model's order).
                    let want = model.iter_mut().find(|m| m.state == SurveyState::Queued);
                    match (got, want) {
                        (Some(row), Some(m)) => {
                            prop_assert_eq!(&row.id, &m.id);
                            m.state = SurveyState::Running;
                            m.alive = !is_dead;
                            m.attempts += 1;
                        }
                        (None, None) => {}
                        (got, want) => return Err(TestCaseError::fail(format!("claimed {got:?}, model {want:?}"))),
                    }
                }
                JobOp::Finish { pick, ready } => {
                    // Only a live runner finishes its job.
                    let Some(m) = model.iter_mut().filter(|m| m.state == SurveyState::Running && m.alive).nth(pick % 4) else { continue };
                    let id = m.id.clone();
                    if ready {
                        v.store().write(|tx| ss::set_ready(tx, &id, &ss::Finished {
                            meta: "{}", footprint: "{}", bbox: [105.0, 21.0, 105.1, 21.1],
                            province_code: None, commune_code: None,
                            acquired_at: "2026-01-01T00:00:00Z", acquired_from: "upload",
                        }, "2026-01-02T00:00:01Z")).map_err(fail)?;
                        m.state = SurveyState::Ready;
                    } else {
                        v.store().write(|tx| ss::set_finished_without_tiles(tx, &id, SurveyState::Failed, "corrupt", "bad", None, "2026-01-02T00:00:01Z")).map_err(fail)?;
                        m.state = SurveyState::Failed;
                    }
                }
                JobOp::Cancel { pick } => {
                    if model.is_empty() { continue; }
                    let i = pick % model.len();
                    let m = &mut model[i];
                    let r = v.cancel_survey(&admin(), &m.id);
                    match (m.state, r) {
                        (SurveyState::Queued, Ok(_)) => m.state = SurveyState::Cancelled,
                        (SurveyState::Running, Ok(_)) => m.cancel_requested = true,
                        (s, Err(Error::Conflict(_))) if s.is_finished() => {}
                        (s, r) => return Err(TestCaseError::fail(format!("cancel in {s:?}: {r:?}"))),
                    }
                }
                JobOp::Sweep => {
                    let n = v.reset_interrupted().map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let mut want = 0;
                    for m in model.iter_mut().filter(|m| m.state == SurveyState::Running && !m.alive) {
                        want += 1;
                        m.state = if m.attempts >= MAX_ATTEMPTS { SurveyState::Failed } else { SurveyState::Queued };
                    }
                    prop_assert_eq!(n, want, "jobs swept");
                }
                JobOp::Reopen => {
                    drop(v);
                    v = open(dir.path());
                }
            }
            let rows: BTreeMap<String, SurveyRow> = v.store().read(ss::list).map_err(fail)?
                .into_iter().map(|r| (r.id.clone(), r)).collect();
            prop_assert_eq!(rows.len(), model.len());
            for m in &model {
                let r = &rows[&m.id];
                prop_assert_eq!(r.state, m.state, "{}", m.id);
                prop_assert_eq!(r.attempts, m.attempts, "{}", m.id);
                prop_assert_eq!(r.cancel_requested, m.cancel_requested, "{}", m.id);
                if r.state == SurveyState::Ready {
                    prop_assert!(r.error.is_none() && r.error_code.is_none(), "ready with an error: {:?}", r);
                }
            }
        }
    }
}

// ---- upload sessions ------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum UploadOp {
    Create { size: usize },
    Chunk { pick: usize, n: usize },
    Commit { pick: usize },
    Cancel { pick: usize },
    Reopen,
}

fn upload_op() -> impl Strategy<Value = UploadOp> {
    prop_oneof![
        2 => (1usize..3000).prop_map(|size| UploadOp::Create { size }),
        8 => (any::<usize>(), 0usize..4).prop_map(|(pick, n)| UploadOp::Chunk { pick, n }),
        2 => any::<usize>().prop_map(|pick| UploadOp::Commit { pick }),
        1 => any::<usize>().prop_map(|pick| UploadOp::Cancel { pick }),
        2 => Just(UploadOp::Reopen),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum UploadState {
    Open,
    Committed,
    Cancelled,
}

#[derive(Debug, Clone)]
struct UploadModel {
    id: String,
    data: Vec<u8>,
    chunks: usize,
    received: BTreeSet<usize>,
    state: UploadState,
}

const CHUNK: usize = 1024;

fn upload_config(dir: &Path) -> Config {
    let mut c = Config::for_tests(dir);
    c.upload.chunk_bytes = CHUNK as u64;
    c
}

fn operator() -> Principal {
    Principal {
        role: Role::Operator,
        jurisdiction: Jurisdiction::national(),
        ..Principal::cli()
    }
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn upload_sessions_match_the_model_across_reopens(ops in proptest::collection::vec(upload_op(), 1..40)) {
        use sha2::Digest;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let open_uploads = || Arc::new(Vigil::open(upload_config(dir.path())).unwrap());
        let mut v = open_uploads();
        let who = operator();
        let mut model: Vec<UploadModel> = Vec::new();
        for op in ops {
            match op {
                UploadOp::Create { size } => {
                    let data: Vec<u8> = (0..size).map(|i| (i * 31 + model.len()) as u8).collect();
                    let st = v.create_upload(&who, vigil::service::uploads::NewUpload {
                        filename: format!("f{}.tif", model.len()),
                        size: size as u64,
                        sha256: hex::encode(sha2::Sha256::digest(&data)),
                        content_type: Some("image/tiff".into()),
                    }).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    model.push(UploadModel { id: st.id.clone(), chunks: size.div_ceil(CHUNK), data, received: BTreeSet::new(), state: UploadState::Open });
                }
                UploadOp::Chunk { pick, n } => {
                    if model.is_empty() { continue; }
                    let i = pick % model.len();
                    let m = &mut model[i];
                    let n = n % m.chunks;
                    let bytes = bytes::Bytes::copy_from_slice(&m.data[n * CHUNK..((n + 1) * CHUNK).min(m.data.len())]);
                    let r = rt.block_on(async {
                        let mut sink = v.begin_chunk(&who, &m.id, n as u64, Some(bytes.len() as u64))?;
                        sink.send(bytes).await?;
                        sink.finish(v.clone()).await
                    });
                    match (m.state, r) {
                        (UploadState::Open, Ok(_)) => { m.received.insert(n); }
                        // A chunk of a committed upload is an idempotent retry.
                        (UploadState::Committed, Ok(_)) => {}
                        (UploadState::Committed | UploadState::Cancelled, Err(Error::Conflict(_))) => {}
                        (s, r) => return Err(TestCaseError::fail(format!("chunk {n} in {s:?}: {r:?}"))),
                    }
                }
                UploadOp::Commit { pick } => {
                    if model.is_empty() { continue; }
                    let i = pick % model.len();
                    let m = &mut model[i];
                    let complete = m.received.len() == m.chunks;
                    match (m.state, v.commit_upload(&who, &m.id)) {
                        (UploadState::Open | UploadState::Committed, Ok(c)) => {
                            prop_assert!(complete || m.state == UploadState::Committed);
                            prop_assert_eq!(std::fs::read(&c.path).unwrap(), m.data.clone());
                            m.state = UploadState::Committed;
                        }
                        (UploadState::Open, Err(Error::MissingChunks { missing, .. })) => {
                            prop_assert!(!complete);
                            prop_assert!(!missing.is_empty());
                        }
                        (UploadState::Cancelled, Err(Error::Conflict(_))) => {}
                        (s, r) => return Err(TestCaseError::fail(format!("commit in {s:?}: {r:?}"))),
                    }
                }
                UploadOp::Cancel { pick } => {
                    if model.is_empty() { continue; }
                    let i = pick % model.len();
                    let m = &mut model[i];
                    match (m.state, v.cancel_upload(&who, &m.id)) {
                        // A committed upload no survey uses is discarded.
                        (_, Ok(_)) => m.state = UploadState::Cancelled,
                        (s, r) => return Err(TestCaseError::fail(format!("cancel in {s:?}: {r:?}"))),
                    }
                }
                UploadOp::Reopen => {
                    drop(v);
                    v = open_uploads();
                    v.reconcile_uploads().map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
            }
            for m in &model {
                let st = v.upload_status(&who, &m.id).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let state = st.state.code();
                let want = match m.state {
                    UploadState::Open if m.received.len() == m.chunks => "complete",
                    UploadState::Open => "receiving",
                    UploadState::Committed => "committed",
                    UploadState::Cancelled => "cancelled",
                };
                prop_assert_eq!(state, want, "{} {:?}", m.id, st);
                if m.state == UploadState::Open {
                    let got: BTreeSet<usize> = st.received.iter().map(|x| *x as usize).collect();
                    prop_assert_eq!(&got, &m.received, "{}", m.id);
                }
            }
        }
    }
}

// ---- flag review ----------------------------------------------------------------------------------

fn flag_row(n: usize) -> vigil::store::flags::FlagRow {
    let (lon, lat) = (105.2 + n as f64 * 0.001, 21.8);
    vigil::store::flags::FlagRow {
        id: 0,
        survey_id: queued_row(0).id,
        class: "poppy".into(),
        confidence: 0.9,
        area_m2: 50.0,
        status: "new".into(),
        geometry: geo::MultiPolygon(vec![geo::Polygon::new(
            geo::LineString::from(vec![
                (lon, lat),
                (lon + 0.0001, lat),
                (lon + 0.0001, lat + 0.0001),
                (lon, lat),
            ]),
            vec![],
        )]),
        bbox: [lon, lat, lon + 0.0001, lat + 0.0001],
        point: [lon, lat],
        province_code: Some("08".into()),
        commune_code: None,
        acquired_at: Some("2026-03-01T08:00:00Z".into()),
        model_version: "test".into(),
        drivers: Vec::new(),
        created_at: "2026-03-01T09:00:00Z".into(),
        replanting_of: None,
        near_hotspots: Vec::new(),
        probabilities: Default::default(),
        version: 1,
        priority: None,
        status_at: None,
        superseded_at: None,
    }
}

/// A decision input that passes the field checks for its decision.
fn decision_input(code: &str, version: i64) -> vigil::service::review::DecisionInput {
    let field = ["verified_in_field", "eradicated", "not_found"].contains(&code);
    vigil::service::review::DecisionInput {
        decision: code.into(),
        version: Some(version),
        reason: (code == "false_positive").then(|| "lookalike_crop".into()),
        note: (code == "reopen").then(|| "seen again".into()),
        eradicated_on: (code == "eradicated").then(|| "2026-03-02".into()),
        area_destroyed_m2: (code == "eradicated").then_some(40.0),
        team: field.then(|| "Đội 1".into()),
    }
}

#[derive(Debug, Clone)]
enum FlagOp {
    Decide {
        pick: usize,
        decision: usize,
        stale: bool,
    },
    Reopen,
}

fn flag_op() -> impl Strategy<Value = FlagOp> {
    prop_oneof![
        8 => (any::<usize>(), any::<usize>(), proptest::bool::weighted(0.2))
            .prop_map(|(pick, decision, stale)| FlagOp::Decide { pick, decision, stale }),
        1 => Just(FlagOp::Reopen),
    ]
}

proptest! {
    #![proptest_config(config())]
    #[test]
    fn flag_review_matches_the_model_across_reopens(ops in proptest::collection::vec(flag_op(), 1..40)) {
        use vigil::review::{Decision, Status as FlagStatus};
        let dir = tempfile::tempdir().unwrap();
        let mut v = open(dir.path());
        let fail = |e: vigil::store::StoreError| TestCaseError::fail(e.to_string());
        let flags: Vec<_> = (0..3).map(flag_row).collect();
        v.store().write(|tx| {
            ss::insert(tx, &queued_row(0))?;
            vigil::store::flags::replace_for_survey(tx, &flags[0].survey_id, &flags, "2026-03-01T09:00:00Z")
        }).map_err(fail)?;
        let ids: Vec<i64> = v.store().read(|c| vigil::store::flags::live_for_survey(c, &flags[0].survey_id))
            .map_err(fail)?.iter().map(|f| f.id).collect();
        prop_assert_eq!(ids.len(), 3);
        // id -> (status, version, decisions)
        let mut model: BTreeMap<i64, (FlagStatus, i64, usize)> = ids.iter().map(|id| (*id, (FlagStatus::New, 1, 0))).collect();
        let reviewer = Principal { role: Role::Reviewer, jurisdiction: Jurisdiction::national(), ..Principal::cli() };
        let all = Decision::all();
        for op in ops {
            match op {
                FlagOp::Decide { pick, decision, stale } => {
                    let id = ids[pick % ids.len()];
                    let d = all[decision % all.len()];
                    let (status, version, n) = model[&id];
                    let sent = if stale { version - 1 } else { version };
                    match v.decide(&reviewer, id, decision_input(d.code(), sent)) {
                        Ok((after, row)) => {
                            prop_assert!(!stale && status.can_become(d.0), "{:?} from {:?} accepted", d, status);
                            prop_assert_eq!(after.version, version + 1);
                            prop_assert_eq!(row.version, version + 1);
                            model.insert(id, (d.0, version + 1, n + 1));
                        }
                        Err(Error::StaleVersion { current, .. }) => {
                            prop_assert!(stale);
                            prop_assert_eq!(current, version);
                        }
                        Err(Error::StateConflict { code, .. }) => {
                            prop_assert_eq!(code, "illegal_transition");
                            prop_assert!(!status.can_become(d.0));
                        }
                        Err(e) => return Err(TestCaseError::fail(format!("{} on {:?}: {e}", d.code(), status))),
                    }
                }
                FlagOp::Reopen => {
                    drop(v);
                    v = open(dir.path());
                }
            }
            for (id, (status, version, n)) in &model {
                let f = v.store().read(|c| vigil::store::flags::get(c, *id)).map_err(fail)?.unwrap();
                prop_assert_eq!(f.status.as_str(), status.code(), "flag {}", id);
                prop_assert_eq!(f.version, *version, "flag {}", id);
                let decisions = v.flag_decisions(&reviewer, *id).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(decisions.len(), *n, "decisions of flag {}", id);
            }
        }
    }
}
