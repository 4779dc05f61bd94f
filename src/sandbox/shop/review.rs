//! WeChat's reviewer of the trade component: brand and category qualifications, products
//! and the Channels scene group, approved or rejected with a reason. Each decision pushes
//! its event to the mini program's message URL (wave-2 notes §1.5), encrypted like every
//! other message push of the sandbox.

use serde_json::json;

use super::state::{self, BRAND, CATEGORY, SPU};
use crate::db::DbConn;
use crate::sandbox::manage::review::message_xml;
use crate::sandbox::store;
use crate::wechat::crypto::build_flat_xml;

/// What can be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Brand,
    Category,
    Spu,
    Scene,
}

impl Subject {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "brand" => Self::Brand,
            "category" => Self::Category,
            "spu" => Self::Spu,
            "scene" => Self::Scene,
            _ => return None,
        })
    }
}

/// Why a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("nothing of that kind is waiting for a decision")]
    NotPending,
    #[error("a rejection needs a reason")]
    ReasonRequired,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Approves or rejects; `id` is the audit id or product id (ignored for the scene).
/// Call inside one write transaction.
pub fn decide(
    conn: &mut DbConn,
    appid: &str,
    subject: Subject,
    id: &str,
    approve: bool,
    reason: &str,
    now: i64,
) -> Result<(), DecideError> {
    let reason = if approve { "" } else { reason.trim() };
    if !approve && reason.is_empty() {
        return Err(DecideError::ReasonRequired);
    }
    let to_user = store::find_account(conn, appid)?.map(|a| a.user_name).unwrap_or_default();
    let (event, xml) = match subject {
        Subject::Brand | Subject::Category => {
            let kind = if subject == Subject::Brand { BRAND } else { CATEGORY };
            let o = state::find(conn, appid, kind, id)?.filter(|o| o.status == 0).ok_or(DecideError::NotPending)?;
            let status = if approve { 1 } else { 9 };
            let mut data = o.data();
            let brand_id = if subject == Subject::Brand && approve {
                let n = state::next_number(conn, BRAND, 2_100_000_000)?;
                data["brand_id"] = json!(n);
                n.to_string()
            } else {
                String::new()
            };
            state::update(conn, &o.id, status, reason, &data, now)?;
            let (event, audit_type) = if subject == Subject::Brand {
                ("open_product_brand_audit", "1")
            } else {
                ("open_product_category_audit", "2")
            };
            let status = status.to_string();
            let mut inner = vec![
                ("audit_id", o.wx_id.as_str()),
                ("status", status.as_str()),
                ("audit_type", audit_type),
                ("reject_reason", reason),
            ];
            if !brand_id.is_empty() {
                inner.push(("brand_id", brand_id.as_str()));
            }
            (event, message_xml(&to_user, now, event, &[], Some(("QualificationAuditResult", inner.as_slice()))))
        }
        Subject::Spu => {
            let o = state::find(conn, appid, SPU, id)?.filter(|o| o.status == 2).ok_or(DecideError::NotPending)?;
            let mut data = o.data();
            if approve {
                data["status"] = json!(5);
            }
            let status = if approve { 4 } else { 3 };
            state::update(conn, &o.id, status, reason, &data, now)?;
            if approve {
                state::set_flag(conn, appid, "spu_audit_success", now)?;
            }
            let (status, spu_status) = (status.to_string(), data["status"].as_i64().unwrap_or(0).to_string());
            let version = data["info_version"].as_str().unwrap_or_default().to_string();
            let inner = [
                ("out_product_id", o.out_id.as_str()),
                ("product_id", o.wx_id.as_str()),
                ("status", status.as_str()),
                ("spu_status", spu_status.as_str()),
                ("reject_reason", reason),
                ("info_version", version.as_str()),
            ];
            let event = "open_product_spu_audit";
            (event, message_xml(&to_user, now, event, &[], Some(("OpenProductSpuAudit", &inner[..]))))
        }
        Subject::Scene => {
            let mut a = state::account(conn, appid)?;
            if a.scene_status != 0 {
                return Err(DecideError::NotPending);
            }
            a.scene_status = if approve { 1 } else { 2 };
            a.scene_reason = reason.to_string();
            state::save_account(conn, &a, now)?;
            let status = a.scene_status.to_string();
            let event = "open_product_scene_group_audit";
            let head = build_flat_xml(&[("group_id", "1"), ("name", "视频号、公众号场景"), ("reason", reason)]);
            let mut inner = strip(&head).to_string();
            for (ext, name) in [("1", "客服售后"), ("2", "电商平台")] {
                let e = build_flat_xml(&[("ext_id", ext), ("status", status.as_str()), ("name", name)]);
                inner.push_str(&format!("<scene_group_ext_list>{}</scene_group_ext_list>", strip(&e)));
            }
            let outer = message_xml(&to_user, now, event, &[], None);
            let body = outer.strip_suffix("</xml>").unwrap_or(&outer);
            (event, format!("{body}<SceneGroupAudit>{inner}</SceneGroupAudit></xml>"))
        }
    };
    store::enqueue_message_push(conn, event, appid, &xml, now)?;
    Ok(())
}

/// `open_product_account_register`: status 2 when the component is opened for the mini
/// program, 10 when its access is cancelled (the sandbox's legacy flag set or cleared).
pub fn account_register_push(conn: &mut DbConn, appid: &str, opened: bool, now: i64) -> diesel::QueryResult<()> {
    let to_user = store::find_account(conn, appid)?.map(|a| a.user_name).unwrap_or_default();
    let event = "open_product_account_register";
    let status = if opened { "2" } else { "10" };
    let xml = message_xml(&to_user, now, event, &[], Some(("OpenProductAccountRegister", &[("status", status)][..])));
    store::enqueue_message_push(conn, event, appid, &xml, now).map(|_| ())
}

fn strip(xml: &str) -> &str {
    xml.strip_prefix("<xml>").and_then(|s| s.strip_suffix("</xml>")).unwrap_or(xml)
}

#[cfg(test)]
mod tests {
    use crate::wechat::crypto::parse_flat_xml;

    #[test]
    fn a_scene_push_nests_its_ext_list() {
        let head = crate::wechat::crypto::build_flat_xml(&[("group_id", "1")]);
        let ext = crate::wechat::crypto::build_flat_xml(&[("ext_id", "2"), ("status", "1")]);
        let xml = format!(
            "<xml><Event><![CDATA[x]]></Event><SceneGroupAudit>{}<scene_group_ext_list>{}</scene_group_ext_list></SceneGroupAudit></xml>",
            super::strip(&head),
            super::strip(&ext)
        );
        let fields = parse_flat_xml(&xml).unwrap();
        let inner = &fields.iter().find(|(k, _)| k == "SceneGroupAudit").unwrap().1;
        let parsed = parse_flat_xml(&format!("<xml>{inner}</xml>")).unwrap();
        let ext = &parsed.iter().find(|(k, _)| k == "scene_group_ext_list").unwrap().1;
        let ext = parse_flat_xml(&format!("<xml>{ext}</xml>")).unwrap();
        assert!(ext.contains(&("status".into(), "1".into())));
    }
}
