//! The JPEG container, read without decoding pixels: what the file is when it is not a JPEG, the
//! frame size from the SOF header, the EXIF block from APP1, and whether the file reaches its
//! end-of-image marker (an interrupted upload does not).
//!
//! The walk follows the markers (ITU T.81 Annex B): segments with a length up to the first scan, then
//! the entropy-coded data is skipped byte by byte to the next marker (`FF 00` is a stuffed byte,
//! `FF D0`–`FF D7` are restarts), which also walks the many scans of a progressive JPEG. Bytes after
//! the first end-of-image marker are ignored: phones append MPF images and motion-photo videos there.
//! One pass, no allocation, so a 25 MB photo costs a few milliseconds, not a full decode.

use super::PhotoError;

/// What the walk found in a whole JPEG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Jpeg<'a> {
    pub width: u32,
    pub height: u32,
    /// The TIFF-structured EXIF data of the first `Exif\0\0` APP1 segment, without that header.
    pub exif: Option<&'a [u8]>,
}

/// Refuses anything that does not start with the JPEG start-of-image marker, naming what it is when
/// the signature is known.
pub(crate) fn sniff(bytes: &[u8]) -> Result<(), PhotoError> {
    let unsupported = |format, hint| Err(PhotoError::UnsupportedFormat { format, hint });
    let not_image = |what: &str| {
        Err(PhotoError::NotAnImage {
            what: what.to_string(),
        })
    };
    let at = |offset: usize, sig: &[u8]| bytes.get(offset..offset + sig.len()) == Some(sig);

    if bytes.is_empty() {
        return not_image("the file is empty");
    }
    if at(0, &[0xFF, 0xD8]) {
        return Ok(());
    }
    if at(0, b"\x89PNG\r\n\x1a\n") {
        return unsupported("PNG", "");
    }
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        return unsupported("GIF", "");
    }
    if at(0, b"RIFF") && at(8, b"WEBP") {
        return unsupported("WebP", "");
    }
    if at(0, b"II*\0") || at(0, b"MM\0*") || at(0, b"II+\0") || at(0, b"MM\0+") {
        return unsupported(
            "TIFF (or a camera raw file such as DNG, CR2, NEF or ARW)",
            "",
        );
    }
    if at(0, b"\0\0\0\x0cjP  \r\n\x87\n") || at(0, &[0xFF, 0x4F, 0xFF, 0x51]) {
        return unsupported("JPEG 2000", "");
    }
    if at(0, b"\0\0\0\x0cJXL \r\n\x87\n") || at(0, &[0xFF, 0x0A]) {
        return unsupported("JPEG XL", "");
    }
    if at(0, b"8BPS") {
        return unsupported("a Photoshop document (PSD)", "");
    }
    if at(0, b"BM") && is_bmp(bytes) {
        return unsupported("BMP", "");
    }
    if at(4, b"ftyp") {
        return iso_media(bytes);
    }
    if at(0, b"%PDF") {
        return not_image("this is a PDF document");
    }
    if at(0, b"PK\x03\x04") {
        return not_image("this is a ZIP archive (or an Office document)");
    }
    let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02X}")).collect();
    Err(PhotoError::NotAnImage {
        what: format!(
            "the file does not start with a JPEG signature (FF D8), it starts with {}",
            head.join(" ")
        ),
    })
}

/// A BMP file header declares the file's size; checking it keeps `BM…` text from passing as BMP.
fn is_bmp(bytes: &[u8]) -> bool {
    bytes
        .get(2..6)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .is_some_and(|b| u32::from_le_bytes(b) as usize == bytes.len())
}

/// ISO base media files (`ftyp` box): HEIC/HEIF and AVIF stills, CR3 raws, MP4/MOV videos.
fn iso_media(bytes: &[u8]) -> Result<(), PhotoError> {
    let box_len = bytes
        .get(0..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u32::from_be_bytes(b) as usize);
    let ftyp = bytes
        .get(8..box_len.clamp(12, 256).min(bytes.len()))
        .unwrap_or(&[]);
    // The major brand, then (after the minor version) the compatible brands.
    let brands: Vec<&[u8]> = ftyp
        .chunks_exact(4)
        .enumerate()
        .filter(|&(i, _)| i != 1)
        .map(|(_, b)| b)
        .collect();
    let has = |names: &[&[u8]]| brands.iter().any(|b| names.contains(b));
    if has(&[b"avif", b"avis"]) {
        return Err(PhotoError::UnsupportedFormat {
            format: "AVIF",
            hint: "",
        });
    }
    if has(&[
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
    ]) {
        return Err(PhotoError::UnsupportedFormat {
            format: "HEIC/HEIF",
            hint: " (on an iPhone choose Settings → Camera → Formats → Most Compatible)",
        });
    }
    if has(&[b"crx "]) {
        return Err(PhotoError::UnsupportedFormat {
            format: "a Canon raw file (CR3)",
            hint: "",
        });
    }
    Err(PhotoError::NotAnImage {
        what: "this is a video (MP4/MOV) or another ISO media file, not a photo".to_string(),
    })
}

/// Walks a JPEG (after [`sniff`]) from its start-of-image to its end-of-image marker. The frame size
/// is checked against `max_pixels` as soon as it is read, before the pixel data is walked.
pub(crate) fn read(bytes: &[u8], max_pixels: u64) -> Result<Jpeg<'_>, PhotoError> {
    let mut pos = 2; // after FF D8
    let mut frame: Option<(u32, u32)> = None;
    let mut exif = None;
    let mut scans = 0usize;
    loop {
        match bytes.get(pos) {
            None => return Err(truncated(bytes.len(), scans)),
            Some(0xFF) => {}
            Some(b) => {
                return Err(PhotoError::corrupt(format!(
                    "expected a marker at byte {pos}, found 0x{b:02X}"
                )));
            }
        }
        // Any number of FF fill bytes may precede a marker code.
        while bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos + 1) else {
            return Err(truncated(bytes.len(), scans));
        };
        let at = pos;
        pos += 2;
        match marker {
            0xD9 => {
                let Some((width, height)) = frame else {
                    return Err(PhotoError::corrupt("it has no frame header (SOF)"));
                };
                if scans == 0 {
                    return Err(PhotoError::corrupt("it ends before any image data"));
                }
                if height == 0 {
                    return Err(PhotoError::corrupt(
                        "its frame header gives no height and no DNL marker follows",
                    ));
                }
                return Ok(Jpeg {
                    width,
                    height,
                    exif,
                });
            }
            0xD8 => {
                return Err(PhotoError::corrupt(format!(
                    "a second start-of-image marker at byte {at}"
                )));
            }
            0x00 => {
                return Err(PhotoError::corrupt(format!(
                    "an invalid marker FF 00 at byte {at}"
                )));
            }
            // Markers without a length: TEM and restarts.
            0x01 | 0xD0..=0xD7 => {}
            _ => {
                let Some(len) = be16(bytes, pos).map(usize::from) else {
                    return Err(truncated(bytes.len(), scans));
                };
                if len < 2 {
                    return Err(PhotoError::corrupt(format!(
                        "the segment at byte {at} has an invalid length {len}"
                    )));
                }
                let Some(payload) = bytes.get(pos + 2..pos + len) else {
                    return Err(truncated(bytes.len(), scans));
                };
                pos += len;
                match marker {
                    // The first of SOF0–SOF15 (not DHT C4, JPG C8 or DAC CC).
                    0xC0..=0xCF if frame.is_none() && !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                        let (width, height) = frame_size(payload, at)?;
                        check_pixels(width, height, max_pixels)?;
                        frame = Some((width, height));
                    }
                    // DNL: the height, for frames that left it 0.
                    0xDC => {
                        if let (Some((width, 0)), Some(height)) = (frame, be16(payload, 0)) {
                            let height = u32::from(height);
                            check_pixels(width, height, max_pixels)?;
                            frame = Some((width, height));
                        }
                    }
                    0xE1 if exif.is_none() => {
                        exif = payload.strip_prefix(b"Exif\0\0");
                    }
                    0xDA => {
                        if frame.is_none() {
                            return Err(PhotoError::corrupt(format!(
                                "the scan at byte {at} comes before any frame header (SOF)"
                            )));
                        }
                        scans += 1;
                        match next_marker(bytes, pos) {
                            Some(next) => pos = next,
                            None => return Err(truncated(bytes.len(), scans)),
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Width and height from a SOF payload: precision, height, width, components (3 bytes each).
fn frame_size(payload: &[u8], at: usize) -> Result<(u32, u32), PhotoError> {
    let bad = || PhotoError::corrupt(format!("the frame header (SOF) at byte {at} is invalid"));
    let &[_precision, h0, h1, w0, w1, components, ..] = payload else {
        return Err(bad());
    };
    let height = u32::from(u16::from_be_bytes([h0, h1]));
    let width = u32::from(u16::from_be_bytes([w0, w1]));
    if width == 0 || components == 0 || payload.len() < 6 + 3 * usize::from(components) {
        return Err(bad());
    }
    Ok((width, height))
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    match bytes.get(at..at + 2)? {
        &[a, b] => Some(u16::from_be_bytes([a, b])),
        _ => None,
    }
}

fn check_pixels(width: u32, height: u32, max: u64) -> Result<(), PhotoError> {
    if u64::from(width) * u64::from(height) > max {
        return Err(PhotoError::TooManyPixels { width, height, max });
    }
    Ok(())
}

/// The offset of the next marker after entropy-coded data starting at `from`, skipping stuffed
/// `FF 00`, restarts and fill bytes; `None` when the data runs to the end of the file.
fn next_marker(bytes: &[u8], mut from: usize) -> Option<usize> {
    loop {
        from += bytes.get(from..)?.iter().position(|&b| b == 0xFF)?;
        match *bytes.get(from + 1)? {
            0x00 | 0xD0..=0xD7 | 0xFF => from += 1,
            _ => return Some(from),
        }
    }
}

fn truncated(len: usize, scans: usize) -> PhotoError {
    if scans == 0 {
        PhotoError::corrupt(format!(
            "its header stops at byte {len}, before the image data (an interrupted upload?)"
        ))
    } else {
        PhotoError::corrupt(format!(
            "it is truncated: the image data stops at byte {len} without an end-of-image marker \
             (an interrupted upload?)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A structurally valid baseline JPEG with made-up entropy data (the walk never decodes it).
    fn minimal(width: u16, height: u16, scan: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        let [h0, h1] = height.to_be_bytes();
        let [w0, w1] = width.to_be_bytes();
        v.extend([0xFF, 0xC0, 0, 11, 8, h0, h1, w0, w1, 1, 1, 0x11, 0]);
        v.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
        v.extend(scan);
        v.extend([0xFF, 0xD9]);
        v
    }

    #[test]
    fn walks_stuffed_bytes_restarts_and_fill() {
        let scan = [1, 2, 0xFF, 0x00, 3, 0xFF, 0xD0, 4, 0xFF, 0xFF, 0xD1, 5];
        let v = minimal(640, 480, &scan);
        let j = read(&v, u64::MAX).expect("valid");
        assert_eq!((j.width, j.height, j.exif), (640, 480, None));
    }

    #[test]
    fn progressive_scans_with_tables_between() {
        let mut v = minimal(8, 8, &[1, 2, 3]);
        v.truncate(v.len() - 2);
        v.extend([0xFF, 0xC4, 0, 3, 0]); // a DHT between scans
        v.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0, 9, 9]);
        v.extend([0xFF, 0xD9]);
        assert!(read(&v, u64::MAX).is_ok());
    }

    #[test]
    fn height_from_dnl() {
        let mut v = minimal(100, 0, &[7, 7]);
        v.truncate(v.len() - 2);
        v.extend([0xFF, 0xDC, 0, 4, 0, 50, 0xFF, 0xD9]);
        let j = read(&v, u64::MAX).expect("valid");
        assert_eq!((j.width, j.height), (100, 50));
        let no_dnl = read(&minimal(100, 0, &[7]), u64::MAX).map(|_| ());
        assert_eq!(no_dnl.map_err(|e| e.code()), Err("corrupt"));
    }

    #[test]
    fn trailing_bytes_after_eoi_are_ignored() {
        let mut v = minimal(4, 4, &[1]);
        v.extend(b"....ftypmp42 motion photo video");
        assert!(read(&v, u64::MAX).is_ok());
    }

    #[test]
    fn every_truncation_is_corrupt() {
        let v = minimal(4, 4, &[1, 2, 0xFF, 0x00, 3]);
        for cut in 2..v.len() {
            let e = read(&v[..cut], u64::MAX).expect_err("truncated");
            assert_eq!(e.code(), "corrupt", "cut at {cut}");
        }
    }

    #[test]
    fn pixel_limit_before_walking_the_data() {
        // No EOI at all: the pixel check must come first.
        let v = &minimal(20_000, 10_000, &[1])[..20];
        let e = read(v, 100_000_000).expect_err("too many");
        assert_eq!(e.code(), "too_many_pixels");
    }

    #[test]
    fn sniffs_other_formats() {
        let cases: [(&[u8], &str); 10] = [
            (
                b"\x89PNG\r\n\x1a\n....",
                "field photos must be JPEG, this is PNG",
            ),
            (b"GIF89a..", "field photos must be JPEG, this is GIF"),
            (
                b"RIFF\0\0\0\0WEBPVP8 ",
                "field photos must be JPEG, this is WebP",
            ),
            (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "this is HEIC/HEIF"),
            (b"\0\0\0\x1cftypmif1\0\0\0\0mif1avifmiaf", "this is AVIF"),
            (b"II*\0\x08\0\0\0", "this is TIFF"),
            (
                b"\0\0\0\x18ftypqt  \0\0\0\0qt  \0\0\0\0",
                "not an image: this is a video",
            ),
            (b"%PDF-1.7", "not an image: this is a PDF document"),
            (b"", "not an image: the file is empty"),
            (b"hello", "it starts with 68 65 6C 6C"),
        ];
        for (bytes, want) in cases {
            let msg = sniff(bytes).expect_err("refused").to_string();
            assert!(msg.contains(want), "{msg:?} should contain {want:?}");
        }
        let mut bmp = b"BM".to_vec();
        bmp.extend(30u32.to_le_bytes());
        bmp.resize(30, 0);
        assert_eq!(sniff(&bmp).map_err(|e| e.code()), Err("unsupported_format"));
        assert_eq!(
            sniff(b"BMW owners club").map_err(|e| e.code()),
            Err("not_an_image")
        );
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF]), Ok(()));
    }
}
