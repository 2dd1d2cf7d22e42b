//! Reports (issue 6): KPIs per period and per area against the plans' targets, drug-free
//! commune records, and the provincial report in Vietnamese as CSV, XLSX, printable HTML and PDF.
//!
//! Data flows one way: the service gathers rows for an area (`service::reports`), [`kpi`] counts
//! them per commune and period and rates the area's KPIs against [`targets`], [`document`] lays
//! the result out as a Vietnamese administrative report, and one renderer per format draws that
//! document ([`html`], [`pdf`], [`xlsx`]) or writes the figures as a long table ([`csv`]). No IO
//! here except that the PDF renderer is given font bytes.

pub mod coverage;
pub mod csv;
pub mod document;
pub mod html;
pub mod kpi;
pub mod pdf;
pub mod period;
pub mod targets;
pub mod xlsx;

use serde::Serialize;

use kpi::{KpiList, Tally};
use period::{Period, Season};

/// The area a report covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Area {
    /// `national`, `province` or `commune`.
    pub level: &'static str,
    pub code: Option<String>,
    pub name: String,
    pub province_code: Option<String>,
    pub province_name: Option<String>,
}

/// The drug-free record in force for a commune.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrugFreeInfo {
    /// `drug_free` or `not_drug_free`.
    pub status: String,
    pub decision_ref: String,
    pub decided_on: Option<String>,
}

/// One row of the breakdown: a commune (or a province in a national report), or what lies in
/// no known commune.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownRow {
    /// `commune`, `province` or `none`.
    pub level: &'static str,
    pub code: Option<String>,
    pub name: String,
    pub province_code: Option<String>,
    pub tally: Tally,
    pub kpis: KpiList,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drug_free: Option<DrugFreeInfo>,
}

impl BreakdownRow {
    /// "Có", "Không" or "—" for a commune; "n/N" for a province.
    pub fn drug_free_cell(&self) -> document::Cell {
        match self.level {
            "commune" => document::Cell::text(match &self.drug_free {
                Some(d) if d.status == "drug_free" => "Có",
                Some(_) => "Không",
                None => "—",
            }),
            "province" => document::Cell::text(format!(
                "{}/{}",
                self.tally.drug_free_communes, self.tally.communes
            )),
            _ => document::Cell::Blank,
        }
    }
}

/// Everything a report shows: the area's KPIs for a period and their breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiReport {
    pub area: Area,
    pub period: Period,
    pub previous_period: Period,
    pub same_period_last_year: Period,
    /// The poppy season the period ends in (coverage of communes with cultivation history).
    pub season: Season,
    /// The year whose drug-free records and target apply.
    pub drug_free_year: i32,
    pub kpis: KpiList,
    pub totals: Tally,
    pub previous_totals: Tally,
    pub last_year_totals: Tally,
    /// `commune` (province and commune reports) or `province` (national).
    pub breakdown_level: &'static str,
    pub breakdown: Vec<BreakdownRow>,
    /// Every commune of the area (the choropleth), whatever the breakdown level.
    #[serde(skip)]
    pub communes: Vec<BreakdownRow>,
    pub generated_at: String,
}

/// The file formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Html,
    Pdf,
}

impl Format {
    pub fn from_extension(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "html" => Some(Format::Html),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Html => "html",
            Format::Pdf => "pdf",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Html => "text/html; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }
}

/// A rendering failure (the XLSX writer, the PDF writer or a missing font).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot write the XLSX report: {0}")]
    Xlsx(String),
    #[error("cannot write the PDF report: {0}")]
    Pdf(String),
    #[error(
        "no font with Vietnamese glyphs for PDF reports: {0}; install fonts-dejavu-core or set [reports] font"
    )]
    Font(String),
}
