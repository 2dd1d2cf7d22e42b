//! Where a survey's tiles live on disk, and the two tile formats.
//!
//! ```text
//! TILES_DIR/{survey}/{z}/{x}/{y}.png|webp        display tiles, every zoom min..=native
//! TILES_DIR/{survey}/analysis/{z}/{x}/{y}.bands  analysis tiles, native zoom only
//! TILES_DIR/{survey}.part/…                      a tiling in progress (never served)
//! ```
//!
//! A survey directory appears by one `rename` of its `.part` directory once every tile is written,
//! so readers see all of a survey or none of it. Tiles wholly outside the footprint are not written.
//!
//! Analysis tiles (`.bands`) are raw so the classifier reads them without decoding:
//! a 16-byte header — magic `VGA1`, sample bytes (1 or 2), band count, 5 role codes
//! (`r g b n e`, space for absent), tile size as u16 LE, 3 reserved bytes — then one plane per
//! band (256 × 256 samples, row-major, little-endian), then a mask plane (0 outside the footprint,
//! 255 inside).

use std::path::{Path, PathBuf};

use crate::grid::{TILE_SIZE, Tile};
use crate::ingest::raster::Role;

pub const ANALYSIS_MAGIC: &[u8; 4] = b"VGA1";
pub const ANALYSIS_HEADER: usize = 16;

/// Paths of one survey's tiles.
#[derive(Debug, Clone)]
pub struct SurveyDir {
    pub root: PathBuf,
}

impl SurveyDir {
    pub fn new(tiles_dir: &Path, survey: &str) -> SurveyDir {
        SurveyDir {
            root: tiles_dir.join(survey),
        }
    }

    /// The staging directory of a tiling in progress.
    pub fn staging(tiles_dir: &Path, survey: &str) -> SurveyDir {
        SurveyDir {
            root: tiles_dir.join(format!("{survey}.part")),
        }
    }

    pub fn display(&self, t: Tile, ext: &str) -> PathBuf {
        self.root
            .join(t.z.to_string())
            .join(t.x.to_string())
            .join(format!("{}.{ext}", t.y))
    }

    pub fn analysis(&self, t: Tile) -> PathBuf {
        self.root
            .join("analysis")
            .join(t.z.to_string())
            .join(t.x.to_string())
            .join(format!("{}.bands", t.y))
    }
}

fn role_code(r: Role) -> u8 {
    match r {
        Role::Red => b'r',
        Role::Green => b'g',
        Role::Blue => b'b',
        Role::Nir => b'n',
        Role::RedEdge => b'e',
        Role::Alpha => b'a',
    }
}

fn role_from_code(c: u8) -> Option<Role> {
    Some(match c {
        b'r' => Role::Red,
        b'g' => Role::Green,
        b'b' => Role::Blue,
        b'n' => Role::Nir,
        b'e' => Role::RedEdge,
        b'a' => Role::Alpha,
        _ => return None,
    })
}

/// One analysis tile in memory: planes of u16 samples (8-bit sources hold 0..=255) and the mask.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisTile {
    pub sample_bytes: u8,
    pub roles: Vec<Role>,
    /// `roles.len()` planes of 256 × 256.
    pub planes: Vec<Vec<u16>>,
    pub mask: Vec<u8>,
}

impl AnalysisTile {
    pub fn plane(&self, role: Role) -> Option<&[u16]> {
        self.roles
            .iter()
            .position(|r| *r == role)
            .map(|i| self.planes[i].as_slice())
    }

    /// Serialises to the `.bands` format.
    pub fn encode(&self) -> Vec<u8> {
        let n = (TILE_SIZE * TILE_SIZE) as usize;
        let sb = self.sample_bytes as usize;
        let mut out = Vec::with_capacity(ANALYSIS_HEADER + self.planes.len() * n * sb + n);
        out.extend_from_slice(ANALYSIS_MAGIC);
        out.push(self.sample_bytes);
        out.push(self.roles.len() as u8);
        for i in 0..5 {
            out.push(self.roles.get(i).map_or(b' ', |r| role_code(*r)));
        }
        out.extend_from_slice(&(TILE_SIZE as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0, 0]);
        for p in &self.planes {
            if sb == 1 {
                out.extend(p.iter().map(|&v| v as u8));
            } else {
                for v in p {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        out.extend_from_slice(&self.mask);
        out
    }

    /// Parses the `.bands` format, naming what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<AnalysisTile, String> {
        if bytes.len() < ANALYSIS_HEADER || &bytes[..4] != ANALYSIS_MAGIC {
            return Err("not a Vigil analysis tile (bad magic)".into());
        }
        let sb = bytes[4];
        let nb = bytes[5] as usize;
        if !(sb == 1 || sb == 2) || nb == 0 || nb > 5 {
            return Err(format!("bad header: {sb} bytes per sample, {nb} bands"));
        }
        let roles = bytes[6..6 + nb]
            .iter()
            .map(|&c| role_from_code(c).ok_or_else(|| format!("unknown band role code {c}")))
            .collect::<Result<Vec<_>, _>>()?;
        let size = u16::from_le_bytes([bytes[11], bytes[12]]) as usize;
        let n = size * size;
        let want = ANALYSIS_HEADER + nb * n * sb as usize + n;
        if bytes.len() != want {
            return Err(format!("{} bytes, expected {want}", bytes.len()));
        }
        let mut planes = Vec::with_capacity(nb);
        let mut at = ANALYSIS_HEADER;
        for _ in 0..nb {
            let p: Vec<u16> = if sb == 1 {
                bytes[at..at + n].iter().map(|&v| u16::from(v)).collect()
            } else {
                bytes[at..at + 2 * n]
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect()
            };
            at += n * sb as usize;
            planes.push(p);
        }
        Ok(AnalysisTile {
            sample_bytes: sb,
            roles,
            planes,
            mask: bytes[at..at + n].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysis_tiles_round_trip_and_reject_garbage() {
        let n = 256 * 256;
        for sb in [1u8, 2] {
            let t = AnalysisTile {
                sample_bytes: sb,
                roles: vec![Role::Red, Role::Green, Role::Blue, Role::Nir],
                planes: (0..4)
                    .map(|b| (0..n).map(|i| ((i * 7 + b) % 250) as u16).collect())
                    .collect(),
                mask: (0..n).map(|i| if i % 3 == 0 { 255 } else { 0 }).collect(),
            };
            let back = AnalysisTile::decode(&t.encode()).unwrap();
            assert_eq!(back, t);
        }
        assert!(AnalysisTile::decode(b"nope").is_err());
        let mut bad = AnalysisTile {
            sample_bytes: 1,
            roles: vec![Role::Red],
            planes: vec![vec![0; n]],
            mask: vec![0; n],
        }
        .encode();
        bad.pop();
        assert!(AnalysisTile::decode(&bad).unwrap_err().contains("expected"));
    }
}
