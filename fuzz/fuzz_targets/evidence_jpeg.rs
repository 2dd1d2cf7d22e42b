//! Field photos: the JPEG structure walk and EXIF (time, GPS) of any bytes, refused with a code or
//! described; never a panic, never more pixels than the limit.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigil::evidence::{PhotoLimits, inspect};

fuzz_target!(|data: &[u8]| {
    let limits = PhotoLimits::default();
    if let Ok(info) = inspect(data, &limits) {
        let _ = format!("{info:?}");
    }
});
