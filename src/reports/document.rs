//! The report as a document, before any file format: the heading of a Vietnamese administrative
//! report, its title, sections of text and tables. HTML, PDF and XLSX are drawn from the same
//! [`Document`], so their figures cannot differ; numbers keep their value and are formatted the
//! Vietnamese way (`1.234,5`) only when drawn.

use super::KpiReport;
use super::kpi::{Crop, Figure, Kpi, Unit};
use super::period::vi_date;

/// A table cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A number and the decimals it is shown with.
    Num(f64, usize),
    Blank,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    pub fn count(n: u64) -> Cell {
        Cell::Num(n as f64, 0)
    }

    fn figure(f: Option<Figure>, unit: Unit) -> Cell {
        match f {
            Some(f) => Cell::Num(f.as_f64(), unit.decimals()),
            None => Cell::Blank,
        }
    }

    /// The cell as the report prints it.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num(x, d) => num_vi(*x, *d),
            Cell::Blank => "—".into(),
        }
    }
}

/// A table: header, rows, relative column widths; `total` marks the last row as a total.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Sheet name in XLSX (at most 31 characters).
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub widths: Vec<f32>,
    pub total: bool,
}

/// One numbered section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Section {
    pub title: String,
    pub paragraphs: Vec<String>,
    pub tables: Vec<Table>,
    /// Paragraphs after the tables.
    pub after: Vec<String>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Top left: who the figures are about, e.g. "TỈNH TUYÊN QUANG".
    pub issuer: Vec<String>,
    /// Top right: the national motto.
    pub motto: Vec<String>,
    pub place_date: String,
    pub title: String,
    pub subtitle: String,
    pub recipient: String,
    pub sections: Vec<Section>,
    /// *Nơi nhận* and the generation note.
    pub closing: Vec<String>,
    pub footer: String,
    /// File name without extension, e.g. `bao-cao-08-2026-H1`.
    pub file_stem: String,
}

/// `x` with `decimals` decimals, Vietnamese style: `.` between thousands, `,` before decimals.
pub fn num_vi(x: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s.clone(), None),
    };
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    let neg = x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    let mut out = if neg { format!("-{grouped}") } else { grouped };
    if let Some(f) = frac {
        out.push(',');
        out.push_str(&f);
    }
    out
}

fn kpi_row(i: usize, k: &Kpi) -> Vec<Cell> {
    vec![
        Cell::count(i as u64 + 1),
        Cell::text(k.label),
        Cell::text(k.unit.label_vi()),
        Cell::figure(k.value, k.unit),
        Cell::figure(k.previous, k.unit),
        Cell::text(
            k.target
                .as_ref()
                .map(|t| t.label.clone())
                .unwrap_or("—".into()),
        ),
        Cell::text(k.status.label_vi()),
        Cell::text(k.detail.clone().unwrap_or_default()),
    ]
}

fn crop_row(name: &str, c: &Crop) -> Vec<Cell> {
    let ha = |m2: f64| Cell::Num((m2 / 10_000.0 * 1e4).round() / 1e4, 4);
    vec![
        Cell::text(name),
        Cell::count(c.flagged),
        ha(c.flagged_m2),
        Cell::count(c.confirmed),
        ha(c.confirmed_m2),
        Cell::count(c.eradicated),
        ha(c.destroyed_m2),
        Cell::count(c.replanting),
    ]
}

/// The method notes, in Vietnamese (the same definitions as `kpi`'s documentation).
pub fn method_notes(r: &KpiReport) -> Vec<String> {
    vec![
        format!(
            "Kỳ báo cáo: {} (từ {} đến {}); kỳ trước: {} (từ {} đến {}); cùng kỳ năm trước: {}.",
            r.period.label_vi(),
            vi_date(r.period.from),
            vi_date(r.period.to),
            r.previous_period.label_vi(),
            vi_date(r.previous_period.from),
            vi_date(r.previous_period.to),
            r.same_period_last_year.label_vi()
        ),
        "Điểm, tụ điểm phát sinh mới: điểm có ngày phát hiện trong kỳ. Triệt xóa, tái phức tạp: điểm có bước chuyển trạng thái sang \"đã triệt xóa\", \"tái phức tạp\" ghi ngày trong kỳ (mỗi điểm tính một lần). Còn hoạt động cuối kỳ: trạng thái theo lịch sử vào ngày cuối kỳ là phát hiện, đang xác minh, đấu tranh hoặc tái phức tạp. Điểm đã xóa khỏi danh sách không được tính.".into(),
        "Tỷ lệ điểm nóng đã triệt xóa = số điểm nóng ở trạng thái đã triệt xóa vào ngày cuối kỳ / số điểm nóng đã phát hiện đến ngày cuối kỳ. Tăng số điểm triệt xóa = (số điểm triệt xóa trong kỳ − cùng kỳ năm trước) / cùng kỳ năm trước.".into(),
        format!(
            "Xã, phường không ma túy: theo quyết định công nhận còn hiệu lực cho năm {} (bản ghi mới nhất của mỗi xã, phường); tỷ lệ tính trên tổng số xã, phường của địa bàn.",
            r.drug_free_year
        ),
        "Trồng cây có chứa chất ma túy: các lô do hệ thống phân loại ảnh bay phát hiện (không tính lô đã được thay thế khi phân loại lại), theo ngày bay. Lô được xác nhận: lô có trạng thái theo lịch sử xét duyệt vào ngày cuối kỳ (theo quyết định cuối cùng có ngày đến hết ngày đó, giờ UTC — quyết định nhổ phá lấy ngày nhổ phá tại thực địa; lô chưa có quyết định nào là chưa xem xét; kỳ chưa kết thúc thì theo trạng thái hiện tại) là đã xác nhận cây thuốc phiện, cần sa, đã xác minh tại thực địa hoặc đã nhổ phá. Tỷ lệ nhổ phá = diện tích các lô ở trạng thái đã nhổ phá vào ngày cuối kỳ / diện tích được xác nhận của các lô phát hiện trong kỳ. Diện tích nhổ phá, tiêu hủy: tổng diện tích tổ công tác ghi nhận trong các quyết định nhổ phá có ngày trong kỳ. Tái trồng: lô phát hiện trong kỳ trùng với lô đã nhổ phá trước đó.".into(),
        format!(
            "Bay khảo sát: hợp các vùng ảnh bay (khảo sát đã xử lý xong) có ngày bay trong kỳ, giao với ranh giới từng xã, phường, diện tích tính trên ellipsoid (km²). Vụ thuốc phiện tính từ 01/9 đến 31/3 năm sau ({}); xã, phường có tiền sử trồng là xã, phường từng có lô được xác nhận đến ngày cuối kỳ.",
            r.season.label
        ),
        "Đánh giá: \"Đạt\" khi đạt mục tiêu; \"Gần đạt\" khi tỷ lệ thấp hơn mục tiêu không quá mức cho phép (mặc định 10 điểm phần trăm; với tăng số điểm triệt xóa, không thấp hơn cùng kỳ) hoặc khi chỉ tiêu về số lượng chưa đạt nhưng đã giảm so với kỳ trước; \"Chưa đạt\" trong các trường hợp còn lại.".into(),
        "Ngày bay và thời điểm ghi nhận theo giờ UTC như trong các lớp dữ liệu; mục tiêu theo kế hoạch của tỉnh (cấu hình [targets]).".into(),
    ]
}

fn vn_now(generated_at: &str) -> String {
    time::OffsetDateTime::parse(generated_at, &time::format_description::well_known::Rfc3339)
        .map(|t| {
            let t = t + time::Duration::hours(7);
            format!(
                "{:02} giờ {:02} ngày {}",
                t.hour(),
                t.minute(),
                vi_date(t.date())
            )
        })
        .unwrap_or_else(|_| generated_at.to_string())
}

/// Builds the document of a report.
pub fn build(r: &KpiReport) -> Document {
    let area = &r.area;
    let (issuer_line, place, recipient) = match area.level {
        "national" => (
            "TOÀN QUỐC".to_string(),
            "Hà Nội".to_string(),
            "Kính gửi: Bộ Công an (cơ quan thường trực về phòng, chống ma túy)".to_string(),
        ),
        _ => {
            let province = area
                .province_name
                .clone()
                .unwrap_or_else(|| area.name.clone());
            let issuer = if area.level == "commune" {
                format!(
                    "{} — TỈNH {}",
                    area.name.to_uppercase(),
                    province.to_uppercase()
                )
            } else {
                format!("TỈNH {}", province.to_uppercase())
            };
            (
                issuer,
                province.clone(),
                format!(
                    "Kính gửi: Công an tỉnh {province} (cơ quan thường trực về phòng, chống ma túy)"
                ),
            )
        }
    };
    let today = time::OffsetDateTime::parse(
        &r.generated_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map(|t| (t + time::Duration::hours(7)).date())
    .unwrap_or(r.period.to);
    let place_date = format!(
        "{place}, ngày {} tháng {} năm {}",
        today.day(),
        today.month() as u8,
        today.year()
    );

    let mut sections = Vec::new();
    // I. KPIs against the plan.
    sections.push(Section {
        title: "I. KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU SO VỚI KẾ HOẠCH".into(),
        paragraphs: vec![format!(
            "Địa bàn: {}. Kỳ báo cáo: {} (từ {} đến {}).",
            area.name,
            r.period.label_vi(),
            vi_date(r.period.from),
            vi_date(r.period.to)
        )],
        tables: vec![Table {
            name: "Chỉ tiêu".into(),
            header: [
                "STT",
                "Chỉ tiêu",
                "Đơn vị",
                "Kỳ này",
                "Kỳ trước",
                "Mục tiêu",
                "Đánh giá",
                "Ghi chú",
            ]
            .map(String::from)
            .to_vec(),
            rows: r
                .kpis
                .0
                .iter()
                .enumerate()
                .map(|(i, k)| kpi_row(i, k))
                .collect(),
            widths: vec![4.0, 24.0, 7.5, 8.0, 8.0, 12.0, 8.0, 14.0],
            total: false,
        }],
        after: Vec::new(),
    });

    // II. Hotspots.
    let (c, p, ly) = (&r.totals, &r.previous_totals, &r.last_year_totals);
    let hotspot_rows = [
        (
            "Phát sinh mới",
            c.hotspots_new,
            p.hotspots_new,
            ly.hotspots_new,
        ),
        (
            "Đã triệt xóa",
            c.hotspots_eliminated,
            p.hotspots_eliminated,
            ly.hotspots_eliminated,
        ),
        (
            "Tái phức tạp",
            c.hotspots_reemerged,
            p.hotspots_reemerged,
            ly.hotspots_reemerged,
        ),
        (
            "Còn hoạt động cuối kỳ",
            c.hotspots_active_end,
            p.hotspots_active_end,
            ly.hotspots_active_end,
        ),
        (
            "Điểm nóng đã phát hiện (đến cuối kỳ)",
            c.diem_nong_end,
            p.diem_nong_end,
            ly.diem_nong_end,
        ),
        (
            "Điểm nóng đã triệt xóa (cuối kỳ)",
            c.diem_nong_eliminated_end,
            p.diem_nong_eliminated_end,
            ly.diem_nong_eliminated_end,
        ),
    ];
    sections.push(Section {
        title: "II. ĐIỂM, TỤ ĐIỂM PHỨC TẠP VỀ MA TÚY".into(),
        paragraphs: vec![format!(
            "Trong kỳ phát hiện mới {} điểm, tụ điểm; triệt xóa {} điểm (cùng kỳ năm trước: {}); {} điểm tái phức tạp; cuối kỳ còn {} điểm, tụ điểm hoạt động.",
            c.hotspots_new,
            c.hotspots_eliminated,
            ly.hotspots_eliminated,
            c.hotspots_reemerged,
            c.hotspots_active_end
        )],
        tables: vec![Table {
            name: "Điểm, tụ điểm".into(),
            header: ["Nội dung", "Kỳ này", "Kỳ trước", "Cùng kỳ năm trước"]
                .map(String::from)
                .to_vec(),
            rows: hotspot_rows
                .iter()
                .map(|(n, a, b, c)| {
                    vec![Cell::text(*n), Cell::count(*a), Cell::count(*b), Cell::count(*c)]
                })
                .collect(),
            widths: vec![30.0, 10.0, 10.0, 12.0],
            total: false,
        }],
        after: Vec::new(),
    });

    // III. Drug-free communes.
    let df = r.kpis.get("drug_free_share");
    let recorded: Vec<Vec<Cell>> = r
        .communes
        .iter()
        .filter_map(|row| {
            let d = row.drug_free.as_ref()?;
            Some(vec![
                Cell::text(row.code.clone().unwrap_or_default()),
                Cell::text(row.name.clone()),
                Cell::text(if d.status == "drug_free" {
                    "Không ma túy"
                } else {
                    "Chưa đạt"
                }),
                Cell::text(d.decision_ref.clone()),
                Cell::text(
                    d.decided_on
                        .as_deref()
                        .and_then(|s| crate::time_util::parse_date(s).ok())
                        .map(vi_date)
                        .unwrap_or_default(),
                ),
            ])
        })
        .collect();
    sections.push(Section {
        title: "III. XÃ, PHƯỜNG KHÔNG MA TÚY".into(),
        paragraphs: vec![format!(
            "Năm {}: {}/{} xã, phường được công nhận không ma túy ({} %); mục tiêu: {}.",
            r.drug_free_year,
            c.drug_free_communes,
            c.communes,
            df.and_then(|k| k.value)
                .map(|v| num_vi(v.as_f64(), 1))
                .unwrap_or("—".into()),
            df.and_then(|k| k.target.as_ref())
                .map(|t| t.label.clone())
                .unwrap_or("chưa đặt".into())
        )],
        tables: if recorded.is_empty() {
            Vec::new()
        } else {
            vec![Table {
                name: "Xã không ma túy".into(),
                header: [
                    "Mã",
                    "Xã, phường",
                    "Kết quả",
                    "Quyết định",
                    "Ngày quyết định",
                ]
                .map(String::from)
                .to_vec(),
                rows: recorded,
                widths: vec![6.0, 18.0, 10.0, 16.0, 10.0],
                total: false,
            }]
        },
        after: Vec::new(),
    });

    // IV. Cultivation.
    let total = c.crops_total();
    sections.push(Section {
        title: "IV. TRỒNG CÂY CÓ CHỨA CHẤT MA TÚY".into(),
        paragraphs: vec![format!(
            "Phát hiện {} lô nghi trồng ({} ha), {} lô được xác nhận ({} ha); nhổ phá, tiêu hủy {} lô ({} ha); {} trường hợp tái trồng.",
            total.flagged,
            num_vi(total.flagged_m2 / 10_000.0, 4),
            total.confirmed,
            num_vi(total.confirmed_m2 / 10_000.0, 4),
            total.eradicated,
            num_vi(total.destroyed_m2 / 10_000.0, 4),
            total.replanting
        )],
        tables: vec![Table {
            name: "Trồng cây".into(),
            header: [
                "Loại cây",
                "Số lô phát hiện",
                "Diện tích phát hiện (ha)",
                "Số lô xác nhận",
                "Diện tích xác nhận (ha)",
                "Số lô nhổ phá",
                "Diện tích nhổ phá (ha)",
                "Tái trồng",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![
                crop_row("Cây thuốc phiện", &c.crops[0]),
                crop_row("Cây cần sa", &c.crops[1]),
                crop_row("Tổng cộng", &total),
            ],
            widths: vec![12.0, 8.0, 10.0, 8.0, 10.0, 8.0, 10.0, 7.0],
            total: true,
        }],
        after: Vec::new(),
    });

    // V. Survey coverage.
    let not_flown: Vec<String> = r
        .communes
        .iter()
        .filter(|c| c.tally.history_not_flown > 0)
        .map(|c| format!("{} ({})", c.name, c.code.clone().unwrap_or_default()))
        .collect();
    sections.push(Section {
        title: "V. BAY KHẢO SÁT BẰNG THIẾT BỊ BAY KHÔNG NGƯỜI LÁI".into(),
        paragraphs: vec![
            format!(
                "Diện tích bay khảo sát trong kỳ: {} km² (kỳ trước: {} km²).",
                num_vi(c.km2_flown, 4),
                num_vi(p.km2_flown, 4)
            ),
            if c.history_communes == 0 {
                "Chưa có xã, phường nào có tiền sử trồng cây (lô được xác nhận).".to_string()
            } else if not_flown.is_empty() {
                format!(
                    "Tất cả {} xã, phường có tiền sử trồng cây đã được bay khảo sát trong {}.",
                    c.history_communes, r.season.label
                )
            } else {
                format!(
                    "{}/{} xã, phường có tiền sử trồng cây chưa được bay khảo sát trong {}: {}.",
                    not_flown.len(),
                    c.history_communes,
                    r.season.label,
                    not_flown.join("; ")
                )
            },
        ],
        ..Default::default()
    });

    // VI. Breakdown.
    let unit_name = if r.breakdown_level == "province" {
        "Tỉnh, thành phố"
    } else {
        "Xã, phường"
    };
    let mut rows: Vec<Vec<Cell>> = r
        .breakdown
        .iter()
        .enumerate()
        .map(|(i, b)| {
            breakdown_row(
                Cell::count(i as u64 + 1),
                b.code.clone(),
                &b.name,
                &b.tally,
                b.drug_free_cell(),
            )
        })
        .collect();
    rows.push(breakdown_row(
        Cell::Blank,
        None,
        "Tổng cộng",
        c,
        Cell::text(format!("{}/{}", c.drug_free_communes, c.communes)),
    ));
    sections.push(Section {
        title: format!("VI. SỐ LIỆU THEO {}", unit_name.to_uppercase()),
        paragraphs: Vec::new(),
        tables: vec![Table {
            name: format!(
                "Theo {}",
                if r.breakdown_level == "province" {
                    "tỉnh"
                } else {
                    "xã"
                }
            ),
            header: [
                "STT",
                "Mã",
                unit_name,
                "Phát sinh mới",
                "Triệt xóa",
                "Tái phức tạp",
                "Còn hoạt động",
                "Không ma túy",
                "Phát hiện (ha)",
                "Nhổ phá (ha)",
                "Bay (km²)",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            widths: vec![4.0, 5.5, 16.0, 6.0, 6.0, 6.0, 6.5, 7.0, 8.0, 8.0, 8.0],
            total: true,
        }],
        after: Vec::new(),
    });

    // VII. Method.
    sections.push(Section {
        title: "VII. GHI CHÚ VỀ PHƯƠNG PHÁP".into(),
        paragraphs: method_notes(r),
        ..Default::default()
    });

    let stem_area = area.code.clone().unwrap_or_else(|| "toan-quoc".into());
    Document {
        issuer: vec![issuer_line, "HỆ THỐNG VIGIL".into()],
        motto: vec![
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".into(),
            "Độc lập - Tự do - Hạnh phúc".into(),
        ],
        place_date,
        title: "BÁO CÁO".into(),
        subtitle: format!(
            "Kết quả công tác phòng, chống ma túy {} — {}",
            r.period.label_vi(),
            area.name
        ),
        recipient,
        sections,
        closing: vec![
            "Nơi nhận:".into(),
            "- Như trên;".into(),
            "- Lưu: VT.".into(),
        ],
        footer: format!(
            "Báo cáo được tạo tự động từ hệ thống Vigil lúc {} (giờ Việt Nam). Số liệu về địa điểm, lô trồng và công việc đã làm; không chứa thông tin cá nhân.",
            vn_now(&r.generated_at)
        ),
        file_stem: format!("bao-cao-{}-{}", stem_area, r.period.code.replace("..", "_")),
    }
}

fn breakdown_row(
    n: Cell,
    code: Option<String>,
    name: &str,
    t: &super::kpi::Tally,
    drug_free: Cell,
) -> Vec<Cell> {
    let crops = t.crops_total();
    let ha = |m2: f64| Cell::Num((m2 / 10_000.0 * 1e4).round() / 1e4, 4);
    vec![
        n,
        code.map(Cell::Text).unwrap_or(Cell::Blank),
        Cell::text(name),
        Cell::count(t.hotspots_new),
        Cell::count(t.hotspots_eliminated),
        Cell::count(t.hotspots_reemerged),
        Cell::count(t.hotspots_active_end),
        drug_free,
        ha(crops.flagged_m2),
        ha(crops.destroyed_m2),
        Cell::Num((t.km2_flown * 1e4).round() / 1e4, 4),
    ]
}

#[cfg(test)]
mod tests {
    use super::num_vi;

    #[test]
    fn numbers_are_written_the_vietnamese_way() {
        let table = [
            (0.0, 0, "0"),
            (1234567.0, 0, "1.234.567"),
            (1234.5, 1, "1.234,5"),
            (0.0045, 4, "0,0045"),
            (-12.26, 1, "-12,3"),
            (-0.01, 1, "0,0"),
            (999.0, 0, "999"),
        ];
        for (x, d, want) in table {
            assert_eq!(num_vi(x, d), want, "{x}");
        }
    }
}
