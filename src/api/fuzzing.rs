//! Entry points for the fuzz targets (`fuzz/`, `make fuzz`): the parsers that read untrusted
//! request text, callable without a server. Each returns whether the input was accepted; none may
//! panic, whatever the input. Not part of the API.

use super::extract::{RawQuery, parse_count};

fn raw_query(q: &str) -> RawQuery {
    RawQuery(
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect(),
    )
}

/// A query string through every query parser: `bbox` (+ `bbox-crs`), `datetime`, `status` and
/// `kind` filters, `limit`/`offset` counts, the review queue's filters and a report's
/// `period` + area. Returns how many of them accepted it.
pub fn query_string(q: &str) -> usize {
    let raw = raw_query(q);
    let m = raw.map();
    let mut ok = 0;
    if let Ok(Some(b)) = super::query::parse_bbox(&m) {
        assert!(b.iter().all(|x| x.is_finite()), "bbox {b:?} from {q:?}");
        assert!(b[1] <= b[3], "bbox {b:?} from {q:?}");
        ok += 1;
    }
    if let Ok((from, to)) = super::query::parse_datetime(&m) {
        if let (Some(f), Some(t)) = (from, to) {
            assert!(f <= t, "datetime {from:?}..{to:?} from {q:?}");
        }
        ok += 1;
    }
    ok += usize::from(super::ogc::parse_filters_pub(&m).is_ok());
    for key in ["limit", "offset"] {
        if let Some(s) = m.get(key) {
            ok += usize::from(parse_count(s).is_some());
        }
    }
    ok += usize::from(super::review::live_filter(&raw, true).is_ok());
    ok += usize::from(super::reports::parse(&raw).is_ok());
    ok
}

/// A tile request's `{z}/{x}/{y.ext}` path segments.
pub fn tile_path(z: &str, x: &str, y: &str) -> bool {
    match super::tiles::parse_tile(z, x, y) {
        Ok((t, _)) => {
            assert!(
                t.z <= 30 && u64::from(t.x) < 1u64 << t.z && u64::from(t.y) < 1u64 << t.z,
                "{t:?}"
            );
            true
        }
        Err(_) => false,
    }
}

/// A chunk PUT: the index from the path, the `Content-Length` header, and the chunk arithmetic of
/// an upload of `size` bytes in `chunk` -byte chunks.
pub fn upload_chunk(index: &str, content_length: Option<&str>, size: u64, chunk: u64) -> bool {
    let Ok((n, _declared)) = super::uploads::chunk_request(index, content_length) else {
        return false;
    };
    let Some(layout) = crate::upload::Layout::new(size, chunk) else {
        return false;
    };
    match (layout.offset(n), layout.chunk_len(n)) {
        (Some(off), Some(len)) => {
            assert!(
                n < layout.count() && len >= 1 && off.checked_add(len).is_some_and(|e| e <= size)
            );
            true
        }
        (None, None) => {
            assert!(n >= layout.count());
            false
        }
        other => panic!("offset and length disagree for chunk {n}: {other:?}"),
    }
}
