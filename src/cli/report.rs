//! `vigil report` and `vigil communes`: the period report in Vietnamese, drug-free records.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use vigil::auth::Principal;

use super::{Common, open};

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub common: Common,
    /// 2026-03 (month), 2026-Q1, 2026-H1, 2026 (year) or 2026-01-01..2026-03-31.
    #[arg(long)]
    pub period: String,
    /// Province code (the whole country when neither --province nor --commune is given).
    #[arg(long)]
    pub province: Option<String>,
    #[arg(long)]
    pub commune: Option<String>,
    /// pdf, xlsx, csv, html, or json (the KPIs as the API gives them).
    #[arg(long, default_value = "pdf")]
    pub format: String,
    /// Output file (default: standard output; pdf and xlsx need --out on a terminal).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum CommunesCmd {
    /// Record that a commune is drug-free (xã, phường không ma túy) for a year, or with --not
    /// that it is not; earlier records stay as history. Audited.
    DrugFree {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        commune: String,
        #[arg(long)]
        year: i32,
        /// The decision's number and sign, e.g. "QĐ 123/QĐ-UBND".
        #[arg(long)]
        decision_ref: String,
        /// The decision's date, YYYY-MM-DD.
        #[arg(long)]
        decided_on: Option<String>,
        /// Record the commune as not drug-free.
        #[arg(long)]
        not: bool,
    },
}

pub fn run(a: ReportArgs) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    let period = vigil::reports::period::Period::parse(&a.period)
        .map_err(|e| anyhow::anyhow!("--period: {e}"))?;
    let area = vigil::service::reports::AreaQuery {
        province: a.province.clone(),
        commune: a.commune.clone(),
    };
    let v = open(&a.common)?;
    let who = Principal::cli();
    let (bytes, name) = if a.format == "json" {
        let r = v.kpi_report(&who, &area, &period)?;
        (serde_json::to_vec_pretty(&r)?, String::from("kpis.json"))
    } else {
        let format = vigil::reports::Format::from_extension(&a.format).with_context(|| {
            format!(
                "unknown format {:?}; pdf, xlsx, csv, html or json",
                a.format
            )
        })?;
        if a.out.is_none()
            && matches!(
                format,
                vigil::reports::Format::Pdf | vigil::reports::Format::Xlsx
            )
            && std::io::stdout().is_terminal()
        {
            anyhow::bail!(
                "{} is binary: give --out FILE or redirect the output",
                a.format
            );
        }
        v.render_report(&who, &area, &period, format)?
    };
    match &a.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote {} ({} bytes; suggested name {name})",
                path.display(),
                bytes.len()
            );
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(())
}

pub fn communes(cmd: CommunesCmd) -> anyhow::Result<()> {
    match cmd {
        CommunesCmd::DrugFree {
            common,
            commune,
            year,
            decision_ref,
            decided_on,
            not,
        } => {
            let v = open(&common)?;
            let row = v.record_drug_free(
                &Principal::cli(),
                &commune,
                vigil::service::reports::DrugFreeInput {
                    year,
                    drug_free: !not,
                    decision_ref,
                    decided_on,
                },
            )?;
            println!(
                "recorded commune {} {} for {} ({}), record {}",
                row.commune_code,
                if row.status == "drug_free" {
                    "drug-free"
                } else {
                    "not drug-free"
                },
                row.year,
                row.decision_ref,
                row.id
            );
            Ok(())
        }
    }
}
