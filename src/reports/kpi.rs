//! KPIs as pure functions over rows: facts about hotspots, their transitions, flags,
//! eradications, drug-free records and survey coverage go in, grouped by commune ("slots");
//! [`tally`] counts one period per slot, tallies add up to any area, and [`kpis`] turns an area's
//! tallies into the KPIs with targets and ratings. Every total in a report is the sum of its
//! rows, so the per-commune table always adds up to the province figures.
//!
//! Definitions (the report's method notes say the same in Vietnamese):
//! - *new*: live hotspots whose `reported_on` falls in the period (the layer's `datetime`).
//! - *eliminated* / *re-emerged*: hotspots with a lifecycle step to `eliminated` / `reemerged`
//!   dated in the period, each counted once. A hotspot imported already eliminated has no dated
//!   step and counts in no period's eliminations.
//! - *active at the period's end*: reported by then and, by the history, `reported`, `verifying`
//!   or `reemerged` on the last day (today's status when the period has not ended).
//! - *điểm nóng eliminated*: of the *điểm nóng* reported by the period's end, the share
//!   eliminated on its last day.
//! - *cultivation*: live flags (superseded ones are not counted) by flight date; *confirmed* is a
//!   flag that, by the review history, was `confirmed_poppy`, `confirmed_cannabis`,
//!   `verified_in_field` or `eradicated` on the period's last day: the `to_status` of its last
//!   decision dated on or before that day, `new` with none by then, and today's status when the
//!   period has not ended. A decision is dated by the UTC day of `decided_at`, except an
//!   eradication, dated by the day the plot was destroyed (`eradicated_on`, which the field team
//!   may record days later). The eradicated share is the part of the
//!   confirmed area found in the period that was `eradicated` on the last day; the area
//!   destroyed is the sum of `area_destroyed_m2` of eradications dated (`eradicated_on`) in the
//!   period. Communes with a cultivation history are those with a flag found and confirmed by
//!   the period's end.
//! - *drug-free*: communes whose record in force for the year the period ends in is `drug_free`.

use serde::Serialize;
use serde::ser::SerializeMap;

use super::targets::{Rating, Target, Targets};

/// Flag statuses that mean a reviewer or a field team confirmed cultivation.
pub const CONFIRMED: [crate::review::Status; 4] = [
    crate::review::Status::ConfirmedPoppy,
    crate::review::Status::ConfirmedCannabis,
    crate::review::Status::VerifiedInField,
    crate::review::Status::Eradicated,
];

/// Hotspot statuses that count as active.
pub fn is_active(s: crate::hotspots::Status) -> bool {
    use crate::hotspots::Status::*;
    matches!(s, Reported | Verifying | Reemerged)
}

/// A hotspot reduced to what the KPIs need. Days are days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HotspotFact {
    pub slot: u32,
    pub diem_nong: bool,
    pub status: crate::hotspots::Status,
    pub reported: i32,
    /// Its steps in `Facts::steps`, in the order they were made.
    pub steps: (u32, u32),
}

/// One lifecycle step (not the first event).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub from: crate::hotspots::Status,
    pub to: crate::hotspots::Status,
    pub on: i32,
}

/// A live flag reduced to what the KPIs need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagFact {
    pub slot: u32,
    /// 0 poppy, 1 cannabis.
    pub crop: usize,
    /// Today's status.
    pub status: crate::review::Status,
    pub area_m2: f64,
    pub found: i32,
    pub replanting: bool,
    /// Its review decisions in `Facts::flag_steps`, in the order they were made.
    pub steps: (u32, u32),
}

/// One review decision on a flag: the status it led to and the UTC day it was made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagStep {
    pub to: crate::review::Status,
    pub on: i32,
}

/// An eradication recorded on a live flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EradicationFact {
    pub slot: u32,
    pub crop: usize,
    pub on: i32,
    pub area_m2: f64,
}

/// Everything the KPIs of an area are computed from. Slots are the area's communes, then one
/// slot for what lies in no known commune.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub slots: usize,
    /// Which slots are communes (the last one is not).
    pub is_commune: Vec<bool>,
    pub hotspots: Vec<HotspotFact>,
    pub steps: Vec<Step>,
    pub flags: Vec<FlagFact>,
    pub flag_steps: Vec<FlagStep>,
    pub eradications: Vec<EradicationFact>,
}

/// What is measured outside the rows for one period: drug-free status and survey coverage, by slot.
#[derive(Debug, Clone, Default)]
pub struct SlotExtras {
    /// The record in force for the year: `Some(true)` drug-free.
    pub drug_free: Vec<Option<bool>>,
    /// km² flown in the period.
    pub km2: Vec<f64>,
    /// Flown at all in the season.
    pub flown_in_season: Vec<bool>,
}

/// Cultivation figures of one crop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Crop {
    /// Flags found in the period and their area.
    pub flagged: u64,
    pub flagged_m2: f64,
    /// Of those, confirmed.
    pub confirmed: u64,
    pub confirmed_m2: f64,
    /// Of the confirmed area, eradicated.
    pub confirmed_eradicated_m2: f64,
    /// Eradications dated in the period and the area destroyed.
    pub eradicated: u64,
    pub destroyed_m2: f64,
    /// Flags found in the period on plots eradicated before (*tái trồng*).
    pub replanting: u64,
}

impl std::ops::AddAssign for Crop {
    fn add_assign(&mut self, o: Crop) {
        self.flagged += o.flagged;
        self.flagged_m2 += o.flagged_m2;
        self.confirmed += o.confirmed;
        self.confirmed_m2 += o.confirmed_m2;
        self.confirmed_eradicated_m2 += o.confirmed_eradicated_m2;
        self.eradicated += o.eradicated;
        self.destroyed_m2 += o.destroyed_m2;
        self.replanting += o.replanting;
    }
}

/// The counts of one period in one slot (or, added up, an area).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Tally {
    pub communes: u64,
    pub hotspots_new: u64,
    pub hotspots_eliminated: u64,
    pub hotspots_reemerged: u64,
    pub hotspots_active_end: u64,
    pub diem_nong_end: u64,
    pub diem_nong_eliminated_end: u64,
    pub drug_free_communes: u64,
    /// Communes with a record (either way) for the year.
    pub drug_free_recorded: u64,
    /// Poppy, cannabis.
    pub crops: [Crop; 2],
    pub km2_flown: f64,
    /// Communes where cultivation was ever confirmed (up to the period's end).
    pub history_communes: u64,
    /// Of those, not flown in the season.
    pub history_not_flown: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.communes += o.communes;
        self.hotspots_new += o.hotspots_new;
        self.hotspots_eliminated += o.hotspots_eliminated;
        self.hotspots_reemerged += o.hotspots_reemerged;
        self.hotspots_active_end += o.hotspots_active_end;
        self.diem_nong_end += o.diem_nong_end;
        self.diem_nong_eliminated_end += o.diem_nong_eliminated_end;
        self.drug_free_communes += o.drug_free_communes;
        self.drug_free_recorded += o.drug_free_recorded;
        for (a, b) in self.crops.iter_mut().zip(o.crops) {
            *a += b;
        }
        self.km2_flown += o.km2_flown;
        self.history_communes += o.history_communes;
        self.history_not_flown += o.history_not_flown;
    }
}

impl Tally {
    pub fn sum<'a>(it: impl IntoIterator<Item = &'a Tally>) -> Tally {
        let mut t = Tally::default();
        for x in it {
            t += *x;
        }
        t
    }

    pub fn crops_total(&self) -> Crop {
        let mut c = self.crops[0];
        c += self.crops[1];
        c
    }
}

/// The status of a hotspot on day `day` by its steps (`None`: not reported yet).
pub fn status_on(h: &HotspotFact, steps: &[Step], day: i32) -> Option<crate::hotspots::Status> {
    if h.reported > day {
        return None;
    }
    let mine = &steps[h.steps.0 as usize..h.steps.1 as usize];
    Some(
        mine.iter()
            .find(|s| s.on > day)
            .map(|s| s.from)
            .unwrap_or(h.status),
    )
}

/// The status of a flag on day `day` by its decisions: the status its last decision made on or
/// before that day led to (`new` when there was none by then), or today's when no decision is
/// dated after it.
pub fn flag_status_on(f: &FlagFact, steps: &[FlagStep], day: i32) -> crate::review::Status {
    let mine = &steps[f.steps.0 as usize..f.steps.1 as usize];
    if mine.iter().all(|s| s.on <= day) {
        return f.status;
    }
    mine.iter()
        .rev()
        .find(|s| s.on <= day)
        .map(|s| s.to)
        .unwrap_or(crate::review::Status::New)
}

/// Counts one period `[from, to]` (days) in every slot.
pub fn tally(facts: &Facts, from: i32, to: i32, extras: &SlotExtras) -> Vec<Tally> {
    use crate::hotspots::Status;
    let mut out = vec![Tally::default(); facts.slots];
    let inside = |d: i32| from <= d && d <= to;
    for h in &facts.hotspots {
        let t = &mut out[h.slot as usize];
        if inside(h.reported) {
            t.hotspots_new += 1;
        }
        let mine = &facts.steps[h.steps.0 as usize..h.steps.1 as usize];
        if mine
            .iter()
            .any(|s| s.to == Status::Eliminated && inside(s.on))
        {
            t.hotspots_eliminated += 1;
        }
        if mine
            .iter()
            .any(|s| s.to == Status::Reemerged && inside(s.on))
        {
            t.hotspots_reemerged += 1;
        }
        if let Some(s) = status_on(h, &facts.steps, to) {
            if is_active(s) {
                t.hotspots_active_end += 1;
            }
            if h.diem_nong {
                t.diem_nong_end += 1;
                if s == Status::Eliminated {
                    t.diem_nong_eliminated_end += 1;
                }
            }
        }
    }
    let mut history = vec![false; facts.slots];
    for f in facts.flags.iter().filter(|f| f.found <= to) {
        let status = flag_status_on(f, &facts.flag_steps, to);
        let confirmed = CONFIRMED.contains(&status);
        if confirmed {
            history[f.slot as usize] = true;
        }
        if f.found < from {
            continue;
        }
        let c = &mut out[f.slot as usize].crops[f.crop];
        c.flagged += 1;
        c.flagged_m2 += f.area_m2;
        if confirmed {
            c.confirmed += 1;
            c.confirmed_m2 += f.area_m2;
            if status == crate::review::Status::Eradicated {
                c.confirmed_eradicated_m2 += f.area_m2;
            }
        }
        if f.replanting {
            c.replanting += 1;
        }
    }
    for e in facts.eradications.iter().filter(|e| inside(e.on)) {
        let c = &mut out[e.slot as usize].crops[e.crop];
        c.eradicated += 1;
        c.destroyed_m2 += e.area_m2;
    }
    for (i, t) in out.iter_mut().enumerate() {
        if !facts.is_commune.get(i).copied().unwrap_or(false) {
            continue;
        }
        t.communes = 1;
        match extras.drug_free.get(i).copied().flatten() {
            Some(true) => {
                t.drug_free_communes = 1;
                t.drug_free_recorded = 1;
            }
            Some(false) => t.drug_free_recorded = 1,
            None => {}
        }
        t.km2_flown = extras.km2.get(i).copied().unwrap_or(0.0);
        if history[i] {
            t.history_communes = 1;
            if !extras.flown_in_season.get(i).copied().unwrap_or(false) {
                t.history_not_flown = 1;
            }
        }
    }
    out
}

/// A KPI's number: a count, or a decimal rounded as reports show it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    Count(u64),
    Decimal(f64),
}

impl Figure {
    pub fn as_f64(self) -> f64 {
        match self {
            Figure::Count(n) => n as f64,
            Figure::Decimal(x) => x,
        }
    }
}

impl Serialize for Figure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Figure::Count(n) => s.serialize_u64(*n),
            Figure::Decimal(x) => s.serialize_f64(*x),
        }
    }
}

/// What a KPI counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Count,
    Percent,
    Ha,
    Km2,
}

impl Unit {
    /// Decimals shown (and kept: values are rounded to them).
    pub fn decimals(self) -> usize {
        match self {
            Unit::Count => 0,
            Unit::Percent => 1,
            Unit::Ha | Unit::Km2 => 4,
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Unit::Count => "số lượng",
            Unit::Percent => "%",
            Unit::Ha => "ha",
            Unit::Km2 => "km²",
        }
    }

    fn figure(self, x: f64) -> Figure {
        match self {
            Unit::Count => Figure::Count(x.round().max(0.0) as u64),
            _ => {
                let p = 10f64.powi(self.decimals() as i32);
                Figure::Decimal((x * p).round() / p)
            }
        }
    }
}

/// One KPI of an area for a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpi {
    pub key: &'static str,
    /// `hotspots`, `drug_free`, `cultivation` or `coverage`.
    pub group: &'static str,
    pub label: &'static str,
    pub unit: Unit,
    pub value: Option<Figure>,
    /// The same KPI in the previous period (*kỳ trước*).
    pub previous: Option<Figure>,
    /// The same period a year earlier (*cùng kỳ*), where the KPI compares with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_period_last_year: Option<Figure>,
    pub target: Option<Target>,
    pub status: Rating,
    /// The counts behind a share, in Vietnamese (e.g. "7/10 điểm nóng").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// KPIs in report order, serialised as an object keyed by `key`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KpiList(pub Vec<Kpi>);

impl Serialize for KpiList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for k in &self.0 {
            m.serialize_entry(k.key, k)?;
        }
        m.end()
    }
}

impl KpiList {
    pub fn get(&self, key: &str) -> Option<&Kpi> {
        self.0.iter().find(|k| k.key == key)
    }
}

fn pct(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den * 100.0)
}

fn growth(now: u64, before: u64) -> Option<f64> {
    (before > 0).then(|| (now as f64 - before as f64) / before as f64 * 100.0)
}

/// The tallies of one area the KPIs need.
#[derive(Debug, Clone, Copy, Default)]
pub struct AreaTallies {
    pub current: Tally,
    pub previous: Tally,
    /// The same period a year before, and the previous period's.
    pub current_last_year: Tally,
    pub previous_last_year: Tally,
    /// The years the current and previous periods end in (drug-free targets).
    pub year: i32,
    pub previous_year: i32,
}

/// The KPIs of an area from its tallies.
pub fn kpis(a: &AreaTallies, t: &Targets) -> KpiList {
    let (c, p) = (&a.current, &a.previous);
    let mut out = Vec::new();
    let count = |x: u64| Some(Figure::Count(x));
    let unit_fig = |u: Unit, x: Option<f64>| x.map(|x| u.figure(x));

    // Hotspots.
    let new = Targets::rate_at_most(c.hotspots_new, t.max_new_hotspots, Some(p.hotspots_new));
    out.push(Kpi {
        key: "hotspots_new",
        group: "hotspots",
        label: "Điểm, tụ điểm phát sinh mới",
        unit: Unit::Count,
        value: count(c.hotspots_new),
        previous: count(p.hotspots_new),
        same_period_last_year: None,
        target: Some(Target::at_most(t.max_new_hotspots, "Không phát sinh mới")),
        status: new,
        detail: None,
    });
    out.push(Kpi {
        key: "hotspots_eliminated",
        group: "hotspots",
        label: "Điểm, tụ điểm đã triệt xóa",
        unit: Unit::Count,
        value: count(c.hotspots_eliminated),
        previous: count(p.hotspots_eliminated),
        same_period_last_year: count(a.current_last_year.hotspots_eliminated),
        target: None,
        status: Rating::Info,
        detail: None,
    });
    let g_now = growth(
        c.hotspots_eliminated,
        a.current_last_year.hotspots_eliminated,
    );
    let g_prev = growth(
        p.hotspots_eliminated,
        a.previous_last_year.hotspots_eliminated,
    );
    let g_target = t.elimination_growth * 100.0;
    let g_value = unit_fig(Unit::Percent, g_now);
    let g_status = match (g_value, c.hotspots_eliminated) {
        // Nothing to compare with: any elimination is an increase.
        (None, n) if n > 0 => Rating::Green,
        (v, _) => t.rate_growth(v.map(Figure::as_f64), g_target),
    };
    out.push(Kpi {
        key: "hotspots_elimination_growth",
        group: "hotspots",
        label: "Tăng số điểm triệt xóa so với cùng kỳ",
        unit: Unit::Percent,
        value: g_value,
        previous: unit_fig(Unit::Percent, g_prev),
        same_period_last_year: None,
        target: Some(Target::growth_percent(g_target)),
        status: g_status,
        detail: Some(format!(
            "{} điểm (cùng kỳ: {})",
            c.hotspots_eliminated, a.current_last_year.hotspots_eliminated
        )),
    });
    out.push(Kpi {
        key: "hotspots_reemerged",
        group: "hotspots",
        label: "Điểm, tụ điểm tái phức tạp",
        unit: Unit::Count,
        value: count(c.hotspots_reemerged),
        previous: count(p.hotspots_reemerged),
        same_period_last_year: None,
        target: Some(Target::at_most(t.max_reemerged, "Không tái phức tạp")),
        status: Targets::rate_at_most(
            c.hotspots_reemerged,
            t.max_reemerged,
            Some(p.hotspots_reemerged),
        ),
        detail: None,
    });
    out.push(Kpi {
        key: "hotspots_active_end",
        group: "hotspots",
        label: "Điểm, tụ điểm còn hoạt động cuối kỳ",
        unit: Unit::Count,
        value: count(c.hotspots_active_end),
        previous: count(p.hotspots_active_end),
        same_period_last_year: None,
        target: None,
        status: Rating::Info,
        detail: None,
    });
    let dn = unit_fig(
        Unit::Percent,
        pct(c.diem_nong_eliminated_end as f64, c.diem_nong_end as f64),
    );
    let dn_target = t.diem_nong_eliminated_share * 100.0;
    out.push(Kpi {
        key: "diem_nong_eliminated_share",
        group: "hotspots",
        label: "Tỷ lệ điểm nóng đã triệt xóa",
        unit: Unit::Percent,
        value: dn,
        previous: unit_fig(
            Unit::Percent,
            pct(p.diem_nong_eliminated_end as f64, p.diem_nong_end as f64),
        ),
        same_period_last_year: None,
        target: Some(Target::at_least_percent(dn_target)),
        status: t.rate_at_least(dn.map(Figure::as_f64), dn_target),
        detail: Some(format!(
            "{}/{} điểm nóng",
            c.diem_nong_eliminated_end, c.diem_nong_end
        )),
    });

    // Drug-free communes.
    let df = unit_fig(
        Unit::Percent,
        pct(c.drug_free_communes as f64, c.communes as f64),
    );
    let df_target = t.drug_free_share_for(a.year).map(|s| s * 100.0);
    out.push(Kpi {
        key: "drug_free_share",
        group: "drug_free",
        label: "Tỷ lệ xã, phường không ma túy",
        unit: Unit::Percent,
        value: df,
        previous: unit_fig(
            Unit::Percent,
            pct(p.drug_free_communes as f64, p.communes as f64),
        ),
        same_period_last_year: None,
        target: df_target.map(Target::at_least_percent),
        status: match df_target {
            None => Rating::Info,
            Some(x) => t.rate_at_least(df.map(Figure::as_f64), x),
        },
        detail: Some(format!(
            "{}/{} xã, phường (năm {})",
            c.drug_free_communes, c.communes, a.year
        )),
    });

    // Cultivation.
    let (cc, pc) = (c.crops_total(), p.crops_total());
    let ha = |m2: f64| Some(Unit::Ha.figure(m2 / 10_000.0));
    for (key, label, now, before, detail) in [
        (
            "cultivation_flagged_ha",
            "Diện tích nghi trồng cây có chất ma túy phát hiện",
            cc.flagged_m2,
            pc.flagged_m2,
            format!("{} lô", cc.flagged),
        ),
        (
            "cultivation_confirmed_ha",
            "Diện tích được xác nhận trồng cây có chất ma túy",
            cc.confirmed_m2,
            pc.confirmed_m2,
            format!("{} lô", cc.confirmed),
        ),
        (
            "cultivation_eradicated_ha",
            "Diện tích đã nhổ phá, tiêu hủy",
            cc.destroyed_m2,
            pc.destroyed_m2,
            format!("{} lô", cc.eradicated),
        ),
    ] {
        out.push(Kpi {
            key,
            group: "cultivation",
            label,
            unit: Unit::Ha,
            value: ha(now),
            previous: ha(before),
            same_period_last_year: None,
            target: None,
            status: Rating::Info,
            detail: Some(detail),
        });
    }
    let es = unit_fig(
        Unit::Percent,
        pct(cc.confirmed_eradicated_m2, cc.confirmed_m2),
    );
    let es_target = t.eradicated_share * 100.0;
    out.push(Kpi {
        key: "cultivation_eradicated_share",
        group: "cultivation",
        label: "Tỷ lệ diện tích được xác nhận đã nhổ phá",
        unit: Unit::Percent,
        value: es,
        previous: unit_fig(
            Unit::Percent,
            pct(pc.confirmed_eradicated_m2, pc.confirmed_m2),
        ),
        same_period_last_year: None,
        target: Some(Target::at_least_percent(es_target)),
        status: t.rate_at_least(es.map(Figure::as_f64), es_target),
        detail: None,
    });
    out.push(Kpi {
        key: "cultivation_replanting",
        group: "cultivation",
        label: "Số trường hợp tái trồng",
        unit: Unit::Count,
        value: count(cc.replanting),
        previous: count(pc.replanting),
        same_period_last_year: None,
        target: Some(Target::at_most(t.max_replanting, "Không tái trồng")),
        status: Targets::rate_at_most(cc.replanting, t.max_replanting, Some(pc.replanting)),
        detail: None,
    });

    // Survey coverage.
    out.push(Kpi {
        key: "survey_km2",
        group: "coverage",
        label: "Diện tích bay khảo sát (trong các xã, phường)",
        unit: Unit::Km2,
        value: Some(Unit::Km2.figure(c.km2_flown)),
        previous: Some(Unit::Km2.figure(p.km2_flown)),
        same_period_last_year: None,
        target: None,
        status: Rating::Info,
        detail: None,
    });
    out.push(Kpi {
        key: "history_communes_not_flown",
        group: "coverage",
        label: "Xã, phường từng có trồng cây chưa được bay khảo sát trong vụ",
        unit: Unit::Count,
        value: count(c.history_not_flown),
        previous: count(p.history_not_flown),
        same_period_last_year: None,
        target: Some(Target::at_most(0, "Bay khảo sát tất cả")),
        status: Targets::rate_at_most(c.history_not_flown, 0, Some(p.history_not_flown)),
        detail: Some(format!(
            "{}/{} xã, phường có tiền sử trồng",
            c.history_not_flown, c.history_communes
        )),
    });
    KpiList(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotspots::Status::*;
    use crate::review::Status as F;

    fn facts() -> Facts {
        // Slot 0, 1: communes; slot 2: outside every commune.
        let h = |slot, diem_nong, status, reported, steps| HotspotFact {
            slot,
            diem_nong,
            status,
            reported,
            steps,
        };
        Facts {
            slots: 3,
            is_commune: vec![true, true, false],
            hotspots: vec![
                // Reported day 5, eliminated day 15, re-emerged day 25.
                h(0, true, Reemerged, 5, (0, 2)),
                // Reported day 12, still reported.
                h(0, false, Reported, 12, (2, 2)),
                // Reported day 1, verifying day 11, eliminated day 21.
                h(1, true, Eliminated, 1, (2, 4)),
                // Outside any commune, reported day 13.
                h(2, false, Verifying, 13, (4, 5)),
            ],
            steps: vec![
                Step {
                    from: Reported,
                    to: Eliminated,
                    on: 15,
                },
                Step {
                    from: Eliminated,
                    to: Reemerged,
                    on: 25,
                },
                Step {
                    from: Reported,
                    to: Verifying,
                    on: 11,
                },
                Step {
                    from: Verifying,
                    to: Eliminated,
                    on: 21,
                },
                Step {
                    from: Reported,
                    to: Verifying,
                    on: 14,
                },
            ],
            flags: vec![
                FlagFact {
                    slot: 0,
                    crop: 0,
                    status: F::Eradicated,
                    area_m2: 300.0,
                    found: 12,
                    replanting: false,
                    steps: (0, 0),
                },
                FlagFact {
                    slot: 0,
                    crop: 0,
                    status: F::ConfirmedPoppy,
                    area_m2: 100.0,
                    found: 13,
                    replanting: true,
                    steps: (0, 0),
                },
                FlagFact {
                    slot: 1,
                    crop: 1,
                    status: F::FalsePositive,
                    area_m2: 50.0,
                    found: 14,
                    replanting: false,
                    steps: (0, 0),
                },
                FlagFact {
                    slot: 1,
                    crop: 0,
                    status: F::Eradicated,
                    area_m2: 40.0,
                    found: 2,
                    replanting: false,
                    steps: (0, 0),
                },
            ],
            flag_steps: vec![],
            eradications: vec![
                EradicationFact {
                    slot: 0,
                    crop: 0,
                    on: 16,
                    area_m2: 280.0,
                },
                EradicationFact {
                    slot: 1,
                    crop: 0,
                    on: 3,
                    area_m2: 40.0,
                },
            ],
        }
    }

    #[test]
    fn tallies_count_one_period_by_slot() {
        let f = facts();
        let extras = SlotExtras {
            drug_free: vec![Some(true), Some(false), None],
            km2: vec![1.5, 0.0, 0.0],
            flown_in_season: vec![true, false, false],
        };
        let t = tally(&f, 10, 20, &extras);
        // Slot 0: new = 1 (day 12), eliminated = 1 (day 15), re-emerged 0 (day 25 is after);
        // at day 20 the first is eliminated, the second reported.
        assert_eq!(
            (
                t[0].hotspots_new,
                t[0].hotspots_eliminated,
                t[0].hotspots_reemerged,
                t[0].hotspots_active_end
            ),
            (1, 1, 0, 1)
        );
        assert_eq!((t[0].diem_nong_end, t[0].diem_nong_eliminated_end), (1, 1));
        // Slot 1: verifying at day 20 (eliminated on 21).
        assert_eq!(
            (
                t[1].hotspots_new,
                t[1].hotspots_eliminated,
                t[1].hotspots_active_end
            ),
            (0, 0, 1)
        );
        assert_eq!((t[1].diem_nong_end, t[1].diem_nong_eliminated_end), (1, 0));
        // Slot 2 counts hotspots but is no commune.
        assert_eq!(
            (t[2].hotspots_new, t[2].hotspots_active_end, t[2].communes),
            (1, 1, 0)
        );
        // Cultivation: slot 0 found 400 m², all confirmed, 300 eradicated; 280 m² destroyed.
        let c = t[0].crops[0];
        assert_eq!(
            (c.flagged, c.confirmed, c.replanting, c.eradicated),
            (2, 2, 1, 1)
        );
        assert_eq!(
            (
                c.flagged_m2,
                c.confirmed_m2,
                c.confirmed_eradicated_m2,
                c.destroyed_m2
            ),
            (400.0, 400.0, 300.0, 280.0)
        );
        // Slot 1: a rejected cannabis flag; the eradication of day 3 is outside the period,
        // but the plot found on day 2 makes it a commune with cultivation history.
        assert_eq!(
            (
                t[1].crops[1].flagged,
                t[1].crops[1].confirmed,
                t[1].crops[0].eradicated
            ),
            (1, 0, 0)
        );
        assert_eq!((t[1].history_communes, t[1].history_not_flown), (1, 1));
        assert_eq!((t[0].history_communes, t[0].history_not_flown), (1, 0));
        assert_eq!((t[0].drug_free_communes, t[1].drug_free_recorded), (1, 1));
        let all = Tally::sum(&t);
        assert_eq!(
            (
                all.communes,
                all.hotspots_new,
                all.hotspots_active_end,
                all.drug_free_communes
            ),
            (2, 2, 3, 1)
        );
    }

    #[test]
    fn kpis_rate_against_targets() {
        let f = facts();
        let extras = SlotExtras {
            drug_free: vec![Some(true), Some(false), None],
            ..Default::default()
        };
        let sum = |from, to| Tally::sum(&tally(&f, from, to, &extras));
        let a = AreaTallies {
            current: sum(10, 20),
            previous: sum(0, 9),
            current_last_year: sum(0, 9),
            previous_last_year: Tally::default(),
            year: 2026,
            previous_year: 2026,
        };
        let t = Targets::resolve(&crate::config::TargetsConfig::default(), None);
        let k = kpis(&a, &t);
        let v = |key: &str| k.get(key).unwrap().value.map(Figure::as_f64);
        let s = |key: &str| k.get(key).unwrap().status;
        // Two new against one before: over the target of none and not falling.
        assert_eq!(
            (v("hotspots_new"), s("hotspots_new")),
            (Some(2.0), Rating::Red)
        );
        // One eliminated against none a year before: an increase.
        assert_eq!(s("hotspots_elimination_growth"), Rating::Green);
        assert_eq!(v("hotspots_elimination_growth"), None);
        assert_eq!(
            (
                v("diem_nong_eliminated_share"),
                s("diem_nong_eliminated_share")
            ),
            (Some(50.0), Rating::Red)
        );
        assert_eq!(
            (v("drug_free_share"), s("drug_free_share")),
            (Some(50.0), Rating::Green)
        );
        assert_eq!(v("cultivation_flagged_ha"), Some(0.045));
        assert_eq!(v("cultivation_eradicated_ha"), Some(0.028));
        assert_eq!(
            (
                v("cultivation_eradicated_share"),
                s("cultivation_eradicated_share")
            ),
            (Some(75.0), Rating::Red)
        );
        assert_eq!(s("cultivation_replanting"), Rating::Red);
        assert_eq!(
            k.get("hotspots_eliminated").unwrap().same_period_last_year,
            Some(Figure::Count(0))
        );
        let json = serde_json::to_value(&k).unwrap();
        assert_eq!(json["hotspots_new"]["value"], 2);
        assert_eq!(json["hotspots_new"]["status"], "red");
    }

    #[test]
    fn cultivation_counts_the_status_on_the_periods_last_day() {
        // One poppy flag found on day 10: confirmed on day 20, eradicated on day 40, corrected
        // to verified in the field on day 50 (today's status). One cannabis flag found on day 12,
        // confirmed on day 60.
        let flag = |crop, status, found, steps| FlagFact {
            slot: 0,
            crop,
            status,
            area_m2: 100.0,
            found,
            replanting: false,
            steps,
        };
        let step = |to, on| FlagStep { to, on };
        let f = Facts {
            slots: 2,
            is_commune: vec![true, false],
            flags: vec![
                flag(0, F::VerifiedInField, 10, (0, 3)),
                flag(1, F::ConfirmedCannabis, 12, (3, 4)),
            ],
            flag_steps: vec![
                step(F::ConfirmedPoppy, 20),
                step(F::Eradicated, 40),
                step(F::VerifiedInField, 50),
                step(F::ConfirmedCannabis, 60),
            ],
            ..Default::default()
        };
        let status = |i: usize, day| flag_status_on(&f.flags[i], &f.flag_steps, day);
        assert_eq!(
            [19, 20, 39, 40, 49, 50, 1000].map(|d| status(0, d)),
            [
                F::New,
                F::ConfirmedPoppy,
                F::ConfirmedPoppy,
                F::Eradicated,
                F::Eradicated,
                F::VerifiedInField,
                F::VerifiedInField
            ]
        );
        // No decision: today's status, whatever the day.
        let bare = FlagFact {
            steps: (0, 0),
            ..f.flags[1]
        };
        assert_eq!(
            flag_status_on(&bare, &f.flag_steps, 0),
            F::ConfirmedCannabis
        );
        let extras = SlotExtras::default();
        // (confirmed, confirmed m², eradicated m²) of both crops, and the history.
        let cult = |from, to| {
            let t = tally(&f, from, to, &extras)[0];
            let c = t.crops_total();
            (
                c.flagged,
                c.confirmed,
                c.confirmed_eradicated_m2,
                t.history_communes,
            )
        };
        assert_eq!(cult(0, 19), (2, 0, 0.0, 0));
        assert_eq!(cult(0, 20), (2, 1, 0.0, 1));
        assert_eq!(cult(0, 45), (2, 1, 100.0, 1));
        assert_eq!(cult(0, 55), (2, 1, 0.0, 1));
        assert_eq!(cult(0, 60), (2, 2, 0.0, 1));
        // Found after the period's end: not counted, nor in the history.
        assert_eq!(cult(0, 9), (0, 0, 0.0, 0));
        // Found before the period: in the history only.
        assert_eq!(cult(30, 45), (0, 0, 0.0, 1));
    }
}
