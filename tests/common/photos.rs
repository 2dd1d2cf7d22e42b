//! Real JPEGs with EXIF for the field-photo tests: the `image` encoder's baseline JPEG, and a
//! small TIFF/EXIF writer (either byte order) for the tags `vigil::evidence` reads.

use image::codecs::jpeg::JpegEncoder;

// ---------------------------------------------------------------------------------------------
// A TIFF/EXIF writer: just enough to put the tags the module reads into either byte order.

#[derive(Clone)]
pub enum Val {
    Byte(u8),
    Ascii(&'static str),
    Short(u16),
    Long(u32),
    Rational(Vec<(u32, u32)>),
}

pub type Ifd = Vec<(u16, Val)>;

pub const EXIF_IFD: u16 = 0x8769;
pub const GPS_IFD: u16 = 0x8825;

pub struct Tiff {
    pub big_endian: bool,
    /// Non-zero: the GPS IFD points on to a next IFD, as some Android phones write it.
    pub gps_next_ifd: u32,
}

impl Tiff {
    pub fn u16(&self, v: u16) -> [u8; 2] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    pub fn u32(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Type code, count and bytes of a value.
    pub fn encode(&self, v: &Val) -> (u16, u32, Vec<u8>) {
        match v {
            Val::Byte(b) => (1, 1, vec![*b]),
            Val::Ascii(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                (2, b.len() as u32, b)
            }
            Val::Short(x) => (3, 1, self.u16(*x).to_vec()),
            Val::Long(x) => (4, 1, self.u32(*x).to_vec()),
            Val::Rational(r) => {
                let b = r
                    .iter()
                    .flat_map(|&(n, d)| [self.u32(n), self.u32(d)].concat())
                    .collect();
                (5, r.len() as u32, b)
            }
        }
    }

    /// One IFD placed at `at`, its long values after it; `next` is the next-IFD offset.
    pub fn ifd(&self, entries: &Ifd, at: usize, next: u32) -> Vec<u8> {
        let mut entries = entries.clone();
        entries.sort_by_key(|(tag, _)| *tag);
        let mut head = self.u16(entries.len() as u16).to_vec();
        let mut data = Vec::new();
        let data_at = at + 2 + 12 * entries.len() + 4;
        for (tag, v) in &entries {
            let (typ, count, bytes) = self.encode(v);
            head.extend(self.u16(*tag));
            head.extend(self.u16(typ));
            head.extend(self.u32(count));
            if bytes.len() <= 4 {
                let mut inline = bytes.clone();
                inline.resize(4, 0);
                head.extend(inline);
            } else {
                head.extend(self.u32((data_at + data.len()) as u32));
                data.extend(bytes);
                if data.len() % 2 == 1 {
                    data.push(0);
                }
            }
        }
        head.extend(self.u32(next));
        head.extend(data);
        head
    }

    /// A TIFF header, IFD0 (with pointers to the EXIF and GPS IFDs when given), then those IFDs.
    pub fn build(&self, ifd0: &Ifd, exif: Option<&Ifd>, gps: Option<&Ifd>) -> Vec<u8> {
        let with_pointers = |exif_at: usize, gps_at: usize| {
            let mut entries = ifd0.clone();
            if exif.is_some() {
                entries.push((EXIF_IFD, Val::Long(exif_at as u32)));
            }
            if gps.is_some() {
                entries.push((GPS_IFD, Val::Long(gps_at as u32)));
            }
            entries
        };
        // The IFDs' sizes do not depend on the pointer values: measure, then place.
        let ifd0_len = self.ifd(&with_pointers(0, 0), 8, 0).len();
        let exif_at = 8 + ifd0_len;
        let exif_bytes = exif.map(|e| self.ifd(e, exif_at, 0)).unwrap_or_default();
        let gps_at = exif_at + exif_bytes.len();
        let gps_bytes = gps
            .map(|g| self.ifd(g, gps_at, self.gps_next_ifd))
            .unwrap_or_default();

        let mut out = if self.big_endian {
            b"MM".to_vec()
        } else {
            b"II".to_vec()
        };
        out.extend(self.u16(42));
        out.extend(self.u32(8));
        out.extend(self.ifd(&with_pointers(exif_at, gps_at), 8, 0));
        out.extend(exif_bytes);
        out.extend(gps_bytes);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// JPEGs

/// A real baseline JPEG of a green-brown gradient, as the `image` encoder writes it (SOI, APP0 JFIF,
/// tables, SOF0, SOS, data, EOI).
pub fn plain_jpeg(width: u32, height: u32) -> Vec<u8> {
    let pixels: Vec<u8> = (0..width * height)
        .flat_map(|i| {
            let (x, y) = (i % width, i / width);
            [(x * 255 / width) as u8, 120, (y * 255 / height) as u8]
        })
        .collect();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 85)
        .encode(&pixels, width, height, image::ExtendedColorType::Rgb8)
        .expect("encode");
    out
}

pub fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend(((payload.len() + 2) as u16).to_be_bytes());
    s.extend(payload);
    s
}

pub fn app1_exif(tiff: &[u8]) -> Vec<u8> {
    segment(0xE1, &[b"Exif\0\0".as_slice(), tiff].concat())
}

/// `plain_jpeg` with `segments` inserted right after SOI (the EXIF spec's place for APP1).
pub fn jpeg_with(segments: &[Vec<u8>]) -> Vec<u8> {
    let plain = plain_jpeg(64, 48);
    [&plain[..2], &segments.concat(), &plain[2..]].concat()
}

pub fn jpeg_with_exif(tiff: &[u8]) -> Vec<u8> {
    jpeg_with(&[app1_exif(tiff)])
}

/// 23°18'0.36" N, 105°18'1.8" E, i.e. lon 105.3005, lat 23.3001: a hillside near Đồng Văn.
pub fn gps_vn() -> Ifd {
    vec![
        (0x0000, Val::Byte(2)), // GPSVersionID (first byte is enough here)
        (0x0001, Val::Ascii("N")),
        (0x0002, Val::Rational(vec![(23, 1), (18, 1), (36, 100)])),
        (0x0003, Val::Ascii("E")),
        (0x0004, Val::Rational(vec![(105, 1), (18, 1), (18, 10)])),
        (0x0005, Val::Byte(0)),
        (0x0006, Val::Rational(vec![(12505, 10)])),
        (0x0007, Val::Rational(vec![(2, 1), (15, 1), (295, 10)])),
        (0x001D, Val::Ascii("2026:01:20")),
        (0x001F, Val::Rational(vec![(8, 1)])),
    ]
}

pub fn camera_ifd0() -> Ifd {
    vec![
        (0x010F, Val::Ascii("samsung")),
        (0x0110, Val::Ascii("SM-A546E")),
        (0x0112, Val::Short(6)),
    ]
}

pub fn time_ifd(offset: Option<&'static str>) -> Ifd {
    let mut ifd = vec![
        (0x9003, Val::Ascii("2026:01:20 09:15:30")),
        (0x9291, Val::Ascii("25")),
    ];
    if let Some(o) = offset {
        ifd.push((0x9011, Val::Ascii(o)));
    }
    ifd
}

pub fn le() -> Tiff {
    Tiff {
        big_endian: false,
        gps_next_ifd: 0,
    }
}

pub fn be() -> Tiff {
    Tiff {
        big_endian: true,
        gps_next_ifd: 0,
    }
}

/// A GPS IFD for `lon`, `lat` (degrees, any hemisphere) as a phone writes it.
pub fn gps_at(lon: f64, lat: f64) -> Ifd {
    let dms = |v: f64| {
        let v = v.abs();
        let d = v.trunc();
        let m = ((v - d) * 60.0).trunc();
        let s = ((v - d) * 60.0 - m) * 60.0;
        Val::Rational(vec![
            (d as u32, 1),
            (m as u32, 1),
            ((s * 10_000.0).round() as u32, 10_000),
        ])
    };
    vec![
        (0x0000, Val::Byte(2)),
        (0x0001, Val::Ascii(if lat >= 0.0 { "N" } else { "S" })),
        (0x0002, dms(lat)),
        (0x0003, Val::Ascii(if lon >= 0.0 { "E" } else { "W" })),
        (0x0004, dms(lon)),
    ]
}
