//! Resumable chunked uploads (issue 3, item 1): the protocol rules with no IO — session states and
//! their transitions, chunk math (how a file of `size` bytes splits into fixed-size chunks, which are
//! missing), validation of what a client declares, and the in-flight claims that keep two requests
//! from writing the same bytes at once. The part-file layout on disk lives in [`disk`].
//!
//! A session goes `receiving → complete → committed`, or to `failed` (checksum mismatch at commit)
//! or `cancelled` (by its owner, or when it expires). `complete` means every chunk is on disk and
//! recorded; only `commit` checks the whole-file SHA-256.

pub mod disk;

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::auth::Role;

/// Longest file name accepted, in UTF-8 bytes (the stored name is `<id>-<name>` and most file systems
/// allow 255 bytes per name).
pub const MAX_FILENAME_BYTES: usize = 200;

/// Whether a role may upload survey imagery.
pub fn may_upload(role: Role) -> bool {
    matches!(role, Role::Operator | Role::Admin)
}

/// Where an upload session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Chunks are arriving; some are missing.
    Receiving,
    /// Every chunk is on disk and recorded; waiting for `commit`.
    Complete,
    /// The whole-file checksum matched and the file was moved to `uploads/complete/`.
    Committed,
    /// The whole-file checksum did not match at commit; the part file was removed.
    Failed,
    /// Cancelled by its owner or an admin, or expired; the part file was removed.
    Cancelled,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Receiving,
        State::Complete,
        State::Committed,
        State::Failed,
        State::Cancelled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            State::Receiving => "receiving",
            State::Complete => "complete",
            State::Committed => "committed",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }

    pub fn from_code(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.code() == s)
    }

    /// Sessions whose bytes count against the owner's quota (on disk now, or stored for ingest).
    pub fn holds_bytes(self) -> bool {
        matches!(self, State::Receiving | State::Complete | State::Committed)
    }

    /// Sessions with a part file on disk that may still change.
    pub fn is_open(self) -> bool {
        matches!(self, State::Receiving | State::Complete)
    }

    /// The state after a chunk is recorded, given how many are now received out of `total`.
    pub fn after_chunk(received: u64, total: u64) -> State {
        if received >= total {
            State::Complete
        } else {
            State::Receiving
        }
    }

    /// Whether `DELETE` may move this session to `cancelled`. Committed files belong to ingest.
    pub fn can_cancel(self) -> bool {
        matches!(self, State::Receiving | State::Complete | State::Failed)
    }
}

/// How a file of `size` bytes splits into chunks of `chunk_size` (the last one shorter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub size: u64,
    pub chunk_size: u64,
}

/// A run of missing chunks, `first..=last`, and the bytes they cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MissingRange {
    pub first: u64,
    pub last: u64,
    pub offset: u64,
    pub length: u64,
}

impl Layout {
    /// `None` when either is zero.
    pub fn new(size: u64, chunk_size: u64) -> Option<Layout> {
        (size > 0 && chunk_size > 0).then_some(Layout { size, chunk_size })
    }

    /// Number of chunks.
    pub fn count(&self) -> u64 {
        self.size.div_ceil(self.chunk_size)
    }

    /// Byte offset of chunk `n`, if it exists.
    pub fn offset(&self, n: u64) -> Option<u64> {
        (n < self.count()).then(|| n * self.chunk_size)
    }

    /// Length of chunk `n`, if it exists.
    pub fn chunk_len(&self, n: u64) -> Option<u64> {
        let off = self.offset(n)?;
        Some(self.chunk_size.min(self.size - off))
    }

    /// Bytes covered by the `received` chunk indexes (out-of-range indexes are ignored).
    pub fn bytes_in(&self, received: &BTreeSet<u64>) -> u64 {
        received.iter().filter_map(|&n| self.chunk_len(n)).sum()
    }

    /// The missing chunks as ranges, in order.
    pub fn missing(&self, received: &BTreeSet<u64>) -> Vec<MissingRange> {
        let mut out: Vec<MissingRange> = Vec::new();
        for n in (0..self.count()).filter(|n| !received.contains(n)) {
            let len = self.chunk_len(n).unwrap_or(0);
            match out.last_mut() {
                Some(r) if r.last + 1 == n => {
                    r.last = n;
                    r.length += len;
                }
                _ => out.push(MissingRange {
                    first: n,
                    last: n,
                    offset: n * self.chunk_size,
                    length: len,
                }),
            }
        }
        out
    }
}

/// Missing ranges as text for messages: `1, 3–5, 9`.
pub fn describe_missing(ranges: &[MissingRange]) -> String {
    ranges
        .iter()
        .map(|r| {
            if r.first == r.last {
                r.first.to_string()
            } else {
                format!("{}–{}", r.first, r.last)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a declared file name: no path separators or control characters, not `.`/`..`, at most
/// [`MAX_FILENAME_BYTES`].
pub fn validate_filename(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > MAX_FILENAME_BYTES {
        return Err(format!(
            "is {} bytes long; at most {MAX_FILENAME_BYTES} bytes (UTF-8) are allowed",
            name.len()
        ));
    }
    if name.contains(['/', '\\']) {
        return Err("must be a bare file name without / or \\".into());
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if name == "." || name == ".." || name.trim().is_empty() {
        return Err(format!("{name:?} is not a file name"));
    }
    Ok(())
}

/// Checks a hex SHA-256 and returns it in lower case.
pub fn normalize_sha256(s: &str) -> Result<String, String> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err("must be the file's SHA-256 as 64 hexadecimal digits".into())
    }
}

/// Checks an optional media type: printable ASCII, at most 127 characters.
pub fn validate_content_type(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 127 || !s.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err("must be a media type in printable ASCII, at most 127 characters".into());
    }
    Ok(())
}

/// A new session id: 128 random bits as 32 lower-case hex digits (unguessable, safe in paths).
pub fn new_id() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)?;
    Ok(hex::encode(b))
}

/// Whether `s` has the shape of a session id (so it can be used in a path).
pub fn is_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What a request is doing to a session. `Chunk(n)` writes one chunk; `Whole` covers commit and
/// cancel, which must not overlap each other.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Work {
    Chunk(u64),
    Whole,
}

/// Work in progress on upload sessions in this process, so two requests never write the same
/// chunk (or commit and cancel the same session) at once. A retry that arrives while the first
/// attempt is still running is refused with 409 and may simply be retried again.
#[derive(Debug, Default)]
pub struct InFlight {
    busy: Mutex<HashSet<(String, Work)>>,
}

/// Held while work runs; releases its claim when the last clone is dropped.
#[derive(Debug)]
pub struct Claim {
    owner: Arc<InFlight>,
    key: (String, Work),
}

impl InFlight {
    /// Claims `work` on session `id`, or `None` when another request holds it.
    pub fn try_claim(self: &Arc<Self>, id: &str, work: Work) -> Option<Arc<Claim>> {
        let key = (id.to_string(), work);
        self.busy.lock().insert(key.clone()).then(|| {
            Arc::new(Claim {
                owner: self.clone(),
                key,
            })
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.owner.busy.lock().remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_math_table() {
        // (size, chunk_size, count, last chunk length)
        let cases = [
            (1, 8, 1, 1),
            (8, 8, 1, 8),
            (9, 8, 2, 1),
            (16, 8, 2, 8),
            (17, 8, 3, 1),
            (20 << 30, 8 << 20, 2560, 8 << 20),
        ];
        for (size, cs, count, last) in cases {
            let l = Layout::new(size, cs).unwrap();
            assert_eq!(l.count(), count, "{size}/{cs}");
            assert_eq!(l.chunk_len(count - 1), Some(last), "{size}/{cs}");
            assert_eq!(l.chunk_len(count), None);
            assert_eq!(l.offset(count), None);
            let all: BTreeSet<u64> = (0..count).collect();
            assert_eq!(l.bytes_in(&all), size);
            assert!(l.missing(&all).is_empty());
        }
        assert!(Layout::new(0, 8).is_none());
        assert!(Layout::new(8, 0).is_none());
    }

    #[test]
    fn missing_ranges_merge_and_cover_the_bytes() {
        let l = Layout::new(45, 10).unwrap(); // chunks 0..=4, the last 5 bytes
        let got: BTreeSet<u64> = [0, 2].into();
        let m = l.missing(&got);
        assert_eq!(
            m,
            vec![
                MissingRange {
                    first: 1,
                    last: 1,
                    offset: 10,
                    length: 10
                },
                MissingRange {
                    first: 3,
                    last: 4,
                    offset: 30,
                    length: 15
                },
            ]
        );
        assert_eq!(describe_missing(&m), "1, 3–4");
        assert_eq!(l.bytes_in(&got), 20);
        assert_eq!(
            l.missing(&BTreeSet::new()),
            vec![MissingRange {
                first: 0,
                last: 4,
                offset: 0,
                length: 45
            }]
        );
    }

    #[test]
    fn state_rules() {
        for s in State::ALL {
            assert_eq!(State::from_code(s.code()), Some(s));
        }
        assert_eq!(State::after_chunk(2, 3), State::Receiving);
        assert_eq!(State::after_chunk(3, 3), State::Complete);
        // (state, holds quota bytes, open, cancellable)
        let table = [
            (State::Receiving, true, true, true),
            (State::Complete, true, true, true),
            (State::Committed, true, false, false),
            (State::Failed, false, false, true),
            (State::Cancelled, false, false, false),
        ];
        for (s, holds, open, cancel) in table {
            assert_eq!(s.holds_bytes(), holds, "{s:?}");
            assert_eq!(s.is_open(), open, "{s:?}");
            assert_eq!(s.can_cancel(), cancel, "{s:?}");
        }
    }

    #[test]
    fn filenames() {
        for ok in [
            "ortho.tif",
            "Bản đồ xã Mường Lống.tif",
            "a b (1).tiff",
            ".hidden",
        ] {
            assert!(validate_filename(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_FILENAME_BYTES + 1);
        for bad in [
            "",
            "..",
            ".",
            "a/b.tif",
            "..\\x",
            "a\nb",
            "  ",
            long.as_str(),
        ] {
            assert!(validate_filename(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn checksums_and_ids() {
        let h = "AB".repeat(32);
        assert_eq!(normalize_sha256(&h).unwrap(), "ab".repeat(32));
        assert!(normalize_sha256("ab").is_err());
        assert!(normalize_sha256(&"zz".repeat(32)).is_err());
        let id = new_id().unwrap();
        assert!(is_id(&id));
        assert!(!is_id("../etc"));
        assert!(!is_id(&id.to_ascii_uppercase()));
        assert!(!may_upload(Role::Viewer) && !may_upload(Role::Analyst));
        assert!(may_upload(Role::Operator) && may_upload(Role::Admin));
    }

    #[test]
    fn claims_exclude_and_release() {
        let f = Arc::new(InFlight::default());
        let a = f.try_claim("x", Work::Chunk(1)).unwrap();
        assert!(f.try_claim("x", Work::Chunk(1)).is_none());
        assert!(f.try_claim("x", Work::Chunk(2)).is_some());
        assert!(f.try_claim("x", Work::Whole).is_some());
        let a2 = a.clone();
        drop(a);
        assert!(f.try_claim("x", Work::Chunk(1)).is_none());
        drop(a2);
        assert!(f.try_claim("x", Work::Chunk(1)).is_some());
    }
}
