#!/usr/bin/env python3
"""Makes the sandbox's fixed, published WeChat Pay and Alipay keys and certificates
(src/sandbox/pay/keys/) and the test fixtures (tests/fixtures/pay/). Run once; the files are
committed, so the sandbox's published keys never change between builds. Needs the Python
`cryptography` package."""
import datetime, os, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
keys = os.path.join(root, "src/sandbox/pay/keys")
fixtures = os.path.join(root, "tests/fixtures/pay")
os.makedirs(keys, exist_ok=True)
os.makedirs(fixtures, exist_ok=True)

def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)

def pkcs8(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

def pkcs1(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())

def spki(k):
    return k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

ca_key = key()
ca_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com (minihost sandbox)"), x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (sandbox)")])

def cert(k, cn, serial, start, end):
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tenpay.com (minihost sandbox)"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(k.public_key())
         .serial_number(serial).not_valid_before(start).not_valid_after(end))
    return b.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

def w(path, data):
    with open(path, "wb") as f:
        f.write(data)

utc = datetime.timezone.utc
d = lambda y, m, dd: datetime.datetime(y, m, dd, tzinfo=utc)

# WeChat Pay's platform key: signs the sandbox's answers and notifications.
platform = key()
w(f"{keys}/wechatpay_platform_key.pem", pkcs8(platform))
w(f"{keys}/wechatpay_platform_cert.pem", cert(platform, "Tenpay.com platform (sandbox)", 0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1, d(2025, 1, 1), d(2035, 1, 1)))
w(f"{keys}/wechatpay_platform_public_key.pem", spki(platform))

# The demo service-provider merchant's API key and certificate (the console's demo settings).
merchant = key()
w(f"{keys}/merchant_key.pem", pkcs8(merchant))
w(f"{keys}/merchant_cert.pem", cert(merchant, "1900000100", 0x3775B6A45ACD588826D15E583A95F5DD2C5CE3A5, d(2025, 6, 1), d(2030, 6, 1)))

# The sandbox Alipay gateway's key (its public key is "the Alipay public key") and the demo
# tenant application's key.
alipay = key()
w(f"{keys}/alipay_gateway_key.pem", pkcs8(alipay))
w(f"{keys}/alipay_public_key.pem", spki(alipay))
app = key()
w(f"{keys}/alipay_app_key.pem", pkcs1(app))
w(f"{keys}/alipay_app_public_key.pem", spki(app))

# Test fixtures: a key that matches nothing, an expired merchant certificate, and a
# certificate for that other key (so "the key does not match the certificate" is testable).
other = key()
w(f"{fixtures}/other_key.pem", pkcs8(other))
w(f"{fixtures}/other_public_key.pem", spki(other))
w(f"{fixtures}/merchant_cert_expired.pem", cert(merchant, "1900000100", 0x1A2B3C4D5E6F708192A3B4C5D6E7F80912345678, d(2019, 1, 1), d(2024, 1, 1)))
w(f"{fixtures}/other_cert.pem", cert(other, "1900000100", 0x6D1C0DA5E8F0A2B3C4D5E6F708192A3B4C5D6E7F, d(2025, 1, 1), d(2035, 1, 1)))
print("written", keys, fixtures)
