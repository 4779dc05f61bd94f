//! `minihost backup PATH`: a consistent copy of a SQLite database, made while the server
//! runs. `VACUUM INTO` reads the database in one read transaction (a snapshot: writers go
//! on meanwhile) and writes a compact copy. PostgreSQL has its own tools (README "Backups").

use std::path::Path;

use anyhow::bail;

use super::Backend;

/// Copies the database named by `database_url` to `target`, which must not exist; the
/// copy's size in bytes.
pub fn backup(database_url: &str, target: &Path) -> anyhow::Result<u64> {
    match Backend::from_url(database_url)? {
        Backend::Postgres { .. } => {
            bail!("minihost backup copies SQLite databases; back up PostgreSQL with pg_dump -Fc (README, \"Backups\")")
        }
        Backend::Sqlite { path } => sqlite(&path, target),
    }
}

#[cfg(feature = "sqlite")]
fn sqlite(path: &str, target: &Path) -> anyhow::Result<u64> {
    use anyhow::Context;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    if target.exists() {
        bail!("{} already exists; a backup never overwrites a file, give a new path", target.display());
    }
    // Opening a missing file would create an empty database and copy that.
    if !Path::new(path).is_file() {
        bail!("there is no SQLite database at {path} (DATABASE_URL)");
    }
    let target_text = target.to_str().with_context(|| format!("{} is not a UTF-8 path", target.display()))?;
    let mut conn = diesel::SqliteConnection::establish(path).with_context(|| format!("cannot open {path}"))?;
    conn.batch_execute("PRAGMA busy_timeout = 10000;")?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target_text)
        .execute(&mut conn)
        .with_context(|| format!("cannot write the copy to {}", target.display()))?;
    Ok(std::fs::metadata(target)?.len())
}

#[cfg(not(feature = "sqlite"))]
fn sqlite(_path: &str, _target: &Path) -> anyhow::Result<u64> {
    bail!("this build has no SQLite support")
}
