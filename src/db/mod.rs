//! Database access: one connection type over SQLite and PostgreSQL, the pool, the
//! migrations, and the helpers handlers use to run queries off the async threads.
//!
//! Single-row reads use `get_result`, not `first`: `first` binds `LIMIT ?`, and SQLite
//! marks a statement whose LIMIT is a bound value to be re-prepared each time it is bound
//! again, which throws the statement cache away (the profile of the Mini Program tab spent
//! 40% of its CPU in `sqlite3Reprepare`). Without a LIMIT the first row is read and the
//! statement stays prepared; these queries return one row or a handful by their keys.
//!
//! Every query lives in a submodule here; functions take `&mut DbConn` and return
//! diesel's `QueryResult`. Tenant rows are only ever reached through functions that
//! take the tenant id and filter on it in SQL.

pub mod applications;
pub mod audit;
pub mod backup;
pub mod bindings;
pub mod campaigns;
pub mod commerce;
pub mod invitations;
pub mod jobs;
pub mod models;
pub mod official_accounts;
pub mod outbox;
pub mod pacing;
pub mod password_resets;
pub mod platform;
pub mod rate;
pub mod releases;
pub mod requirements;
pub mod schema;
pub mod sessions;
pub mod tenants;
pub mod throttle;
pub mod two_factor;
pub mod users;
pub mod wallet;
// live selling (issue 13)
pub mod live_selling;

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("build with at least one of the features `sqlite` or `postgres`");

use std::time::Duration;

use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// One connection type for both backends; the variant is picked from `DATABASE_URL`.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    #[cfg(feature = "sqlite")]
    Sqlite(diesel::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(diesel::PgConnection),
}

pub type DbPool = r2d2::Pool<DbManager>;
pub type PooledConn = r2d2::PooledConnection<DbManager>;

#[cfg(feature = "sqlite")]
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
#[cfg(feature = "postgres")]
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which backend a `DATABASE_URL` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite { path: String },
    Postgres { url: String },
}

impl Backend {
    /// Parses the URL scheme; unknown schemes and backends not compiled in are refused
    /// with a sentence meant for the person starting the server.
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                bail!("DATABASE_URL {url:?} has no file path (write sqlite://data/minihost.db)");
            }
            if !cfg!(feature = "sqlite") {
                bail!("this build has no SQLite support; rebuild with `cargo build --features sqlite`");
            }
            return Ok(Self::Sqlite { path: path.to_string() });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            if !cfg!(feature = "postgres") {
                bail!(
                    "this build has no PostgreSQL support; rebuild with `cargo build --features postgres` (needs libpq)"
                );
            }
            return Ok(Self::Postgres { url: url.to_string() });
        }
        let scheme = url.split(':').next().unwrap_or_default();
        bail!("DATABASE_URL scheme {scheme:?} is not supported; use sqlite://PATH or postgres://…")
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

/// r2d2 manager that opens the backend named by the URL. diesel's own manager for a
/// MultiConnection tries each backend in turn, and SQLite accepts any string as a path.
#[derive(Debug)]
pub struct DbManager {
    backend: Backend,
}

impl r2d2::ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match &self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite { path } => {
                let mut conn =
                    diesel::SqliteConnection::establish(path).map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres { url } => {
                diesel::PgConnection::establish(url).map(DbConn::Postgres).map_err(diesel::r2d2::Error::ConnectionError)
            }
            #[allow(unreachable_patterns)]
            other => Err(diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(format!(
                "backend {} is not compiled in",
                other.name()
            )))),
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// The most threads a runtime lends to database work (`run`). Every runtime has its own
/// (the main one, where the job worker runs, and each HTTP worker's), so together they
/// still outnumber the pool's connections; a thread beyond that only waits for a
/// connection while keeping its own allocator heap. Peak memory in the campaign benchmark:
/// 1,000 tenants, 512 threads (tokio's default) 187 MB, 20 threads 121 MB; 10,000
/// tenants, 8 threads 104 MB, 4 threads 93 MB (the pace unchanged: 1.004 of its bound).
pub const BLOCKING_THREADS: usize = 4;

/// Opens the pool, failing fast with one clear line when the database cannot be reached.
pub fn connect(database_url: &str) -> anyhow::Result<DbPool> {
    let backend = Backend::from_url(database_url)?;
    if let Backend::Sqlite { path } = &backend
        && let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create directory {}", parent.display()))?;
    }
    let manager = DbManager { backend: backend.clone() };
    // Try once by hand: r2d2 would otherwise retry for its whole timeout and then say little.
    let mut probe = r2d2::ManageConnection::connect(&manager)
        .map_err(|e| anyhow::anyhow!("cannot open the {} database: {}", backend.name(), one_line(&e.to_string())))?;
    if matches!(backend, Backend::Sqlite { .. }) {
        probe.batch_execute("PRAGMA journal_mode = WAL;").context("cannot switch SQLite to WAL mode")?;
    }
    drop(probe);
    let max_size = match backend {
        Backend::Sqlite { .. } => 8,
        Backend::Postgres { .. } => 10,
    };
    r2d2::Pool::builder()
        .max_size(max_size)
        // A SQLite connection is a file handle in this process: it cannot go stale the way
        // a network connection can, so the `SELECT 1` before every checkout is dropped there.
        .test_on_check_out(matches!(backend, Backend::Postgres { .. }))
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .context("cannot build the database pool")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A set of migrations in its twin directories, one per backend compiled in.
pub struct MigrationSet {
    /// Names the set in logs and errors ("database", "sandbox").
    pub name: &'static str,
    #[cfg(feature = "sqlite")]
    pub sqlite: EmbeddedMigrations,
    #[cfg(feature = "postgres")]
    pub postgres: EmbeddedMigrations,
}

/// The console's own migrations.
const CONSOLE: MigrationSet = MigrationSet {
    name: "database",
    #[cfg(feature = "sqlite")]
    sqlite: SQLITE_MIGRATIONS,
    #[cfg(feature = "postgres")]
    postgres: POSTGRES_MIGRATIONS,
};

/// Applies the console's pending migrations for the connection's backend.
pub fn migrate(conn: &mut DbConn) -> anyhow::Result<()> {
    apply(conn, CONSOLE)
}

/// Applies a set's pending migrations for the connection's backend.
pub fn apply(conn: &mut DbConn, set: MigrationSet) -> anyhow::Result<()> {
    let name = set.name;
    let applied = match conn {
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => c.run_pending_migrations(set.sqlite).map(|v| v.len()),
        #[cfg(feature = "postgres")]
        DbConn::Postgres(c) => c.run_pending_migrations(set.postgres).map(|v| v.len()),
    }
    .map_err(|e| anyhow::anyhow!("{name} migration failed: {e}"))?;
    if applied > 0 {
        tracing::info!(count = applied, set = name, "applied migrations");
    }
    Ok(())
}

/// Why a database call failed, with its source kept for the logs.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had from the pool in time.
    #[error("database pool")]
    Pool(#[from] r2d2::Error),
    /// A query failed.
    #[error("database query")]
    Query(#[from] diesel::result::Error),
    /// The blocking task did not run to completion (it panicked or was cancelled).
    #[error("database task")]
    Task(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DbError {
    /// True when the query found no row (diesel's `NotFound`).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Query(diesel::result::Error::NotFound))
    }
}

/// Runs `f` on a pooled connection on the blocking thread pool: the one way async code
/// reaches the database. The checkout happens inside the blocking task, so a wait for a
/// connection never blocks an async worker. Errors keep their source: callers' error
/// types convert from [`DbError`] (and from diesel's error, for the closure's queries).
pub async fn run<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    match actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(DbError::Pool)?;
        f(&mut conn)
    })
    .await
    {
        Ok(result) => result,
        Err(e) => Err(DbError::Task(Box::new(e)).into()),
    }
}

/// Runs `f` in one read transaction on the blocking pool, so a page's own data is read
/// in one trip and from one consistent snapshot.
pub async fn read<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    run(pool, move |conn| read_tx(conn, f)).await
}

/// Runs `f` in one read transaction on a connection the caller holds.
pub fn read_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut DbConn) -> Result<T, E>,
{
    conn.transaction(f)
}

/// Runs `f` in one write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so two
/// writers queue on the busy timeout instead of failing when a read lock is upgraded.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    #[cfg(feature = "sqlite")]
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        type Tm = AnsiTransactionManager;
        if let Some(inner) = sqlite_inner(conn) {
            Tm::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            let result = f(conn);
            let Some(inner) = sqlite_inner(conn) else {
                return result;
            };
            return match result {
                Ok(value) => match <Tm as TransactionManager<diesel::SqliteConnection>>::commit_transaction(inner) {
                    Ok(()) => Ok(value),
                    Err(e) => {
                        let _ = <Tm as TransactionManager<diesel::SqliteConnection>>::rollback_transaction(inner);
                        Err(e.into())
                    }
                },
                Err(e) => {
                    let _ = <Tm as TransactionManager<diesel::SqliteConnection>>::rollback_transaction(inner);
                    Err(e)
                }
            };
        }
    }
    conn.transaction(f)
}

#[cfg(feature = "sqlite")]
fn sqlite_inner(conn: &mut DbConn) -> Option<&mut diesel::SqliteConnection> {
    match conn {
        DbConn::Sqlite(c) => Some(c),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The PostgreSQL connection inside, for the few statements written for it alone
/// (array binds, `unnest`), which the two-backend connection cannot express.
#[cfg(feature = "postgres")]
pub fn pg_inner(conn: &mut DbConn) -> Option<&mut diesel::PgConnection> {
    match conn {
        DbConn::Postgres(c) => Some(c),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// True when the error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}
