//! Live selling: the operator's capability register, each tenant's last reading of the
//! trade component (or of its WeChat Shop link) and what the console submitted to the
//! component. Every tenant row is reached through its tenant id, filtered in SQL.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::DbConn;
use super::schema::{capabilities, live_selling, live_selling_items};
use crate::domain::failure::Failure;
use crate::domain::live_selling::{
    Capability, CapabilityEdit, CapabilityStatus, ItemKind, ItemStatus, OrderStage, Reading, Submitted,
};

/// One capability of the register.
#[derive(Debug, Clone)]
pub struct CapabilityRow {
    pub key: Capability,
    pub status: CapabilityStatus,
    pub since: String,
    pub note: String,
    pub updated_by: String,
    pub updated_at: i64,
}

type RawCapability = (String, String, String, String, String, i64);

fn typed_capability((key, status, since, note, updated_by, updated_at): RawCapability) -> Option<CapabilityRow> {
    Some(CapabilityRow {
        key: Capability::parse(&key)?,
        status: CapabilityStatus::parse(&status)?,
        since,
        note,
        updated_by,
        updated_at,
    })
}

/// The register, in the order of [`Capability::ALL`].
pub fn capabilities(conn: &mut DbConn) -> QueryResult<Vec<CapabilityRow>> {
    let rows: Vec<RawCapability> = capabilities::table
        .select((
            capabilities::key,
            capabilities::status,
            capabilities::since,
            capabilities::note,
            capabilities::updated_by,
            capabilities::updated_at,
        ))
        .load(conn)?;
    let mut rows: Vec<CapabilityRow> = rows.into_iter().filter_map(typed_capability).collect();
    rows.sort_by_key(|r| Capability::ALL.iter().position(|c| *c == r.key));
    Ok(rows)
}

pub fn capability(conn: &mut DbConn, key: Capability) -> QueryResult<Option<CapabilityRow>> {
    Ok(capabilities(conn)?.into_iter().find(|r| r.key == key))
}

pub fn update_capability(
    conn: &mut DbConn,
    key: Capability,
    edit: &CapabilityEdit,
    by: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(capabilities::table.filter(capabilities::key.eq(key.as_str())))
        .set((
            capabilities::status.eq(edit.status.as_str()),
            capabilities::since.eq(&edit.since),
            capabilities::note.eq(&edit.note),
            capabilities::updated_by.eq(by),
            capabilities::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Which world a tenant's mini program is in, as WeChat answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// On the custom trade component (register/check answered).
    Legacy,
    /// Not on it (1040003): the WeChat Shop path.
    Shop,
    /// WeChat could not tell (the check failed).
    Unknown,
}

impl World {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Shop => "shop",
            Self::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "legacy" => Self::Legacy,
            "shop" => Self::Shop,
            _ => Self::Unknown,
        }
    }
}

/// A tenant's last reading.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub appid: String,
    pub world: World,
    pub reading: Reading,
    /// The read that failed (the shop link's read for [`World::Shop`]).
    pub failure: Option<Failure>,
    pub checked_at: i64,
}

type RawSnapshot = (String, String, String, Option<String>, Option<i64>, i64);

pub fn snapshot(conn: &mut DbConn, tenant_id: &str) -> QueryResult<Option<Snapshot>> {
    let row: Option<RawSnapshot> = live_selling::table
        .filter(live_selling::tenant_id.eq(tenant_id))
        .select((
            live_selling::appid,
            live_selling::world,
            live_selling::reading,
            live_selling::failure_kind,
            live_selling::failure_code,
            live_selling::checked_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(appid, world, reading, kind, code, checked_at)| Snapshot {
        appid,
        world: World::parse(&world),
        reading: Reading::from_json(&reading),
        failure: kind.and_then(|k| Failure::from_parts(&k, code)),
        checked_at,
    }))
}

pub fn put_snapshot(
    conn: &mut DbConn,
    tenant_id: &str,
    appid: &str,
    world: World,
    reading: &Reading,
    failure: Option<Failure>,
    now: i64,
) -> QueryResult<()> {
    let body = serde_json::to_string(reading).unwrap_or_else(|_| "{}".into());
    let (kind, code) = failure.map(Failure::as_parts).map_or((None, None), |(k, c)| (Some(k), c));
    diesel::sql_query(
        "INSERT INTO live_selling (tenant_id, appid, world, reading, failure_kind, failure_code, checked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET appid = excluded.appid, \
         world = excluded.world, reading = excluded.reading, failure_kind = excluded.failure_kind, \
         failure_code = excluded.failure_code, checked_at = excluded.checked_at",
    )
    .bind::<Text, _>(tenant_id)
    .bind::<Text, _>(appid)
    .bind::<Text, _>(world.as_str())
    .bind::<Text, _>(body)
    .bind::<Nullable<Text>, _>(kind)
    .bind::<Nullable<BigInt>, _>(code)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    Ok(())
}

/// Sets which world the tenant is in (an `open_product_account_register` push): an
/// access cancelled forgets the component's reading. False when it already was.
pub fn set_world(conn: &mut DbConn, tenant_id: &str, appid: &str, world: World, now: i64) -> QueryResult<bool> {
    match snapshot(conn, tenant_id)?.filter(|s| s.appid == appid) {
        Some(s) if s.world == world => Ok(false),
        Some(s) => {
            let reading = if world == World::Legacy { s.reading } else { Reading::default() };
            put_snapshot(conn, tenant_id, appid, world, &reading, None, now)?;
            Ok(true)
        }
        None => {
            put_snapshot(conn, tenant_id, appid, world, &Reading::default(), None, now)?;
            Ok(true)
        }
    }
}

/// Replaces the scene groups of the tenant's reading (a scene audit push).
pub fn set_scene_groups(
    conn: &mut DbConn,
    tenant_id: &str,
    groups: Vec<crate::domain::live_selling::SceneGroup>,
) -> QueryResult<bool> {
    let Some(snap) = snapshot(conn, tenant_id)? else { return Ok(false) };
    let mut reading = snap.reading;
    reading.scene_group_list = groups;
    let body = serde_json::to_string(&reading).unwrap_or_else(|_| "{}".into());
    let n = diesel::update(live_selling::table.filter(live_selling::tenant_id.eq(tenant_id)))
        .set(live_selling::reading.eq(body))
        .execute(conn)?;
    Ok(n > 0)
}

/// Something the console submitted.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub appid: String,
    pub kind: ItemKind,
    pub wx_id: String,
    pub label: String,
    pub status: ItemStatus,
    pub stage: Option<OrderStage>,
    pub reason: String,
    pub scene: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Item {
    pub fn submitted(&self) -> Submitted {
        Submitted {
            kind: self.kind,
            status: self.status,
            stage: self.stage,
            reason: self.reason.clone(),
            scene: self.scene,
        }
    }
}

type RawItem = (String, String, String, String, String, String, String, String, bool, i64, i64);

fn typed_item(r: RawItem) -> Option<Item> {
    let (id, appid, kind, wx_id, label, status, stage, reason, scene, created_at, updated_at) = r;
    Some(Item {
        id,
        appid,
        kind: ItemKind::parse(&kind)?,
        wx_id,
        label,
        status: ItemStatus::parse(&status)?,
        stage: OrderStage::parse(&stage),
        reason,
        scene,
        created_at,
        updated_at,
    })
}

macro_rules! item_columns {
    () => {
        (
            live_selling_items::id,
            live_selling_items::appid,
            live_selling_items::kind,
            live_selling_items::wx_id,
            live_selling_items::label,
            live_selling_items::status,
            live_selling_items::stage,
            live_selling_items::reason,
            live_selling_items::scene,
            live_selling_items::created_at,
            live_selling_items::updated_at,
        )
    };
}

/// The tenant's submissions for its mini program `appid`, oldest first.
pub fn items(conn: &mut DbConn, tenant_id: &str, appid: &str) -> QueryResult<Vec<Item>> {
    let rows: Vec<RawItem> = live_selling_items::table
        .filter(live_selling_items::tenant_id.eq(tenant_id))
        .filter(live_selling_items::appid.eq(appid))
        .order((live_selling_items::created_at.asc(), live_selling_items::id.asc()))
        .select(item_columns!())
        .load(conn)?;
    Ok(rows.into_iter().filter_map(typed_item).collect())
}

/// One of the tenant's submissions.
pub fn item(conn: &mut DbConn, tenant_id: &str, id: &str) -> QueryResult<Option<Item>> {
    let row: Option<RawItem> = live_selling_items::table
        .filter(live_selling_items::tenant_id.eq(tenant_id))
        .filter(live_selling_items::id.eq(id))
        .select(item_columns!())
        .first(conn)
        .optional()?;
    Ok(row.and_then(typed_item))
}

/// The tenant's submission WeChat knows by `wx_id`.
pub fn item_by_wx(conn: &mut DbConn, tenant_id: &str, kind: ItemKind, wx_id: &str) -> QueryResult<Option<Item>> {
    let row: Option<RawItem> = live_selling_items::table
        .filter(live_selling_items::tenant_id.eq(tenant_id))
        .filter(live_selling_items::kind.eq(kind.as_str()))
        .filter(live_selling_items::wx_id.eq(wx_id))
        .select(item_columns!())
        .first(conn)
        .optional()?;
    Ok(row.and_then(typed_item))
}

/// A new submission.
pub struct NewItem<'a> {
    pub tenant_id: &'a str,
    pub appid: &'a str,
    pub kind: ItemKind,
    pub wx_id: &'a str,
    pub label: &'a str,
    pub status: ItemStatus,
    pub stage: Option<OrderStage>,
    pub scene: bool,
}

pub fn insert_item(conn: &mut DbConn, new: &NewItem<'_>, now: i64) -> QueryResult<String> {
    let id = crate::new_id();
    diesel::insert_into(live_selling_items::table)
        .values((
            live_selling_items::id.eq(&id),
            live_selling_items::tenant_id.eq(new.tenant_id),
            live_selling_items::appid.eq(new.appid),
            live_selling_items::kind.eq(new.kind.as_str()),
            live_selling_items::wx_id.eq(new.wx_id),
            live_selling_items::label.eq(new.label),
            live_selling_items::status.eq(new.status.as_str()),
            live_selling_items::stage.eq(new.stage.map_or("", OrderStage::as_str)),
            live_selling_items::reason.eq(""),
            live_selling_items::scene.eq(new.scene),
            live_selling_items::created_at.eq(now),
            live_selling_items::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Sets a submission's status and reason (a review result); true when it changed.
pub fn set_status(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    status: ItemStatus,
    reason: &str,
    now: i64,
) -> QueryResult<bool> {
    let n = diesel::update(
        live_selling_items::table
            .filter(live_selling_items::tenant_id.eq(tenant_id))
            .filter(live_selling_items::id.eq(id))
            .filter(live_selling_items::status.ne(status.as_str()).or(live_selling_items::reason.ne(reason))),
    )
    .set((
        live_selling_items::status.eq(status.as_str()),
        live_selling_items::reason.eq(reason),
        live_selling_items::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn set_label(conn: &mut DbConn, tenant_id: &str, id: &str, label: &str) -> QueryResult<usize> {
    diesel::update(
        live_selling_items::table
            .filter(live_selling_items::tenant_id.eq(tenant_id))
            .filter(live_selling_items::id.eq(id)),
    )
    .set(live_selling_items::label.eq(label))
    .execute(conn)
}

/// Moves an order on to `stage` (never back).
pub fn set_stage(conn: &mut DbConn, tenant_id: &str, id: &str, stage: OrderStage, now: i64) -> QueryResult<usize> {
    let status = if stage >= OrderStage::Received { ItemStatus::Done } else { ItemStatus::InProgress };
    diesel::update(
        live_selling_items::table
            .filter(live_selling_items::tenant_id.eq(tenant_id))
            .filter(live_selling_items::id.eq(id)),
    )
    .set((
        live_selling_items::stage.eq(stage.as_str()),
        live_selling_items::status.eq(status.as_str()),
        live_selling_items::updated_at.eq(now),
    ))
    .execute(conn)
}

// ---- sharers and promoters ----

use super::schema::live_selling_people;

/// A sharer or promoter of the tenant's mini program.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub role: String,
    pub openid: String,
    pub name: String,
    pub status: String,
    pub bound_at: Option<i64>,
    pub changes: Vec<i64>,
    pub reason: String,
}

type RawPerson = (String, String, String, String, String, Option<i64>, String, String);

fn typed_person((id, role, openid, name, status, bound_at, changes, reason): RawPerson) -> Person {
    Person {
        id,
        role,
        openid,
        name,
        status,
        bound_at,
        changes: serde_json::from_str(&changes).unwrap_or_default(),
        reason,
    }
}

macro_rules! person_columns {
    () => {
        (
            live_selling_people::id,
            live_selling_people::role,
            live_selling_people::openid,
            live_selling_people::name,
            live_selling_people::status,
            live_selling_people::bound_at,
            live_selling_people::changes,
            live_selling_people::reason,
        )
    };
}

/// The tenant's sharers and promoters of `appid`, newest first.
pub fn people(conn: &mut DbConn, tenant_id: &str, appid: &str) -> QueryResult<Vec<Person>> {
    let rows: Vec<RawPerson> = live_selling_people::table
        .filter(live_selling_people::tenant_id.eq(tenant_id))
        .filter(live_selling_people::appid.eq(appid))
        .order((live_selling_people::created_at.desc(), live_selling_people::id.desc()))
        .select(person_columns!())
        .load(conn)?;
    Ok(rows.into_iter().map(typed_person).collect())
}

pub fn person(conn: &mut DbConn, tenant_id: &str, id: &str) -> QueryResult<Option<Person>> {
    let row: Option<RawPerson> = live_selling_people::table
        .filter(live_selling_people::tenant_id.eq(tenant_id))
        .filter(live_selling_people::id.eq(id))
        .select(person_columns!())
        .first(conn)
        .optional()?;
    Ok(row.map(typed_person))
}

pub fn person_by_openid(
    conn: &mut DbConn,
    tenant_id: &str,
    appid: &str,
    role: &str,
    openid: &str,
) -> QueryResult<Option<Person>> {
    let row: Option<RawPerson> = live_selling_people::table
        .filter(live_selling_people::tenant_id.eq(tenant_id))
        .filter(live_selling_people::appid.eq(appid))
        .filter(live_selling_people::role.eq(role))
        .filter(live_selling_people::openid.eq(openid))
        .select(person_columns!())
        .first(conn)
        .optional()?;
    Ok(row.map(typed_person))
}

/// How many of the tenant's `role` on `appid` have one of `statuses`.
pub fn count_people(
    conn: &mut DbConn,
    tenant_id: &str,
    appid: &str,
    role: &str,
    statuses: &[&str],
) -> QueryResult<i64> {
    live_selling_people::table
        .filter(live_selling_people::tenant_id.eq(tenant_id))
        .filter(live_selling_people::appid.eq(appid))
        .filter(live_selling_people::role.eq(role))
        .filter(live_selling_people::status.eq_any(statuses))
        .count()
        .get_result(conn)
}

/// On how many other mini programs of this platform `openid` is a sharer (bound or invited).
pub fn sharer_elsewhere(conn: &mut DbConn, openid: &str, appid: &str) -> QueryResult<i64> {
    let apps: Vec<String> = live_selling_people::table
        .filter(live_selling_people::role.eq("sharer"))
        .filter(live_selling_people::openid.eq(openid))
        .filter(live_selling_people::appid.ne(appid))
        .filter(live_selling_people::status.eq_any(["inviting", "bound"]))
        .select(live_selling_people::appid)
        .distinct()
        .load(conn)?;
    Ok(i64::try_from(apps.len()).unwrap_or(i64::MAX))
}

/// Creates the person, or sets a known one's name and status; returns its id.
#[allow(clippy::too_many_arguments)]
pub fn put_person(
    conn: &mut DbConn,
    tenant_id: &str,
    appid: &str,
    role: &str,
    openid: &str,
    name: &str,
    status: &str,
    now: i64,
) -> QueryResult<String> {
    if let Some(p) = person_by_openid(conn, tenant_id, appid, role, openid)? {
        let mut changes = p.changes.clone();
        changes.push(now);
        let bound_at = if status == "bound" { Some(now) } else { None };
        set_person(conn, tenant_id, &p.id, status, bound_at, &changes, "", now)?;
        diesel::update(live_selling_people::table.filter(live_selling_people::id.eq(&p.id)))
            .set(live_selling_people::name.eq(name))
            .execute(conn)?;
        return Ok(p.id);
    }
    let id = crate::new_id();
    diesel::insert_into(live_selling_people::table)
        .values((
            live_selling_people::id.eq(&id),
            live_selling_people::tenant_id.eq(tenant_id),
            live_selling_people::appid.eq(appid),
            live_selling_people::role.eq(role),
            live_selling_people::openid.eq(openid),
            live_selling_people::name.eq(name),
            live_selling_people::status.eq(status),
            live_selling_people::bound_at.eq(if status == "bound" { Some(now) } else { None }),
            live_selling_people::changes.eq(serde_json::to_string(&[now]).unwrap_or_else(|_| "[]".into())),
            live_selling_people::reason.eq(""),
            live_selling_people::created_at.eq(now),
            live_selling_people::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
pub fn set_person(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    status: &str,
    bound_at: Option<i64>,
    changes: &[i64],
    reason: &str,
    now: i64,
) -> QueryResult<usize> {
    diesel::update(
        live_selling_people::table
            .filter(live_selling_people::tenant_id.eq(tenant_id))
            .filter(live_selling_people::id.eq(id)),
    )
    .set((
        live_selling_people::status.eq(status),
        live_selling_people::bound_at.eq(bound_at),
        live_selling_people::changes.eq(serde_json::to_string(changes).unwrap_or_else(|_| "[]".into())),
        live_selling_people::reason.eq(reason),
        live_selling_people::updated_at.eq(now),
    ))
    .execute(conn)
}
