//! The plans' targets for one area, resolved from `[targets]` and the province's overrides, and
//! the rule that turns a KPI value into green, amber or red.
//!
//! Amber means "short, but close or improving":
//! - a share or growth KPI ("at least X %") is amber when it misses the target by no more than
//!   `[targets] amber_margin_pp` percentage points (10 by default), red below that. For
//!   elimination growth the amber band stops at 0 % at the lowest: fewer eliminations than a
//!   year before is always red;
//! - a count KPI ("at most N", the plans' "no new hotspots", "none re-emerge", "no re-planting")
//!   is amber when it is over N but lower than in the previous period, red when it is over N and
//!   not falling.
//!
//! KPIs without a plan target (hotspots active, areas, km² flown) are `info`; a share with
//! nothing to divide (no *điểm nóng*, no confirmed area) is `no_data`.

use serde::Serialize;

use crate::config::TargetsConfig;

/// Green, amber, red — or no target, or nothing to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Green,
    Amber,
    Red,
    Info,
    NoData,
}

impl Rating {
    pub fn code(self) -> &'static str {
        match self {
            Rating::Green => "green",
            Rating::Amber => "amber",
            Rating::Red => "red",
            Rating::Info => "info",
            Rating::NoData => "no_data",
        }
    }

    /// How the report says it.
    pub fn label_vi(self) -> &'static str {
        match self {
            Rating::Green => "Đạt",
            Rating::Amber => "Gần đạt",
            Rating::Red => "Chưa đạt",
            Rating::Info => "—",
            Rating::NoData => "Chưa có số liệu",
        }
    }
}

/// A target as a report states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// `at_least` or `at_most`.
    pub op: &'static str,
    pub value: f64,
    /// In Vietnamese, e.g. "≥ 80 %", "Không phát sinh".
    pub label: String,
}

impl Target {
    pub fn at_least_percent(pct: f64) -> Target {
        Target {
            op: "at_least",
            value: pct,
            label: format!("≥ {} %", super::document::num_vi(pct, 1)),
        }
    }

    pub fn growth_percent(pct: f64) -> Target {
        Target {
            op: "at_least",
            value: pct,
            label: format!(
                "≥ {}{} % so với cùng kỳ",
                if pct >= 0.0 { "+" } else { "" },
                super::document::num_vi(pct, 1)
            ),
        }
    }

    pub fn at_most(n: u32, none: &str) -> Target {
        Target {
            op: "at_most",
            value: n as f64,
            label: if n == 0 {
                none.to_string()
            } else {
                format!("≤ {n}")
            },
        }
    }
}

/// The targets in force for one area.
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    /// Fractions as configured (0.05 = +5 %).
    pub elimination_growth: f64,
    pub diem_nong_eliminated_share: f64,
    /// (year, share), ascending.
    pub drug_free_share: Vec<(i32, f64)>,
    pub eradicated_share: f64,
    pub max_new_hotspots: u32,
    pub max_reemerged: u32,
    pub max_replanting: u32,
    pub amber_margin_pp: f64,
}

impl Targets {
    /// The national defaults (`province = None`) or a province's targets.
    pub fn resolve(cfg: &TargetsConfig, province: Option<&str>) -> Targets {
        let o = province.and_then(|p| cfg.provinces.get(p));
        let mut shares = cfg.drug_free_share.clone();
        if let Some(o) = o {
            shares.extend(o.drug_free_share.clone());
        }
        let mut drug_free_share: Vec<(i32, f64)> = shares
            .iter()
            .filter_map(|(y, v)| Some((y.parse().ok()?, *v)))
            .collect();
        drug_free_share.sort_by_key(|(y, _)| *y);
        Targets {
            elimination_growth: o
                .and_then(|o| o.elimination_growth)
                .unwrap_or(cfg.elimination_growth),
            diem_nong_eliminated_share: o
                .and_then(|o| o.diem_nong_eliminated_share)
                .unwrap_or(cfg.diem_nong_eliminated_share),
            drug_free_share,
            eradicated_share: o
                .and_then(|o| o.eradicated_share)
                .unwrap_or(cfg.eradicated_share),
            max_new_hotspots: o
                .and_then(|o| o.max_new_hotspots)
                .unwrap_or(cfg.max_new_hotspots),
            max_reemerged: o.and_then(|o| o.max_reemerged).unwrap_or(cfg.max_reemerged),
            max_replanting: o
                .and_then(|o| o.max_replanting)
                .unwrap_or(cfg.max_replanting),
            amber_margin_pp: cfg.amber_margin_pp,
        }
    }

    /// The drug-free share for `year`: the nearest configured year at or before it.
    pub fn drug_free_share_for(&self, year: i32) -> Option<f64> {
        self.drug_free_share
            .iter()
            .rev()
            .find(|(y, _)| *y <= year)
            .map(|(_, v)| *v)
    }

    /// Rates a percentage against "at least `target` %".
    pub fn rate_at_least(&self, value: Option<f64>, target: f64) -> Rating {
        match value {
            None => Rating::NoData,
            Some(v) if v >= target - 1e-9 => Rating::Green,
            Some(v) if v >= target - self.amber_margin_pp - 1e-9 => Rating::Amber,
            Some(_) => Rating::Red,
        }
    }

    /// Rates elimination growth (%) against its target: amber no lower than 0 %.
    pub fn rate_growth(&self, value: Option<f64>, target: f64) -> Rating {
        match value {
            None => Rating::NoData,
            Some(v) if v >= target - 1e-9 => Rating::Green,
            Some(v) if v >= (target - self.amber_margin_pp).max(0.0) - 1e-9 => Rating::Amber,
            Some(_) => Rating::Red,
        }
    }

    /// Rates a count against "at most `max`", amber when over but lower than `previous`.
    pub fn rate_at_most(value: u64, max: u32, previous: Option<u64>) -> Rating {
        if value <= max as u64 {
            Rating::Green
        } else if previous.is_some_and(|p| value < p) {
            Rating::Amber
        } else {
            Rating::Red
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn province_overrides_merge_over_the_defaults() {
        let mut cfg = TargetsConfig::default();
        cfg.provinces.insert(
            "08".into(),
            crate::config::ProvinceTargets {
                drug_free_share: [("2026".to_string(), 0.5)].into(),
                max_new_hotspots: Some(2),
                ..Default::default()
            },
        );
        let tq = Targets::resolve(&cfg, Some("08"));
        let other = Targets::resolve(&cfg, Some("24"));
        let table = [
            (2025, None, None),
            (2026, Some(0.5), Some(0.4)),
            (2027, Some(0.6), Some(0.6)),
            (2030, Some(1.0), Some(1.0)),
            (2031, Some(1.0), Some(1.0)),
        ];
        for (year, tq_share, other_share) in table {
            assert_eq!(tq.drug_free_share_for(year), tq_share, "{year}");
            assert_eq!(other.drug_free_share_for(year), other_share, "{year}");
        }
        assert_eq!((tq.max_new_hotspots, other.max_new_hotspots), (2, 0));
        assert_eq!(tq.diem_nong_eliminated_share, 0.8);
    }

    #[test]
    fn ratings_table() {
        let t = Targets::resolve(&TargetsConfig::default(), None);
        // (value %, target %, rating)
        let shares = [
            (Some(80.0), 80.0, Rating::Green),
            (Some(95.0), 80.0, Rating::Green),
            (Some(79.9), 80.0, Rating::Amber),
            (Some(70.0), 80.0, Rating::Amber),
            (Some(69.9), 80.0, Rating::Red),
            (None, 80.0, Rating::NoData),
        ];
        for (v, target, want) in shares {
            assert_eq!(t.rate_at_least(v, target), want, "{v:?} vs {target}");
        }
        let growth = [
            (Some(5.0), Rating::Green),
            (Some(12.5), Rating::Green),
            (Some(4.9), Rating::Amber),
            (Some(0.0), Rating::Amber),
            (Some(-0.1), Rating::Red),
            (None, Rating::NoData),
        ];
        for (v, want) in growth {
            assert_eq!(t.rate_growth(v, 5.0), want, "{v:?}");
        }
        let counts = [
            (0, None, Rating::Green),
            (3, Some(5), Rating::Amber),
            (3, Some(3), Rating::Red),
            (3, None, Rating::Red),
        ];
        for (v, prev, want) in counts {
            assert_eq!(
                Targets::rate_at_most(v, 0, prev),
                want,
                "{v} after {prev:?}"
            );
        }
    }
}
