//! Hotspot statistics as layers (issue 6, item 2): the `analytics` functions over the live
//! hotspots of a province the caller may see — suggested *tụ điểm* (DBSCAN), kernel density, and
//! Getis-Ord Gi* on the province's communes (queen contiguity, conditional permutations, FDR).

use geojson::FeatureCollection;
use rusqlite::params;

use crate::analytics::{
    self, Contiguity, GiStarOptions, IdPoint, KdeParams, Kernel, SpatialWeights, Unit,
};
use crate::auth::Principal;
use crate::boundaries::Level;
use crate::hotspots::model::FieldError;
use crate::service::{Error, Result, Vigil};

/// Statuses counted as a hotspot still there (not eliminated).
const ACTIVE: [&str; 3] = ["reported", "verifying", "reemerged"];

fn invalid(field: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid(vec![FieldError::new(field, e.to_string())])
}

impl Vigil {
    /// The live, active hotspots of `province`, if the caller may see the province (404 if not).
    fn province_points(&self, who: &Principal, province: &str) -> Result<Vec<IdPoint>> {
        let visible = who.role.is_admin()
            || who.jurisdiction.national
            || who.jurisdiction.covers(Some(province), None);
        let known = self.boundaries().get(Level::Province, province).is_some();
        if !visible || !known {
            return Err(Error::NotFound(format!(
                "province {province:?} does not exist or is outside your jurisdiction"
            )));
        }
        let rows = self.store().read(|c| -> Result<Vec<IdPoint>> {
            let mut st = c.prepare_cached(
                "SELECT id, lon, lat FROM hotspots WHERE deleted_at IS NULL AND province_code = ?1 \
                 AND status IN (?2, ?3, ?4)",
            )?;
            let rows = st
                .query_map(params![province, ACTIVE[0], ACTIVE[1], ACTIVE[2]], |r| {
                    Ok(IdPoint {
                        id: r.get(0)?,
                        lon: r.get(1)?,
                        lat: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })?;
        Ok(rows)
    }

    /// Active hotspots within `eps_m` of each other, at least `min_points` together: suggested
    /// *tụ điểm* (hull, centroid, members).
    pub fn hotspot_clusters(
        &self,
        who: &Principal,
        province: &str,
        eps_m: f64,
        min_points: usize,
    ) -> Result<FeatureCollection> {
        let points = self.province_points(who, province)?;
        let c = analytics::dbscan(&points, eps_m, min_points).map_err(|e| invalid("eps_m", e))?;
        Ok(analytics::geojson::clusters(&c))
    }

    /// Kernel density of the active hotspots over the province's bounding box (điểm per km²),
    /// as grid cells.
    pub fn hotspot_density(
        &self,
        who: &Principal,
        province: &str,
        bandwidth_m: f64,
        cell_m: f64,
    ) -> Result<FeatureCollection> {
        let points = self.province_points(who, province)?;
        let bbox = self
            .boundaries()
            .get(Level::Province, province)
            .and_then(|b| b.bbox())
            .ok_or_else(|| Error::NotFound(format!("province {province:?} has no outline")))?;
        let xy: Vec<[f64; 2]> = points.iter().map(|p| [p.lon, p.lat]).collect();
        let grid = analytics::kernel_density(
            &xy,
            None,
            bbox,
            &KdeParams {
                kernel: Kernel::Quartic,
                bandwidth_m,
                cell_m,
            },
        )
        .map_err(|e| invalid("cell_m", e))?;
        Ok(analytics::geojson::density_cells(&grid, 0.0))
    }

    /// Getis-Ord Gi* of active hotspots per commune of the province: queen contiguity, binary
    /// weights with the commune itself (esda's `G_Local(star=True)`), `permutations` conditional
    /// permutations, Benjamini–Hochberg FDR at 5 %.
    pub fn hotspot_gi_star(
        &self,
        who: &Principal,
        province: &str,
        permutations: usize,
    ) -> Result<FeatureCollection> {
        let points = self.province_points(who, province)?;
        let bi = self.boundaries();
        let units: Vec<Unit> = bi
            .list(Level::Commune)
            .iter()
            .filter(|b| b.parent.as_deref() == Some(province))
            .map(|b| Unit {
                id: b.code.clone(),
                geometry: b.geometry.clone(),
            })
            .collect();
        if units.is_empty() {
            return Ok(FeatureCollection {
                bbox: None,
                features: Vec::new(),
                foreign_members: None,
            });
        }
        let xy: Vec<[f64; 2]> = points.iter().map(|p| [p.lon, p.lat]).collect();
        let values = analytics::counts_per_unit(&units, &xy).map_err(|e| invalid("province", e))?;
        let geoms: Vec<_> = units.iter().map(|u| u.geometry.clone()).collect();
        let w = SpatialWeights::contiguity(&geoms, Contiguity::Queen);
        let results = analytics::gi_star(
            &values,
            &w,
            &GiStarOptions {
                permutations,
                ..GiStarOptions::default()
            },
        )
        .map_err(|e| invalid("province", e))?;
        analytics::geojson::gi_star_units(&units, &values, &results)
            .map_err(|e| invalid("province", e))
    }
}
