//! The requirements checklist: the operator's configuration, each tenant's last WeChat
//! snapshot, item states with their history, and confirmations made before authorization.
//! Every tenant row is reached through its tenant id, filtered in SQL.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::DbConn;
use super::bindings;
use super::schema::{requirement_confirmations, requirement_history, requirement_snapshots, requirements};
use crate::domain::failure::Failure;
use crate::domain::requirements::{Config, Evaluation, Item, Problem, Remedy, State};

/// The platform setting that holds the configuration (JSON).
pub const CONFIG_KEY: &str = bindings::REQUIREMENTS_CONFIG;

/// The operator's configuration, or the defaults of seed 000 when none was saved.
pub fn config(conn: &mut DbConn) -> QueryResult<Config> {
    let stored = bindings::setting(conn, CONFIG_KEY)?;
    Ok(if stored.is_empty() { Config::default() } else { serde_json::from_str(&stored).unwrap_or_default() })
}

pub fn put_config(conn: &mut DbConn, config: &Config, now: i64) -> QueryResult<()> {
    let json = serde_json::to_string(config).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    bindings::put_setting(conn, CONFIG_KEY, &json, now)
}

/// How many tenants have been checked at least once (what a configuration change
/// re-evaluates).
pub fn checked_tenants(conn: &mut DbConn) -> QueryResult<i64> {
    requirement_snapshots::table.count().get_result(conn)
}

/// A stored item, as pages read it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub item: Item,
    pub state: State,
    pub problems: Vec<Problem>,
    pub deadline: Option<i64>,
    pub failure: Option<Failure>,
    pub remedy: Remedy,
    pub changed_at: i64,
}

#[derive(Queryable)]
struct Row {
    item: String,
    state: String,
    problems: String,
    deadline: Option<i64>,
    failure_kind: Option<String>,
    failure_code: Option<i64>,
    remedy: String,
    changed_at: i64,
}

impl Row {
    fn typed(self) -> Option<Stored> {
        Some(Stored {
            item: Item::parse(&self.item)?,
            state: State::parse(&self.state)?,
            problems: serde_json::from_str(&self.problems).unwrap_or_default(),
            deadline: self.deadline,
            failure: self.failure_kind.and_then(|k| Failure::from_parts(&k, self.failure_code)),
            remedy: Remedy::from_stored(&self.remedy),
            changed_at: self.changed_at,
        })
    }
}

/// The tenant's items in checklist order (empty before the first check), and when
/// WeChat was last asked.
pub fn for_tenant(conn: &mut DbConn, tenant_id: &str) -> QueryResult<(Vec<Stored>, Option<i64>)> {
    let rows: Vec<Row> = requirements::table
        .filter(requirements::tenant_id.eq(tenant_id))
        .select((
            requirements::item,
            requirements::state,
            requirements::problems,
            requirements::deadline,
            requirements::failure_kind,
            requirements::failure_code,
            requirements::remedy,
            requirements::changed_at,
        ))
        .load(conn)?;
    let mut items: Vec<Stored> = rows.into_iter().filter_map(Row::typed).collect();
    items.sort_by_key(|s| s.item);
    let checked_at = requirement_snapshots::table
        .filter(requirement_snapshots::tenant_id.eq(tenant_id))
        .select(requirement_snapshots::checked_at)
        .get_result(conn)
        .optional()?;
    Ok((items, checked_at))
}

/// Queues a check of the tenant's requirements against WeChat (once, however many ask
/// before it runs).
pub fn queue_check(conn: &mut DbConn, tenant_id: &str, now: i64) -> QueryResult<bool> {
    super::jobs::enqueue(
        conn,
        &super::jobs::CheckRequirements { tenant_id: tenant_id.to_string() },
        Some(tenant_id),
        now,
        now,
    )
}

/// The tenant's last snapshot (its JSON) and the AppID it was taken of.
pub fn snapshot(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<(String, String)>> {
    requirement_snapshots::table
        .filter(requirement_snapshots::tenant_id.eq(tenant_id))
        .select((requirement_snapshots::appid, requirement_snapshots::body))
        .get_result(conn)
        .optional()
}

pub fn put_snapshot(conn: &mut DbConn, tenant_id: &str, appid: &str, body: &str, now: i64) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO requirement_snapshots (tenant_id, appid, body, checked_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id) DO UPDATE SET appid = excluded.appid, body = excluded.body, checked_at = excluded.checked_at",
    )
    .bind::<Text, _>(tenant_id)
    .bind::<Text, _>(appid)
    .bind::<Text, _>(body)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    Ok(())
}

/// Saves evaluations; a changed state gets a history row. Returns the items whose state
/// changed, with the state before.
pub fn save(
    conn: &mut DbConn,
    tenant_id: &str,
    evaluations: &[Evaluation],
    now: i64,
) -> QueryResult<Vec<(Item, Option<State>, State)>> {
    let before: Vec<(String, String)> = requirements::table
        .filter(requirements::tenant_id.eq(tenant_id))
        .select((requirements::item, requirements::state))
        .load(conn)?;
    let mut changed = Vec::new();
    for e in evaluations {
        let old = before.iter().find(|(i, _)| i == e.item.as_str()).and_then(|(_, s)| State::parse(s));
        let problems =
            serde_json::to_string(&e.problems).map_err(|x| diesel::result::Error::SerializationError(Box::new(x)))?;
        let (failure_kind, failure_code) = e.failure.map(Failure::as_parts).map_or((None, None), |(k, c)| (Some(k), c));
        let changed_at = if old == Some(e.state) { None } else { Some(now) };
        diesel::sql_query(
            "INSERT INTO requirements (tenant_id, item, state, problems, deadline, failure_kind, failure_code, remedy, changed_at, evaluated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             ON CONFLICT (tenant_id, item) DO UPDATE SET state = excluded.state, problems = excluded.problems, \
             deadline = excluded.deadline, failure_kind = excluded.failure_kind, failure_code = excluded.failure_code, \
             remedy = excluded.remedy, \
             changed_at = CASE WHEN requirements.state = excluded.state THEN requirements.changed_at ELSE excluded.changed_at END, \
             evaluated_at = excluded.evaluated_at",
        )
        .bind::<Text, _>(tenant_id)
        .bind::<Text, _>(e.item.as_str())
        .bind::<Text, _>(e.state.as_str())
        .bind::<Text, _>(&problems)
        .bind::<Nullable<BigInt>, _>(e.deadline)
        .bind::<Nullable<Text>, _>(failure_kind)
        .bind::<Nullable<BigInt>, _>(failure_code)
        // SQLite numbers `$n` parameters in the order they first appear: keep them in order.
        .bind::<Text, _>(e.remedy.to_stored())
        .bind::<BigInt, _>(now)
        .execute(conn)?;
        if changed_at.is_some() {
            diesel::insert_into(requirement_history::table)
                .values((
                    requirement_history::id.eq(crate::new_id()),
                    requirement_history::tenant_id.eq(tenant_id),
                    requirement_history::item.eq(e.item.as_str()),
                    requirement_history::from_state.eq(old.map(State::as_str)),
                    requirement_history::to_state.eq(e.state.as_str()),
                    requirement_history::at.eq(now),
                ))
                .execute(conn)?;
            changed.push((e.item, old, e.state));
        }
    }
    Ok(changed)
}

/// One change of an item's state.
#[derive(Debug, Clone, Queryable)]
pub struct Change {
    pub item: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: i64,
}

/// The tenant's state changes, newest first.
pub fn history(conn: &mut DbConn, tenant_id: &str, limit: i64) -> QueryResult<Vec<Change>> {
    requirement_history::table
        .filter(requirement_history::tenant_id.eq(tenant_id))
        .select((
            requirement_history::item,
            requirement_history::from_state,
            requirement_history::to_state,
            requirement_history::at,
        ))
        .order((requirement_history::at.desc(), requirement_history::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Forgets the checklist of a tenant whose binding ended (the history stays).
pub fn clear(conn: &mut DbConn, tenant_id: &str) -> QueryResult<()> {
    diesel::delete(requirements::table.filter(requirements::tenant_id.eq(tenant_id))).execute(conn)?;
    diesel::delete(requirement_snapshots::table.filter(requirement_snapshots::tenant_id.eq(tenant_id)))
        .execute(conn)?;
    Ok(())
}

/// Tenants with a snapshot, after `after` in id order: the batches a re-evaluation walks.
pub fn snapshot_batch(conn: &mut DbConn, after: &str, limit: i64) -> QueryResult<Vec<(String, String)>> {
    requirement_snapshots::table
        .filter(requirement_snapshots::tenant_id.gt(after))
        .select((requirement_snapshots::tenant_id, requirement_snapshots::body))
        .order(requirement_snapshots::tenant_id.asc())
        .limit(limit)
        .load(conn)
}

/// Tenants with an active binding whose last check is the oldest (never checked first),
/// and not checked since `before`: the background re-check's next batch.
pub fn stalest(conn: &mut DbConn, before: i64, limit: i64) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct T {
        #[diesel(sql_type = Text)]
        tenant_id: String,
    }
    let rows: Vec<T> = diesel::sql_query(
        "SELECT b.tenant_id FROM mp_bindings b \
         LEFT JOIN requirement_snapshots s ON s.tenant_id = b.tenant_id \
         WHERE b.status = 'active' AND (s.checked_at IS NULL OR s.checked_at < $1) \
         ORDER BY COALESCE(s.checked_at, 0), b.tenant_id LIMIT $2",
    )
    .bind::<BigInt, _>(before)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.tenant_id).collect())
}

/// Per tenant: how many items are due now, and the earliest deadline.
#[derive(Debug, Clone, Default, QueryableByName)]
pub struct Summary {
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    #[diesel(sql_type = BigInt)]
    pub due_now: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub earliest_deadline: Option<i64>,
}

/// The summaries of the given tenants.
pub fn summaries(conn: &mut DbConn, tenant_ids: &[String]) -> QueryResult<Vec<Summary>> {
    if tenant_ids.is_empty() {
        return Ok(Vec::new());
    }
    requirements::table
        .filter(requirements::tenant_id.eq_any(tenant_ids))
        .group_by(requirements::tenant_id)
        .select((
            requirements::tenant_id,
            diesel::dsl::sql::<BigInt>("SUM(CASE WHEN state = 'due_now' THEN 1 ELSE 0 END)"),
            diesel::dsl::min(requirements::deadline),
        ))
        .load::<(String, i64, Option<i64>)>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(|(tenant_id, due_now, earliest_deadline)| Summary { tenant_id, due_now, earliest_deadline })
                .collect()
        })
}

/// The tenant's own summary.
pub fn summary(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Summary> {
    Ok(summaries(conn, &[tenant_id.to_string()])?.into_iter().next().unwrap_or_default())
}

// ---- confirmations before authorization ----

pub fn confirmations(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Vec<(Item, i64)>> {
    let rows: Vec<(String, i64)> = requirement_confirmations::table
        .filter(requirement_confirmations::tenant_id.eq(tenant_id))
        .select((requirement_confirmations::item, requirement_confirmations::confirmed_at))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(i, at)| Item::parse(&i).map(|i| (i, at))).collect())
}

/// Confirms (or withdraws the confirmation of) one item; true when something changed.
pub fn set_confirmation(
    conn: &mut DbConn,
    tenant_id: &str,
    item: Item,
    confirmed: bool,
    user_id: &str,
    now: i64,
) -> QueryResult<bool> {
    let target = requirement_confirmations::table
        .filter(requirement_confirmations::tenant_id.eq(tenant_id))
        .filter(requirement_confirmations::item.eq(item.as_str()));
    let n = if confirmed {
        diesel::sql_query(
            "INSERT INTO requirement_confirmations (tenant_id, item, confirmed_by, confirmed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, item) DO NOTHING",
        )
        .bind::<Text, _>(tenant_id)
        .bind::<Text, _>(item.as_str())
        .bind::<Text, _>(user_id)
        .bind::<BigInt, _>(now)
        .execute(conn)?
    } else {
        diesel::delete(target).execute(conn)?
    };
    Ok(n > 0)
}
