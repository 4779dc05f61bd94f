//! The sandbox's WeChat Pay, talked to as an outside client would.
