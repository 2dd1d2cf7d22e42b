//! Tile paths `{z}/{x}/{y}.{ext}` as they come from a URL: parsed into numbers before any file
//! name is built; an accepted tile lies on the grid.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '/');
    let (Some(z), Some(x), Some(y)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    vigil::api::fuzzing::tile_path(z, x, y);
});
