//! The report as a PDF, pure Rust: a small layout pass (wrapped paragraphs, tables that break
//! across pages with their header repeated, page numbers) lays out A4 pages as drawing
//! operations, and `krilla` writes them, embedding a subset of a TrueType font with Vietnamese
//! glyphs (DejaVu Sans from Debian's `fonts-dejavu-core` by default; `[reports] font`).
//!
//! Why not a browser's print-to-PDF of the HTML: it needs Chromium on every server (hundreds of
//! MB, a sandbox, a process per report) for what is a few tables of text. Why krilla: maintained,
//! no C dependencies, and it subsets and embeds the font with a ToUnicode map, so the text can be
//! searched and extracted (the tests read it back with `pdftotext`).

use krilla::Document as PdfDocument;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};

use super::RenderError;
use super::document::{Cell, Document, Table};

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 56.0;
const RIGHT: f32 = 42.0;
const TOP: f32 = 48.0;
const BOTTOM: f32 = 52.0;
const BODY: f32 = 10.5;
const SMALL: f32 = 7.5;
const PAD: f32 = 2.5;

/// The regular and bold faces.
pub struct Fonts {
    pub regular: Vec<u8>,
    pub bold: Vec<u8>,
}

/// Where Debian and others keep fonts with Vietnamese glyphs: (regular, bold).
pub const KNOWN_FONTS: &[(&str, &str)] = &[
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
];

struct Face<'a> {
    face: ttf_parser::Face<'a>,
    upem: f32,
}

impl Face<'_> {
    fn width(&self, s: &str, size: f32) -> f32 {
        let units: f32 = s
            .chars()
            .map(|c| {
                self.face
                    .glyph_index(c)
                    .and_then(|g| self.face.glyph_hor_advance(g))
                    .unwrap_or((self.upem * 0.5) as u16) as f32
            })
            .sum();
        units / self.upem * size
    }
}

/// One drawing operation on a page (y grows downwards, text y is the baseline).
#[derive(Debug, Clone)]
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
    },
    Shade {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

struct Layout<'a> {
    regular: Face<'a>,
    bold: Face<'a>,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl<'a> Layout<'a> {
    fn face(&self, bold: bool) -> &Face<'a> {
        if bold { &self.bold } else { &self.regular }
    }

    fn width(&self) -> f32 {
        PAGE_W - LEFT - RIGHT
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        self.pages.last_mut().expect("a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Makes room for `h` points, starting a page when needed.
    fn room(&mut self, h: f32) {
        if self.y + h > PAGE_H - BOTTOM {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        self.ops().push(Op::Text {
            x,
            y,
            size,
            bold,
            text: text.to_string(),
        });
    }

    /// Greedy word wrap to `max` points; overlong words are cut.
    fn wrap(&self, s: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
        let f = self.face(bold);
        let mut lines = Vec::new();
        for para in s.split('\n') {
            let mut line = String::new();
            for word in para.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if f.width(&candidate, size) <= max {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                let mut piece = String::new();
                for ch in word.chars() {
                    piece.push(ch);
                    if f.width(&piece, size) > max && piece.chars().count() > 1 {
                        piece.pop();
                        lines.push(std::mem::take(&mut piece));
                        piece.push(ch);
                    }
                }
                line = piece;
            }
            lines.push(line);
        }
        lines
    }

    /// A paragraph: `align` 0 left, 1 centre, 2 right, within [x0, x0 + w].
    fn paragraph(&mut self, s: &str, size: f32, bold: bool, align: u8, x0: f32, w: f32) {
        let lh = size * 1.35;
        for line in self.wrap(s, size, bold, w) {
            self.room(lh);
            let lw = self.face(bold).width(&line, size);
            let x = match align {
                1 => x0 + (w - lw) / 2.0,
                2 => x0 + w - lw,
                _ => x0,
            };
            let y = self.y + size;
            self.text(x, y, size, bold, &line);
            self.y += lh;
        }
    }

    fn table(&mut self, t: &Table) {
        let total: f32 = t.widths.iter().sum::<f32>().max(1.0);
        let cols: Vec<f32> = t.widths.iter().map(|w| w / total * self.width()).collect();
        let size = if cols.len() > 8 { SMALL } else { 8.5 };
        let lh = size * 1.25;
        let header: Vec<Cell> = t.header.iter().map(|h| Cell::Text(h.clone())).collect();
        let fits = |l: &Self, cells: &[Cell], bold: bool| -> (Vec<Vec<String>>, f32) {
            let wrapped: Vec<Vec<String>> = cells
                .iter()
                .zip(&cols)
                .map(|(c, w)| l.wrap(&c.display(), size, bold, w - 2.0 * PAD))
                .collect();
            let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
            (wrapped, lines as f32 * lh + 2.0 * PAD)
        };
        let draw_row = |l: &mut Self, cells: &[Cell], bold: bool, shade: bool| {
            let (wrapped, h) = fits(l, cells, bold);
            let y0 = l.y;
            if shade {
                let w = l.width();
                l.ops().push(Op::Shade {
                    x: LEFT,
                    y: y0,
                    w,
                    h,
                });
            }
            let mut x = LEFT;
            for ((lines, w), cell) in wrapped.iter().zip(&cols).zip(cells) {
                for (i, line) in lines.iter().enumerate() {
                    let lw = l.face(bold).width(line, size);
                    let tx = if matches!(cell, Cell::Num(..)) {
                        x + w - PAD - lw
                    } else if shade {
                        x + (w - lw) / 2.0
                    } else {
                        x + PAD
                    };
                    let ty = y0 + PAD + size + i as f32 * lh;
                    l.text(tx, ty, size, bold, line);
                }
                l.ops().push(Op::Line {
                    x1: x,
                    y1: y0,
                    x2: x,
                    y2: y0 + h,
                });
                x += w;
            }
            let right = LEFT + l.width();
            l.ops().push(Op::Line {
                x1: right,
                y1: y0,
                x2: right,
                y2: y0 + h,
            });
            l.ops().push(Op::Line {
                x1: LEFT,
                y1: y0,
                x2: right,
                y2: y0,
            });
            l.ops().push(Op::Line {
                x1: LEFT,
                y1: y0 + h,
                x2: right,
                y2: y0 + h,
            });
            l.y += h;
        };
        let (_, hh) = fits(self, &header, true);
        let first_h = t
            .rows
            .first()
            .map(|r| fits(self, r, false).1)
            .unwrap_or(0.0);
        self.room(hh + first_h);
        draw_row(self, &header, true, true);
        for (i, row) in t.rows.iter().enumerate() {
            let bold = t.total && i + 1 == t.rows.len();
            let (_, h) = fits(self, row, bold);
            if self.y + h > PAGE_H - BOTTOM {
                self.new_page();
                draw_row(self, &header, true, true);
            }
            draw_row(self, row, bold, false);
        }
        self.y += 6.0;
    }
}

fn face(b: &[u8]) -> Result<(ttf_parser::Face<'_>, f32), RenderError> {
    let f = ttf_parser::Face::parse(b, 0).map_err(|e| RenderError::Font(e.to_string()))?;
    let upem = f.units_per_em() as f32;
    Ok((f, upem))
}

fn layout(d: &Document, regular: &[u8], bold: &[u8]) -> Result<Vec<Vec<Op>>, RenderError> {
    let (r, ru) = face(regular)?;
    let (b, bu) = face(bold)?;
    let mut l = Layout {
        regular: Face { face: r, upem: ru },
        bold: Face { face: b, upem: bu },
        pages: Vec::new(),
        y: TOP,
    };
    l.new_page();
    let w = l.width();
    let half = w / 2.0;
    // Heading: issuer on the left, the national motto on the right, both centred.
    let top = l.y;
    for line in &d.issuer {
        l.paragraph(line, 9.5, true, 1, LEFT, half * 0.9);
    }
    let after_issuer = l.y;
    l.y = top;
    for (i, line) in d.motto.iter().enumerate() {
        let size = if i == 0 { 9.5 } else { 10.5 };
        l.paragraph(line, size, true, 1, LEFT + half * 0.9, w - half * 0.9);
        if i + 1 == d.motto.len() {
            let lw = l.bold.width(line, size);
            let cx = LEFT + half * 0.9 + (w - half * 0.9) / 2.0;
            let y = l.y - 1.0;
            l.ops().push(Op::Line {
                x1: cx - lw / 2.0,
                y1: y,
                x2: cx + lw / 2.0,
                y2: y,
            });
        }
    }
    l.y = l.y.max(after_issuer) + 8.0;
    l.paragraph(&d.place_date, BODY, false, 2, LEFT, w);
    l.y += 10.0;
    l.paragraph(&d.title, 14.0, true, 1, LEFT, w);
    l.paragraph(&d.subtitle, 12.0, true, 1, LEFT, w);
    l.y += 4.0;
    l.paragraph(&d.recipient, BODY, false, 1, LEFT, w);
    l.y += 8.0;
    for s in &d.sections {
        l.room(BODY * 4.0);
        l.y += 4.0;
        l.paragraph(&s.title, BODY + 0.5, true, 0, LEFT, w);
        for p in &s.paragraphs {
            l.paragraph(p, BODY, false, 0, LEFT, w);
        }
        for t in &s.tables {
            l.y += 3.0;
            l.table(t);
        }
        for p in &s.after {
            l.paragraph(p, BODY, false, 0, LEFT, w);
        }
    }
    l.y += 10.0;
    for (i, line) in d.closing.iter().enumerate() {
        l.paragraph(line, 9.5, i == 0, 0, LEFT, w);
    }
    l.y += 10.0;
    l.paragraph(&d.footer, 8.0, false, 0, LEFT, w);
    Ok(l.pages)
}

/// The PDF bytes.
pub fn render(d: &Document, fonts: &Fonts) -> Result<Vec<u8>, RenderError> {
    let pages = layout(d, &fonts.regular, &fonts.bold)?;
    let regular = Font::new(fonts.regular.clone().into(), 0)
        .ok_or_else(|| RenderError::Font("the regular font cannot be read".into()))?;
    let bold = Font::new(fonts.bold.clone().into(), 0)
        .ok_or_else(|| RenderError::Font("the bold font cannot be read".into()))?;
    let mut doc = PdfDocument::new();
    doc.set_metadata(
        Metadata::new()
            .title(format!("{} {}", d.title, d.subtitle))
            .language("vi".into())
            .creator("Vigil".into()),
    );
    let n = pages.len();
    for (i, ops) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| RenderError::Pdf("bad page size".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Shade { x, y, w, h } => {
                    let mut pb = PathBuilder::new();
                    if let Some(rect) = krilla::geom::Rect::from_xywh(*x, *y, *w, *h) {
                        pb.push_rect(rect);
                    }
                    if let Some(path) = pb.finish() {
                        surface.set_stroke(None);
                        surface.set_fill(Some(Fill {
                            paint: krilla::color::luma::Color::new(232).into(),
                            ..Default::default()
                        }));
                        surface.draw_path(&path);
                    }
                }
                Op::Line { x1, y1, x2, y2 } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x1, *y1);
                    pb.line_to(*x2, *y2);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            width: 0.5,
                            ..Default::default()
                        }));
                        surface.draw_path(&path);
                    }
                }
                Op::Text {
                    x,
                    y,
                    size,
                    bold: b,
                    text,
                } => {
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill::default()));
                    let font = if *b { bold.clone() } else { regular.clone() };
                    surface.draw_text(
                        Point::from_xy(*x, *y),
                        font,
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
            }
        }
        let label = format!("Trang {}/{}", i + 1, n);
        surface.set_fill(Some(Fill::default()));
        surface.draw_text(
            Point::from_xy(PAGE_W - RIGHT - 50.0, PAGE_H - BOTTOM / 2.0),
            regular.clone(),
            8.0,
            &label,
            false,
            TextDirection::Auto,
        );
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
}
