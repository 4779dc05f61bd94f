//! The sandbox's Alipay gateway, talked to as an outside client would.
