//! The report's figures as one long CSV table: a row per area (the report's area, then each
//! row of the breakdown) and KPI, with this period, the previous one, the same period a year
//! before, the target and the rating. UTF-8 with a byte-order mark (so spreadsheet programs read
//! the Vietnamese right), comma-separated, numbers with a decimal point.

use super::KpiReport;
use super::kpi::{Figure, Kpi, KpiList, Unit};

const HEADER: [&str; 12] = [
    "Cấp",
    "Mã",
    "Tên",
    "Mã chỉ tiêu",
    "Chỉ tiêu",
    "Đơn vị",
    "Kỳ này",
    "Kỳ trước",
    "Cùng kỳ năm trước",
    "Mục tiêu",
    "Đánh giá",
    "Mã đánh giá",
];

fn number(f: Option<Figure>, unit: Unit) -> String {
    match f {
        None => String::new(),
        Some(Figure::Count(n)) => n.to_string(),
        Some(Figure::Decimal(x)) => format!("{:.*}", unit.decimals(), x),
    }
}

/// A text cell a spreadsheet program will not run: one starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return gets a leading `'` (OWASP's advice against CSV formula injection). Numbers
/// are written by [`number`] and keep their sign.
fn text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn row(level: &str, code: &str, name: &str, k: &Kpi) -> Vec<String> {
    vec![
        text(level),
        text(code),
        text(name),
        text(k.key),
        text(k.label),
        text(k.unit.label_vi()),
        number(k.value, k.unit),
        number(k.previous, k.unit),
        number(k.same_period_last_year, k.unit),
        text(
            &k.target
                .as_ref()
                .map(|t| t.label.clone())
                .unwrap_or_default(),
        ),
        text(k.status.label_vi()),
        text(k.status.code()),
    ]
}

/// The CSV bytes.
pub fn render(r: &KpiReport) -> Vec<u8> {
    let mut w = ::csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut put = |fields: Vec<String>| {
        // Writing to memory cannot fail.
        let _ = w.write_record(&fields);
    };
    put(HEADER.map(String::from).to_vec());
    let area_code = r.area.code.clone().unwrap_or_default();
    let each = |list: &KpiList, level: &str, code: &str, name: &str| -> Vec<Vec<String>> {
        list.0.iter().map(|k| row(level, code, name, k)).collect()
    };
    for fields in each(&r.kpis, r.area.level, &area_code, &r.area.name) {
        put(fields);
    }
    for b in &r.breakdown {
        for fields in each(&b.kpis, b.level, b.code.as_deref().unwrap_or(""), &b.name) {
            put(fields);
        }
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn formula_starts_are_quoted() {
        for (cell, want) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-1+2", "'-1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Xã Minh Quang", "Xã Minh Quang"),
        ] {
            assert_eq!(text(cell), want);
        }
    }
}
