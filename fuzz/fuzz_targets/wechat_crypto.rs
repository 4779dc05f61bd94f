//! The WXBizMsgCrypt scheme on arbitrary input: `decrypt` of any text (the `<Encrypt>`
//! value), of the Base64 of any bytes (past the Base64 check, into CBC, padding and the
//! length field), an encrypt/decrypt round trip, and `MsgCrypt::new` with any key.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use minihost::wechat::crypto::MsgCrypt;
use minihost_fuzz::crypt;

static CRYPT: LazyLock<MsgCrypt> = LazyLock::new(crypt);

fuzz_target!(|data: &[u8]| {
    let c = &*CRYPT;
    let text = String::from_utf8_lossy(data);
    let _ = c.decrypt(&text);
    // Whole AES blocks reach the padding and length checks.
    let _ = c.decrypt_unchecked_appid(&STANDARD.encode(data));
    let mut blocks = data.to_vec();
    blocks.truncate(data.len() / 16 * 16);
    let _ = c.decrypt(&STANDARD.encode(&blocks));
    // Whatever is sealed opens to itself.
    let random: [u8; 16] = std::array::from_fn(|i| data.get(i).copied().unwrap_or(b'0'));
    let sealed = c.encrypt_with_random(&random, &text);
    assert_eq!(c.decrypt(&sealed).as_deref(), Ok(&*text), "a sealed message did not open to itself");
    // Any key text: refused or a working codec.
    if let Some(key) = text.get(..text.len().min(43))
        && let Ok(other) = MsgCrypt::new("token", key, "wx0000000000000001")
    {
        let sealed = other.encrypt_with_random(&random, "<xml/>");
        assert_eq!(other.decrypt(&sealed).as_deref(), Ok("<xml/>"));
    }
});
