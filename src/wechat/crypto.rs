//! WeChat message encryption (the "WXBizMsgCrypt" scheme) used by every push that
//! WeChat sends to a third-party platform, plus a small flat-XML reader/writer for
//! the `<xml>…</xml>` documents those pushes carry.
//!
//! Scheme summary (reference §2):
//! * `AESKey = Base64_Decode(EncodingAESKey + "=")`, 32 bytes, AES-256-CBC, IV = first
//!   16 bytes of the key, PKCS#7 padding with a block size of **32**.
//! * Plaintext = `random(16) | msg_len (u32 BE) | msg | appid`.
//! * `msg_signature = hex(sha1(concat(sort([token, timestamp, nonce, Encrypt]))))`.
//!
//! Nothing in this module panics on external input.

use std::fmt;

use aes::Aes256;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use cbc::cipher::{Block, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, Event};
use quick_xml::reader::Reader;
use rand::RngExt as _;
use rand::distr::Alphanumeric;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

type Aes256CbcEnc = cbc::Encryptor<Aes256>;
type Aes256CbcDec = cbc::Decryptor<Aes256>;

/// Base64 engine for `EncodingAESKey + "="`: 43 characters carry 258 bits, so the last
/// character has non-zero trailing bits that a strict decoder rejects.
const KEY_ENGINE: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

/// Length of an `EncodingAESKey`.
const ENCODING_AES_KEY_LEN: usize = 43;
/// PKCS#7 block size used by the scheme (not the AES block size).
const PAD_BLOCK: usize = 32;
/// AES block size.
const AES_BLOCK: usize = 16;
/// Random prefix + 4-byte length field.
const HEADER_LEN: usize = 20;

/// Errors of the WXBizMsgCrypt scheme and of the flat-XML helpers.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptError {
    /// The EncodingAESKey is not 43 characters of `[A-Za-z0-9]` decoding to 32 bytes.
    #[error("EncodingAESKey must be 43 characters of A-Z, a-z, 0-9")]
    InvalidAesKey,
    /// `msg_signature` does not match the message.
    #[error("message signature does not match")]
    BadSignature,
    /// The `Encrypt` value is not valid standard Base64.
    #[error("encrypted payload is not valid base64")]
    BadBase64,
    /// The ciphertext is empty or not a whole number of AES blocks.
    #[error("ciphertext length is not a positive multiple of 16 bytes")]
    BadCiphertextLength,
    /// PKCS#7 (block size 32) padding is invalid.
    #[error("invalid padding in decrypted payload")]
    BadPadding,
    /// The plaintext is too short or its length field points past the data.
    #[error("invalid length field in decrypted payload")]
    BadLength,
    /// The message or the appid trailer is not UTF-8.
    #[error("decrypted payload is not valid UTF-8")]
    BadUtf8,
    /// The appid trailer is not ours.
    #[error("decrypted payload belongs to a different appid")]
    AppIdMismatch,
    /// The XML document could not be parsed.
    #[error("malformed XML: {0}")]
    BadXml(String),
    /// The envelope has no `<Encrypt>` element.
    #[error("envelope has no Encrypt element")]
    MissingEncrypt,
}

/// Encrypts, decrypts and signs WeChat push messages for one platform.
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    key: [u8; 32],
    appid: String,
}

impl fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("token", &"<redacted>")
            .field("key", &"<redacted>")
            .field("appid", &self.appid)
            .finish()
    }
}

impl MsgCrypt {
    /// Creates a codec from the message check Token, the 43-character EncodingAESKey
    /// and the appid expected in (and written to) the plaintext trailer.
    pub fn new(token: &str, encoding_aes_key: &str, appid: &str) -> Result<Self, CryptError> {
        if encoding_aes_key.len() != ENCODING_AES_KEY_LEN
            || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(CryptError::InvalidAesKey);
        }
        let mut padded = String::with_capacity(ENCODING_AES_KEY_LEN + 1);
        padded.push_str(encoding_aes_key);
        padded.push('=');
        let decoded = KEY_ENGINE.decode(padded.as_bytes()).map_err(|_| CryptError::InvalidAesKey)?;
        let key: [u8; 32] = decoded.as_slice().try_into().map_err(|_| CryptError::InvalidAesKey)?;
        Ok(Self { token: token.to_owned(), key, appid: appid.to_owned() })
    }

    /// The appid written to and expected in the plaintext trailer.
    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// `msg_signature`: lowercase hex SHA-1 of the sorted, concatenated
    /// `[token, timestamp, nonce, encrypt]`.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        sorted_sha1_hex(&mut [self.token.as_str(), timestamp, nonce, encrypt])
    }

    /// Plain `signature` URL parameter: lowercase hex SHA-1 of the sorted, concatenated
    /// `[token, timestamp, nonce]`.
    pub fn plain_signature(&self, timestamp: &str, nonce: &str) -> String {
        sorted_sha1_hex(&mut [self.token.as_str(), timestamp, nonce])
    }

    /// Checks `msg_signature` in constant time (hex case is ignored).
    pub fn verify(&self, msg_signature: &str, timestamp: &str, nonce: &str, encrypt: &str) -> Result<(), CryptError> {
        let expected = self.signature(timestamp, nonce, encrypt);
        let given = msg_signature.trim().to_ascii_lowercase();
        if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) { Ok(()) } else { Err(CryptError::BadSignature) }
    }

    /// Encrypts `msg` with the given 16-byte random prefix; returns the Base64
    /// ciphertext (the `Encrypt` value). Deterministic: used by tests and by
    /// [`MsgCrypt::encrypt`].
    ///
    /// A message longer than `u32::MAX` bytes cannot be represented by the scheme; its
    /// length field saturates (such input never occurs in practice).
    pub fn encrypt_with_random(&self, random16: &[u8; 16], msg: &str) -> String {
        let msg = msg.as_bytes();
        let msg_len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
        let body_len = HEADER_LEN + msg.len() + self.appid.len();
        let pad = PAD_BLOCK - body_len % PAD_BLOCK; // 1..=32
        let mut buf = Vec::with_capacity(body_len + pad);
        buf.extend_from_slice(random16);
        buf.extend_from_slice(&msg_len.to_be_bytes());
        buf.extend_from_slice(msg);
        buf.extend_from_slice(self.appid.as_bytes());
        // `pad` is at most 32, so the cast is lossless.
        buf.resize(body_len + pad, pad as u8);
        self.cbc_encrypt_in_place(&mut buf);
        STANDARD.encode(&buf)
    }

    /// Encrypts `msg` with a fresh random prefix of 16 alphanumeric characters.
    pub fn encrypt(&self, msg: &str) -> String {
        let mut random16 = [0u8; 16];
        let mut rng = rand::rng();
        for b in &mut random16 {
            *b = rng.sample(Alphanumeric);
        }
        self.encrypt_with_random(&random16, msg)
    }

    /// Decrypts an `Encrypt` value and checks that the appid trailer is ours.
    pub fn decrypt(&self, encrypt_b64: &str) -> Result<String, CryptError> {
        let (msg, appid) = self.decrypt_unchecked_appid(encrypt_b64)?;
        if bool::from(appid.as_bytes().ct_eq(self.appid.as_bytes())) { Ok(msg) } else { Err(CryptError::AppIdMismatch) }
    }

    /// Decrypts an `Encrypt` value without checking the trailer; returns
    /// `(message, appid trailer)`.
    pub fn decrypt_unchecked_appid(&self, encrypt_b64: &str) -> Result<(String, String), CryptError> {
        let mut buf = STANDARD.decode(encrypt_b64.trim().as_bytes()).map_err(|_| CryptError::BadBase64)?;
        if buf.is_empty() || buf.len() % AES_BLOCK != 0 {
            return Err(CryptError::BadCiphertextLength);
        }
        self.cbc_decrypt_in_place(&mut buf);

        let (&last, _) = buf.split_last().ok_or(CryptError::BadCiphertextLength)?;
        let pad = usize::from(last);
        if pad == 0 || pad > PAD_BLOCK || pad > buf.len() {
            return Err(CryptError::BadPadding);
        }
        let unpadded_len = buf.len() - pad;
        let (plain, padding) = buf.split_at(unpadded_len);
        if !padding.iter().all(|&b| b == last) {
            return Err(CryptError::BadPadding);
        }

        let (header, rest) = plain.split_at_checked(HEADER_LEN).ok_or(CryptError::BadLength)?;
        let len_bytes: [u8; 4] =
            header.get(16..HEADER_LEN).and_then(|s| s.try_into().ok()).ok_or(CryptError::BadLength)?;
        let msg_len = usize::try_from(u32::from_be_bytes(len_bytes)).map_err(|_| CryptError::BadLength)?;
        let (msg, appid) = rest.split_at_checked(msg_len).ok_or(CryptError::BadLength)?;
        let msg = std::str::from_utf8(msg).map_err(|_| CryptError::BadUtf8)?;
        let appid = std::str::from_utf8(appid).map_err(|_| CryptError::BadUtf8)?;
        Ok((msg.to_owned(), appid.to_owned()))
    }

    /// Full inbound path: extract `<Encrypt>` from the envelope XML body, verify
    /// `msg_signature`, decrypt (checking the appid trailer).
    pub fn open_envelope(
        &self,
        body: &str,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Result<String, CryptError> {
        let fields = parse_flat_xml(body)?;
        let encrypt = fields
            .iter()
            .find(|(name, _)| name == "Encrypt")
            .map(|(_, value)| value.as_str())
            .ok_or(CryptError::MissingEncrypt)?;
        self.verify(msg_signature, timestamp, nonce, encrypt)?;
        self.decrypt(encrypt)
    }

    /// Builds an encrypted push envelope; returns `(body_xml, msg_signature)`.
    ///
    /// With `to_user == None` the body is the authorization-event shape
    /// `<xml><AppId>…</AppId><Encrypt>…</Encrypt></xml>`; otherwise the
    /// message-and-event shape `<xml><ToUserName>…</ToUserName><Encrypt>…</Encrypt></xml>`.
    pub fn seal_envelope(&self, xml: &str, timestamp: &str, nonce: &str, to_user: Option<&str>) -> (String, String) {
        let encrypt = self.encrypt(xml);
        let signature = self.signature(timestamp, nonce, &encrypt);
        let body = match to_user {
            None => build_flat_xml(&[("AppId", self.appid.as_str()), ("Encrypt", &encrypt)]),
            Some(to) => build_flat_xml(&[("ToUserName", to), ("Encrypt", &encrypt)]),
        };
        (body, signature)
    }

    /// Builds an encrypted passive reply (reference §2.4):
    /// `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`.
    pub fn seal_reply(&self, xml: &str, timestamp: &str, nonce: &str) -> String {
        let encrypt = self.encrypt(xml);
        let signature = self.signature(timestamp, nonce, &encrypt);
        build_flat_xml(&[
            ("Encrypt", &encrypt),
            ("MsgSignature", &signature),
            ("TimeStamp", timestamp),
            ("Nonce", nonce),
        ])
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }

    /// AES-256-CBC without padding. `buf.len()` must be a multiple of 16; a trailing
    /// partial block (never produced by callers) would be left as is.
    fn cbc_encrypt_in_place(&self, buf: &mut [u8]) {
        let iv = self.iv();
        let mut enc = Aes256CbcEnc::new(&self.key.into(), &iv.into());
        let (blocks, _partial) = Block::<Aes256CbcEnc>::slice_as_chunks_mut(buf);
        enc.encrypt_blocks(blocks);
    }

    /// AES-256-CBC decryption without padding; same length rule as encryption.
    fn cbc_decrypt_in_place(&self, buf: &mut [u8]) {
        let iv = self.iv();
        let mut dec = Aes256CbcDec::new(&self.key.into(), &iv.into());
        let (blocks, _partial) = Block::<Aes256CbcDec>::slice_as_chunks_mut(buf);
        dec.decrypt_blocks(blocks);
    }
}

fn sorted_sha1_hex(parts: &mut [&str]) -> String {
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for part in parts.iter() {
        hasher.update(part.as_bytes());
    }
    to_hex(&hasher.finalize())
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

fn bad_xml(what: impl fmt::Display, pos: u64) -> CryptError {
    CryptError::BadXml(format!("{what} (at byte {pos})"))
}

/// A field's element name, which must be an XML name (letters, digits, `_`, `-`, `.`, `:`,
/// not starting with a digit, `-` or `.`). quick-xml takes a tag's name up to the first
/// space, and skips quoted text while looking for the tag's end, so a name can otherwise
/// hold `<`, `>`, quotes or a whole run of markup (found by the `wechat_envelope` fuzzer:
/// such a field rebuilt by [`build_flat_xml`] made a document that does not parse).
fn field_name(raw: &str, pos: u64) -> Result<String, CryptError> {
    let name_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':');
    let mut chars = raw.chars();
    let valid = chars.next().is_some_and(|c| name_char(c) && !c.is_numeric() && !matches!(c, '-' | '.'))
        && chars.all(name_char);
    if valid { Ok(raw.to_owned()) } else { Err(bad_xml("an element name that is not an XML name", pos)) }
}

fn resolve_ref(r: &BytesRef<'_>, out: &mut String, pos: u64) -> Result<(), CryptError> {
    match r.resolve_char_ref() {
        Ok(Some(ch)) => out.push(ch),
        Ok(None) => match resolve_predefined_entity(r) {
            Some(s) => out.push_str(s),
            None => return Err(bad_xml(format_args!("unknown entity &{};", &**r), pos)),
        },
        Err(e) => return Err(bad_xml(e, pos)),
    }
    Ok(())
}

/// Parses a flat WeChat XML message (`<xml><A><![CDATA[x]]></A><B>12</B>…</xml>`) into
/// ordered `(name, text)` pairs of the direct children of the root `<xml>` element.
///
/// * Text and CDATA sections are concatenated; entity and character references are
///   resolved; line endings are normalised as XML 1.0 requires; whitespace-only text
///   between elements is ignored, but text inside an element is kept exactly.
/// * An empty element (`<A/>` or `<A></A>`) yields an empty string.
/// * A child that itself contains elements (e.g. `result_info` of
///   `wxa_privacy_apply`) yields its **raw inner markup** exactly as it appears in the
///   input; parse it again with `parse_flat_xml(&format!("<xml>{inner}</xml>"))`.
/// * Attributes, comments, processing instructions and the XML declaration are ignored.
/// * The root must be named `xml`. A DOCTYPE, unknown entities, text directly inside
///   `<xml>`, a second root, or an unclosed/mismatched tag give [`CryptError::BadXml`].
pub fn parse_flat_xml(xml: &str) -> Result<Vec<(String, String)>, CryptError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;

    let mut fields = Vec::new();
    let mut depth: usize = 0;
    let mut seen_root = false;
    let mut root_closed = false;
    let mut name = String::new();
    let mut text = String::new();
    let mut inner_start: u64 = 0;
    let mut nested = false;

    loop {
        let before = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => return Err(bad_xml(e, reader.error_position())),
        };
        match event {
            Event::Start(e) => {
                match depth {
                    0 => {
                        if seen_root {
                            return Err(bad_xml("more than one root element", before));
                        }
                        if e.name().as_ref() != "xml" {
                            return Err(bad_xml("root element is not <xml>", before));
                        }
                        seen_root = true;
                    }
                    1 => {
                        name = field_name(e.name().as_ref(), before)?;
                        text.clear();
                        nested = false;
                        inner_start = reader.buffer_position();
                    }
                    _ => nested = true,
                }
                depth = depth.saturating_add(1);
            }
            Event::End(_) => {
                match depth {
                    1 => root_closed = true,
                    2 => {
                        let value = if nested {
                            let start = usize::try_from(inner_start).ok();
                            let end = usize::try_from(before).ok();
                            start
                                .zip(end)
                                .and_then(|(s, e)| xml.get(s..e))
                                .ok_or_else(|| bad_xml("cannot locate element content", before))?
                                .to_owned()
                        } else {
                            std::mem::take(&mut text)
                        };
                        fields.push((std::mem::take(&mut name), value));
                    }
                    _ => {}
                }
                depth = depth.checked_sub(1).ok_or_else(|| bad_xml("unexpected closing tag", before))?;
            }
            Event::Empty(e) => match depth {
                0 => {
                    if seen_root {
                        return Err(bad_xml("more than one root element", before));
                    }
                    if e.name().as_ref() != "xml" {
                        return Err(bad_xml("root element is not <xml>", before));
                    }
                    seen_root = true;
                    root_closed = true;
                }
                1 => fields.push((field_name(e.name().as_ref(), before)?, String::new())),
                _ => nested = true,
            },
            Event::Text(t) => {
                let content = t.xml10_content();
                match depth {
                    2 => text.push_str(&content),
                    0 | 1 if !content.trim().is_empty() => {
                        return Err(bad_xml("text outside of a field element", before));
                    }
                    _ => {}
                }
            }
            Event::CData(c) => match depth {
                2 => text.push_str(&c.xml10_content()),
                0 | 1 => return Err(bad_xml("CDATA outside of a field element", before)),
                _ => {}
            },
            Event::GeneralRef(r) => match depth {
                2 => resolve_ref(&r, &mut text, before)?,
                0 | 1 => return Err(bad_xml("entity outside of a field element", before)),
                _ => {}
            },
            Event::DocType(_) => return Err(bad_xml("DOCTYPE is not allowed", before)),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !root_closed || depth != 0 {
        return Err(bad_xml("document is incomplete", reader.buffer_position()));
    }
    Ok(fields)
}

/// Builds `<xml><Name><![CDATA[value]]></Name>…</xml>` from `(name, value)` pairs.
///
/// Every value goes in a CDATA section; a `]]>` inside a value is split across two
/// sections (`]]]]><![CDATA[>`), so any string round-trips through
/// [`parse_flat_xml`] (apart from XML 1.0 line-ending normalisation of `\r`).
/// Names are written as given and must be valid XML names (callers pass constants).
pub fn build_flat_xml(fields: &[(&str, &str)]) -> String {
    let capacity = fields.iter().map(|(n, v)| 2 * n.len() + v.len() + 17).sum::<usize>() + 11;
    let mut out = String::with_capacity(capacity);
    out.push_str("<xml>");
    for (name, value) in fields {
        out.push('<');
        out.push_str(name);
        out.push_str("><![CDATA[");
        out.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
        out.push_str("]]></");
        out.push_str(name);
        out.push('>');
    }
    out.push_str("</xml>");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn field_names_must_be_xml_names() {
        // quick-xml skips quoted text looking for a tag's end: this is one empty element
        // whose "name" holds markup. Refused, so nothing unparseable is ever rebuilt.
        assert!(parse_flat_xml("<xml><A'x>y</B>'/></xml>").is_err());
        assert!(parse_flat_xml("<xml><A\"x>y</A\"x></xml>").is_err());
        assert!(parse_flat_xml("<xml><1a>y</1a></xml>").is_err());
        let fields = parse_flat_xml("<xml><Name_1.x-y>v</Name_1.x-y><名称>值</名称><E/></xml>").unwrap();
        assert_eq!(fields.len(), 3);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(parse_flat_xml(&build_flat_xml(&pairs)).unwrap(), fields);
    }

    // Vector A (WxJava WxCryptUtilTest).
    const A_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const A_APPID: &str = "wxb11529c136998cb6";
    const A_TOKEN: &str = "pamtest";
    const A_ENCRYPT: &str = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==";

    // Vector B (wechatpy tests/test_crypto.py).
    const B_TOKEN: &str = "123456";
    const B_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
    const B_APPID: &str = "wx49f0ab532d5d035a";
    const B_TS: &str = "1411525903";
    const B_NONCE: &str = "461056294";
    const B_ENCRYPT: &str = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";
    const B_SIGNATURE: &str = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d";
    const B_REPLY: &str = "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>";
    const B_REPLY_ENCRYPT: &str = "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3";

    fn a() -> MsgCrypt {
        MsgCrypt::new(A_TOKEN, A_KEY, A_APPID).unwrap()
    }

    fn b() -> MsgCrypt {
        MsgCrypt::new(B_TOKEN, B_KEY, B_APPID).unwrap()
    }

    /// Encrypts arbitrary bytes (length a multiple of 16) with no framing or padding.
    fn raw_cipher(c: &MsgCrypt, mut plain: Vec<u8>) -> String {
        assert_eq!(plain.len() % 16, 0);
        c.cbc_encrypt_in_place(&mut plain);
        STANDARD.encode(&plain)
    }

    /// Builds `random | len | msg | appid` with a caller-chosen length field, padded.
    fn framed(len_field: u32, msg: &[u8], appid: &[u8]) -> Vec<u8> {
        let mut v = b"0123456789abcdef".to_vec();
        v.extend_from_slice(&len_field.to_be_bytes());
        v.extend_from_slice(msg);
        v.extend_from_slice(appid);
        let pad = 32 - v.len() % 32;
        v.resize(v.len() + pad, pad as u8);
        v
    }

    #[test]
    fn vector_a_key_encrypt_and_signatures() {
        let c = a();
        assert_eq!(to_hex(&c.key), "69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051");
        let enc = c.encrypt_with_random(b"aaaabbbbccccdddd", "我是中文abcd123");
        assert_eq!(enc, A_ENCRYPT);
        assert_eq!(c.signature("1409304348", "xxxxxx", &enc), "82c962d39941aa48552f90ef55aa323dc620cc10");
        assert_eq!(c.plain_signature("1409304348", "xxxxxx"), "76480565cbe296026c53aaacd1ad523a1ddba24f");
        assert_eq!(c.decrypt(A_ENCRYPT).unwrap(), "我是中文abcd123");
        assert_eq!(c.appid(), A_APPID);
    }

    #[test]
    fn vector_b_decrypt_direction() {
        let c = b();
        c.verify(B_SIGNATURE, B_TS, B_NONCE, B_ENCRYPT).unwrap();
        let xml = c.decrypt(B_ENCRYPT).unwrap();
        assert!(xml.contains("<Content><![CDATA[test]]></Content>"));
        let fields = parse_flat_xml(&xml).unwrap();
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("FromUserName"), Some("messense"));
        assert_eq!(get("Content"), Some("test"));

        let envelope = format!(
            "<xml><ToUserName><![CDATA[{B_APPID}]]></ToUserName>\n<Encrypt><![CDATA[{B_ENCRYPT}]]></Encrypt>\n<AgentID><![CDATA[1]]></AgentID>\n</xml>"
        );
        assert_eq!(c.open_envelope(&envelope, B_SIGNATURE, B_TS, B_NONCE).unwrap(), xml);
        assert_eq!(c.open_envelope(&envelope, B_SIGNATURE, B_TS, "461056295"), Err(CryptError::BadSignature));
    }

    #[test]
    fn vector_b_encrypt_direction() {
        let c = b();
        let enc = c.encrypt_with_random(b"1234567890123456", B_REPLY);
        assert!(enc.starts_with("9s4gMv99m88kKTh/H8Idk"));
        assert_eq!(enc, B_REPLY_ENCRYPT);
        assert_eq!(c.signature(B_TS, B_NONCE, &enc), "407518b7649e86ef23978113f92d27afa9296533");
        assert_eq!(c.decrypt(&enc).unwrap(), B_REPLY);
    }

    #[test]
    fn vector_b_echostr() {
        let c = b();
        let echo = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==";
        let sig = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96";
        c.verify(sig, "1411443780", "437374425", echo).unwrap();
        assert_eq!(c.verify(sig, "1411443780", "437374424", echo), Err(CryptError::BadSignature));
        let (_, trailer) = c.decrypt_unchecked_appid(echo).unwrap();
        assert_eq!(trailer, B_APPID);
        assert!(c.decrypt(echo).is_ok());
    }

    #[test]
    fn round_trips() {
        let c = a();
        let texts = [
            String::new(),
            "x".repeat(31),
            "y".repeat(32),
            "z".repeat(33),
            "我是中文，带标点！".to_owned(),
            "<xml><Content><![CDATA[你好]]></Content></xml>".to_owned(),
            "a".repeat(1000),
        ];
        for t in &texts {
            let enc = c.encrypt(t);
            let raw = STANDARD.decode(&enc).unwrap();
            assert_eq!(raw.len() % 32, 0);
            assert_eq!(c.decrypt(&enc).unwrap(), *t);
            let (m, app) = c.decrypt_unchecked_appid(&enc).unwrap();
            assert_eq!((m.as_str(), app.as_str()), (t.as_str(), A_APPID));
        }
        // Random prefix differs between calls.
        assert_ne!(c.encrypt("same"), c.encrypt("same"));
        // Each plaintext length 0..=64 gives pad 1..=32 and round-trips.
        for n in 0..=64 {
            let s = "m".repeat(n);
            assert_eq!(c.decrypt(&c.encrypt_with_random(&[7u8; 16], &s)).unwrap(), s);
        }
    }

    #[test]
    fn envelope_round_trip() {
        let c = a();
        let inner = build_flat_xml(&[("AppId", A_APPID), ("InfoType", "component_verify_ticket")]);
        let (body, sig) = c.seal_envelope(&inner, "1700000000", "nonce1", None);
        assert!(body.starts_with("<xml><AppId><![CDATA[wxb11529c136998cb6]]></AppId><Encrypt><![CDATA["));
        assert_eq!(c.open_envelope(&body, &sig, "1700000000", "nonce1").unwrap(), inner);

        let (body, sig) = c.seal_envelope(&inner, "1700000000", "nonce2", Some("gh_abc"));
        assert!(body.starts_with("<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><Encrypt><![CDATA["));
        assert_eq!(c.open_envelope(&body, &sig, "1700000000", "nonce2").unwrap(), inner);
        // Uppercase hex signature is accepted.
        assert!(c.open_envelope(&body, &sig.to_ascii_uppercase(), "1700000000", "nonce2").is_ok());

        let reply = c.seal_reply("<xml><A>1</A></xml>", "1700000001", "n3");
        let f = parse_flat_xml(&reply).unwrap();
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]);
        let (enc, sig) = (&f[0].1, &f[1].1);
        c.verify(sig, "1700000001", "n3", enc).unwrap();
        assert_eq!(c.decrypt(enc).unwrap(), "<xml><A>1</A></xml>");
    }

    #[test]
    fn bad_base64() {
        let c = a();
        assert_eq!(c.decrypt("not base64!!"), Err(CryptError::BadBase64));
        assert_eq!(c.decrypt("abc"), Err(CryptError::BadBase64));
        assert_eq!(c.decrypt("QUJD=="), Err(CryptError::BadBase64));
    }

    #[test]
    fn bad_ciphertext_length() {
        let c = a();
        assert_eq!(c.decrypt(""), Err(CryptError::BadCiphertextLength));
        assert_eq!(c.decrypt(&STANDARD.encode([1u8; 20])), Err(CryptError::BadCiphertextLength));
        assert_eq!(c.decrypt(&STANDARD.encode([1u8; 33])), Err(CryptError::BadCiphertextLength));
    }

    #[test]
    fn bad_padding() {
        let c = a();
        // Pad byte 0.
        let mut p = vec![b'a'; 32];
        p[31] = 0;
        assert_eq!(c.decrypt(&raw_cipher(&c, p)), Err(CryptError::BadPadding));
        // Pad byte 33 (> 32).
        let mut p = vec![b'a'; 64];
        p[32..].fill(33);
        assert_eq!(c.decrypt(&raw_cipher(&c, p)), Err(CryptError::BadPadding));
        // Inconsistent: last byte says 4 but the others differ.
        let mut p = vec![b'a'; 32];
        p[31] = 4;
        p[30] = 4;
        p[29] = 3;
        p[28] = 4;
        assert_eq!(c.decrypt(&raw_cipher(&c, p)), Err(CryptError::BadPadding));
        // Pad longer than the data (32 > 16).
        let p = vec![32u8; 16];
        assert_eq!(c.decrypt(&raw_cipher(&c, p)), Err(CryptError::BadPadding));
        // Sanity: a well-formed frame decrypts.
        let ok = framed(3, b"abc", A_APPID.as_bytes());
        assert_eq!(c.decrypt(&raw_cipher(&c, ok)).unwrap(), "abc");
    }

    #[test]
    fn bad_length() {
        let c = a();
        let p = framed(1000, b"abc", A_APPID.as_bytes());
        assert_eq!(c.decrypt(&raw_cipher(&c, p)), Err(CryptError::BadLength));
        let p = framed(u32::MAX, b"", b"");
        assert_eq!(c.decrypt(&raw_cipher(&c, p)), Err(CryptError::BadLength));
        // Shorter than the 20-byte header after unpadding (12 bytes + 20 pad).
        let mut p = vec![b'a'; 12];
        p.resize(32, 20);
        assert_eq!(c.decrypt(&raw_cipher(&c, p)), Err(CryptError::BadLength));
    }

    #[test]
    fn bad_utf8() {
        let c = a();
        let p = framed(2, &[0xff, 0xfe], A_APPID.as_bytes());
        assert_eq!(c.decrypt(&raw_cipher(&c, p)), Err(CryptError::BadUtf8));
        let p = framed(2, b"ok", &[0xc3]);
        assert_eq!(c.decrypt_unchecked_appid(&raw_cipher(&c, p)), Err(CryptError::BadUtf8));
    }

    #[test]
    fn wrong_appid() {
        let other = MsgCrypt::new(A_TOKEN, A_KEY, "wx0000000000000000").unwrap();
        let enc = other.encrypt("hello");
        assert_eq!(a().decrypt(&enc), Err(CryptError::AppIdMismatch));
        assert_eq!(a().decrypt_unchecked_appid(&enc).unwrap(), ("hello".to_owned(), "wx0000000000000000".to_owned()));
        // Prefix of our appid is not ours either.
        let short = MsgCrypt::new(A_TOKEN, A_KEY, "wxb11529c136998cb").unwrap();
        assert_eq!(a().decrypt(&short.encrypt("x")), Err(CryptError::AppIdMismatch));
    }

    #[test]
    fn wrong_signature() {
        let c = a();
        let good = c.signature("1", "2", A_ENCRYPT);
        assert!(c.verify(&good, "1", "2", A_ENCRYPT).is_ok());
        for bad in ["", "00", "not hex at all", &good[..39], &format!("{good}0")] {
            assert_eq!(c.verify(bad, "1", "2", A_ENCRYPT), Err(CryptError::BadSignature));
        }
        assert_eq!(c.verify(&good, "1", "3", A_ENCRYPT), Err(CryptError::BadSignature));
        let other_token = MsgCrypt::new("other", A_KEY, A_APPID).unwrap();
        assert_eq!(other_token.verify(&good, "1", "2", A_ENCRYPT), Err(CryptError::BadSignature));
    }

    #[test]
    fn invalid_encoding_aes_key() {
        for key in [
            "",
            &A_KEY[..42],
            &format!("{A_KEY}A"),
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF+",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF/",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF=",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDE-_",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF ",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEé",
        ] {
            assert_eq!(MsgCrypt::new("t", key, "wx").unwrap_err(), CryptError::InvalidAesKey, "{key:?}");
        }
        let dbg = format!("{:?}", a());
        assert!(!dbg.contains(A_TOKEN) && dbg.contains(A_APPID));
    }

    #[test]
    fn envelope_errors() {
        let c = a();
        assert_eq!(
            c.open_envelope("<xml><AppId><![CDATA[wx]]></AppId></xml>", "s", "1", "2"),
            Err(CryptError::MissingEncrypt)
        );
        for body in ["", "<xml><Encrypt>abc</Encrypt>", "not xml", "<xml><Encrypt>a</Foo></xml>"] {
            assert!(matches!(c.open_envelope(body, "s", "1", "2"), Err(CryptError::BadXml(_))), "{body:?}");
        }
        // Signature is checked before decryption.
        assert_eq!(c.open_envelope("<xml><Encrypt>!!!</Encrypt></xml>", "s", "1", "2"), Err(CryptError::BadSignature));
        let sig = c.signature("1", "2", "!!!");
        assert_eq!(c.open_envelope("<xml><Encrypt>!!!</Encrypt></xml>", &sig, "1", "2"), Err(CryptError::BadBase64));
    }

    #[test]
    fn flat_xml_round_trip() {
        let fields: &[(&str, &str)] = &[
            ("ToUserName", "gh_123"),
            ("Content", "a]]>b]]>]]>c"),
            ("Edge", "]]"),
            ("Edge2", ">]]>]"),
            ("Chinese", "你好，世界"),
            ("Markup", "<b>&amp; \"q\" 'a'</b>"),
            ("Empty", ""),
            ("Spaces", "  padded  \n line "),
        ];
        let xml = build_flat_xml(fields);
        let parsed = parse_flat_xml(&xml).unwrap();
        let expect: Vec<(String, String)> = fields.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        assert_eq!(parsed, expect);
        assert_eq!(build_flat_xml(&[]), "<xml></xml>");
        assert_eq!(parse_flat_xml("<xml></xml>").unwrap(), vec![]);
        assert_eq!(parse_flat_xml("<xml/>").unwrap(), vec![]);
    }

    #[test]
    fn flat_xml_parsing_details() {
        let xml = "<?xml version=\"1.0\"?>\n<!-- c -->\n<xml>\n  <A><![CDATA[x]]></A>\n  <B>12</B>\n  <C a=\"1\"/>\n  <D>a &lt;&amp;&gt; &#x4F60;&#22909; <![CDATA[<raw>]]></D>\n  <E></E>\n  <result_info><api_name><![CDATA[wx.getLocation]]></api_name><status>1</status></result_info>\n</xml>\n";
        let f = parse_flat_xml(xml).unwrap();
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["A", "B", "C", "D", "E", "result_info"]);
        assert_eq!(f[0].1, "x");
        assert_eq!(f[1].1, "12");
        assert_eq!(f[2].1, "");
        assert_eq!(f[3].1, "a <&> 你好 <raw>");
        assert_eq!(f[4].1, "");
        assert_eq!(f[5].1, "<api_name><![CDATA[wx.getLocation]]></api_name><status>1</status>");
        let inner = parse_flat_xml(&format!("<xml>{}</xml>", f[5].1)).unwrap();
        assert_eq!(
            inner,
            vec![("api_name".to_owned(), "wx.getLocation".to_owned()), ("status".to_owned(), "1".to_owned())]
        );
    }

    #[test]
    fn flat_xml_errors() {
        for bad in [
            "",
            "   ",
            "plain text",
            "<xml>",
            "<xml><A>1</A>",
            "<xml><A>1</B></xml>",
            "<xml></xml><xml></xml>",
            "<root><A>1</A></root>",
            "<xml>stray<A>1</A></xml>",
            "<xml><A>&unknown;</A></xml>",
            "<xml><A>&#0;</A></xml>",
            "<!DOCTYPE xml [<!ENTITY e \"x\">]><xml><A>&e;</A></xml>",
            "</xml>",
            "<xml><A><![CDATA[x]]></xml>",
            "<xml></xml>trailing",
            "<xml><A x='1></A></xml>",
        ] {
            assert!(matches!(parse_flat_xml(bad), Err(CryptError::BadXml(_))), "{bad:?} -> {:?}", parse_flat_xml(bad));
        }
    }

    #[test]
    fn no_panics_on_garbage() {
        // Small deterministic xorshift so the test needs no extra crates.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"<>/![]CDATA&#;x=\"' \nxmlEncrypt+/=AQZaz09";
        let c = a();
        for round in 0..3000 {
            let len = (next() % 80) as usize;
            let s: String = (0..len).map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize])).collect();
            let _ = parse_flat_xml(&s);
            let _ = c.decrypt(&s);
            let _ = c.open_envelope(&s, "x", "1", "2");
            // Random well-formed base64 of random bytes (multiples of 16 included).
            let n = if round % 2 == 0 { 16 * (next() % 5) as usize } else { (next() % 70) as usize };
            let bytes: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            let _ = c.decrypt_unchecked_appid(&STANDARD.encode(&bytes));
            let _ = MsgCrypt::new("t", &s, "wx");
        }
    }
}
