//! A push as WeChat sends it: the query string (decoded as `web::Query<PushQuery>` does) on
//! the first line, the XML envelope after it. The envelope goes through `push::open` (window,
//! signature, `<Encrypt>`, decryption) at the fixed clock; every XML document met (the
//! envelope, the decrypted message, nested values) through `parse_flat_xml`, which must
//! round-trip through `build_flat_xml`; review results through `AuditResult::from_event`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minihost::domain::release::AuditResult;
use minihost::wechat::crypto::{build_flat_xml, parse_flat_xml};
use minihost::wechat::push::{self, PushQuery};
use minihost::wechat::crypto::MsgCrypt;
use minihost_fuzz::{NOW, crypt, lines};

static CRYPT: std::sync::LazyLock<MsgCrypt> = std::sync::LazyLock::new(crypt);

fn xml_checks(xml: &str) {
    let Ok(fields) = parse_flat_xml(xml) else { return };
    for (_, value) in &fields {
        if value.contains('<') {
            let _ = parse_flat_xml(&format!("<xml>{value}</xml>"));
        }
    }
    // Any parsed document rebuilds to the same fields (values are written as CDATA; XML
    // line-ending normalisation aside).
    if fields.iter().all(|(_, v)| !v.contains('\r')) {
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let again = parse_flat_xml(&build_flat_xml(&pairs)).expect("a built document parses");
        assert_eq!(again, fields, "build_flat_xml(parse_flat_xml(x)) changed the fields");
    }
    let get = |name: &str| fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    if let Some(event) = get("Event") {
        let _ = AuditResult::from_event(event, get("Reason").unwrap_or_default(), get("ScreenShot").unwrap_or_default());
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, body) = lines(&text, 1);
    let query = head.first().copied().unwrap_or_default();
    xml_checks(body);
    let q: PushQuery = serde_urlencoded::from_str(query).unwrap_or_default();
    if let Ok((_, _, xml)) = push::open(&CRYPT, &q, body, NOW) {
        xml_checks(&xml);
    }
});
