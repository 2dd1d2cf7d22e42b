//! Hotspot files: CSV, GeoJSON or KML (the first byte picks), parsed and validated. Whatever the
//! bytes, the parser answers rows or errors; an accepted row has a finite lon/lat in range.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigil::hotspots::import::{Format, parse_rows};

static QUIET_HOOK: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    // The import catches a panic of the `kml` crate and refuses the file; libfuzzer-sys' hook
    // would abort before that catch. Panics that reach the fuzz target still abort (libfuzzer-sys
    // turns an unwound panic into an abort), so real bugs are still reported.
    QUIET_HOOK.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let format = [Format::Csv, Format::GeoJson, Format::Kml][usize::from(pick) % 3];
    if let Ok((rows, _errors)) = parse_rows(bytes, format, None, 10_000) {
        for (_, h) in rows {
            assert!(
                h.lon.is_finite() && (-180.0..=180.0).contains(&h.lon),
                "{h:?}"
            );
            assert!(
                h.lat.is_finite() && (-90.0..=90.0).contains(&h.lat),
                "{h:?}"
            );
        }
    }
});
