//! Query strings through every query parser: bbox, datetime, status/kind filters, limit/offset,
//! the review queue's filters and a report's period and area.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(q) = std::str::from_utf8(data) {
        vigil::api::fuzzing::query_string(q);
        // The period grammar on its own too (2026-Q1, 2026-H2, 2026-01-01..2026-03-31 …).
        let _ = vigil::reports::period::Period::parse(q);
    }
});
