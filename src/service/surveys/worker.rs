//! The persisted job queue: the worker thread, claiming, cancel flags, and re-queuing jobs whose
//! process died. A job's runner is `pid@boot-id` with a lease: on this machine a runner is alive
//! while its process is (pid and boot id: a kill -9 is seen at once); a runner on another
//! machine — another node on the same PostgreSQL store, issue 17 — is alive while its lease,
//! renewed every [`LEASE_SECS`]` / 3` seconds while it works, has not run out.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use serde_json::json;

use crate::redact::user_message;
use crate::service::{Error, Result, Vigil};
use crate::store::surveys::{self as ss, JobRunner, SurveyRow, SurveyState};
use crate::tiling::{self, TilingError};
use crate::time_util::now_rfc3339;

use super::*;
/// The ingest worker's shared state: a wake-up for new jobs, cancel flags, shutdown.
#[derive(Default)]
pub struct Jobs {
    wake: Condvar,
    lock: Mutex<()>,
    /// The survey being tiled in this process and its cancel flag.
    pub(super) running: Mutex<Option<(String, Arc<AtomicBool>)>>,
    pub shutdown: AtomicBool,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").finish()
    }
}

impl Jobs {
    pub(super) fn notify(&self) {
        let _g = self.lock.lock();
        self.wake.notify_all();
    }
}

impl Vigil {
    /// Re-queues jobs whose process is gone (a crash, a kill, a reboot) and removes their partial
    /// tiles. Jobs of live processes — this one, or a `vigil ingest` running beside the server —
    /// are left alone. Run at start-up and by the worker between jobs.
    pub fn reset_interrupted(&self) -> Result<usize> {
        let rows: Vec<SurveyRow> = self
            .store()
            .read(ss::running)?
            .into_iter()
            .filter(|(_, runner)| !job_alive(runner))
            .map(|(r, _)| r)
            .collect();
        let tiles = self.config.tiles_dir();
        let now = now_rfc3339();
        let mut requeued = 0;
        for r in &rows {
            // Checked again under the write lock, and the partial tiles removed before the row
            // changes: a job that finished or was claimed since the read above is left alone.
            let taken = self.store().write(|tx| {
                match ss::runner_if_running(tx, &r.id)? {
                    Some(runner) if !job_alive(&runner) => {}
                    _ => return Ok(false),
                }
                for dir in [
                    tiling::layout::SurveyDir::staging(&tiles, &r.id).root,
                    tiling::layout::SurveyDir::new(&tiles, &r.id).root,
                ] {
                    tiling::remove_dir_if_exists(&dir).map_err(|e| Error::Disk {
                        context: e.to_string(),
                        source: std::io::Error::other("cleanup"),
                    })?;
                }
                if r.attempts >= MAX_ATTEMPTS {
                    ss::set_finished_without_tiles(
                        tx,
                        &r.id,
                        SurveyState::Failed,
                        "internal",
                        &format!("ingest was interrupted {} times; giving up", r.attempts),
                        None,
                        &now,
                    )?;
                } else {
                    ss::requeue(tx, &r.id, &now)?;
                }
                Ok::<_, Error>(true)
            })?;
            if taken {
                // An attempt killed after publishing leaves archives no row calls ready: its own
                // folder (and, from versions before attempts had folders, the survey's).
                if let Some(o) = self.objects() {
                    for archive in [crate::storage::archive_key(&r.id, r.attempts), r.id.clone()] {
                        if let Err(e) = o.remove(&archive) {
                            tracing::warn!(survey = %r.id, error = %e, "cannot remove an interrupted attempt's archives");
                        }
                    }
                }
                requeued += 1;
                tracing::warn!(survey = %r.id, attempts = r.attempts, "re-queued an interrupted ingest");
            }
        }
        Ok(requeued)
    }

    /// The ingest worker loop (`vigil serve` runs it on its own thread until shutdown).
    pub fn run_worker(self: &Arc<Self>) {
        self.work(true, false, &|_| {});
    }

    /// Runs queued jobs in this process — `vigil ingest --worker`, a worker like any node on a
    /// shared PostgreSQL store — until the queue is empty, or with `follow` until
    /// [`Vigil::stop_worker`]; `done` hears each job's id when it ends. How many ran.
    pub fn run_queued(&self, follow: bool, print: bool, done: &dyn Fn(&str)) -> usize {
        self.work(follow, print, done)
    }

    fn work(&self, follow: bool, print: bool, done: &dyn Fn(&str)) -> usize {
        let mut ran = 0;
        loop {
            if self.jobs.shutdown.load(Ordering::SeqCst) {
                return ran;
            }
            if let Err(e) = self.reset_interrupted() {
                tracing::warn!(error = %e, "cannot re-queue interrupted jobs");
            }
            let now = now_rfc3339();
            let me = this_runner();
            match self
                .store()
                .write(|tx| ss::claim_next(tx, &now, &me, lease_until()))
            {
                Ok(Some(row)) => {
                    let id = row.id.clone();
                    if print {
                        eprintln!("ingesting {} ({id})", row.filename);
                    }
                    self.run_job(row, print);
                    ran += 1;
                    done(&id);
                }
                Ok(None) if !follow => return ran,
                Ok(None) => {
                    let mut g = self.jobs.lock.lock();
                    self.jobs.wake.wait_for(&mut g, Duration::from_secs(2));
                }
                Err(e) => {
                    tracing::error!(error = %e, "ingest worker cannot claim a job");
                    std::thread::sleep(Duration::from_secs(2));
                }
            }
            if let Err(e) = self.refresh_surveys_if_changed() {
                tracing::warn!(error = %e, "cannot refresh the survey index");
            }
        }
    }

    /// Renews the lease of the job `id` this process runs until `done`; when the job is no
    /// longer ours (another node took it over after our lease ran out) it says so in the log,
    /// raises `lost` so the attempt stops, and returns.
    fn keep_lease(&self, id: &str, done: &AtomicBool, lost: &AtomicBool) {
        let me = this_runner();
        let every = Duration::from_secs(LEASE_SECS as u64 / 3);
        let mut next = Instant::now() + every;
        while !done.load(Ordering::SeqCst) {
            let mut g = self.jobs.lock.lock();
            self.jobs.wake.wait_until(&mut g, next);
            drop(g);
            if done.load(Ordering::SeqCst) || Instant::now() < next {
                continue;
            }
            next = Instant::now() + every;
            match self
                .store()
                .write(|tx| ss::renew_lease(tx, id, &me, lease_until()))
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(survey = %id, "the job is no longer this process's; stopping this attempt");
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
                Err(e) => tracing::warn!(survey = %id, error = %e, "cannot renew the job's lease"),
            }
        }
    }

    /// Wakes the worker so it sees the shutdown flag.
    pub fn stop_worker(&self) {
        self.jobs.shutdown.store(true, Ordering::SeqCst);
        self.jobs.notify();
    }

    /// Runs one claimed job (attempt `row.attempts`, claimed by this process) to its end state.
    /// Every end write is fenced by `ss::holds`: an attempt that lost the job to another node
    /// writes nothing and removes what it published.
    pub(super) fn run_job(&self, row: SurveyRow, print: bool) {
        let id = row.id.clone();
        let me = this_runner();
        let attempt = row.attempts;
        let cancel = Arc::new(AtomicBool::new(false));
        *self.jobs.running.lock() = Some((id.clone(), cancel.clone()));
        let t0 = Instant::now();
        // The lease is renewed while the job runs, so another node does not take it over; if
        // one did (this process was paused past the lease), `lost` stops the attempt.
        let done = AtomicBool::new(false);
        let lost = AtomicBool::new(false);
        let result = std::thread::scope(|s| {
            s.spawn(|| {
                self.keep_lease(&id, &done, &lost);
                if lost.load(Ordering::SeqCst) {
                    cancel.store(true, Ordering::SeqCst);
                }
            });
            let r = self.ingest(&row, cancel.clone(), print);
            done.store(true, Ordering::SeqCst);
            self.jobs.notify();
            r
        });
        *self.jobs.running.lock() = None;
        if print {
            eprintln!();
        }
        let now = now_rfc3339();
        let held = |tx: &crate::store::sql::Connection<'_>| ss::holds(tx, &id, &me, attempt);
        let dropped = || {
            tracing::warn!(survey = %id, attempt, "another runner took this job over; this attempt's work is dropped");
            if let Some(o) = self.objects() {
                let _ = o.remove(&crate::storage::archive_key(&id, attempt));
            }
        };
        match result {
            Ok(()) => {
                tracing::info!(survey = %id, secs = t0.elapsed().as_secs_f64(), "survey ready");
            }
            Err(TilingError::Cancelled) if !cancel.load(Ordering::SeqCst) => {
                // Shutdown, not a user's cancel: leave it for the next start.
                let requeued = self.store().write(|tx| {
                    if !held(tx)? {
                        return Ok::<_, Error>(false);
                    }
                    ss::requeue(tx, &id, &now)?;
                    Ok(true)
                });
                match requeued {
                    Ok(true) => {
                        tracing::info!(survey = %id, "ingest stopped by shutdown; re-queued")
                    }
                    Ok(false) => dropped(),
                    Err(e) => {
                        tracing::warn!(survey = %id, error = %e, "cannot re-queue a stopped ingest")
                    }
                }
            }
            Err(e) => {
                let (state, code) = match &e {
                    TilingError::Cancelled => (SurveyState::Cancelled, "cancelled"),
                    other => (SurveyState::Failed, other.code()),
                };
                // What the operator reads names the file, never the server's paths; an internal
                // error says only that (the log has the details).
                let message = match &e {
                    TilingError::Cancelled => "cancelled by request".to_string(),
                    TilingError::Io(_) => format!(
                        "an internal error stopped the ingest of {}; the server log has the details",
                        row.filename
                    ),
                    TilingError::Store(_) => format!(
                        "the store could not record the ingest of {}; the server log has the details",
                        row.filename
                    ),
                    other => user_message(
                        &other.to_string(),
                        &[Path::new(&row.source_path), &self.config.tiles_dir()],
                    ),
                };
                if matches!(code, "internal" | "store_failed" | "classify_failed") {
                    tracing::error!(survey = %id, error = %e, "ingest failed");
                }
                let res = self.store().write(|tx| {
                    if !held(tx)? {
                        return Ok(false);
                    }
                    ss::set_finished_without_tiles(tx, &id, state, code, &message, None, &now)?;
                    audit(
                        tx,
                        "system",
                        state.code(),
                        &id,
                        json!({ "code": code, "message": message }),
                    )?;
                    Ok::<_, Error>(true)
                });
                match res {
                    Ok(true) => tracing::warn!(survey = %id, code, "{message}"),
                    Ok(false) => dropped(),
                    Err(err) => {
                        tracing::error!(survey = %id, error = %err, "cannot record a failed ingest")
                    }
                }
            }
        }
    }
}

/// This process as a job runner: `pid@boot-id` (the boot id tells a pid reused after a reboot).
pub(super) fn this_runner() -> String {
    format!("{}@{}", std::process::id(), boot_id())
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// How long a claimed job's lease holds without renewal, in seconds: a node killed mid-job
/// leaves it to another node within this (plus the worker's pause between sweeps).
pub const LEASE_SECS: i64 = 60;

/// A lease from now.
pub(super) fn lease_until() -> i64 {
    unix_now() + LEASE_SECS
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Whether a job's runner still runs it: by its process when it ran on this boot of this
/// machine, else by its lease (a runner of another node, or of this machine before a reboot,
/// which the boot id cannot tell apart: either is taken over once its lease runs out).
fn job_alive(j: &JobRunner) -> bool {
    let Some(runner) = j.runner.as_deref() else {
        return false;
    };
    match runner.split_once('@') {
        Some((_, boot)) if boot == boot_id() => runner_alive(runner),
        _ => j.lease_until.is_some_and(|l| l > unix_now()),
    }
}

/// Whether the process named by a runner string is still running on this machine.
fn runner_alive(runner: &str) -> bool {
    let Some((pid, boot)) = runner.split_once('@') else {
        return false;
    };
    if boot != boot_id() {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if pid == std::process::id() {
        return true;
    }
    // A zombie (killed, not yet reaped) is not running, and a pid reused by another program is
    // not ours.
    let running = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    };
    running
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("vigil"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn running_row(v: &Vigil, runner: &str) -> String {
        running_row_leased(v, runner, lease_until())
    }

    fn running_row_leased(v: &Vigil, runner: &str, lease: i64) -> String {
        let now = now_rfc3339();
        let row = SurveyRow {
            state: SurveyState::Running,
            attempts: 1,
            started_at: Some(now.clone()),
            ..new_row(
                &Principal::cli(),
                "t".into(),
                "t.tif".into(),
                "/nonexistent.tif".into(),
                1,
                None,
                None,
                &now,
            )
            .unwrap()
        };
        let id = row.id.clone();
        v.store()
            .write(|tx| {
                ss::insert(tx, &row)?;
                ss::set_runner(tx, &id, runner, lease)
            })
            .unwrap();
        id
    }

    #[test]
    fn only_jobs_of_dead_processes_are_requeued() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vigil::open(Config::for_tests(dir.path())).unwrap();
        let alive = running_row(&v, &this_runner());
        // A pid that cannot exist, and a runner from another boot whose lease has run out.
        let dead = running_row(&v, &format!("{}@{}", u32::MAX - 1, boot_id()));
        let rebooted = running_row_leased(
            &v,
            &format!("{}@not-this-boot", std::process::id()),
            unix_now() - 1,
        );
        let partial = tiling::layout::SurveyDir::staging(&v.config.tiles_dir(), &dead).root;
        std::fs::create_dir_all(&partial).unwrap();
        assert_eq!(v.reset_interrupted().unwrap(), 2);
        let state = |id: &str| v.store().read(|c| ss::get(c, id)).unwrap().unwrap().state;
        assert_eq!(state(&alive), SurveyState::Running);
        assert_eq!(state(&dead), SurveyState::Queued);
        assert_eq!(state(&rebooted), SurveyState::Queued);
        assert!(!partial.exists(), "the partial tiles are removed");
    }

    #[test]
    fn a_job_of_another_machine_is_taken_over_when_its_lease_runs_out() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vigil::open(Config::for_tests(dir.path())).unwrap();
        // Another node's runner (its own boot id): alive while its lease holds, whatever pid.
        let leased = running_row_leased(&v, "4242@another-machine", unix_now() + 30);
        let expired = running_row_leased(&v, "4242@another-machine", unix_now() - 1);
        assert_eq!(v.reset_interrupted().unwrap(), 1);
        let state = |id: &str| v.store().read(|c| ss::get(c, id)).unwrap().unwrap().state;
        assert_eq!(state(&leased), SurveyState::Running);
        assert_eq!(state(&expired), SurveyState::Queued);
        // Renewing: only the runner that holds the job can.
        let renewed = v
            .store()
            .write(|tx| ss::renew_lease(tx, &leased, "1@elsewhere", lease_until()))
            .unwrap();
        assert!(!renewed, "a stranger cannot renew another runner's lease");
        let renewed = v
            .store()
            .write(|tx| ss::renew_lease(tx, &leased, "4242@another-machine", lease_until()))
            .unwrap();
        assert!(renewed);
    }

    /// The row of a small sample scene, claimed by this process as attempt 1.
    fn claimed_scene(v: &Vigil, dir: &Path) -> SurveyRow {
        use crate::ingest::sample_files::{
            BandLayout, DEFAULT_CENTER, SampleRequest, write_sample,
        };
        let w = write_sample(&SampleRequest {
            out_dir: dir.to_path_buf(),
            name: Some("lease".into()),
            spec: crate::sample::SceneSpec {
                width: 384,
                height: 384,
                gsd: 0.1,
                ..crate::sample::SceneSpec::new(7)
            },
            layout: BandLayout::Rgba,
            sixteen_bit: false,
            crs: "EPSG:32648".into(),
            center: DEFAULT_CENTER,
        })
        .unwrap();
        let id = running_row(v, &this_runner());
        v.store()
            .write(|tx| {
                tx.execute(
                    "UPDATE surveys SET source_path = ?2, filename = 'lease.tif' WHERE id = ?1",
                    crate::store::sql::params![id, w.tif.to_string_lossy().to_string()],
                )
                .map_err(crate::store::StoreError::from)
            })
            .unwrap();
        v.store().read(|c| ss::get(c, &id)).unwrap().unwrap()
    }

    #[test]
    fn an_attempt_that_lost_its_job_writes_nothing_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vigil::open(Config::for_tests(dir.path())).unwrap();
        let local = |id: &str| tiling::layout::SurveyDir::new(&v.config.tiles_dir(), id).root;

        // The control: the same attempt, still holding its job, makes the survey ready.
        let row = claimed_scene(&v, dir.path());
        v.run_job(row.clone(), false);
        let done = v.store().read(|c| ss::get(c, &row.id)).unwrap().unwrap();
        assert_eq!(done.state, SurveyState::Ready, "{:?}", done.error);
        assert!(local(&row.id).is_dir());

        // This process paused past its lease: the sweep of another node re-queued the job and
        // that node claimed it again (attempt 2) and is tiling it.
        let row = claimed_scene(&v, dir.path());
        assert_eq!(row.attempts, 1);
        let other = "4242@another-machine";
        v.store()
            .write(|tx| {
                ss::requeue(tx, &row.id, &now_rfc3339())?;
                let again = ss::claim_next(tx, &now_rfc3339(), other, lease_until())?.unwrap();
                assert_eq!((again.id.as_str(), again.attempts), (row.id.as_str(), 2));
                ss::set_progress(tx, &row.id, 2, 42.0, "tile", &now_rfc3339())
            })
            .unwrap();
        // The paused attempt wakes up and runs to its end.
        v.run_job(row.clone(), false);
        let after = v.store().read(|c| ss::get(c, &row.id)).unwrap().unwrap();
        assert_eq!(after.state, SurveyState::Running, "the other attempt's job");
        assert_eq!(after.attempts, 2);
        assert_eq!(
            after.progress, 42.0,
            "no progress written by the old attempt"
        );
        assert_eq!(after.stage.as_deref(), Some("tile"));
        let runner = v
            .store()
            .read(|c| ss::runner_if_running(c, &row.id))
            .unwrap()
            .unwrap();
        assert_eq!(runner.runner.as_deref(), Some(other));
        let flags = v
            .store()
            .read(|c| crate::store::flags::live_for_survey(c, &row.id))
            .unwrap();
        assert!(flags.is_empty(), "no flags stored by the old attempt");
        assert!(
            !local(&row.id).exists(),
            "the old attempt's tiles are not left to be served"
        );
    }
}
