//! The report as an Excel workbook (`rust_xlsxwriter`): a first sheet "Báo cáo" with the whole
//! report as it prints, then one sheet per table with the header in row 1, for people who
//! compute with the figures. Numbers are numeric cells with Vietnamese-independent formats
//! (Excel shows them with the reader's separators).

use rust_xlsxwriter::{DocProperties, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use super::RenderError;
use super::document::{Cell, Document, Table};

fn num_format(decimals: usize) -> String {
    if decimals == 0 {
        "#,##0".into()
    } else {
        format!("#,##0.{}", "0".repeat(decimals))
    }
}

/// Writes `t` from `row`; returns the row after it.
fn table(ws: &mut Worksheet, mut row: u32, t: &Table) -> Result<u32, XlsxError> {
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
        .set_background_color("#EEEEEE");
    for (c, h) in t.header.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, h, &head)?;
    }
    row += 1;
    for (i, cells) in t.rows.iter().enumerate() {
        let bold = t.total && i + 1 == t.rows.len();
        for (c, cell) in cells.iter().enumerate() {
            let mut f = Format::new().set_border(FormatBorder::Thin);
            if bold {
                f = f.set_bold();
            }
            match cell {
                Cell::Num(x, d) => ws.write_number_with_format(
                    row,
                    c as u16,
                    *x,
                    &f.set_num_format(num_format(*d)),
                )?,
                Cell::Text(s) => {
                    ws.write_string_with_format(row, c as u16, s, &f.set_text_wrap())?
                }
                Cell::Blank => ws.write_string_with_format(row, c as u16, "", &f)?,
            };
        }
        row += 1;
    }
    Ok(row + 1)
}

fn widths(ws: &mut Worksheet, t: &Table) -> Result<(), XlsxError> {
    for (c, w) in t.widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w as f64 * 1.4).max(6.0))?;
    }
    Ok(())
}

fn build(d: &Document) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("{} {}", d.title, d.subtitle))
            .set_author("Vigil"),
    );
    let bold = Format::new().set_bold();
    let italic = Format::new().set_italic();
    {
        let ws = wb.add_worksheet();
        ws.set_name("Báo cáo")?;
        ws.set_paper_size(9); // A4
        ws.set_print_fit_to_pages(1, 0);
        if let Some(t) = d.sections.first().and_then(|s| s.tables.first()) {
            widths(ws, t)?;
        }
        let mut row = 0u32;
        for (i, l) in d.issuer.iter().enumerate() {
            ws.write_string_with_format(i as u32, 0, l, &bold)?;
        }
        for (i, l) in d.motto.iter().enumerate() {
            ws.write_string_with_format(i as u32, 5, l, &bold)?;
        }
        row += d.issuer.len().max(d.motto.len()) as u32 + 1;
        ws.write_string_with_format(row, 5, &d.place_date, &italic)?;
        row += 2;
        ws.write_string_with_format(row, 1, &d.title, &bold)?;
        ws.write_string_with_format(row + 1, 1, &d.subtitle, &bold)?;
        ws.write_string(row + 2, 1, &d.recipient)?;
        row += 4;
        for s in &d.sections {
            ws.write_string_with_format(row, 0, &s.title, &bold)?;
            row += 1;
            for p in &s.paragraphs {
                ws.write_string(row, 0, p)?;
                row += 1;
            }
            for t in &s.tables {
                row = table(ws, row, t)?;
            }
            for p in &s.after {
                ws.write_string(row, 0, p)?;
                row += 1;
            }
            row += 1;
        }
        for l in &d.closing {
            ws.write_string(row, 0, l)?;
            row += 1;
        }
        ws.write_string_with_format(row + 1, 0, &d.footer, &italic)?;
    }
    for s in &d.sections {
        for t in &s.tables {
            let ws = wb.add_worksheet();
            ws.set_name(t.name.chars().take(31).collect::<String>())?;
            widths(ws, t)?;
            table(ws, 0, t)?;
        }
    }
    wb.save_to_buffer()
}

/// The XLSX bytes.
pub fn render(d: &Document) -> Result<Vec<u8>, RenderError> {
    build(d).map_err(|e| RenderError::Xlsx(e.to_string()))
}
