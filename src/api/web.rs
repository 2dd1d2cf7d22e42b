//! The web map's static files, embedded from `web/` at build time so the binary is self-contained
//! and nothing is fetched from the internet.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "web/"]
struct Assets;

const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

pub async fn redirect() -> Redirect {
    Redirect::permanent("/map/")
}

pub async fn index() -> Response {
    serve("index.html", None)
}

/// A file of the web map; a `Range: bytes=…` request (one range) is answered `206` with that
/// part — how the browser's PMTiles reader reads the basemap archive, a directory at a time.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let range = headers
        .get(header::RANGE)
        .map(|v| v.to_str().unwrap_or("invalid"));
    serve(&path, range)
}

fn serve(path: &str, range: Option<&str>) -> Response {
    if path
        .split('/')
        .any(|seg| seg == ".." || seg.starts_with('.'))
    {
        return super::ApiError::not_found("no such file").into_response();
    }
    match Assets::get(path) {
        Some(file) => {
            let mime = file.metadata.mimetype();
            let len = file.data.len() as u64;
            let mut resp = match range
                .map(|r| http_range_header::parse_range_header(r).and_then(|p| p.validate(len)))
            {
                None => (StatusCode::OK, file.data.into_owned()).into_response(),
                Some(Ok(ranges)) if ranges.len() == 1 => {
                    let r = &ranges[0];
                    let part = file.data[*r.start() as usize..=*r.end() as usize].to_vec();
                    let mut resp = (StatusCode::PARTIAL_CONTENT, part).into_response();
                    let cr = format!("bytes {}-{}/{len}", r.start(), r.end());
                    if let Ok(v) = HeaderValue::from_str(&cr) {
                        resp.headers_mut().insert(header::CONTENT_RANGE, v);
                    }
                    resp
                }
                Some(_) => {
                    let mut resp = super::ApiError::new(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        format!(
                            "Range {:?} is not one range within the {len} bytes of {path:?}",
                            range.unwrap_or_default()
                        ),
                    )
                    .into_response();
                    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                        resp.headers_mut().insert(header::CONTENT_RANGE, v);
                    }
                    return resp;
                }
            };
            let h = resp.headers_mut();
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            if let Ok(v) = HeaderValue::from_str(mime) {
                h.insert(header::CONTENT_TYPE, v);
            }
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            let cache = if path.starts_with("vendor/") || path.starts_with("basemap/") {
                "public, max-age=86400"
            } else {
                "no-cache"
            };
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..8]));
            if let Ok(v) = HeaderValue::from_str(&etag) {
                h.insert(header::ETAG, v);
            }
            resp
        }
        None => {
            super::ApiError::not_found(format!("no file {path:?} in the web map")).into_response()
        }
    }
}
