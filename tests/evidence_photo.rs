//! Field photos as evidence (`vigil::evidence`): real JPEGs from the `image` encoder with EXIF blocks
//! written here (a small TIFF writer, either byte order), inspected, refused, and checked against a
//! plot near Đồng Văn (lon 105.3, lat 23.3) and a survey flight time.

mod common;

use common::photos::*;
use geo::{MultiPolygon, polygon};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::datetime;
use vigil::evidence::{
    DEFAULT_MAX_DISTANCE_M, Gps, PhotoError, PhotoInfo, PhotoLimits, PhotoWarning, check_location,
    check_time, inspect,
};

fn ok(bytes: &[u8]) -> PhotoInfo {
    inspect(bytes, &PhotoLimits::default()).expect("accepted")
}

fn refused(bytes: &[u8]) -> PhotoError {
    inspect(bytes, &PhotoLimits::default()).expect_err("refused")
}

fn codes(info: &PhotoInfo) -> Vec<&'static str> {
    info.warnings.iter().map(|w| w.code).collect()
}

fn close(a: f64, b: f64, eps: f64) -> bool {
    (a - b).abs() < eps
}

// ---------------------------------------------------------------------------------------------
// inspect: accepted photos

#[test]
fn full_exif_little_endian_north_east() {
    let tiff = le().build(
        &camera_ifd0(),
        Some(&time_ifd(Some("+07:00"))),
        Some(&gps_vn()),
    );
    let bytes = jpeg_with_exif(&tiff);
    let info = ok(&bytes);

    assert_eq!((info.width, info.height), (64, 48));
    assert_eq!(info.sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(
        info.taken_at.as_deref(),
        Some("2026-01-20T09:15:30.25+07:00")
    );
    assert!(!info.taken_at_offset_assumed);
    assert_eq!(
        info.taken_at_time(),
        Some(datetime!(2026-01-20 02:15:30.25 UTC))
    );
    let gps = info.gps.as_ref().expect("gps");
    assert!(close(gps.lat, 23.3001, 1e-9), "{gps:?}");
    assert!(close(gps.lon, 105.3005, 1e-9), "{gps:?}");
    assert_eq!(gps.altitude_m, Some(1250.5));
    assert_eq!(gps.accuracy_m, Some(8.0));
    assert_eq!(gps.time_utc.as_deref(), Some("2026-01-20T02:15:29.5Z"));
    assert_eq!(info.camera.as_deref(), Some("samsung SM-A546E"));
    assert_eq!(info.orientation, Some(6));
    assert_eq!(info.warnings, vec![]);
}

#[test]
fn the_encoded_photo_decodes_to_the_same_size() {
    // Guards the header walk against the real decoder.
    let bytes = plain_jpeg(123, 45);
    let decoded =
        image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("decodes");
    let info = ok(&bytes);
    assert_eq!(
        (info.width, info.height),
        (decoded.width(), decoded.height())
    );
    assert_eq!((info.width, info.height), (123, 45));
}

#[test]
fn big_endian_south_west_below_sea_level() {
    // 33°52'4" S, 151°12'26" W is in the ocean: fine, only the signs matter.
    let gps: Ifd = vec![
        (0x0001, Val::Ascii("S")),
        (0x0002, Val::Rational(vec![(33, 1), (52, 1), (4, 1)])),
        (0x0003, Val::Ascii("W")),
        (0x0004, Val::Rational(vec![(151, 1), (12, 1), (26, 1)])),
        (0x0005, Val::Byte(1)),
        (0x0006, Val::Rational(vec![(12, 1)])),
    ];
    let tiff = be().build(&camera_ifd0(), Some(&time_ifd(Some("-05:30"))), Some(&gps));
    let info = ok(&jpeg_with_exif(&tiff));
    let g = info.gps.as_ref().expect("gps");
    assert!(
        close(g.lat, -(33.0 + 52.0 / 60.0 + 4.0 / 3600.0), 1e-9),
        "{g:?}"
    );
    assert!(
        close(g.lon, -(151.0 + 12.0 / 60.0 + 26.0 / 3600.0), 1e-9),
        "{g:?}"
    );
    assert_eq!(g.altitude_m, Some(-12.0));
    assert_eq!((g.accuracy_m, g.time_utc.as_deref()), (None, None));
    assert_eq!(
        info.taken_at.as_deref(),
        Some("2026-01-20T09:15:30.25-05:30")
    );
    assert_eq!(info.camera.as_deref(), Some("samsung SM-A546E"));
    assert_eq!(info.orientation, Some(6));
    assert_eq!(info.warnings, vec![]);
}

#[test]
fn local_time_without_offset_is_read_as_vietnam_time() {
    let exif: Ifd = vec![(0x9003, Val::Ascii("2026:01:20 09:15:30"))];
    let tiff = le().build(&camera_ifd0(), Some(&exif), Some(&gps_vn()));
    let info = ok(&jpeg_with_exif(&tiff));
    assert_eq!(info.taken_at.as_deref(), Some("2026-01-20T09:15:30+07:00"));
    assert!(info.taken_at_offset_assumed);
    assert_eq!(codes(&info), vec![PhotoWarning::TIME_OFFSET_ASSUMED]);
    assert!(info.warnings[0].message.contains("UTC+7"));
}

#[test]
fn digitized_time_when_original_is_missing_and_blank_times_are_no_time() {
    let exif: Ifd = vec![
        (0x9003, Val::Ascii("    :  :     :  :  ")),
        (0x9004, Val::Ascii("2026:01:21 07:00:00")),
        (0x9012, Val::Ascii("+07:00")),
    ];
    let info = ok(&jpeg_with_exif(&le().build(
        &camera_ifd0(),
        Some(&exif),
        Some(&gps_vn()),
    )));
    assert_eq!(info.taken_at.as_deref(), Some("2026-01-21T07:00:00+07:00"));
    assert_eq!(info.warnings, vec![]);

    let unset: Ifd = vec![(0x9003, Val::Ascii("0000:00:00 00:00:00"))];
    let info = ok(&jpeg_with_exif(&le().build(
        &camera_ifd0(),
        Some(&unset),
        Some(&gps_vn()),
    )));
    assert_eq!(info.taken_at, None);
    assert_eq!(codes(&info), vec![PhotoWarning::NO_TIME]);
    assert!(info.warnings[0].message.contains("\"0000:00:00 00:00:00\""));
}

#[test]
fn no_exif_is_one_warning() {
    let info = ok(&plain_jpeg(64, 48));
    assert_eq!(codes(&info), vec![PhotoWarning::NO_EXIF]);
    assert_eq!((info.gps, info.taken_at, info.camera), (None, None, None));
}

#[test]
fn exif_without_gps() {
    let tiff = le().build(&camera_ifd0(), Some(&time_ifd(Some("+07:00"))), None);
    let info = ok(&jpeg_with_exif(&tiff));
    assert_eq!(codes(&info), vec![PhotoWarning::NO_GPS]);
    assert!(info.taken_at.is_some() && info.camera.is_some());
}

#[test]
fn exif_with_neither_time_nor_gps() {
    let info = ok(&jpeg_with_exif(&be().build(&camera_ifd0(), None, None)));
    assert_eq!(
        codes(&info),
        vec![PhotoWarning::NO_TIME, PhotoWarning::NO_GPS]
    );
    assert_eq!(info.camera.as_deref(), Some("samsung SM-A546E"));
}

#[test]
fn exif_after_jfif_comment_and_xmp() {
    // APP1 EXIF is not the first segment, and the first APP1 is XMP.
    let tiff = le().build(
        &camera_ifd0(),
        Some(&time_ifd(Some("+07:00"))),
        Some(&gps_vn()),
    );
    let plain = plain_jpeg(64, 48);
    let app0_len = usize::from(u16::from_be_bytes([plain[4], plain[5]]));
    assert_eq!(&plain[2..4], &[0xFF, 0xE0], "the encoder writes JFIF first");
    let split = 4 + app0_len;
    let bytes = [
        &plain[..split],
        &segment(0xFE, b"field team 3"),
        &segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"),
        &app1_exif(&tiff),
        &plain[split..],
    ]
    .concat();
    let info = ok(&bytes);
    assert!(info.gps.is_some() && info.taken_at.is_some());
    assert_eq!(info.warnings, vec![]);
}

#[test]
fn gps_ifd_with_a_next_ifd_is_still_read() {
    // Strictly invalid (sub-IFDs end the chain), but real phones write it; kamadak-exif reports it
    // as a partial result and keeps the fields.
    let tiff = Tiff {
        gps_next_ifd: 8,
        ..be()
    }
    .build(
        &camera_ifd0(),
        Some(&time_ifd(Some("+07:00"))),
        Some(&gps_vn()),
    );
    assert!(
        exif::Reader::new().read_raw(tiff.clone()).is_err(),
        "a strict parse fails"
    );
    let info = ok(&jpeg_with_exif(&tiff));
    assert!(
        info.gps
            .as_ref()
            .is_some_and(|g| close(g.lat, 23.3001, 1e-9)),
        "{info:?}"
    );
    assert_eq!(info.warnings, vec![]);
}

#[test]
fn camera_name_is_not_repeated() {
    let ifd0: Ifd = vec![
        (0x010F, Val::Ascii("Canon")),
        (0x0110, Val::Ascii("Canon EOS R6")),
    ];
    let info = ok(&jpeg_with_exif(&le().build(&ifd0, None, None)));
    assert_eq!(info.camera.as_deref(), Some("Canon EOS R6"));
    assert_eq!(info.orientation, None);
}

#[test]
fn unusable_gps_is_gps_invalid() {
    let base = gps_vn();
    let with = |tag: u16, v: Option<Val>| -> Ifd {
        let mut g: Ifd = base.iter().filter(|(t, _)| *t != tag).cloned().collect();
        if let Some(v) = v {
            g.push((tag, v));
        }
        g
    };
    let zero = || Val::Rational(vec![(0, 1), (0, 1), (0, 1)]);
    let mut origin = with(0x0002, Some(zero()));
    origin.retain(|(t, _)| *t != 0x0004);
    origin.push((0x0004, zero()));
    let cases: Vec<(&str, Ifd, &str)> = vec![
        ("no N/S", with(0x0001, None), "GPSLatitudeRef is missing"),
        (
            "bad ref",
            with(0x0003, Some(Val::Ascii("X"))),
            "GPSLongitudeRef is 'X'",
        ),
        (
            "lat > 90",
            with(0x0002, Some(Val::Rational(vec![(95, 1), (0, 1), (0, 1)]))),
            "out of range",
        ),
        (
            "zero denominator",
            with(0x0004, Some(Val::Rational(vec![(105, 0), (0, 1), (0, 1)]))),
            "not degrees, minutes and seconds",
        ),
        ("0, 0", origin, "0, 0"),
        (
            "void fix",
            with(0x0009, Some(Val::Ascii("V"))),
            "GPSStatus is V",
        ),
        (
            "no longitude",
            with(0x0004, None),
            "GPSLongitude is missing",
        ),
    ];
    for (name, gps, want) in cases {
        let tiff = le().build(&camera_ifd0(), Some(&time_ifd(Some("+07:00"))), Some(&gps));
        let info = ok(&jpeg_with_exif(&tiff));
        assert_eq!(info.gps, None, "{name}");
        assert_eq!(codes(&info), vec![PhotoWarning::GPS_INVALID], "{name}");
        let msg = &info.warnings[0].message;
        assert!(
            msg.contains(want),
            "{name}: {msg:?} should contain {want:?}"
        );
    }
}

#[test]
fn broken_exif_is_a_warning_not_a_refusal() {
    for tiff in [
        b"II*\0\x08\0\0\0\xff\xff".to_vec(),
        b"XX".to_vec(),
        b"MM\0*\xff\xff\xff\xff".to_vec(),
    ] {
        let info = ok(&jpeg_with_exif(&tiff));
        assert_eq!(codes(&info), vec![PhotoWarning::NO_EXIF], "{tiff:?}");
        assert!(info.warnings[0].message.contains("cannot be read"));
    }
}

// ---------------------------------------------------------------------------------------------
// inspect: refused files

#[test]
fn png_is_refused_by_name() {
    let mut png = Vec::new();
    image::RgbImage::new(8, 8)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let e = refused(&png);
    assert_eq!(e.code(), "unsupported_format");
    assert_eq!(e.to_string(), "field photos must be JPEG, this is PNG");
}

#[test]
fn heic_names_the_iphone_setting() {
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0";
    let e = refused(heic);
    assert_eq!(e.code(), "unsupported_format");
    assert!(e.to_string().contains("this is HEIC/HEIF"), "{e}");
    assert!(e.to_string().contains("Most Compatible"), "{e}");
}

#[test]
fn truncated_jpeg_is_corrupt() {
    let tiff = le().build(
        &camera_ifd0(),
        Some(&time_ifd(Some("+07:00"))),
        Some(&gps_vn()),
    );
    let bytes = jpeg_with_exif(&tiff);
    // Cut in the EXIF segment, the tables, the frame header, the image data, and just before EOI.
    for cut in [
        3,
        20,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 2,
        bytes.len() - 1,
    ] {
        let e = refused(&bytes[..cut]);
        assert_eq!(e.code(), "corrupt", "cut at {cut}: {e}");
    }
    let e = refused(&bytes[..bytes.len() - 100]);
    assert!(e.to_string().contains("truncated"), "{e}");
    // Zero-filled tail, as a failed copy leaves it.
    let mut zeroed = bytes.clone();
    let n = zeroed.len();
    zeroed[n - 200..].fill(0);
    assert_eq!(refused(&zeroed).code(), "corrupt");
}

#[test]
fn random_bytes_are_refused_without_panic() {
    let mut rng = StdRng::seed_from_u64(20260120);
    for i in 0..2000 {
        let len = rng.random_range(0..2048);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if i % 2 == 0 && bytes.len() >= 2 {
            bytes[0] = 0xFF; // pass the signature check, exercise the walk
            bytes[1] = 0xD8;
        }
        let e = refused(&bytes);
        assert!(
            [
                "not_an_image",
                "unsupported_format",
                "corrupt",
                "too_many_pixels"
            ]
            .contains(&e.code()),
            "{e}"
        );
    }
}

#[test]
fn mutated_photos_never_panic() {
    // Flip bytes of a real photo with EXIF: whatever comes out, it is an answer, not a panic.
    let tiff = be().build(
        &camera_ifd0(),
        Some(&time_ifd(Some("+07:00"))),
        Some(&gps_vn()),
    );
    let good = jpeg_with_exif(&tiff);
    let exif_end = 2 + 4 + 6 + tiff.len();
    let mut rng = StdRng::seed_from_u64(7);
    let mut accepted = 0;
    for _ in 0..3000 {
        let mut bytes = good.clone();
        for _ in 0..rng.random_range(1..8) {
            // Mostly inside the EXIF block, where the parsing is intricate.
            let at = if rng.random_bool(0.8) {
                rng.random_range(2..exif_end)
            } else {
                rng.random_range(0..bytes.len())
            };
            bytes[at] = rng.random();
        }
        if rng.random_bool(0.1) {
            bytes.truncate(rng.random_range(0..bytes.len()));
        }
        if let Ok(info) = inspect(&bytes, &PhotoLimits::default()) {
            accepted += 1;
            if let Some(g) = &info.gps {
                assert!(g.lat.abs() <= 90.0 && g.lon.abs() <= 180.0, "{g:?}");
            }
        }
    }
    assert!(accepted > 0, "some mutations only touch EXIF values");
}

#[test]
fn over_the_limits() {
    let bytes = plain_jpeg(64, 48);
    let limits = PhotoLimits {
        max_bytes: bytes.len() - 1,
        ..PhotoLimits::default()
    };
    let e = inspect(&bytes, &limits).expect_err("too large");
    assert_eq!(e.code(), "too_large");
    assert!(
        e.to_string().contains(&format!("({} bytes)", bytes.len())),
        "{e}"
    );
    let limits = PhotoLimits {
        max_pixels: 64 * 48 - 1,
        ..PhotoLimits::default()
    };
    let e = inspect(&bytes, &limits).expect_err("too many pixels");
    assert_eq!(e.code(), "too_many_pixels");
    assert!(e.to_string().contains("64 × 48 pixels"), "{e}");
    // Exactly at the limits is fine.
    let limits = PhotoLimits {
        max_bytes: bytes.len(),
        max_pixels: 64 * 48,
    };
    assert!(inspect(&bytes, &limits).is_ok());
}

#[test]
fn a_24_mb_photo_is_walked_not_decoded() {
    // A frame header claiming 8000 × 6000 and 24 MB of entropy-coded bytes: accepted on structure,
    // the way a large camera photo is, without decoding 48 Mpx.
    let mut rng = StdRng::seed_from_u64(1);
    let mut block = Vec::new();
    while block.len() < 4096 {
        let b: u8 = rng.random();
        block.push(b);
        if b == 0xFF {
            block.push(if rng.random_bool(0.1) { 0xD3 } else { 0 }); // stuffing or a restart
        }
    }
    let mut bytes = vec![0xFF, 0xD8];
    bytes.extend(segment(0xC0, &[8, 0x17, 0x70, 0x1F, 0x40, 1, 1, 0x11, 0]));
    bytes.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
    bytes.extend(block.repeat((24 << 20) / block.len()));
    bytes.extend([0xFF, 0xD9]);
    let started = std::time::Instant::now();
    let info = ok(&bytes);
    eprintln!("24 MB inspected in {:?}", started.elapsed());
    assert_eq!((info.width, info.height), (8000, 6000));
    assert_eq!(codes(&info), vec![PhotoWarning::NO_EXIF]);
}

// ---------------------------------------------------------------------------------------------
// check_location: a plot of about 100 m × 110 m near Đồng Văn

fn plot() -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: 105.300, y: 23.300), (x: 105.301, y: 23.300), (x: 105.301, y: 23.301),
        (x: 105.300, y: 23.301),
    ]])
}

fn photo_at(lon: f64, lat: f64, accuracy_m: Option<f64>) -> PhotoInfo {
    PhotoInfo {
        width: 4000,
        height: 3000,
        sha256: String::new(),
        taken_at: None,
        taken_at_offset_assumed: false,
        gps: Some(Gps {
            lon,
            lat,
            altitude_m: None,
            accuracy_m,
            time_utc: None,
        }),
        camera: None,
        orientation: None,
        warnings: Vec::new(),
    }
}

#[test]
fn inside_the_plot_is_zero() {
    let mut info = photo_at(105.3005, 23.3005, Some(5.0));
    let check = check_location(&mut info, &plot(), DEFAULT_MAX_DISTANCE_M).expect("checked");
    assert_eq!(check.distance_m, 0.0);
    assert!(check.within);
    assert_eq!(info.warnings, vec![]);
}

#[test]
fn near_the_plot_is_within() {
    // 0.001° south of the southern edge: about 110.7 m.
    let mut info = photo_at(105.3005, 23.299, None);
    let check = check_location(&mut info, &plot(), DEFAULT_MAX_DISTANCE_M).expect("checked");
    assert!(close(check.distance_m, 110.7, 0.5), "{check:?}");
    assert!(check.within);
    assert_eq!(info.warnings, vec![]);
}

#[test]
fn far_from_the_plot_is_a_warning() {
    // 0.01° east of the eastern edge: about 1023 m at this latitude; corner cases use the corner.
    let mut info = photo_at(105.311, 23.3005, Some(10.0));
    let check = check_location(&mut info, &plot(), DEFAULT_MAX_DISTANCE_M).expect("checked");
    assert!(close(check.distance_m, 1023.5, 2.0), "{check:?}");
    assert!(!check.within);
    assert_eq!(codes(&info), vec![PhotoWarning::FAR_FROM_PLOT]);
    let msg = &info.warnings[0].message;
    assert!(msg.starts_with("photo taken 102"), "{msg}");
    assert!(
        msg.contains("at most 200 m allowed, GPS error ±10 m"),
        "{msg}"
    );

    // North-east of the corner: the distance is to the corner.
    let mut info = photo_at(105.302, 23.302, None);
    let check = check_location(&mut info, &plot(), DEFAULT_MAX_DISTANCE_M).expect("checked");
    let corner = geo::Distance::distance(
        &geo::Geodesic,
        geo::Point::new(105.302, 23.302),
        geo::Point::new(105.301, 23.301),
    );
    assert!(
        close(check.distance_m, corner, 0.01),
        "{check:?} vs {corner}"
    );
}

#[test]
fn gps_error_widens_the_limit() {
    // About 221 m away: beyond 200 m, but within it given a ±30 m error.
    let mut info = photo_at(105.3005, 23.298, None);
    assert!(
        !check_location(&mut info, &plot(), 200.0)
            .expect("checked")
            .within
    );
    assert!(info.has_warning(PhotoWarning::FAR_FROM_PLOT));

    let mut info = photo_at(105.3005, 23.298, Some(30.0));
    let check = check_location(&mut info, &plot(), 200.0).expect("checked");
    assert!(check.within && info.warnings.is_empty(), "{check:?}");

    // An error radius beyond the limit proves nothing.
    let mut info = photo_at(105.3005, 23.298, Some(500.0));
    assert!(
        check_location(&mut info, &plot(), 200.0)
            .expect("checked")
            .within
    );
    assert_eq!(codes(&info), vec![PhotoWarning::GPS_IMPRECISE]);
}

#[test]
fn checking_again_replaces_the_location_warnings() {
    let mut info = photo_at(105.311, 23.3005, None);
    check_location(&mut info, &plot(), 200.0);
    check_location(&mut info, &plot(), 200.0);
    assert_eq!(codes(&info), vec![PhotoWarning::FAR_FROM_PLOT]);
    check_location(&mut info, &plot(), 2000.0);
    assert_eq!(info.warnings, vec![]);
}

#[test]
fn no_gps_no_location_check() {
    let mut info = ok(&plain_jpeg(16, 16));
    assert_eq!(check_location(&mut info, &plot(), 200.0), None);
    assert_eq!(codes(&info), vec![PhotoWarning::NO_EXIF]);
}

#[test]
fn a_real_photo_through_both_checks() {
    let tiff = le().build(
        &camera_ifd0(),
        Some(&time_ifd(Some("+07:00"))),
        Some(&gps_vn()),
    );
    let mut info = ok(&jpeg_with_exif(&tiff));
    // lon 105.3005, lat 23.3001: inside the plot.
    let check = check_location(&mut info, &plot(), DEFAULT_MAX_DISTANCE_M).expect("gps");
    assert_eq!((check.distance_m, check.within), (0.0, true));
    let flight = datetime!(2026-01-15 08:30 +7);
    let check = check_time(&mut info, Some(flight), datetime!(2026-01-22 00:00 UTC)).expect("t");
    assert!(!check.in_future && !check.before_flight);
    assert_eq!(info.warnings, vec![]);
}

// ---------------------------------------------------------------------------------------------
// check_time

fn taken(at: &str) -> PhotoInfo {
    PhotoInfo {
        taken_at: Some(at.to_string()),
        gps: None,
        ..photo_at(0.0, 0.0, None)
    }
}

const NOW: OffsetDateTime = datetime!(2026-02-01 03:00 UTC); // 10:00 in Vietnam
const FLIGHT: OffsetDateTime = datetime!(2026-01-25 08:00 +7);

#[test]
fn time_in_the_future() {
    let mut info = taken("2026-02-01T11:00:00+07:00"); // an hour after `NOW`
    let check = check_time(&mut info, Some(FLIGHT), NOW).expect("checked");
    assert!(check.in_future && !check.before_flight);
    assert_eq!(codes(&info), vec![PhotoWarning::TIME_IN_FUTURE]);
    assert!(
        info.warnings[0].message.contains(
            "at 2026-02-01 11:00 (UTC+7), after it was received (2026-02-01 10:00 (UTC+7))"
        ),
        "{}",
        info.warnings[0].message
    );
    // Ten minutes ahead is a clock's drift, not a warning.
    let mut info = taken("2026-02-01T10:10:00+07:00");
    assert!(!check_time(&mut info, None, NOW).expect("checked").in_future);
    assert_eq!(info.warnings, vec![]);
}

#[test]
fn taken_before_the_flight() {
    let mut info = taken("2026-01-24T16:00:00+07:00");
    let check = check_time(&mut info, Some(FLIGHT), NOW).expect("checked");
    assert!(check.before_flight && !check.in_future);
    assert_eq!(codes(&info), vec![PhotoWarning::TAKEN_BEFORE_FLIGHT]);
    assert!(
        info.warnings[0]
            .message
            .contains("(2026-01-25 08:00 (UTC+7))")
    );
    // Without a flight time there is nothing to be before.
    let mut info = taken("2026-01-24T16:00:00+07:00");
    assert!(
        !check_time(&mut info, None, NOW)
            .expect("checked")
            .before_flight
    );
}

#[test]
fn between_flight_and_upload_is_fine_in_any_offset() {
    // 2026-01-26 01:00 UTC is 08:00 in Vietnam: a day after the flight.
    for at in [
        "2026-01-26T08:00:00+07:00",
        "2026-01-26T01:00:00Z",
        "2026-01-25T20:00:00-05:00",
    ] {
        let mut info = taken(at);
        let check = check_time(&mut info, Some(FLIGHT), NOW).expect("checked");
        assert!(!check.in_future && !check.before_flight, "{at}");
        assert_eq!(check.taken_at, datetime!(2026-01-26 01:00 UTC));
        assert_eq!(info.warnings, vec![]);
    }
}

#[test]
fn gps_time_when_the_camera_has_none() {
    let mut info = photo_at(105.3005, 23.3005, None);
    if let Some(g) = info.gps.as_mut() {
        g.time_utc = Some("2026-01-20T02:00:00Z".to_string());
    }
    let check = check_time(&mut info, Some(FLIGHT), NOW).expect("gps time");
    assert!(check.before_flight);
    assert_eq!(check.taken_at, datetime!(2026-01-20 02:00 UTC));

    let mut no_time = photo_at(105.3005, 23.3005, None);
    assert_eq!(check_time(&mut no_time, Some(FLIGHT), NOW), None);
    assert_eq!(no_time.warnings, vec![]);
}

#[test]
fn checking_time_again_replaces_its_warnings() {
    let mut info = taken("2026-01-24T16:00:00+07:00");
    check_time(&mut info, Some(FLIGHT), NOW);
    assert_eq!(codes(&info), vec![PhotoWarning::TAKEN_BEFORE_FLIGHT]);
    check_time(&mut info, Some(datetime!(2026-01-20 08:00 +7)), NOW);
    assert_eq!(info.warnings, vec![]);
}
