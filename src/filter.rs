//! CQL2 filters (OGC API – Features Part 3): a `filter` in cql2-text or cql2-json is parsed by
//! the `cql2` crate (developmentseed's; it follows the standard's grammar and JSON schema, so
//! Vigil does not keep a grammar of its own), then compiled against one collection's
//! [`Queryable`]s into a [`Filter`]: a tree over typed values that each collection evaluates on
//! its own rows (hotspot index entries, surveys, boundaries, flags) inside its index scan and
//! jurisdiction check, so paging and `numberMatched` count what the filter lets through.
//!
//! Supported: `AND`, `OR`, `NOT`; `=`, `<>`, `<`, `<=`, `>`, `>=`; `LIKE`, `BETWEEN`, `IN`,
//! `IS NULL`; `S_INTERSECTS`, `S_DISJOINT`, `S_WITHIN`, `S_CONTAINS` with any geometry or
//! `BBOX(…)`; `T_INTERSECTS`, `T_DISJOINT`, `T_BEFORE`, `T_AFTER`, `T_DURING` with `DATE`,
//! `TIMESTAMP` or `INTERVAL`. Anything else is refused by name.

use cql2::Expr;
use geo::{BoundingRect, Intersects, Relate};
use serde_json::{Value as Json, json};

/// The type of a queryable property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Text,
    Integer,
    Number,
    /// A calendar day (matches the whole day, UTC).
    Date,
    DateTime,
    /// The feature's geometry (`geometry` in filters).
    Geometry(&'static str),
}

/// One property a filter may name.
#[derive(Debug, Clone, Copy)]
pub struct Queryable {
    pub name: &'static str,
    pub title: &'static str,
    pub ty: Type,
    /// The values a text property can take, when they are a closed set.
    pub values: &'static [&'static str],
}

impl Queryable {
    pub const fn new(name: &'static str, title: &'static str, ty: Type) -> Queryable {
        Queryable {
            name,
            title,
            ty,
            values: &[],
        }
    }

    pub const fn one_of(mut self, values: &'static [&'static str]) -> Queryable {
        self.values = values;
        self
    }
}

/// The queryables document (JSON Schema 2020-12) of a collection.
pub fn queryables_schema(id_url: &str, title: &str, qs: &[Queryable]) -> Json {
    let mut props = serde_json::Map::new();
    for q in qs {
        let mut p = match q.ty {
            Type::Text => json!({ "type": "string" }),
            Type::Integer => json!({ "type": "integer" }),
            Type::Number => json!({ "type": "number" }),
            Type::Date => json!({ "type": "string", "format": "date" }),
            Type::DateTime => json!({ "type": "string", "format": "date-time" }),
            Type::Geometry(format) => {
                json!({ "format": format, "x-ogc-role": "primary-geometry" })
            }
        };
        p["title"] = json!(q.title);
        if !q.values.is_empty() {
            p["enum"] = json!(q.values);
        }
        props.insert(q.name.to_string(), p);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id_url,
        "type": "object",
        "title": title,
        "properties": props,
        "additionalProperties": false,
    })
}

/// A property's value on one row.
#[derive(Debug, Clone)]
pub enum Val<'a> {
    Null,
    Text(&'a str),
    Num(f64),
    /// An instant or a day as `[first, last]` seconds since 1970 (UTC).
    Time(i64, i64),
    Point([f64; 2]),
    Geom(&'a geo::Geometry<f64>),
    Area(&'a geo::MultiPolygon<f64>),
}

/// A row a filter can be evaluated on: the value of the `i`-th queryable.
pub trait Row {
    fn get(&self, i: usize) -> Val<'_>;
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Spatial {
    Intersects,
    Disjoint,
    Within,
    Contains,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Temporal {
    Intersects,
    Disjoint,
    Before,
    After,
    During,
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Text(String),
    Num(f64),
    Time(i64, i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Const(bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Cmp(usize, Cmp, Lit),
    In(usize, Vec<Lit>),
    Between(usize, Lit, Lit),
    Like(usize, String),
    IsNull(usize),
    Spatial(usize, Spatial, geo::Geometry<f64>, Option<geo::Rect<f64>>),
    Temporal(usize, Temporal, (i64, i64)),
}

/// A compiled filter for one collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    root: Node,
}

/// The filter languages of `filter-lang`.
pub const LANGS: [&str; 2] = ["cql2-text", "cql2-json"];

/// Conformance classes of Part 3 and CQL2 that the filters meet.
pub const CONFORMANCE: [&str; 9] = [
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
];

type Result<T> = std::result::Result<T, String>;

impl Filter {
    /// Parses `text` in `lang` (`cql2-text` when `None`) against `qs`. The error says what is
    /// wrong in words a user can act on.
    pub fn parse(text: &str, lang: Option<&str>, qs: &[Queryable]) -> Result<Filter> {
        let expr: Expr = match lang.unwrap_or("cql2-text") {
            "cql2-text" => cql2::parse_text(text).map_err(|e| format!("not cql2-text: {e}"))?,
            "cql2-json" => cql2::parse_json(text).map_err(|e| format!("not cql2-json: {e}"))?,
            other => {
                return Err(format!(
                    "filter-lang={other:?} is not one of {}",
                    LANGS.join(", ")
                ));
            }
        };
        let root = Compiler { qs }.node(&expr)?;
        Ok(Filter { root })
    }

    pub fn matches(&self, row: &dyn Row) -> bool {
        eval(&self.root, row)
    }
}

struct Compiler<'q> {
    qs: &'q [Queryable],
}

fn op_name(op: &str) -> String {
    op.to_ascii_lowercase()
}

impl Compiler<'_> {
    fn node(&self, e: &Expr) -> Result<Node> {
        match e {
            Expr::Bool(b) => Ok(Node::Const(*b)),
            Expr::Operation { op, args } => self.operation(&op_name(op), args),
            Expr::Property { property } => {
                let i = self.property(property)?;
                Err(format!(
                    "{:?} alone is no condition; compare it (e.g. {} = …)",
                    self.qs[i].name, self.qs[i].name
                ))
            }
            other => Err(format!("{} is no condition", describe(other))),
        }
    }

    fn property(&self, name: &str) -> Result<usize> {
        self.qs.iter().position(|q| q.name == name).ok_or_else(|| {
            format!(
                "unknown property {name:?}; queryable here: {}",
                self.qs
                    .iter()
                    .map(|q| q.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    fn operation(&self, op: &str, args: &[Box<Expr>]) -> Result<Node> {
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!("{op} takes {n} arguments, got {}", args.len()))
            }
        };
        match op {
            "and" | "or" => {
                let nodes = args
                    .iter()
                    .map(|a| self.node(a))
                    .collect::<Result<Vec<_>>>()?;
                Ok(if op == "and" {
                    Node::And(nodes)
                } else {
                    Node::Or(nodes)
                })
            }
            "not" => {
                arity(1)?;
                Ok(Node::Not(Box::new(self.node(&args[0])?)))
            }
            "=" | "<>" | "<" | "<=" | ">" | ">=" => {
                arity(2)?;
                let mut cmp = match op {
                    "=" => Cmp::Eq,
                    "<>" => Cmp::Ne,
                    "<" => Cmp::Lt,
                    "<=" => Cmp::Le,
                    ">" => Cmp::Gt,
                    _ => Cmp::Ge,
                };
                // `value op property` is `property op' value`.
                let (p, v) = match (&*args[0], &*args[1]) {
                    (Expr::Property { property }, v) => (property, v),
                    (v, Expr::Property { property }) => {
                        cmp = match cmp {
                            Cmp::Lt => Cmp::Gt,
                            Cmp::Le => Cmp::Ge,
                            Cmp::Gt => Cmp::Lt,
                            Cmp::Ge => Cmp::Le,
                            c => c,
                        };
                        (property, v)
                    }
                    _ => return Err(format!("{op} compares a property with a value")),
                };
                let i = self.property(p)?;
                Ok(Node::Cmp(i, cmp, self.literal(i, v)?))
            }
            "like" => {
                arity(2)?;
                let i = self.property_arg(&args[0], op)?;
                match (&*args[1], self.qs[i].ty) {
                    (Expr::Literal(s), Type::Text) => Ok(Node::Like(i, s.clone())),
                    _ => Err(format!(
                        "LIKE takes a text property and a quoted pattern ({} is not text)",
                        self.qs[i].name
                    )),
                }
            }
            "between" => {
                arity(3)?;
                let i = self.property_arg(&args[0], op)?;
                Ok(Node::Between(
                    i,
                    self.literal(i, &args[1])?,
                    self.literal(i, &args[2])?,
                ))
            }
            "in" => {
                arity(2)?;
                let i = self.property_arg(&args[0], op)?;
                let Expr::Array(items) = &*args[1] else {
                    return Err("IN takes a list: property IN ('a', 'b')".into());
                };
                let lits = items
                    .iter()
                    .map(|v| self.literal(i, v))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Node::In(i, lits))
            }
            "isnull" => {
                arity(1)?;
                Ok(Node::IsNull(self.property_arg(&args[0], op)?))
            }
            "s_intersects" | "s_disjoint" | "s_within" | "s_contains" => {
                arity(2)?;
                let (p, g) = match (&*args[0], &*args[1]) {
                    (Expr::Property { property }, g) | (g, Expr::Property { property }) => {
                        (property, g)
                    }
                    _ => return Err(format!("{op} relates the geometry property to a geometry")),
                };
                let i = self.property(p)?;
                if !matches!(self.qs[i].ty, Type::Geometry(_)) {
                    return Err(format!("{op}: {p:?} is not a geometry"));
                }
                let g = geometry(g)?;
                let rect = g.bounding_rect();
                let mut sp = match op {
                    "s_intersects" => Spatial::Intersects,
                    "s_disjoint" => Spatial::Disjoint,
                    "s_within" => Spatial::Within,
                    _ => Spatial::Contains,
                };
                // S_WITHIN(g, property) is S_CONTAINS(property, g).
                if matches!(&*args[1], Expr::Property { .. }) {
                    sp = match sp {
                        Spatial::Within => Spatial::Contains,
                        Spatial::Contains => Spatial::Within,
                        s => s,
                    };
                }
                Ok(Node::Spatial(i, sp, g, rect))
            }
            "t_intersects" | "t_disjoint" | "t_before" | "t_after" | "t_during" => {
                arity(2)?;
                let Expr::Property { property } = &*args[0] else {
                    return Err(format!("{op} takes the time property first"));
                };
                let i = self.property(property)?;
                if !matches!(self.qs[i].ty, Type::Date | Type::DateTime) {
                    return Err(format!("{op}: {property:?} is not a date or time"));
                }
                let span = time(&args[1])?;
                let t = match op {
                    "t_intersects" => Temporal::Intersects,
                    "t_disjoint" => Temporal::Disjoint,
                    "t_before" => Temporal::Before,
                    "t_after" => Temporal::After,
                    _ => Temporal::During,
                };
                Ok(Node::Temporal(i, t, span))
            }
            other => Err(format!(
                "the operator {other:?} is not supported here; supported: AND, OR, NOT, =, <>, <, <=, >, >=, LIKE, BETWEEN, IN, IS NULL, S_INTERSECTS, S_DISJOINT, S_WITHIN, S_CONTAINS, T_INTERSECTS, T_DISJOINT, T_BEFORE, T_AFTER, T_DURING"
            )),
        }
    }

    fn property_arg(&self, e: &Expr, op: &str) -> Result<usize> {
        match e {
            Expr::Property { property } => self.property(property),
            other => Err(format!(
                "{op} takes a property first, not {}",
                describe(other)
            )),
        }
    }

    /// A literal for comparing with queryable `i`, checked against its type.
    fn literal(&self, i: usize, e: &Expr) -> Result<Lit> {
        let q = &self.qs[i];
        let wrong = || {
            format!(
                "{} is {}; {} does not fit",
                q.name,
                type_name(q.ty),
                describe(e)
            )
        };
        match (q.ty, e) {
            (Type::Text, Expr::Literal(s)) => {
                if !q.values.is_empty() && !q.values.contains(&s.as_str()) {
                    return Err(format!(
                        "{} is one of {}; {s:?} is none of them",
                        q.name,
                        q.values.join(", ")
                    ));
                }
                Ok(Lit::Text(s.clone()))
            }
            (Type::Integer | Type::Number, Expr::Float(x)) => Ok(Lit::Num(*x)),
            (Type::Date | Type::DateTime, e @ (Expr::Date { .. } | Expr::Timestamp { .. })) => {
                let (a, b) = time(e)?;
                Ok(Lit::Time(a, b))
            }
            // A bare string where a date is expected: taken as the date or instant it spells.
            (Type::Date | Type::DateTime, Expr::Literal(s)) => {
                let (a, b) = instant(s)?;
                Ok(Lit::Time(a, b))
            }
            _ => Err(wrong()),
        }
    }
}

fn type_name(t: Type) -> &'static str {
    match t {
        Type::Text => "text",
        Type::Integer => "an integer",
        Type::Number => "a number",
        Type::Date => "a date",
        Type::DateTime => "a timestamp",
        Type::Geometry(_) => "a geometry",
    }
}

fn describe(e: &Expr) -> String {
    match e {
        Expr::Literal(s) => format!("the text {s:?}"),
        Expr::Float(x) => format!("the number {x}"),
        Expr::Bool(b) => format!("{b}"),
        Expr::Null => "NULL".into(),
        Expr::Property { property } => format!("the property {property:?}"),
        Expr::Date { .. } => "a DATE".into(),
        Expr::Timestamp { .. } => "a TIMESTAMP".into(),
        Expr::Interval { .. } => "an INTERVAL".into(),
        Expr::BBox { .. } => "a BBOX".into(),
        Expr::Geometry(_) => "a geometry".into(),
        Expr::Array(_) => "a list".into(),
        Expr::Operation { op, .. } => format!("the operation {op}"),
    }
}

/// A geometry argument: GeoJSON, WKT or `BBOX(w, s, e, n)`, in lon/lat.
fn geometry(e: &Expr) -> Result<geo::Geometry<f64>> {
    match e {
        Expr::BBox { bbox } => {
            let n: Vec<f64> = bbox
                .iter()
                .map(|x| match &**x {
                    Expr::Float(v) => Ok(*v),
                    other => Err(format!("BBOX takes numbers, not {}", describe(other))),
                })
                .collect::<Result<_>>()?;
            let (w, s, e, nn) = match n.len() {
                4 => (n[0], n[1], n[2], n[3]),
                6 => (n[0], n[1], n[3], n[4]),
                k => return Err(format!("BBOX takes 4 (or 6) numbers, got {k}")),
            };
            if w > e || s > nn {
                return Err(format!(
                    "BBOX({w}, {s}, {e}, {nn}): west must not exceed east, nor south north"
                ));
            }
            Ok(geo::Geometry::Rect(geo::Rect::new(
                geo::coord! { x: w, y: s },
                geo::coord! { x: e, y: nn },
            )))
        }
        Expr::Geometry(cql2::Geometry::GeoJSON(g)) => geo::Geometry::<f64>::try_from(g.clone())
            .map_err(|e| format!("unusable GeoJSON geometry: {e}")),
        Expr::Geometry(cql2::Geometry::Wkt(w)) => {
            use wkt::TryFromWkt;
            geo::Geometry::<f64>::try_from_wkt_str(w)
                .map_err(|e| format!("unusable WKT {w:?}: {e}"))
        }
        other => Err(format!(
            "expected a geometry or BBOX, not {}",
            describe(other)
        )),
    }
}

/// `DATE('…')`, `TIMESTAMP('…')` or `INTERVAL(a, b)` as `[first, last]` seconds.
fn time(e: &Expr) -> Result<(i64, i64)> {
    let text = |x: &Expr| match x {
        Expr::Literal(s) => Ok(s.clone()),
        other => Err(format!(
            "expected a quoted date or time, not {}",
            describe(other)
        )),
    };
    match e {
        Expr::Date { date } => instant(&text(date)?),
        Expr::Timestamp { timestamp } => instant(&text(timestamp)?),
        Expr::Literal(s) => instant(s),
        Expr::Interval { interval } if interval.len() == 2 => {
            let end = |x: &Expr, last: bool| -> Result<i64> {
                let s = match x {
                    Expr::Date { date } => text(date)?,
                    Expr::Timestamp { timestamp } => text(timestamp)?,
                    other => text(other)?,
                };
                if s == ".." {
                    return Ok(if last { i64::MAX } else { i64::MIN });
                }
                let (a, b) = instant(&s)?;
                Ok(if last { b } else { a })
            };
            let (a, b) = (end(&interval[0], false)?, end(&interval[1], true)?);
            if a > b {
                return Err("the INTERVAL ends before it starts".into());
            }
            Ok((a, b))
        }
        other => Err(format!(
            "expected DATE, TIMESTAMP or INTERVAL, not {}",
            describe(other)
        )),
    }
}

/// A date (`2026-03-01`: that whole day, UTC) or an RFC 3339 instant, as `[first, last]` seconds.
pub fn instant(s: &str) -> Result<(i64, i64)> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        let t = t.unix_timestamp();
        return Ok((t, t));
    }
    let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{s:?} is not a date (2026-03-01) nor an RFC 3339 time"))?;
    let a = d.midnight().assume_utc().unix_timestamp();
    Ok((a, a + 86_399))
}

/// A day number (days since 1970-01-01) as a [`Val::Time`].
pub fn day(days: i32) -> Val<'static> {
    let a = i64::from(days) * 86_400;
    Val::Time(a, a + 86_399)
}

/// An optional text as a [`Val`].
pub fn text(s: Option<&str>) -> Val<'_> {
    s.map_or(Val::Null, Val::Text)
}

/// An RFC 3339 text as a [`Val::Time`] (`Null` when absent or unreadable).
pub fn rfc3339(s: Option<&str>) -> Val<'static> {
    match s.map(instant) {
        Some(Ok((a, b))) => Val::Time(a, b),
        _ => Val::Null,
    }
}

fn compare(v: &Val, lit: &Lit) -> Option<std::cmp::Ordering> {
    match (v, lit) {
        (Val::Text(a), Lit::Text(b)) => Some((*a).cmp(b.as_str())),
        (Val::Num(a), Lit::Num(b)) => a.partial_cmp(b),
        // A day compared with a day, an instant with an instant; a day against an instant
        // compares their starts.
        (Val::Time(a, _), Lit::Time(b, _)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn equal(v: &Val, lit: &Lit) -> bool {
    match (v, lit) {
        (Val::Time(a0, a1), Lit::Time(b0, b1)) => {
            // A day equals an instant inside it.
            (a0 <= b0 && b1 <= a1) || (b0 <= a0 && a1 <= b1)
        }
        _ => compare(v, lit) == Some(std::cmp::Ordering::Equal),
    }
}

/// SQL `LIKE`: `%` any run, `_` one character, `\` escapes.
fn like(text: &str, pattern: &str) -> bool {
    fn go(t: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('%', rest)) => (0..=t.len()).any(|k| go(&t[k..], rest)),
            Some(('_', rest)) => !t.is_empty() && go(&t[1..], rest),
            Some(('\\', rest)) if !rest.is_empty() => {
                t.first() == Some(&rest[0]) && go(&t[1..], &rest[1..])
            }
            Some((c, rest)) => t.first() == Some(c) && go(&t[1..], rest),
        }
    }
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&t, &p)
}

fn eval(n: &Node, row: &dyn Row) -> bool {
    use std::cmp::Ordering::*;
    match n {
        Node::Const(b) => *b,
        Node::And(v) => v.iter().all(|n| eval(n, row)),
        Node::Or(v) => v.iter().any(|n| eval(n, row)),
        Node::Not(n) => !eval(n, row),
        Node::Cmp(i, op, lit) => {
            let v = row.get(*i);
            if matches!(v, Val::Null) {
                return false;
            }
            match op {
                Cmp::Eq => equal(&v, lit),
                Cmp::Ne => !equal(&v, lit) && compare(&v, lit).is_some(),
                Cmp::Lt => compare(&v, lit) == Some(Less),
                Cmp::Le => matches!(compare(&v, lit), Some(Less | Equal)),
                Cmp::Gt => compare(&v, lit) == Some(Greater),
                Cmp::Ge => matches!(compare(&v, lit), Some(Greater | Equal)),
            }
        }
        Node::In(i, lits) => {
            let v = row.get(*i);
            lits.iter().any(|l| equal(&v, l))
        }
        Node::Between(i, lo, hi) => {
            let v = row.get(*i);
            matches!(compare(&v, lo), Some(Greater | Equal))
                && matches!(compare(&v, hi), Some(Less | Equal))
        }
        Node::Like(i, p) => match row.get(*i) {
            Val::Text(t) => like(t, p),
            _ => false,
        },
        Node::IsNull(i) => matches!(row.get(*i), Val::Null),
        Node::Spatial(i, op, g, rect) => match row.get(*i) {
            Val::Point([x, y]) => {
                let p = geo::Point::new(x, y);
                spatial(&p, Some(geo::Rect::new(p.0, p.0)), *op, g, rect)
            }
            Val::Geom(own) => spatial(own, own.bounding_rect(), *op, g, rect),
            Val::Area(own) => spatial(own, own.bounding_rect(), *op, g, rect),
            _ => false,
        },
        Node::Temporal(i, op, (b0, b1)) => {
            let Val::Time(a0, a1) = row.get(*i) else {
                return false;
            };
            match op {
                Temporal::Intersects => a0 <= *b1 && *b0 <= a1,
                Temporal::Disjoint => a1 < *b0 || *b1 < a0,
                Temporal::Before => a1 < *b0,
                Temporal::After => a0 > *b1,
                Temporal::During => *b0 <= a0 && a1 <= *b1,
            }
        }
    }
}

/// A spatial relation of a row's geometry (`own`, with its bounding box) to the filter's.
fn spatial<G>(
    own: &G,
    own_rect: Option<geo::Rect<f64>>,
    op: Spatial,
    g: &geo::Geometry<f64>,
    rect: &Option<geo::Rect<f64>>,
) -> bool
where
    G: Intersects<geo::Geometry<f64>> + Relate<f64>,
{
    // The bounding boxes first: most rows are far away.
    let apart = matches!((rect, own_rect), (Some(a), Some(b)) if !a.intersects(&b));
    match op {
        Spatial::Intersects => !apart && own.intersects(g),
        Spatial::Disjoint => apart || !own.intersects(g),
        Spatial::Within => !apart && own.relate(g).is_within(),
        Spatial::Contains => !apart && own.relate(g).is_contains(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QS: [Queryable; 5] = [
        Queryable::new("status", "Status", Type::Text).one_of(&["reported", "eliminated"]),
        Queryable::new("confidence", "Confidence", Type::Number),
        Queryable::new("reported_on", "Reported", Type::Date),
        Queryable::new("geometry", "Where", Type::Geometry("geometry-point")),
        Queryable::new("name", "Name", Type::Text),
    ];

    struct R {
        status: &'static str,
        confidence: f64,
        day: i32,
        at: [f64; 2],
        name: Option<&'static str>,
    }

    impl Row for R {
        fn get(&self, i: usize) -> Val<'_> {
            match i {
                0 => Val::Text(self.status),
                1 => Val::Num(self.confidence),
                2 => day(self.day),
                3 => Val::Point(self.at),
                _ => self.name.map_or(Val::Null, Val::Text),
            }
        }
    }

    fn row() -> R {
        // 2026-03-10 is day 20522.
        R {
            status: "reported",
            confidence: 0.8,
            day: 20_522,
            at: [105.3, 22.0],
            name: Some("Bản Pắc"),
        }
    }

    fn yes(text: &str) -> bool {
        Filter::parse(text, None, &QS)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .matches(&row())
    }

    #[test]
    fn text_filters_evaluate_on_typed_rows() {
        for (text, want) in [
            ("status = 'reported'", true),
            ("status <> 'reported'", false),
            ("confidence >= 0.8 AND confidence < 0.9", true),
            ("NOT confidence > 0.5", false),
            ("status IN ('eliminated', 'reported')", true),
            ("confidence BETWEEN 0.1 AND 0.7", false),
            ("name LIKE 'Bản%'", true),
            ("name LIKE 'B_n P%c'", true),
            ("name IS NULL", false),
            ("reported_on = DATE('2026-03-10')", true),
            ("reported_on > DATE('2026-03-10')", false),
            (
                "T_INTERSECTS(reported_on, INTERVAL('2026-03-01', '2026-03-31'))",
                true,
            ),
            (
                "T_INTERSECTS(reported_on, INTERVAL('2026-03-11T00:00:00Z', '..'))",
                false,
            ),
            ("T_BEFORE(reported_on, DATE('2026-03-11'))", true),
            ("S_INTERSECTS(geometry, BBOX(105, 21.5, 105.5, 22.5))", true),
            (
                "S_INTERSECTS(geometry, POLYGON((104 20, 105 20, 105 21, 104 20)))",
                false,
            ),
            (
                "S_WITHIN(geometry, POLYGON((105 21, 106 21, 106 23, 105 23, 105 21)))",
                true,
            ),
            (
                "status = 'eliminated' OR S_DISJOINT(geometry, BBOX(0, 0, 1, 1))",
                true,
            ),
        ] {
            assert_eq!(yes(text), want, "{text}");
        }
    }

    #[test]
    fn json_filters_are_the_same_filters() {
        let f = Filter::parse(
            r#"{"op":"and","args":[{"op":"=","args":[{"property":"status"},"reported"]},{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[105,21.5,105.5,22.5]}]}]}"#,
            Some("cql2-json"),
            &QS,
        )
        .unwrap();
        assert!(f.matches(&row()));
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            ("colour = 'red'", "unknown property \"colour\""),
            ("status = 'gone'", "none of them"),
            ("confidence = 'high'", "confidence is a number"),
            ("status ==", "not cql2-text"),
            ("confidence + 1 > 2", "compares a property with a value"),
            ("S_INTERSECTS(status, BBOX(0,0,1,1))", "not a geometry"),
            (
                "S_INTERSECTS(geometry, BBOX(2,0,1,1))",
                "west must not exceed east",
            ),
        ] {
            let e = Filter::parse(text, None, &QS).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
        let e = Filter::parse("x", Some("ecql"), &QS).unwrap_err();
        assert!(e.contains("filter-lang"), "{e}");
    }
}
