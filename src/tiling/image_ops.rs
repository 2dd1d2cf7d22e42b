//! RGBA pixel work for display tiles: 2×2 alpha-weighted reduction for overviews, and encoding
//! (PNG through `image`'s fast `fdeflate` path, or lossless WebP).

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;

use crate::config::TileFormat;
use crate::grid::TILE_SIZE;

const T: usize = TILE_SIZE as usize;

/// Halves an RGBA image in place: the `w × h` image at the top left of a buffer with row stride
/// `stride` pixels becomes a `w/2 × h/2` image at the top left. Colours are averaged weighted by
/// alpha so the footprint edge does not darken; alpha is averaged.
pub fn halve_in_place(buf: &mut [u8], stride: usize, w: usize, h: usize) {
    for y in 0..h / 2 {
        for x in 0..w / 2 {
            let i00 = ((2 * y) * stride + 2 * x) * 4;
            let i01 = i00 + 4;
            let i10 = i00 + stride * 4;
            let i11 = i10 + 4;
            let a = [buf[i00 + 3], buf[i01 + 3], buf[i10 + 3], buf[i11 + 3]].map(u32::from);
            let sa = a[0] + a[1] + a[2] + a[3];
            let o = (y * stride + x) * 4;
            if sa == 0 {
                buf[o..o + 4].copy_from_slice(&[0, 0, 0, 0]);
                continue;
            }
            let mut px = [0u8; 4];
            for (c, p) in px.iter_mut().enumerate().take(3) {
                let s = u32::from(buf[i00 + c]) * a[0]
                    + u32::from(buf[i01 + c]) * a[1]
                    + u32::from(buf[i10 + c]) * a[2]
                    + u32::from(buf[i11 + c]) * a[3];
                *p = ((s + sa / 2) / sa) as u8;
            }
            px[3] = ((sa + 2) / 4) as u8;
            buf[o..o + 4].copy_from_slice(&px);
        }
    }
}

/// Copies the 256 × 256 tile whose top-left pixel is `(x0, y0)` out of a canvas with row stride
/// `stride` pixels. `None` when the tile is wholly transparent.
pub fn cut_tile(canvas: &[u8], stride: usize, x0: usize, y0: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; T * T * 4];
    let mut any = false;
    for y in 0..T {
        let src = ((y0 + y) * stride + x0) * 4;
        let row = &canvas[src..src + T * 4];
        any |= row.chunks_exact(4).any(|p| p[3] != 0);
        out[y * T * 4..(y + 1) * T * 4].copy_from_slice(row);
    }
    any.then_some(out)
}

/// Encodes a 256 × 256 RGBA tile. Fully opaque tiles are written as RGB (a quarter smaller).
pub fn encode(rgba: &[u8], format: TileFormat) -> Result<Vec<u8>, String> {
    let opaque = rgba.chunks_exact(4).all(|p| p[3] == 255);
    let mut out = Vec::with_capacity(rgba.len() / 3);
    let size = TILE_SIZE;
    match format {
        TileFormat::Png => {
            let enc = PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Up);
            if opaque {
                let rgb: Vec<u8> = rgba
                    .chunks_exact(4)
                    .flat_map(|p| [p[0], p[1], p[2]])
                    .collect();
                enc.write_image(&rgb, size, size, image::ExtendedColorType::Rgb8)
            } else {
                enc.write_image(rgba, size, size, image::ExtendedColorType::Rgba8)
            }
        }
        TileFormat::Webp => WebPEncoder::new_lossless(&mut out).encode(
            rgba,
            size,
            size,
            image::ExtendedColorType::Rgba8,
        ),
    }
    .map_err(|e| format!("encoding a tile: {e}"))?;
    Ok(out)
}

/// Decodes a stored display tile (PNG or WebP) to 256 × 256 RGBA.
pub fn decode(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let img = image::load_from_memory(bytes).map_err(|e| format!("decoding a tile: {e}"))?;
    let rgba = img.to_rgba8();
    if rgba.width() != TILE_SIZE || rgba.height() != TILE_SIZE {
        return Err(format!(
            "a stored tile is {} × {}, not {TILE_SIZE} × {TILE_SIZE}",
            rgba.width(),
            rgba.height()
        ));
    }
    Ok(rgba.into_raw())
}

/// Draws `top` over `bottom` (both 256 × 256 RGBA, straight alpha). Returns whether the result is
/// fully opaque (nothing below can show through).
pub fn composite_over(bottom: &mut [u8], top: &[u8]) -> bool {
    let mut opaque = true;
    for (b, t) in bottom.chunks_exact_mut(4).zip(top.chunks_exact(4)) {
        let ta = u32::from(t[3]);
        if ta == 255 {
            b.copy_from_slice(t);
        } else if ta > 0 {
            let ba = u32::from(b[3]);
            let out_a = ta + ba * (255 - ta) / 255;
            for c in 0..3 {
                let v = (u32::from(t[c]) * ta + u32::from(b[c]) * ba * (255 - ta) / 255) / out_a;
                b[c] = v as u8;
            }
            b[3] = out_a as u8;
        }
        opaque &= b[3] == 255;
    }
    opaque
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_weights_colour_by_alpha() {
        // 2×2: one opaque red pixel, three transparent black ones.
        let mut buf = vec![0u8; 2 * 2 * 4];
        buf[..4].copy_from_slice(&[200, 0, 0, 255]);
        halve_in_place(&mut buf, 2, 2, 2);
        assert_eq!(&buf[..4], &[200, 0, 0, 64]);
    }

    #[test]
    fn encode_decode_round_trip_both_formats() {
        let mut rgba = vec![0u8; T * T * 4];
        for (i, p) in rgba.chunks_exact_mut(4).enumerate() {
            p.copy_from_slice(&[
                (i % 251) as u8,
                (i % 13) as u8,
                7,
                if i % 5 == 0 { 0 } else { 255 },
            ]);
            if p[3] == 0 {
                p[..3].copy_from_slice(&[0, 0, 0]);
            }
        }
        for f in [TileFormat::Png, TileFormat::Webp] {
            let bytes = encode(&rgba, f).unwrap();
            assert_eq!(decode(&bytes).unwrap(), rgba, "{f:?}");
        }
        let opaque = vec![9u8; T * T * 4]
            .chunks(4)
            .flat_map(|_| [1, 2, 3, 255])
            .collect::<Vec<_>>();
        assert_eq!(
            decode(&encode(&opaque, TileFormat::Png).unwrap()).unwrap(),
            opaque
        );
    }

    #[test]
    fn compositing_stops_at_opaque() {
        let mut bottom = vec![0u8; T * T * 4];
        let top: Vec<u8> = (0..T * T).flat_map(|_| [10, 20, 30, 255]).collect();
        assert!(composite_over(&mut bottom, &top));
        assert_eq!(&bottom[..4], &[10, 20, 30, 255]);
        let mut half = vec![0u8; T * T * 4];
        half[..4].copy_from_slice(&[100, 100, 100, 255]);
        assert!(!composite_over(&mut half, &vec![0u8; T * T * 4]));
        assert_eq!(&half[..4], &[100, 100, 100, 255]);
    }
}
