//! A chunk PUT: index and Content-Length as the client sends them, and the chunk arithmetic for
//! an upload size and chunk size taken from the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let size = u64::from_le_bytes(data[..8].try_into().unwrap());
    let chunk = u64::from_le_bytes(data[8..16].try_into().unwrap());
    let Ok(text) = std::str::from_utf8(&data[16..]) else {
        return;
    };
    let (index, length) = match text.split_once('\n') {
        Some((i, l)) => (i, Some(l)),
        None => (text, None),
    };
    vigil::api::fuzzing::upload_chunk(index, length, size, chunk);
});
