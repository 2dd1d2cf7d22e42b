//! The report as one printable HTML page (A4, styles inline, nothing loaded from elsewhere):
//! print it from a browser, or read it on screen.

use super::document::{Cell, Document, Table};

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
@page { size: A4; margin: 18mm 15mm 18mm 20mm; }
body { font-family: "Times New Roman", "DejaVu Serif", serif; font-size: 12pt; color: #000; max-width: 190mm; margin: 0 auto; padding: 8mm 0; }
.head { display: flex; justify-content: space-between; text-align: center; font-weight: bold; }
.head div { width: 48%; }
.head .motto span { display: block; }
.head .motto span:last-child { text-decoration: underline; font-weight: bold; }
.date { text-align: right; font-style: italic; margin: 6pt 0 12pt; }
h1 { text-align: center; font-size: 15pt; margin: 8pt 0 0; }
h2.sub { text-align: center; font-size: 13pt; margin: 2pt 0 10pt; }
.to { text-align: center; margin-bottom: 12pt; }
h3 { font-size: 12pt; margin: 14pt 0 4pt; }
p { text-align: justify; margin: 3pt 0; }
table { border-collapse: collapse; width: 100%; font-size: 10pt; margin: 4pt 0 8pt; page-break-inside: auto; }
th, td { border: 1px solid #000; padding: 2pt 4pt; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; white-space: nowrap; }
tr.total td { font-weight: bold; }
tr { page-break-inside: avoid; }
thead { display: table-header-group; }
.closing { margin-top: 14pt; font-size: 11pt; }
.closing p:first-child { font-weight: bold; font-style: italic; }
.foot { margin-top: 16pt; font-size: 9pt; font-style: italic; border-top: 1px solid #999; padding-top: 4pt; }
"#;

fn table(t: &Table, out: &mut String) {
    out.push_str("<table><thead><tr>");
    for h in &t.header {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr></thead><tbody>");
    for (i, row) in t.rows.iter().enumerate() {
        let total = t.total && i + 1 == t.rows.len();
        out.push_str(if total {
            "<tr class=\"total\">"
        } else {
            "<tr>"
        });
        for c in row {
            let class = if matches!(c, Cell::Num(..)) {
                " class=\"num\""
            } else {
                ""
            };
            out.push_str(&format!("<td{class}>{}</td>", esc(&c.display())));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

/// The HTML page.
pub fn render(d: &Document) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">");
    out.push_str(&format!(
        "<title>{} — {}</title><style>{STYLE}</style></head><body>\n",
        esc(&d.title),
        esc(&d.subtitle)
    ));
    out.push_str("<div class=\"head\"><div class=\"issuer\">");
    for l in &d.issuer {
        out.push_str(&format!("<span>{}</span><br>", esc(l)));
    }
    out.push_str("</div><div class=\"motto\">");
    for l in &d.motto {
        out.push_str(&format!("<span>{}</span>", esc(l)));
    }
    out.push_str("</div></div>\n");
    out.push_str(&format!("<p class=\"date\">{}</p>\n", esc(&d.place_date)));
    out.push_str(&format!("<h1>{}</h1>\n", esc(&d.title)));
    out.push_str(&format!("<h2 class=\"sub\">{}</h2>\n", esc(&d.subtitle)));
    out.push_str(&format!("<p class=\"to\">{}</p>\n", esc(&d.recipient)));
    for s in &d.sections {
        out.push_str(&format!("<h3>{}</h3>\n", esc(&s.title)));
        for p in &s.paragraphs {
            out.push_str(&format!("<p>{}</p>\n", esc(p)));
        }
        for t in &s.tables {
            table(t, &mut out);
        }
        for p in &s.after {
            out.push_str(&format!("<p>{}</p>\n", esc(p)));
        }
    }
    out.push_str("<div class=\"closing\">");
    for l in &d.closing {
        out.push_str(&format!("<p>{}</p>", esc(l)));
    }
    out.push_str("</div>\n");
    out.push_str(&format!(
        "<p class=\"foot\">{}</p>\n</body></html>\n",
        esc(&d.footer)
    ));
    out
}
