//! The WeChat Pay sub-merchant application form (特约商户进件) as the tenant fills it in,
//! its checks with the field each problem belongs to, and its split into the fields kept
//! in the clear and the sensitive ones that are sealed at rest and encrypted for WeChat Pay.

use serde::{Deserialize, Serialize};

/// What the tenant typed. Images are WeChat Pay media ids (uploaded as soon as chosen, so
/// a correction elsewhere does not ask for them again) with the file names shown.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct MerchantForm {
    /// "enterprise" or "individual" (个体工商户).
    pub subject_type: String,
    pub merchant_name: String,
    pub license_number: String,
    pub legal_person: String,
    pub license_media: String,
    pub license_file: String,
    pub id_front_media: String,
    pub id_front_file: String,
    pub id_back_media: String,
    pub id_back_file: String,
    pub card_period_begin: String,
    /// A date, or "forever" (长期).
    pub card_period_end: String,
    pub merchant_shortname: String,
    pub service_phone: String,
    /// Sell in the dedicated mini program (its AppID goes in as `mini_program_sub_appid`).
    pub scene_mini_program: bool,
    pub scene_web: bool,
    pub settlement_id: String,
    pub qualification_type: String,
    /// "corporate" or "personal".
    pub bank_account_type: String,
    pub account_bank: String,
    pub bank_address_code: String,
    #[serde(skip)]
    pub sensitive: Sensitive,
}

/// The fields WeChat Pay wants encrypted: never stored or logged in the clear.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Sensitive {
    pub id_card_name: String,
    pub id_card_number: String,
    pub account_name: String,
    pub account_number: String,
    pub contact_name: String,
    pub mobile_phone: String,
    pub contact_email: String,
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sensitive(***)")
    }
}

/// The text fields in form order (for reading a posted form), sensitive ones included.
pub const TEXT_FIELDS: [&str; 22] = [
    "subject_type",
    "merchant_name",
    "license_number",
    "legal_person",
    "id_card_name",
    "id_card_number",
    "card_period_begin",
    "card_period_end",
    "merchant_shortname",
    "service_phone",
    "settlement_id",
    "qualification_type",
    "bank_account_type",
    "account_name",
    "account_bank",
    "bank_address_code",
    "account_number",
    "contact_name",
    "mobile_phone",
    "contact_email",
    "scene_mini_program",
    "scene_web",
];

/// The image fields: (form field, WeChat Pay's field).
pub const IMAGE_FIELDS: [&str; 3] = ["license_copy", "id_card_copy", "id_card_national"];

impl MerchantForm {
    /// Builds the form from posted text fields (trimmed).
    pub fn from_fields(get: impl Fn(&str) -> String) -> Self {
        let on = |k: &str| matches!(get(k).as_str(), "on" | "1" | "true");
        MerchantForm {
            subject_type: get("subject_type"),
            merchant_name: get("merchant_name"),
            license_number: get("license_number").to_ascii_uppercase(),
            legal_person: get("legal_person"),
            card_period_begin: get("card_period_begin"),
            card_period_end: if on("card_forever") { "forever".into() } else { get("card_period_end") },
            merchant_shortname: get("merchant_shortname"),
            service_phone: get("service_phone"),
            scene_mini_program: on("scene_mini_program"),
            scene_web: on("scene_web"),
            settlement_id: get("settlement_id"),
            qualification_type: get("qualification_type"),
            bank_account_type: get("bank_account_type"),
            account_bank: get("account_bank"),
            bank_address_code: get("bank_address_code"),
            sensitive: Sensitive {
                id_card_name: get("id_card_name"),
                id_card_number: get("id_card_number").to_ascii_uppercase(),
                account_name: get("account_name"),
                account_number: get("account_number").replace(' ', ""),
                contact_name: get("contact_name"),
                mobile_phone: get("mobile_phone").replace(' ', ""),
                contact_email: get("contact_email").to_lowercase(),
            },
            ..Default::default()
        }
    }

    /// A new form with the platform's usual defaults.
    pub fn blank(company_name: &str, has_mini_program: bool) -> Self {
        MerchantForm {
            subject_type: "enterprise".into(),
            merchant_name: company_name.into(),
            settlement_id: "716".into(),
            bank_account_type: "corporate".into(),
            scene_mini_program: has_mini_program,
            scene_web: true,
            ..Default::default()
        }
    }

    pub fn forever(&self) -> bool {
        self.card_period_end == "forever"
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s.chars().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u32>().unwrap_or(0))
}

/// The check digit rule of a mainland resident ID number (GB 11643-1999).
pub fn id_number_ok(n: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let c: Vec<char> = n.chars().collect();
    if c.len() != 18 || !c[..17].iter().all(char::is_ascii_digit) {
        return false;
    }
    let sum: u32 = c[..17].iter().zip(WEIGHTS).map(|(d, w)| d.to_digit(10).unwrap_or(0) * w).sum();
    CHECK[(sum % 11) as usize] == c[17]
}

/// The unified social credit code's shape (18 characters of its alphabet), or an old
/// 15-digit registration number.
fn license_number_ok(n: &str) -> bool {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    (n.len() == 18 && n.chars().all(|c| ALPHABET.contains(c)))
        || (n.len() == 15 && n.chars().all(|c| c.is_ascii_digit()))
}

fn email_ok(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else { return false };
    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !e.contains(' ')
}

/// Every problem, as (field, locale key of the sentence shown beside it).
pub fn check(f: &MerchantForm) -> Vec<(&'static str, &'static str)> {
    let s = &f.sensitive;
    let mut e = Vec::new();
    let mut need = |ok: bool, field: &'static str, key: &'static str| {
        if !ok {
            e.push((field, key));
        }
    };
    need(matches!(f.subject_type.as_str(), "enterprise" | "individual"), "subject_type", "merchant.err.subject_type");
    need((1..=128).contains(&chars(&f.merchant_name)), "merchant_name", "merchant.err.merchant_name");
    need(license_number_ok(&f.license_number), "license_number", "merchant.err.license_number");
    need((1..=64).contains(&chars(&f.legal_person)), "legal_person", "merchant.err.legal_person");
    need(!f.license_media.is_empty(), "license_copy", "merchant.err.image_required");
    need((1..=64).contains(&chars(&s.id_card_name)), "id_card_name", "merchant.err.id_card_name");
    need(id_number_ok(&s.id_card_number), "id_card_number", "merchant.err.id_card_number");
    need(!f.id_front_media.is_empty(), "id_card_copy", "merchant.err.image_required");
    need(!f.id_back_media.is_empty(), "id_card_national", "merchant.err.image_required");
    need(is_date(&f.card_period_begin), "card_period_begin", "merchant.err.date");
    need(
        f.forever() || (is_date(&f.card_period_end) && f.card_period_end > f.card_period_begin),
        "card_period_end",
        "merchant.err.card_period_end",
    );
    need((1..=64).contains(&chars(&f.merchant_shortname)), "merchant_shortname", "merchant.err.shortname");
    need(
        (5..=20).contains(&f.service_phone.len()) && f.service_phone.chars().all(|c| c.is_ascii_digit() || c == '-'),
        "service_phone",
        "merchant.err.service_phone",
    );
    need(f.scene_mini_program || f.scene_web, "scenes", "merchant.err.scenes");
    need(
        (1..=8).contains(&f.settlement_id.len()) && f.settlement_id.chars().all(|c| c.is_ascii_digit()),
        "settlement_id",
        "merchant.err.settlement_id",
    );
    need((1..=64).contains(&chars(&f.qualification_type)), "qualification_type", "merchant.err.qualification_type");
    need(
        matches!(f.bank_account_type.as_str(), "corporate" | "personal"),
        "bank_account_type",
        "merchant.err.account_type",
    );
    if f.bank_account_type == "corporate" && !crate::domain::wallet::same_subject(&s.account_name, &f.merchant_name) {
        need(false, "account_name", "merchant.err.account_name_corporate");
    } else {
        need((1..=128).contains(&chars(&s.account_name)), "account_name", "merchant.err.account_name");
    }
    need((1..=64).contains(&chars(&f.account_bank)), "account_bank", "merchant.err.account_bank");
    need(
        f.bank_address_code.len() == 6 && f.bank_address_code.chars().all(|c| c.is_ascii_digit()),
        "bank_address_code",
        "merchant.err.bank_address_code",
    );
    need(
        (8..=30).contains(&s.account_number.len()) && s.account_number.chars().all(|c| c.is_ascii_digit()),
        "account_number",
        "merchant.err.account_number",
    );
    need((1..=64).contains(&chars(&s.contact_name)), "contact_name", "merchant.err.contact_name");
    need(
        s.mobile_phone.len() == 11
            && s.mobile_phone.starts_with('1')
            && s.mobile_phone.chars().all(|c| c.is_ascii_digit()),
        "mobile_phone",
        "merchant.err.mobile_phone",
    );
    need(email_ok(&s.contact_email), "contact_email", "merchant.err.contact_email");
    e
}

/// Masks all but the last four characters: "6222 0000 1234" → "••••1234".
pub fn mask(s: &str) -> String {
    let tail: String = s.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    if s.chars().count() <= 4 { "••••".into() } else { format!("••••{tail}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn good() -> MerchantForm {
        MerchantForm {
            subject_type: "enterprise".into(),
            merchant_name: "深圳市星河贸易有限公司".into(),
            license_number: "91440300MA5FXXXX1X".into(),
            legal_person: "张三".into(),
            license_media: "m1".into(),
            id_front_media: "m2".into(),
            id_back_media: "m3".into(),
            card_period_begin: "2019-06-01".into(),
            card_period_end: "2039-06-01".into(),
            merchant_shortname: "星河贸易".into(),
            service_phone: "0755-8888888".into(),
            scene_mini_program: true,
            settlement_id: "716".into(),
            qualification_type: "零售批发".into(),
            bank_account_type: "corporate".into(),
            account_bank: "招商银行".into(),
            bank_address_code: "440300".into(),
            sensitive: Sensitive {
                id_card_name: "张三".into(),
                id_card_number: "11010519491231002X".into(),
                account_name: "深圳市星河贸易有限公司".into(),
                account_number: "755912345678901".into(),
                contact_name: "李四".into(),
                mobile_phone: "13800138000".into(),
                contact_email: "finance@example.com".into(),
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_form_passes() {
        assert_eq!(check(&good()), vec![]);
    }

    #[test]
    fn each_problem_names_its_field() {
        let mut f = good();
        f.license_number = "123".into();
        f.sensitive.id_card_number = "110105194912310021".into(); // wrong check digit
        f.sensitive.account_name = "另一家公司".into();
        f.card_period_end = "2001-01-01".into();
        f.scene_mini_program = false;
        f.license_media.clear();
        f.sensitive.mobile_phone = "12345".into();
        let fields: Vec<_> = check(&f).into_iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            vec![
                "license_number",
                "license_copy",
                "id_card_number",
                "card_period_end",
                "scenes",
                "account_name",
                "mobile_phone"
            ]
        );
    }

    #[test]
    fn id_numbers_carry_their_check_digit() {
        assert!(id_number_ok("11010519491231002X"));
        assert!(!id_number_ok("110105194912310021"));
        assert!(!id_number_ok("1101051949123100"));
    }

    #[test]
    fn forever_ids_and_masks() {
        let f = MerchantForm::from_fields(|k| if k == "card_forever" { "on".into() } else { String::new() });
        assert!(f.forever());
        assert_eq!(mask("6222000012345678"), "••••5678");
        assert_eq!(mask("12"), "••••");
        assert_eq!(format!("{:?}", good().sensitive), "Sensitive(***)");
    }
}
