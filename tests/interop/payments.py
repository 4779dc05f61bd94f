#!/usr/bin/env python3
"""An independent client of WeChat Pay APIv3 and Alipay, written from their documentation
(reference/wechat-open-platform.md §7.6-7.8 and §8.2-8.4) with Python's `cryptography`
library and nothing of minihost's code. The integration test `interop::*` runs it against
a console and its sandbox:

1. signs a WeChat Pay request (`GET /v3/certificates`) as a merchant does, and verifies the
   sandbox's signed answer with the published platform certificate, decrypting the
   certificate it returns with the APIv3 key;
2. signs an Alipay request (`alipay.trade.query`) and verifies the gateway's signed answer
   with the published Alipay public key, over the raw JSON of the response node;
3. sends the console a WeChat Pay payment notification (AEAD_AES_256_GCM resource, the
   body signed with the platform key) and an Alipay notification (RSA2 over the sorted
   form fields), as WeChat Pay and Alipay build them.

Usage: payments.py CONFIG.json   (the test writes the addresses, keys and orders there)
Prints one line per check and exits non-zero on the first failure.
"""

import base64
import datetime
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def load_key(pem):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def sign(key, message):
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(public_key, message, signature_b64):
    public_key.verify(base64.b64decode(signature_b64), message.encode(), padding.PKCS1v15(), hashes.SHA256())


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body.encode() if body is not None else None, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def check(ok, what):
    if not ok:
        print("FAIL", what)
        sys.exit(1)
    print("ok  ", what)


def wechatpay_request(c):
    """§7.6: Authorization: WECHATPAY2-SHA256-RSA2048 over method, path, timestamp, nonce, body."""
    path = "/v3/certificates"
    ts, nonce = str(int(time.time())), base64.b16encode(os.urandom(16)).decode()
    message = f"GET\n{path}\n{ts}\n{nonce}\n\n"
    signature = sign(load_key(c["merchant_key"]), message)
    auth = (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{c["sp_mchid"]}",nonce_str="{nonce}",'
        f'timestamp="{ts}",serial_no="{c["merchant_serial"]}",signature="{signature}"'
    )
    status, headers, body = http("GET", c["wechatpay_base"] + path, headers={"Authorization": auth, "Accept": "application/json"})
    check(status == 200, f"WeChat Pay accepts a request signed by an independent client (HTTP {status})")
    h = {k.lower(): v for k, v in headers.items()}
    platform = x509.load_pem_x509_certificate(c["platform_cert"].encode())
    message = f'{h["wechatpay-timestamp"]}\n{h["wechatpay-nonce"]}\n{body}\n'
    verify(platform.public_key(), message, h["wechatpay-signature"])
    check(True, "the sandbox's answer verifies with the published platform certificate")
    for cert in json.loads(body)["data"]:
        e = cert["encrypt_certificate"]
        pem = AESGCM(c["api_v3_key"].encode()).decrypt(
            e["nonce"].encode(), base64.b64decode(e["ciphertext"]), e["associated_data"].encode()
        )
        got = x509.load_pem_x509_certificate(pem)
        check(got.serial_number == int(cert["serial_no"], 16),
              "the returned certificate decrypts with the APIv3 key and carries its serial")


def raw_node(body, name):
    """The response node's JSON exactly as sent (§8.3: the signature covers those bytes)."""
    start = body.index(f'"{name}"')
    start = body.index("{", start)
    depth, i, in_str, esc = 0, start, False, False
    while True:
        ch = body[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return body[start : i + 1]
        i += 1


def china_time(unix):
    t = datetime.datetime.fromtimestamp(unix, datetime.timezone(datetime.timedelta(hours=8)))
    return t.strftime("%Y-%m-%d %H:%M:%S")


def rsa2_content(params, drop=("sign",)):
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in drop and params[k] != "")


def alipay_request(c):
    """§8.2: RSA2 over the sorted parameters; §8.3: the answer signed over its node."""
    params = {
        "app_id": c["alipay_app_id"],
        "method": "alipay.trade.query",
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": china_time(time.time()),
        "version": "1.0",
        "biz_content": json.dumps({"out_trade_no": c["alipay_out_trade_no"]}),
    }
    params["sign"] = sign(load_key(c["alipay_app_key"]), rsa2_content(params))
    status, _, body = http(
        "POST", c["alipay_gateway"], urllib.parse.urlencode(params),
        {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
    )
    check(status == 200, f"Alipay accepts a request signed by an independent client (HTTP {status})")
    node = raw_node(body, "alipay_trade_query_response")
    alipay_public = serialization.load_pem_public_key(c["alipay_public_key"].encode())
    verify(alipay_public, node, json.loads(body)["sign"])
    check(True, "the gateway's answer verifies with the published Alipay public key")


def wechatpay_notification(c):
    """§7.7-7.8: the transaction AEAD-encrypted with the APIv3 key, the body signed."""
    resource = json.dumps({
        "sp_mchid": c["sp_mchid"], "sub_mchid": c["sub_mchid"], "out_trade_no": c["wechat_out_trade_no"],
        "transaction_id": "4200009999" + str(int(time.time())), "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功", "bank_type": "OTHERS", "success_time": "2026-12-07T10:00:00+08:00",
        "payer": {"sp_openid": "oInteropBuyer"},
        "amount": {"total": c["wechat_total"], "payer_total": c["wechat_total"], "currency": "CNY", "payer_currency": "CNY"},
    }, ensure_ascii=False)
    nonce = base64.b16encode(os.urandom(6)).decode()  # 12 characters
    ciphertext = AESGCM(c["api_v3_key"].encode()).encrypt(nonce.encode(), resource.encode(), b"transaction")
    body = json.dumps({
        "id": "EV-interop-" + nonce, "create_time": "2026-12-07T10:00:00+08:00", "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": base64.b64encode(ciphertext).decode(), "associated_data": "transaction", "nonce": nonce},
    }, ensure_ascii=False)
    ts, n = str(int(time.time())), base64.b16encode(os.urandom(16)).decode()
    signature = sign(load_key(c["platform_key"]), f"{ts}\n{n}\n{body}\n")
    status, _, answer = http("POST", c["console"] + "/pay/wechat/notify", body, {
        "Content-Type": "application/json", "Wechatpay-Serial": c["platform_serial"], "Wechatpay-Signature": signature,
        "Wechatpay-Timestamp": ts, "Wechatpay-Nonce": n, "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    })
    check(status in (200, 204), f"the console accepts WeChat Pay's notification as documented (HTTP {status} {answer})")


def alipay_notification(c):
    """§8.4: RSA2 over the sorted fields less sign and sign_type; the answer is `success`."""
    params = {
        "notify_time": china_time(time.time()), "notify_type": "trade_status_sync", "notify_id": "interop" + str(time.time_ns()),
        "app_id": c["alipay_app_id"], "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
        "trade_no": "2026120722001400000000000001", "out_trade_no": c["alipay_out_trade_no"],
        "trade_status": "TRADE_SUCCESS", "total_amount": c["alipay_total"], "receipt_amount": c["alipay_total"],
        "buyer_pay_amount": c["alipay_total"], "gmt_payment": china_time(time.time()), "subject": "interop",
    }
    params["sign"] = sign(load_key(c["alipay_gateway_key"]), rsa2_content(params, drop=("sign", "sign_type")))
    status, _, answer = http(
        "POST", c["console"] + "/pay/alipay/notify", urllib.parse.urlencode(params),
        {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
    )
    check(status == 200 and answer == "success", f"the console answers Alipay's notification with success ({status} {answer!r})")


def main():
    c = json.load(open(sys.argv[1]))
    wechatpay_request(c)
    alipay_request(c)
    wechatpay_notification(c)
    alipay_notification(c)


if __name__ == "__main__":
    main()
