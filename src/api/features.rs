//! GeoJSON shapes of hotspots and boundaries, and the OGC links around them. Serialised from
//! borrowed structs (no intermediate `serde_json::Value`) because this is the hot path.

use serde::Serialize;

use crate::boundaries::{Boundary, Level};
use crate::hotspots::Hotspot;
use crate::index::BoundaryIndex;
use crate::time_util::format_date;

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub href: String,
    pub rel: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Link {
    pub fn new(
        href: impl Into<String>,
        rel: &'static str,
        media_type: &'static str,
        title: impl Into<String>,
    ) -> Link {
        Link {
            href: href.into(),
            rel,
            media_type: Some(media_type),
            title: Some(title.into()),
        }
    }
}

pub const GEOJSON: &str = "application/geo+json";
pub const JSON: &str = "application/json";
pub const HTML: &str = "text/html";

#[derive(Serialize)]
struct PointGeometry {
    #[serde(rename = "type")]
    t: &'static str,
    coordinates: [f64; 2],
}

#[derive(Serialize)]
pub struct HotspotProperties<'a> {
    name: &'a str,
    kind: &'static str,
    kind_label: &'static str,
    status: &'static str,
    status_label: &'static str,
    address: Option<&'a str>,
    source: Option<&'a str>,
    notes: Option<&'a str>,
    reported_on: String,
    status_since: String,
    commune_code: Option<&'a str>,
    commune_name: Option<&'a str>,
    province_code: Option<&'a str>,
    province_name: Option<&'a str>,
    created_at: &'a str,
    updated_at: &'a str,
    version: i64,
}

#[derive(Serialize)]
pub struct HotspotFeature<'a> {
    #[serde(rename = "type")]
    t: &'static str,
    id: i64,
    geometry: PointGeometry,
    pub properties: HotspotProperties<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

/// A hotspot as a GeoJSON Feature; `lonlat` swaps to lat/lon order for EPSG:4326 output, `project`
/// converts coordinates for other output CRSs.
pub fn hotspot<'a>(
    h: &'a Hotspot,
    b: &'a BoundaryIndex,
    project: fn(f64, f64) -> [f64; 2],
    links: Vec<Link>,
) -> HotspotFeature<'a> {
    HotspotFeature {
        t: "Feature",
        id: h.id,
        geometry: PointGeometry {
            t: "Point",
            coordinates: project(h.lon, h.lat),
        },
        properties: HotspotProperties {
            name: &h.name,
            kind: h.kind.code(),
            kind_label: h.kind.label_vi(),
            status: h.status.code(),
            status_label: h.status.label_vi(),
            address: h.address.as_deref(),
            source: h.source.as_deref(),
            notes: h.notes.as_deref(),
            reported_on: format_date(h.reported_on),
            status_since: format_date(h.status_since),
            commune_code: h.commune_code.as_deref(),
            commune_name: h
                .commune_code
                .as_deref()
                .and_then(|c| b.name(Level::Commune, c)),
            province_code: h.province_code.as_deref(),
            province_name: h
                .province_code
                .as_deref()
                .and_then(|p| b.name(Level::Province, p)),
            created_at: &h.created_at,
            updated_at: &h.updated_at,
            version: h.version,
        },
        links,
    }
}

#[derive(Serialize)]
pub struct BoundaryProperties<'a> {
    code: &'a str,
    name: &'a str,
    level: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    province_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    province_name: Option<&'a str>,
}

#[derive(Serialize)]
pub struct BoundaryFeature<'a> {
    #[serde(rename = "type")]
    t: &'static str,
    id: &'a str,
    geometry: geojson::Geometry,
    /// Self, alternate and collection on a single feature; none in item lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
    properties: BoundaryProperties<'a>,
}

pub fn boundary<'a>(
    x: &'a Boundary,
    b: &'a BoundaryIndex,
    project: fn(f64, f64) -> [f64; 2],
    links: Vec<Link>,
) -> BoundaryFeature<'a> {
    let mut geometry = x.geometry.clone();
    if project as usize != identity as fn(f64, f64) -> [f64; 2] as usize {
        use geo::MapCoordsInPlace;
        geometry.map_coords_in_place(|c| {
            let [a, b] = project(c.x, c.y);
            geo::Coord { x: a, y: b }
        });
    }
    BoundaryFeature {
        t: "Feature",
        id: &x.code,
        geometry: geojson::Geometry::new(geojson::Value::from(&geometry)),
        properties: BoundaryProperties {
            code: &x.code,
            name: &x.name,
            level: x.level.code(),
            province_code: x.parent.as_deref(),
            province_name: x.parent.as_deref().and_then(|p| b.name(Level::Province, p)),
        },
        links,
    }
}

/// `[lon, lat]` unchanged (CRS84).
pub fn identity(lon: f64, lat: f64) -> [f64; 2] {
    [lon, lat]
}

/// `[lat, lon]`: EPSG:4326's authority axis order.
pub fn lat_lon(lon: f64, lat: f64) -> [f64; 2] {
    [lat, lon]
}

/// Spherical (Web) Mercator, EPSG:3857.
pub fn web_mercator(lon: f64, lat: f64) -> [f64; 2] {
    const R: f64 = 6_378_137.0;
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78);
    [
        R * lon.to_radians(),
        R * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
            .tan()
            .ln(),
    ]
}

/// Inverse of [`web_mercator`].
pub fn from_web_mercator(x: f64, y: f64) -> [f64; 2] {
    const R: f64 = 6_378_137.0;
    [
        (x / R).to_degrees(),
        (2.0 * (y / R).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees(),
    ]
}

#[derive(Serialize)]
pub struct FeatureCollection<F: Serialize> {
    #[serde(rename = "type")]
    pub t: &'static str,
    pub features: Vec<F>,
    #[serde(rename = "numberMatched")]
    pub number_matched: usize,
    #[serde(rename = "numberReturned")]
    pub number_returned: usize,
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    pub links: Vec<Link>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_mercator_round_trips() {
        let [x, y] = web_mercator(105.8, 21.0);
        assert!((x - 11_777_602.0).abs() < 10.0, "{x}");
        let [lon, lat] = from_web_mercator(x, y);
        assert!((lon - 105.8).abs() < 1e-9 && (lat - 21.0).abs() < 1e-9);
    }
}
