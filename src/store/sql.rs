//! One SQL surface over two engines: the embedded SQLite file and a PostgreSQL server (issue 17).
//!
//! The store's functions were written against `rusqlite`; this module gives them the same small
//! surface — `execute`, `query_row`, `prepare` → `query` / `query_map` / `exists`, rows read with
//! `get` — over either engine, so each statement is written once. What differs between the
//! engines stays here:
//!
//! - **Placeholders.** Statements use SQLite's `?N` (and bare `?`); for PostgreSQL they are
//!   rewritten to `$N` once per statement text and the prepared statement is cached.
//! - **Values.** Parameters and columns travel as SQLite's five storage classes
//!   ([`rusqlite::types::Value`]). A parameter is encoded for the type PostgreSQL asks for
//!   (an integer for `BIGINT`, `DOUBLE PRECISION`, `BOOLEAN` or `TEXT`; text for `TEXT` or
//!   `JSONB`; …), which is SQLite's type affinity in the other direction, so a statement needs
//!   no casts beyond the ones PostgreSQL needs to infer an untyped parameter (`CAST(?1 AS TEXT)
//!   IS NULL`). Columns are read back into the same five classes, so every `FromSql` the store
//!   already uses (`bool`, `Option<String>`, …) reads PostgreSQL rows unchanged. `NUMERIC`
//!   columns are refused by name: cast them in the statement.
//! - **Errors.** A PostgreSQL error travels as `rusqlite::Error::ToSqlConversionFailure` holding
//!   the [`postgres::Error`] (its text is PostgreSQL's, e.g. "the audit log is append-only"), and
//!   an empty `query_row` as `QueryReturnedNoRows`, so `?`, `.optional()` and the store's one
//!   error type work for both. [`pg_error`] gets the PostgreSQL error back.
//!
//! Why not `sqlx`'s `Any` driver: it is async and would turn every store call (and the
//! `spawn_blocking` call sites, about 150 of them) inside out; the store's calls block by design.
//! `postgres` (the blocking face of `tokio-postgres`, same authors) keeps them as they are.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql as PgToSql, Type};
pub use rusqlite::OptionalExtension;
pub use rusqlite::params;
use rusqlite::types::{FromSql, FromSqlError, ToSql, ToSqlOutput, Value, ValueRef};

/// The store's result type (both engines).
pub type Result<T> = rusqlite::Result<T>;

/// A connection (or the transaction a write runs in) on either engine.
pub enum Db<'a> {
    Lite(&'a rusqlite::Connection),
    Pg(&'a PgConn),
}

/// The name the store's functions use for it.
pub type Connection<'a> = Db<'a>;

/// A PostgreSQL client and its prepared statements.
pub struct PgConn {
    url: String,
    /// Always `Some` while the connection lives (taken only by `Drop`).
    client: RefCell<Option<postgres::Client>>,
    statements: RefCell<HashMap<String, postgres::Statement>>,
    /// Set between `BEGIN` and `COMMIT`/`ROLLBACK`: a transaction left open by a panic is rolled
    /// back before the connection is used again.
    in_transaction: std::cell::Cell<bool>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn").finish_non_exhaustive()
    }
}

/// A PostgreSQL error with the server's own words in its text (`postgres::Error` alone says
/// only "db error").
#[derive(Debug)]
pub struct PgError {
    message: String,
    pub source: postgres::Error,
}

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PgError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The PostgreSQL error inside a store error, if it came from PostgreSQL.
pub fn pg_error(e: &rusqlite::Error) -> Option<&PgError> {
    match e {
        rusqlite::Error::ToSqlConversionFailure(inner) => inner.downcast_ref(),
        _ => None,
    }
}

fn pg(e: postgres::Error) -> rusqlite::Error {
    let message = match e.as_db_error() {
        Some(db) => {
            let mut m = format!("PostgreSQL {}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                m += &format!(" ({d})");
            }
            m
        }
        None => {
            // The client's own errors ("error performing TLS handshake") say why only in
            // their sources ("invalid peer certificate: UnknownIssuer").
            let mut m = format!("PostgreSQL: {e}");
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                m += &format!(": {c}");
                cause = c.source();
            }
            m
        }
    };
    rusqlite::Error::ToSqlConversionFailure(Box::new(PgError { message, source: e }))
}

fn refused(message: String) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(message.into())
}

/// Hides the password of a `postgres://` URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &cred[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A client for `url` (`super::pg_tls::connect`), its errors in the store's form.
fn tls_connect(url: &str) -> Result<postgres::Client> {
    super::pg_tls::connect(url).map_err(|e| match e {
        super::pg_tls::ConnectError::Postgres(e) => pg(e),
        super::pg_tls::ConnectError::Settings(m) => {
            rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::other(m)))
        }
    })
}

impl PgConn {
    /// Connects, with TLS as the URL's `sslmode` asks (`super::pg_tls`).
    pub fn connect(url: &str) -> Result<PgConn> {
        let mut client = tls_connect(url)?;
        client
            .batch_execute("SET client_min_messages TO warning")
            .map_err(pg)?;
        Ok(PgConn {
            url: url.to_string(),
            client: RefCell::new(Some(client)),
            statements: RefCell::new(HashMap::new()),
            in_transaction: std::cell::Cell::new(false),
        })
    }

    fn client(&self) -> std::cell::RefMut<'_, postgres::Client> {
        std::cell::RefMut::map(self.client.borrow_mut(), |c| {
            c.as_mut()
                .expect("a PostgreSQL connection is used after it was dropped")
        })
    }

    /// Makes the connection usable: reconnects after the server closed it, rolls back a
    /// transaction a panic left open.
    pub fn check(&self) -> Result<()> {
        if self.client().is_closed() {
            let fresh = PgConn::connect(&self.url)?;
            let new = fresh.client.borrow_mut().take();
            *self.client.borrow_mut() = new;
            self.statements.borrow_mut().clear();
            self.in_transaction.set(false);
        }
        if self.in_transaction.get() {
            self.batch("ROLLBACK")?;
            self.in_transaction.set(false);
        }
        Ok(())
    }

    /// Runs statements without parameters (schema, `BEGIN`, …).
    pub fn batch(&self, sql: &str) -> Result<()> {
        self.client().batch_execute(sql).map_err(pg)
    }

    /// Runs `f` in one transaction holding the cluster-wide writer lock (an advisory lock), so
    /// writes from every node are serialised as SQLite's are on one; commits only on `Ok`.
    pub fn write<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Db<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.check()?;
        self.batch("BEGIN")?;
        self.in_transaction.set(true);
        let db = Db::Pg(self);
        let out = db
            .execute("SELECT pg_advisory_xact_lock(?1)", [WRITER_LOCK])
            .map_err(E::from)
            .and_then(|_| f(&db));
        let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = self.batch(end);
        self.in_transaction.set(false);
        ended?;
        out
    }

    fn statement(&self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.client().prepare(&placeholders(sql)).map_err(pg)?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn query(&self, sql: &str, values: &[Value]) -> Result<Vec<Vec<Value>>> {
        let st = self.statement(sql)?;
        let params: Vec<PgParam<'_>> = values.iter().map(PgParam).collect();
        let refs: Vec<&(dyn PgToSql + Sync)> =
            params.iter().map(|p| p as &(dyn PgToSql + Sync)).collect();
        let rows = self.client().query(&st, &refs).map_err(pg)?;
        rows.iter().map(row_values).collect()
    }

    fn execute(&self, sql: &str, values: &[Value]) -> Result<usize> {
        let st = self.statement(sql)?;
        let params: Vec<PgParam<'_>> = values.iter().map(PgParam).collect();
        let refs: Vec<&(dyn PgToSql + Sync)> =
            params.iter().map(|p| p as &(dyn PgToSql + Sync)).collect();
        let n = self.client().execute(&st, &refs).map_err(pg)?;
        Ok(n as usize)
    }
}

impl Drop for PgConn {
    /// The client's own runtime is dropped with it, which tokio refuses on an async worker
    /// thread (a test's, or a handler's by mistake): there it is dropped under
    /// `block_in_place`.
    fn drop(&mut self) {
        let client = self.client.get_mut().take();
        super::pg_blocking(move || drop(client));
    }
}

/// A connection waiting for `NOTIFY`s on one channel (the change feed).
pub struct Listener(postgres::Client);

impl Listener {
    pub fn connect(url: &str, channel: &str) -> Result<Listener> {
        let mut client = tls_connect(url)?;
        client
            .batch_execute(&format!(
                "SET client_min_messages TO warning; LISTEN {channel}"
            ))
            .map_err(pg)?;
        Ok(Listener(client))
    }

    /// Waits up to `timeout` for a notification; whether one came. Errors when the connection
    /// is gone (connect again).
    pub fn wait(&mut self, timeout: std::time::Duration) -> Result<bool> {
        if self.0.is_closed() {
            return Err(refused("the change feed's connection is closed".into()));
        }
        use postgres::fallible_iterator::FallibleIterator;
        let mut n = self.0.notifications();
        let got = n.timeout_iter(timeout).next().map_err(pg)?.is_some();
        // Everything already queued counts as the same wake-up.
        let mut rest = n.iter();
        while rest.next().map_err(pg)?.is_some() {}
        Ok(got)
    }
}

/// The advisory lock every write transaction takes (`pg_advisory_xact_lock`): "VIGW" in ASCII.
pub const WRITER_LOCK: i64 = 0x5649_4757;

/// `?N` → `$N`, bare `?` → the next number; quoted text is left alone.
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0usize;
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    out.push_str(&format!("${next}"));
                } else {
                    out.push('$');
                    out.push_str(&digits);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// A parameter encoded for the type PostgreSQL asks for.
#[derive(Debug)]
struct PgParam<'v>(&'v Value);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

fn enc<T: PgToSql>(
    v: T,
    ty: &Type,
    out: &mut bytes::BytesMut,
) -> std::result::Result<IsNull, BoxError> {
    PgToSql::to_sql(&v, ty, out)
}

impl PgToSql for PgParam<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, BoxError> {
        let mismatch = |what: &str| -> BoxError {
            format!("cannot store {what} in a PostgreSQL {ty} parameter").into()
        };
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(v) => match *ty {
                Type::INT8 => enc(v, ty, out),
                Type::INT4 => enc(i32::try_from(*v)?, ty, out),
                Type::INT2 => enc(i16::try_from(*v)?, ty, out),
                Type::FLOAT8 => enc(*v as f64, ty, out),
                Type::FLOAT4 => enc(*v as f32, ty, out),
                Type::BOOL => enc(*v != 0, ty, out),
                Type::TEXT | Type::VARCHAR => enc(v.to_string(), ty, out),
                _ => Err(mismatch("an integer")),
            },
            Value::Real(v) => match *ty {
                Type::FLOAT8 => enc(v, ty, out),
                Type::FLOAT4 => enc(*v as f32, ty, out),
                Type::INT8 if v.fract() == 0.0 => enc(*v as i64, ty, out),
                Type::TEXT | Type::VARCHAR => enc(v.to_string(), ty, out),
                _ => Err(mismatch("a real number")),
            },
            Value::Text(s) => match *ty {
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    enc(s.as_str(), &Type::TEXT, out)
                }
                Type::JSON => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::INT8 => enc(s.parse::<i64>()?, ty, out),
                Type::FLOAT8 => enc(s.parse::<f64>()?, ty, out),
                _ => Err(mismatch("text")),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => enc(b.as_slice(), ty, out),
                _ => Err(mismatch("bytes")),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn row_values(row: &postgres::Row) -> Result<Vec<Value>> {
    (0..row.len())
        .map(|i| {
            let col = &row.columns()[i];
            let v = match *col.type_() {
                Type::INT8 => row
                    .try_get::<_, Option<i64>>(i)
                    .map(|v| v.map(Value::Integer)),
                Type::INT4 => row
                    .try_get::<_, Option<i32>>(i)
                    .map(|v| v.map(|v| Value::Integer(v.into()))),
                Type::INT2 => row
                    .try_get::<_, Option<i16>>(i)
                    .map(|v| v.map(|v| Value::Integer(v.into()))),
                Type::BOOL => row
                    .try_get::<_, Option<bool>>(i)
                    .map(|v| v.map(|v| Value::Integer(v.into()))),
                Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map(|v| v.map(Value::Real)),
                Type::FLOAT4 => row
                    .try_get::<_, Option<f32>>(i)
                    .map(|v| v.map(|v| Value::Real(v.into()))),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
                    .try_get::<_, Option<String>>(i)
                    .map(|v| v.map(Value::Text)),
                Type::BYTEA => row
                    .try_get::<_, Option<Vec<u8>>>(i)
                    .map(|v| v.map(Value::Blob)),
                // `sum()` of a BIGINT, `avg()`: read as SQLite would give them.
                Type::NUMERIC => row.try_get::<_, Option<Numeric>>(i).map(|v| v.map(|n| n.0)),
                ref other => {
                    return Err(refused(format!(
                        "column {} is a PostgreSQL {other}, which the store does not read; cast it \
                         to BIGINT, DOUBLE PRECISION or TEXT in the statement",
                        col.name()
                    )));
                }
            };
            Ok(v.map_err(pg)?.unwrap_or(Value::Null))
        })
        .collect()
}

/// A PostgreSQL `NUMERIC` read as an integer when it has no fraction and fits, else as a real
/// (binary format: digit count, weight, sign, scale, then base-10000 digits).
struct Numeric(Value);

impl<'a> postgres::types::FromSql<'a> for Numeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        let word = |i: usize| -> std::result::Result<u16, BoxError> {
            raw.get(i * 2..i * 2 + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .ok_or_else(|| "truncated NUMERIC".into())
        };
        let (ndigits, weight, sign, dscale) = (word(0)?, word(1)? as i16, word(2)?, word(3)?);
        if sign == 0xC000 {
            return Ok(Numeric(Value::Real(f64::NAN)));
        }
        let mut v = 0f64;
        for k in 0..ndigits as usize {
            let d = f64::from(word(4 + k)?);
            v += d * 10_000f64.powi(i32::from(weight) - k as i32);
        }
        if sign == 0x4000 {
            v = -v;
        }
        Ok(Numeric(if dscale == 0 && v.abs() < 9.0e15 {
            Value::Integer(v as i64)
        } else {
            Value::Real(v)
        }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}

/// Statement parameters: what `params![…]`, `[a, b]`, `()` and [`params_from_iter`] give.
pub trait Params {
    fn values(self) -> Result<Vec<Value>>;
}

fn owned(p: &dyn ToSql) -> Result<Value> {
    Ok(match p.to_sql()? {
        ToSqlOutput::Borrowed(v) => v.into(),
        ToSqlOutput::Owned(v) => v,
        other => return Err(refused(format!("unsupported parameter {other:?}"))),
    })
}

impl Params for () {
    fn values(self) -> Result<Vec<Value>> {
        Ok(Vec::new())
    }
}

impl Params for &[&dyn ToSql] {
    fn values(self) -> Result<Vec<Value>> {
        self.iter().map(|p| owned(*p)).collect()
    }
}

impl<T: ToSql, const N: usize> Params for [T; N] {
    fn values(self) -> Result<Vec<Value>> {
        self.iter().map(|p| owned(p)).collect()
    }
}

impl<T: ToSql, const N: usize> Params for &[&T; N] {
    fn values(self) -> Result<Vec<Value>> {
        self.iter().map(|p| owned(*p)).collect()
    }
}

/// Parameters from an iterator (e.g. an `IN (?, ?, …)` list).
pub struct FromIter(Result<Vec<Value>>);

pub fn params_from_iter<I>(iter: I) -> FromIter
where
    I: IntoIterator,
    I::Item: ToSql,
{
    FromIter(iter.into_iter().map(|p| owned(&p)).collect())
}

impl Params for FromIter {
    fn values(self) -> Result<Vec<Value>> {
        self.0
    }
}

/// A column's position (a trait with one implementation, so `r.get(0)` infers `usize` as
/// with rusqlite).
pub trait ColumnIndex {
    fn index(self) -> usize;
}

impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// A result row of either engine.
pub enum Row<'a> {
    Lite(&'a rusqlite::Row<'a>),
    Pg(&'a [Value]),
}

impl Row<'_> {
    /// Column `i` as `T` (the same conversions, and the same turbofish, as
    /// `rusqlite::Row::get`).
    pub fn get<I: ColumnIndex, T: FromSql>(&self, i: I) -> Result<T> {
        let i = i.index();
        match self {
            Row::Lite(r) => r.get(i),
            Row::Pg(values) => {
                let v = values
                    .get(i)
                    .ok_or(rusqlite::Error::InvalidColumnIndex(i))?;
                T::column_result(ValueRef::from(v)).map_err(|e| match e {
                    FromSqlError::InvalidType => rusqlite::Error::InvalidColumnType(
                        i,
                        format!("column {i}"),
                        ValueRef::from(v).data_type(),
                    ),
                    other => rusqlite::Error::FromSqlConversionFailure(
                        i,
                        ValueRef::from(v).data_type(),
                        Box::new(other),
                    ),
                })
            }
        }
    }

    /// Column `i` without conversion.
    pub fn get_ref(&self, i: usize) -> Result<ValueRef<'_>> {
        match self {
            Row::Lite(r) => r.get_ref(i),
            Row::Pg(values) => values
                .get(i)
                .map(ValueRef::from)
                .ok_or(rusqlite::Error::InvalidColumnIndex(i)),
        }
    }
}

/// A prepared statement of either engine.
pub enum Statement<'c> {
    Lite(rusqlite::CachedStatement<'c>),
    Pg(&'c PgConn, String),
}

/// The rows of a query: streamed from SQLite, fetched at once from PostgreSQL.
pub enum Rows<'s> {
    Lite(rusqlite::Rows<'s>),
    Pg(Vec<Vec<Value>>, usize),
}

impl Rows<'_> {
    /// The next row (the name and shape of `rusqlite::Rows::next`, which is no `Iterator`
    /// either: a row borrows the cursor).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match self {
            Rows::Lite(r) => Ok(r.next()?.map(Row::Lite)),
            Rows::Pg(rows, at) => {
                *at += 1;
                Ok(rows.get(*at - 1).map(|r| Row::Pg(r)))
            }
        }
    }
}

impl<'c> Statement<'c> {
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        let values = params.values()?;
        match self {
            Statement::Lite(s) => Ok(Rows::Lite(s.query(rusqlite::params_from_iter(values))?)),
            Statement::Pg(c, sql) => Ok(Rows::Pg(c.query(sql, &values)?, 0)),
        }
    }

    /// Every row through `f` (collected: callers read them all).
    pub fn query_map<T, P: Params, F>(
        &mut self,
        params: P,
        mut f: F,
    ) -> Result<std::vec::IntoIter<Result<T>>>
    where
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        let mut rows = self.query(params)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(f(&r));
        }
        Ok(out.into_iter())
    }

    pub fn query_row<T, P: Params, F>(&mut self, params: P, f: F) -> Result<T>
    where
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(r) => f(&r),
            None => Err(rusqlite::Error::QueryReturnedNoRows),
        }
    }

    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        let mut rows = self.query(params)?;
        Ok(rows.next()?.is_some())
    }

    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        let values = params.values()?;
        match self {
            Statement::Lite(s) => s.execute(rusqlite::params_from_iter(values)),
            Statement::Pg(c, sql) => c.execute(sql, &values),
        }
    }
}

impl<'a> Db<'a> {
    /// Whether this is the PostgreSQL engine (for the few statements written twice).
    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Pg(_))
    }

    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        let values = params.values()?;
        match self {
            Db::Lite(c) => c
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(values)),
            Db::Pg(c) => c.execute(sql, &values),
        }
    }

    pub fn query_row<T, P: Params, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.prepare(sql)?.query_row(params, f)
    }

    pub fn prepare(&self, sql: &str) -> Result<Statement<'a>> {
        match self {
            Db::Lite(c) => Ok(Statement::Lite(c.prepare_cached(sql)?)),
            Db::Pg(c) => Ok(Statement::Pg(c, sql.to_string())),
        }
    }

    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'a>> {
        self.prepare(sql)
    }

    /// Runs statements without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match self {
            Db::Lite(c) => c.execute_batch(sql),
            Db::Pg(c) => c.batch(sql),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c IN (?, ?) AND d = '?x' AND e = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($1, $2) AND d = '?x' AND e = $12"
        );
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://vigil:secret@db:5432/vigil"),
            "postgres://vigil:***@db:5432/vigil"
        );
        assert_eq!(redact_url("postgres://db/vigil"), "postgres://db/vigil");
    }

    #[test]
    fn sqlite_rows_read_through_the_facade() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let db = Db::Lite(&c);
        db.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, x REAL)")
            .unwrap();
        db.execute("INSERT INTO t (name, x) VALUES (?1, ?2)", params!["a", 1.5])
            .unwrap();
        db.execute("INSERT INTO t (name, x) VALUES (?1, ?2)", ["b", "2"])
            .unwrap();
        let names: Vec<String> = db
            .prepare("SELECT name FROM t ORDER BY id")
            .unwrap()
            .query_map((), |r| r.get(0))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(names, ["a", "b"]);
        let none = db
            .query_row("SELECT id FROM t WHERE name = ?1", ["z"], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .unwrap();
        assert_eq!(none, None);
        let n: i64 = db
            .query_row(
                "SELECT count(*) FROM t WHERE id IN (?, ?)",
                params_from_iter([1, 2]),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
    }
}
