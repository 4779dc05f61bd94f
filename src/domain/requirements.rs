//! The pre-configuration checklist (SPEC §3.3, seed 000 §2) as account requirements: what
//! WeChat answered for a mini program (a [`Snapshot`]) and what the operator says the
//! template needs (a [`Config`]) give each [`Item`] a [`State`], the problems behind it,
//! a deadline where one applies, and whether one click can fix it.
//!
//! The model is a payment provider's account requirements (due now, due later with a
//! deadline, pending while someone reviews), not a list of tick boxes. Evaluation is
//! pure: the snapshot is stored, so a change of configuration re-evaluates every tenant
//! without asking WeChat again.

use serde::{Deserialize, Serialize};

use super::failure::Failure;
use crate::wechat::manage::{
    self, BasicInfo, Categories, Domains, IcpEntrance, PluginList, PrivacyInterfaces, PrivacySetting, category_status,
    interface_status, plugin_status,
};

/// One requirement of the checklist, in the order a person works through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    BasicInfo,
    Categories,
    Plugins,
    PrivacyApi,
    Domains,
    PrivacyGuide,
    Standing,
}

impl Item {
    pub const ALL: [Item; 7] = [
        Item::BasicInfo,
        Item::Categories,
        Item::Plugins,
        Item::PrivacyApi,
        Item::Domains,
        Item::PrivacyGuide,
        Item::Standing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BasicInfo => "basic_info",
            Self::Categories => "categories",
            Self::Plugins => "plugins",
            Self::PrivacyApi => "privacy_api",
            Self::Domains => "domains",
            Self::PrivacyGuide => "privacy_guide",
            Self::Standing => "standing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == s)
    }

    /// The permission set WeChat requires for the item's APIs (reference §1.12, §3).
    pub fn permission_set(self) -> i64 {
        match self {
            Self::BasicInfo | Self::Categories | Self::Standing => 30,
            Self::Plugins => 40,
            Self::PrivacyApi | Self::Domains | Self::PrivacyGuide => 18,
        }
    }
}

/// Where a requirement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Missing or refused: blocks submitting a version.
    DueNow,
    /// The check failed, so nobody knows.
    Unknown,
    /// WeChat is reviewing it.
    Pending,
    /// Fine today, with a deadline.
    DueLater,
    Done,
}

impl State {
    /// Worst first: the order pages group them in.
    pub const ALL: [State; 5] = [State::DueNow, State::Unknown, State::Pending, State::DueLater, State::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DueNow => "due_now",
            Self::Unknown => "unknown",
            Self::Pending => "pending",
            Self::DueLater => "due_later",
            Self::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether a tenant with this item may submit a version for review.
    pub fn blocks_submission(self) -> bool {
        self == Self::DueNow
    }
}

/// What the template needs (operator configuration, platform settings page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub plugins: Vec<PluginNeed>,
    pub categories: Vec<CategoryNeed>,
    /// `https://…` origins for `wx.request`.
    pub domains: Vec<String>,
    pub privacy_apis: Vec<PrivacyApiNeed>,
    pub privacy_guide: GuideNeed,
    /// Days before the annual review ends from which the standing item is due later.
    pub review_warning_days: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginNeed {
    pub appid: String,
    pub name: String,
}

/// A service category. The fix adds `first` > `second`; with `any_under_first`, any
/// approved category under `first` satisfies it ("any Merchant Self-operated category").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryNeed {
    pub first: i64,
    pub second: i64,
    /// As WeChat names it, e.g. "IT & Technology > Software Service Provider".
    pub name: String,
    #[serde(default)]
    pub any_under_first: bool,
}

impl CategoryNeed {
    fn matches(&self, c: &manage::Category) -> bool {
        c.first == self.first && (self.any_under_first || c.second == self.second)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyApiNeed {
    pub api_name: String,
    /// The reason sent with the application (≤ 300 characters).
    pub reason: String,
    /// Supporting pictures (image URLs, or paths on the console such as
    /// [`LOCATION_PICTURE`], at most 10).
    pub pictures: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuideNeed {
    /// What the template collects: WeChat's privacy keys and what it is used for.
    pub items: Vec<manage::PrivacyItem>,
    /// How users are told of changes (e.g. "Pop-up message").
    pub notice_method: String,
    /// How long data is kept: a number of days ("365 days"), which WeChat shows users.
    pub store_expire: String,
}

impl Default for GuideNeed {
    fn default() -> Self {
        Self {
            items: vec![
                manage::PrivacyItem {
                    privacy_key: "UserInfo".into(),
                    privacy_text: "show your name and avatar on your orders".into(),
                },
                manage::PrivacyItem {
                    privacy_key: "Location".into(),
                    privacy_text: "fill in delivery addresses and find the nearest store".into(),
                },
                manage::PrivacyItem {
                    privacy_key: "PhoneNumber".into(),
                    privacy_text: "contact you about your orders and deliveries".into(),
                },
                manage::PrivacyItem {
                    privacy_key: "Address".into(),
                    privacy_text: "deliver the goods you order".into(),
                },
            ],
            notice_method: "Pop-up message".into(),
            store_expire: "365 days".into(),
        }
    }
}

/// The ten request domains of seed 000 §2.
pub const SEED_DOMAINS: [&str; 10] = [
    "https://a9.fspage.com",
    "https://ale.fxiaoke.com",
    "https://apis.map.qq.com",
    "https://hwcloud.fxiaoke.com",
    "https://img.ceshi112.com",
    "https://img.fxiaoke.com",
    "https://pay.fxiaoke.com",
    "https://restapi.amap.com",
    "https://www.ceshi112.com",
    "https://www.fxiaoke.com",
];

/// The template's delivery-address screen, served by the console (a path: the fix
/// prefixes the console's public URL, from which WeChat fetches it).
pub const LOCATION_PICTURE: &str = "/static/location-purpose.png";

/// Seed 000 §2's recommended reason for the location API.
pub const SEED_LOCATION_REASON: &str =
    "This feature involves collecting delivery addresses and requires user location information. Please approve.";

impl Default for Config {
    fn default() -> Self {
        Self {
            plugins: vec![PluginNeed {
                appid: "wx069ba97219f66d99".into(),
                name: "WeChat real-time translation".into(),
            }],
            categories: vec![
                CategoryNeed {
                    first: DEFAULT_IT_FIRST,
                    second: DEFAULT_IT_SECOND,
                    name: "IT & Technology > Software Service Provider".into(),
                    any_under_first: false,
                },
                CategoryNeed {
                    first: DEFAULT_MERCHANT_FIRST,
                    second: DEFAULT_MERCHANT_SECOND,
                    name: "Merchant Self-operated > Apparel & Underwear (or any Merchant Self-operated category)"
                        .into(),
                    any_under_first: true,
                },
            ],
            domains: SEED_DOMAINS.iter().map(|d| d.to_string()).collect(),
            privacy_apis: vec![PrivacyApiNeed {
                api_name: "wx.getLocation".into(),
                reason: SEED_LOCATION_REASON.into(),
                // WeChat refuses a location application without a picture, page or video
                // showing the feature; this one is served by the console itself.
                pictures: vec![LOCATION_PICTURE.into()],
            }],
            privacy_guide: GuideNeed::default(),
            review_warning_days: 30,
        }
    }
}

/// Category ids of the defaults, as the sandbox's tree has them. WeChat's real ids are
/// read from `getallcategories` on the live platform; the operator sets them on the
/// Platform page (they are configuration, not constants).
pub const DEFAULT_IT_FIRST: i64 = 7;
pub const DEFAULT_IT_SECOND: i64 = 70;
pub const DEFAULT_MERCHANT_FIRST: i64 = 304;
pub const DEFAULT_MERCHANT_SECOND: i64 = 305;

/// A check's answer: what WeChat said, or why it could not be asked.
pub type Seen<T> = Result<T, Failure>;

/// What WeChat answered for one mini program, all at one time.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub basic: Seen<BasicInfo>,
    pub plugins: Seen<PluginList>,
    pub interfaces: Seen<PrivacyInterfaces>,
    pub categories: Seen<Categories>,
    pub domains: Seen<Domains>,
    pub guide: Seen<PrivacySetting>,
    pub icp: Seen<IcpEntrance>,
}

/// One thing wrong (or waiting) within an item: a message key and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub key: String,
    #[serde(default)]
    pub args: Vec<(String, String)>,
}

impl Problem {
    fn new(key: &str, args: &[(&str, &str)]) -> Self {
        Self {
            key: format!("requirements.problem.{key}"),
            args: args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }
}

/// What the console can do about an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Nothing to do.
    None,
    /// One click: the console calls WeChat's write API.
    Fix,
    /// Another item has to be done first.
    After(Item),
    /// Only by hand on WeChat's own console.
    ByHand,
    /// The tenant has to authorize again, granting this permission set.
    Reauthorize(i64),
}

impl Remedy {
    /// The stored form.
    pub fn to_stored(self) -> String {
        match self {
            Self::None => "none".into(),
            Self::Fix => "fix".into(),
            Self::After(item) => format!("after:{}", item.as_str()),
            Self::ByHand => "by_hand".into(),
            Self::Reauthorize(set) => format!("reauthorize:{set}"),
        }
    }

    pub fn from_stored(s: &str) -> Self {
        match s.split_once(':') {
            Some(("after", item)) => Item::parse(item).map_or(Self::None, Self::After),
            Some(("reauthorize", set)) => set.parse().map_or(Self::None, Self::Reauthorize),
            _ => match s {
                "fix" => Self::Fix,
                "by_hand" => Self::ByHand,
                _ => Self::None,
            },
        }
    }
}

/// An item's evaluation.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub item: Item,
    pub state: State,
    pub problems: Vec<Problem>,
    /// When a due-later item becomes due now (Unix seconds).
    pub deadline: Option<i64>,
    /// Why the check failed (state Unknown).
    pub failure: Option<Failure>,
    pub remedy: Remedy,
}

impl Evaluation {
    fn from_problems(item: Item, found: Vec<(State, Problem)>, remedy_when_due: Remedy) -> Self {
        let state = found.iter().map(|(s, _)| *s).min().unwrap_or(State::Done);
        let remedy = if state == State::DueNow { remedy_when_due } else { Remedy::None };
        Self {
            item,
            state,
            problems: found.into_iter().map(|(_, p)| p).collect(),
            deadline: None,
            failure: None,
            remedy,
        }
    }

    fn failed(item: Item, failure: Failure) -> Self {
        let remedy = match failure {
            Failure::Errcode(61007) => Remedy::Reauthorize(item.permission_set()),
            Failure::Errcode(61003 | 61023) | Failure::Revoked => Remedy::Reauthorize(item.permission_set()),
            _ => Remedy::None,
        };
        Self { item, state: State::Unknown, problems: Vec::new(), deadline: None, failure: Some(failure), remedy }
    }
}

/// Every item of the checklist, in [`Item::ALL`] order.
pub fn evaluate(config: &Config, snap: &Snapshot, now: i64) -> Vec<Evaluation> {
    let categories = categories(config, snap);
    let categories_done = categories.state == State::Done || any_category_approved(snap);
    Item::ALL
        .into_iter()
        .map(|item| match item {
            Item::BasicInfo => basic_info(snap),
            Item::Categories => categories.clone(),
            Item::Plugins => plugins(config, snap),
            Item::PrivacyApi => privacy_api(config, snap, categories_done),
            Item::Domains => domains(config, snap),
            Item::PrivacyGuide => privacy_guide(config, snap),
            Item::Standing => standing(config, snap, now),
        })
        .collect()
}

fn basic_info(snap: &Snapshot) -> Evaluation {
    let basic = match &snap.basic {
        Ok(b) => b,
        Err(f) => return Evaluation::failed(Item::BasicInfo, *f),
    };
    let mut found = Vec::new();
    if basic.nickname_info.audit_stat == Some(1) {
        let pending = basic.nickname_info.pending_nickname.clone().unwrap_or_default();
        found.push((State::Pending, Problem::new("name_under_review", &[("name", &pending)])));
    } else if basic.nickname.trim().is_empty() {
        found.push((State::DueNow, Problem::new("no_name", &[])));
    }
    if basic.signature_info.signature.trim().is_empty() {
        found.push((State::DueNow, Problem::new("no_introduction", &[])));
    }
    if basic.head_image_info.head_image_url.trim().is_empty() {
        found.push((State::DueNow, Problem::new("no_icon", &[])));
    }
    Evaluation::from_problems(Item::BasicInfo, found, Remedy::ByHand)
}

fn any_category_approved(snap: &Snapshot) -> bool {
    snap.categories.as_ref().is_ok_and(|c| c.categories.iter().any(|c| c.audit_status == category_status::APPROVED))
}

fn categories(config: &Config, snap: &Snapshot) -> Evaluation {
    let set = match &snap.categories {
        Ok(c) => c,
        Err(f) => return Evaluation::failed(Item::Categories, *f),
    };
    let mut found = Vec::new();
    let mut by_hand = false;
    for need in &config.categories {
        let matching: Vec<_> = set.categories.iter().filter(|c| need.matches(c)).collect();
        if matching.iter().any(|c| c.audit_status == category_status::APPROVED) {
            continue;
        }
        if matching.iter().any(|c| c.audit_status == category_status::REVIEWING) {
            found.push((State::Pending, Problem::new("category_reviewing", &[("name", &need.name)])));
        } else if let Some(rejected) = matching.iter().find(|c| c.audit_status == category_status::REJECTED) {
            // Only qualifications can change on a rejected category: that is done by hand.
            by_hand = true;
            let reason = rejected.audit_reason.clone().unwrap_or_default();
            found
                .push((State::DueNow, Problem::new("category_rejected", &[("name", &need.name), ("reason", &reason)])));
        } else {
            found.push((State::DueNow, Problem::new("category_missing", &[("name", &need.name)])));
        }
    }
    Evaluation::from_problems(Item::Categories, found, if by_hand { Remedy::ByHand } else { Remedy::Fix })
}

fn plugins(config: &Config, snap: &Snapshot) -> Evaluation {
    let list = match &snap.plugins {
        Ok(l) => l,
        Err(f) => return Evaluation::failed(Item::Plugins, *f),
    };
    let mut found = Vec::new();
    for need in &config.plugins {
        let args = [("name", need.name.as_str()), ("appid", need.appid.as_str())];
        match list.plugin_list.iter().find(|p| p.appid == need.appid).map(|p| (p.status, p)) {
            Some((plugin_status::APPROVED, _)) => {}
            Some((plugin_status::APPLYING, _)) => found.push((State::Pending, Problem::new("plugin_applying", &args))),
            Some((plugin_status::REJECTED, p)) => {
                let reason = p.reason.clone().unwrap_or_default();
                let args = [args[0], args[1], ("reason", reason.as_str())];
                found.push((State::DueNow, Problem::new("plugin_rejected", &args)));
            }
            Some((plugin_status::TIMED_OUT, _)) => found.push((State::DueNow, Problem::new("plugin_timed_out", &args))),
            _ => found.push((State::DueNow, Problem::new("plugin_missing", &args))),
        }
    }
    Evaluation::from_problems(Item::Plugins, found, Remedy::Fix)
}

fn privacy_api(config: &Config, snap: &Snapshot, categories_done: bool) -> Evaluation {
    let list = match &snap.interfaces {
        Ok(l) => l,
        Err(f) => return Evaluation::failed(Item::PrivacyApi, *f),
    };
    let mut found = Vec::new();
    let mut needs_category = false;
    for need in &config.privacy_apis {
        let api = need.api_name.as_str();
        match list.interface_list.iter().find(|i| i.api_name == need.api_name) {
            Some(i) if i.status == interface_status::ENABLED => {}
            Some(i) if i.status == interface_status::REVIEWING => {
                found.push((State::Pending, Problem::new("api_reviewing", &[("api", api)])))
            }
            Some(i) if i.status == interface_status::REJECTED => {
                let reason = i.fail_reason.clone().unwrap_or_default();
                found.push((State::DueNow, Problem::new("api_rejected", &[("api", api), ("reason", &reason)])));
            }
            Some(i) if i.status == interface_status::NO_PERMISSION => {
                needs_category = true;
                found.push((State::DueNow, Problem::new("api_needs_category", &[("api", api)])));
            }
            Some(_) => found.push((State::DueNow, Problem::new("api_not_applied", &[("api", api)]))),
            None => found.push((State::DueNow, Problem::new("api_not_offered", &[("api", api)]))),
        }
    }
    let remedy = if needs_category || !categories_done { Remedy::After(Item::Categories) } else { Remedy::Fix };
    Evaluation::from_problems(Item::PrivacyApi, found, remedy)
}

/// `https://Host/` and `https://host` are the same origin.
fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

fn domains(config: &Config, snap: &Snapshot) -> Evaluation {
    let set = match &snap.domains {
        Ok(d) => d,
        Err(f) => return Evaluation::failed(Item::Domains, *f),
    };
    let found = domains_to_add(config, set)
        .into_iter()
        .map(|d| (State::DueNow, Problem::new("domain_missing", &[("domain", d)])))
        .collect();
    Evaluation::from_problems(Item::Domains, found, Remedy::Fix)
}

fn privacy_guide(config: &Config, snap: &Snapshot) -> Evaluation {
    let setting = match &snap.guide {
        Ok(s) => s,
        Err(f) => return Evaluation::failed(Item::PrivacyGuide, *f),
    };
    let mut found = Vec::new();
    if setting.setting_list.is_empty() && !setting.owner_setting.has_contact() {
        found.push((State::DueNow, Problem::new("guide_missing", &[])));
    } else {
        if !setting.owner_setting.has_contact() {
            found.push((State::DueNow, Problem::new("guide_no_contact", &[])));
        }
        for need in &config.privacy_guide.items {
            if !setting.setting_list.iter().any(|s| s.privacy_key == need.privacy_key) {
                found.push((State::DueNow, Problem::new("guide_key_missing", &[("key", &need.privacy_key)])));
            }
        }
    }
    Evaluation::from_problems(Item::PrivacyGuide, found, Remedy::Fix)
}

const DAY: i64 = 86_400;

fn standing(config: &Config, snap: &Snapshot, now: i64) -> Evaluation {
    let basic = match &snap.basic {
        Ok(b) => b,
        Err(f) => return Evaluation::failed(Item::Standing, *f),
    };
    let icp = match &snap.icp {
        Ok(i) => i,
        Err(f) => return Evaluation::failed(Item::Standing, *f),
    };
    let mut found = Vec::new();
    let mut deadline = None;
    let verify = &basic.wx_verify_info;
    if !verify.qualification_verify {
        found.push((State::DueNow, Problem::new("not_verified", &[])));
    } else if let Some(end) = verify.annual_review_end_time.filter(|e| *e > 0) {
        let date = crate::domain::day_of(end);
        if end <= now {
            found.push((State::DueNow, Problem::new("review_expired", &[("date", &date)])));
        } else if end - now <= config.review_warning_days * DAY {
            deadline = Some(end);
            found.push((State::DueLater, Problem::new("review_due", &[("date", &date)])));
        }
    }
    let status = icp.info.status;
    let icp_reason = || {
        icp.info
            .audit_data
            .iter()
            .map(|a| format!("{}: {} {}", a.key_name, a.error, a.suggest).trim().to_string())
            .collect::<Vec<_>>()
            .join("; ")
    };
    match status {
        6 => {}
        2 | 4 => found.push((State::Pending, Problem::new("icp_reviewing", &[]))),
        3 | 5 => found.push((State::DueNow, Problem::new("icp_rejected", &[("reason", &icp_reason())]))),
        _ => found.push((State::DueNow, Problem::new("icp_not_filed", &[]))),
    }
    let mut evaluation = Evaluation::from_problems(Item::Standing, found, Remedy::ByHand);
    if evaluation.state == State::DueLater {
        evaluation.deadline = deadline;
    }
    evaluation
}

/// The snapshot as stored: each answer as JSON, or the failure's parts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum StoredSeen<T> {
    Ok { ok: T },
    Failed { failed: String, code: Option<i64> },
}

impl<T: Clone> StoredSeen<T> {
    fn from_seen(seen: &Seen<T>) -> Self {
        match seen {
            Ok(v) => Self::Ok { ok: v.clone() },
            Err(f) => {
                let (kind, code) = f.as_parts();
                Self::Failed { failed: kind.into(), code }
            }
        }
    }

    fn into_seen(self) -> Seen<T> {
        match self {
            Self::Ok { ok } => Ok(ok),
            Self::Failed { failed, code } => Err(Failure::from_parts(&failed, code).unwrap_or(Failure::Decode)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    basic: StoredSeen<BasicInfo>,
    plugins: StoredSeen<PluginList>,
    interfaces: StoredSeen<PrivacyInterfaces>,
    categories: StoredSeen<Categories>,
    domains: StoredSeen<Domains>,
    guide: StoredSeen<PrivacySetting>,
    icp: StoredSeen<IcpEntrance>,
}

impl Snapshot {
    /// The stored form (JSON).
    pub fn to_json(&self) -> String {
        let stored = StoredSnapshot {
            basic: StoredSeen::from_seen(&self.basic),
            plugins: StoredSeen::from_seen(&self.plugins),
            interfaces: StoredSeen::from_seen(&self.interfaces),
            categories: StoredSeen::from_seen(&self.categories),
            domains: StoredSeen::from_seen(&self.domains),
            guide: StoredSeen::from_seen(&self.guide),
            icp: StoredSeen::from_seen(&self.icp),
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Option<Self> {
        let stored: StoredSnapshot = serde_json::from_str(s).ok()?;
        Some(Self {
            basic: stored.basic.into_seen(),
            plugins: stored.plugins.into_seen(),
            interfaces: stored.interfaces.into_seen(),
            categories: stored.categories.into_seen(),
            domains: stored.domains.into_seen(),
            guide: stored.guide.into_seen(),
            icp: stored.icp.into_seen(),
        })
    }
}

/// The configured categories that are neither approved nor under review: what the fix adds.
pub fn categories_to_add<'a>(config: &'a Config, set: &Categories) -> Vec<&'a CategoryNeed> {
    config
        .categories
        .iter()
        .filter(|need| {
            !set.categories.iter().any(|c| {
                need.matches(c)
                    && matches!(
                        c.audit_status,
                        category_status::APPROVED | category_status::REVIEWING | category_status::REJECTED
                    )
            })
        })
        .collect()
}

/// The configured plugins to apply for: not added, rejected or timed out.
pub fn plugins_to_apply<'a>(config: &'a Config, list: &PluginList) -> Vec<&'a PluginNeed> {
    config
        .plugins
        .iter()
        .filter(|need| {
            !list
                .plugin_list
                .iter()
                .any(|p| p.appid == need.appid && matches!(p.status, plugin_status::APPLYING | plugin_status::APPROVED))
        })
        .collect()
}

/// The configured privacy APIs to apply for: not applied or rejected.
pub fn apis_to_apply<'a>(config: &'a Config, list: &PrivacyInterfaces) -> Vec<&'a PrivacyApiNeed> {
    config
        .privacy_apis
        .iter()
        .filter(|need| {
            !list.interface_list.iter().any(|i| {
                i.api_name == need.api_name
                    && matches!(i.status, interface_status::REVIEWING | interface_status::ENABLED)
            })
        })
        .collect()
}

/// The configured request domains the mini program lacks.
pub fn domains_to_add<'a>(config: &'a Config, set: &Domains) -> Vec<&'a str> {
    let have: Vec<String> = set.requestdomain.iter().map(|d| normalize_origin(d)).collect();
    config.domains.iter().filter(|d| !have.contains(&normalize_origin(d))).map(String::as_str).collect()
}

/// The tenant's own details the privacy guide names as its contact.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub email: String,
    pub phone: String,
}

/// The body of `setprivacysetting` for the development version (privacy_ver 2).
pub fn privacy_setting_body(config: &Config, contact: &Contact) -> serde_json::Value {
    serde_json::json!({
        "privacy_ver": 2,
        "owner_setting": {
            "contact_email": contact.email,
            "contact_phone": contact.phone,
            "notice_method": config.privacy_guide.notice_method,
            "store_expire_timestamp": config.privacy_guide.store_expire,
        },
        "setting_list": config.privacy_guide.items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::manage::*;

    const NOW: i64 = 1_800_000_000;

    fn complete() -> Snapshot {
        let config = Config::default();
        Snapshot {
            basic: Ok(BasicInfo {
                nickname: "Store".into(),
                signature_info: SignatureInfo { signature: "We sell things".into() },
                head_image_info: HeadImageInfo { head_image_url: "https://img/x.png".into() },
                wx_verify_info: VerifyInfo {
                    qualification_verify: true,
                    annual_review_end_time: Some(NOW + 300 * DAY),
                    ..Default::default()
                },
                ..Default::default()
            }),
            plugins: Ok(PluginList {
                plugin_list: vec![Plugin { appid: "wx069ba97219f66d99".into(), status: 2, ..Default::default() }],
            }),
            interfaces: Ok(PrivacyInterfaces {
                interface_list: vec![PrivacyInterface {
                    api_name: "wx.getLocation".into(),
                    status: 5,
                    ..Default::default()
                }],
            }),
            categories: Ok(Categories {
                categories: vec![
                    Category {
                        first: DEFAULT_IT_FIRST,
                        second: DEFAULT_IT_SECOND,
                        audit_status: 3,
                        ..Default::default()
                    },
                    Category { first: DEFAULT_MERCHANT_FIRST, second: 1, audit_status: 3, ..Default::default() },
                ],
                ..Default::default()
            }),
            domains: Ok(Domains { requestdomain: config.domains.clone(), ..Default::default() }),
            guide: Ok(PrivacySetting {
                setting_list: config.privacy_guide.items.clone(),
                owner_setting: OwnerSetting { contact_email: "a@b.c".into(), ..Default::default() },
                ..Default::default()
            }),
            icp: Ok(IcpEntrance { info: IcpInfo { status: 6, ..Default::default() } }),
        }
    }

    fn state_of(snap: &Snapshot, item: Item) -> Evaluation {
        evaluate(&Config::default(), snap, NOW).into_iter().find(|e| e.item == item).unwrap()
    }

    #[test]
    fn a_complete_mini_program_has_everything_done() {
        let all = evaluate(&Config::default(), &complete(), NOW);
        assert_eq!(all.len(), 7);
        for e in all {
            assert_eq!(e.state, State::Done, "{:?}: {:?}", e.item, e.problems);
        }
    }

    #[test]
    fn a_missing_plugin_is_due_now_and_fixable_and_an_application_is_pending() {
        let mut snap = complete();
        snap.plugins = Ok(PluginList::default());
        let e = state_of(&snap, Item::Plugins);
        assert_eq!((e.state, e.remedy), (State::DueNow, Remedy::Fix));
        assert_eq!(e.problems[0].key, "requirements.problem.plugin_missing");
        snap.plugins = Ok(PluginList {
            plugin_list: vec![Plugin { appid: "wx069ba97219f66d99".into(), status: 1, ..Default::default() }],
        });
        assert_eq!(state_of(&snap, Item::Plugins).state, State::Pending);
    }

    #[test]
    fn the_location_api_waits_for_a_category() {
        let mut snap = complete();
        snap.categories = Ok(Categories::default());
        snap.interfaces = Ok(PrivacyInterfaces {
            interface_list: vec![PrivacyInterface {
                api_name: "wx.getLocation".into(),
                status: 2,
                ..Default::default()
            }],
        });
        let e = state_of(&snap, Item::PrivacyApi);
        assert_eq!((e.state, e.remedy), (State::DueNow, Remedy::After(Item::Categories)));
        let c = state_of(&snap, Item::Categories);
        assert_eq!((c.state, c.remedy), (State::DueNow, Remedy::Fix));
    }

    #[test]
    fn a_rejected_application_keeps_wechats_reason() {
        let mut snap = complete();
        snap.interfaces = Ok(PrivacyInterfaces {
            interface_list: vec![PrivacyInterface {
                api_name: "wx.getLocation".into(),
                status: 4,
                fail_reason: Some("pictures do not show the feature".into()),
                ..Default::default()
            }],
        });
        let e = state_of(&snap, Item::PrivacyApi);
        assert_eq!((e.state, e.remedy), (State::DueNow, Remedy::Fix));
        assert!(e.problems[0].args.iter().any(|(_, v)| v == "pictures do not show the feature"));
    }

    #[test]
    fn any_merchant_category_will_do() {
        let mut snap = complete();
        snap.categories = Ok(Categories {
            categories: vec![
                Category { first: DEFAULT_IT_FIRST, second: DEFAULT_IT_SECOND, audit_status: 3, ..Default::default() },
                Category { first: DEFAULT_MERCHANT_FIRST, second: 77, audit_status: 1, ..Default::default() },
            ],
            ..Default::default()
        });
        assert_eq!(state_of(&snap, Item::Categories).state, State::Pending);
    }

    #[test]
    fn domains_compare_as_origins() {
        let mut snap = complete();
        let mut have: Vec<String> = SEED_DOMAINS.iter().map(|d| format!("{}/", d.to_uppercase())).collect();
        have.pop();
        snap.domains = Ok(Domains { requestdomain: have, ..Default::default() });
        let e = state_of(&snap, Item::Domains);
        assert_eq!(e.state, State::DueNow);
        assert_eq!(e.problems.len(), 1);
        assert_eq!(e.problems[0].args[0].1, "https://www.fxiaoke.com");
    }

    #[test]
    fn the_annual_review_is_due_later_with_its_date_then_due_now() {
        let mut snap = complete();
        let end = NOW + 20 * DAY;
        if let Ok(b) = &mut snap.basic {
            b.wx_verify_info.annual_review_end_time = Some(end);
        }
        let e = state_of(&snap, Item::Standing);
        assert_eq!((e.state, e.deadline), (State::DueLater, Some(end)));
        let later =
            evaluate(&Config::default(), &snap, end + 1).into_iter().find(|e| e.item == Item::Standing).unwrap();
        assert_eq!((later.state, later.deadline), (State::DueNow, None));
    }

    #[test]
    fn icp_filing_states() {
        let mut snap = complete();
        for (status, state) in
            [(6, State::Done), (2, State::Pending), (4, State::Pending), (5, State::DueNow), (1024, State::DueNow)]
        {
            snap.icp = Ok(IcpEntrance { info: IcpInfo { status, ..Default::default() } });
            assert_eq!(state_of(&snap, Item::Standing).state, state, "status {status}");
        }
    }

    #[test]
    fn a_missing_permission_set_is_unknown_and_asks_to_reauthorize_with_the_set() {
        let mut snap = complete();
        snap.domains = Err(Failure::Errcode(61007));
        let e = state_of(&snap, Item::Domains);
        assert_eq!(
            (e.state, e.remedy, e.failure),
            (State::Unknown, Remedy::Reauthorize(18), Some(Failure::Errcode(61007)))
        );
    }

    #[test]
    fn a_name_under_review_is_pending() {
        let mut snap = complete();
        if let Ok(b) = &mut snap.basic {
            b.nickname_info.audit_stat = Some(1);
            b.nickname_info.pending_nickname = Some("New Store".into());
        }
        assert_eq!(state_of(&snap, Item::BasicInfo).state, State::Pending);
    }

    #[test]
    fn the_snapshot_survives_its_stored_form() {
        let mut snap = complete();
        snap.icp = Err(Failure::Transport);
        let back = Snapshot::from_json(&snap.to_json()).unwrap();
        assert_eq!(back.icp.as_ref().unwrap_err(), &Failure::Transport);
        let states = |s: &Snapshot| evaluate(&Config::default(), s, NOW).iter().map(|e| e.state).collect::<Vec<_>>();
        assert_eq!(states(&back), states(&snap));
    }

    #[test]
    fn remedies_round_trip_their_stored_form() {
        for r in [Remedy::None, Remedy::Fix, Remedy::After(Item::Categories), Remedy::ByHand, Remedy::Reauthorize(18)] {
            assert_eq!(Remedy::from_stored(&r.to_stored()), r);
        }
    }

    #[test]
    fn items_and_states_round_trip_their_names() {
        for i in Item::ALL {
            assert_eq!(Item::parse(i.as_str()), Some(i));
        }
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
    }
}
