//! The pacer behind a release campaign's call rate cap: every paced WeChat call takes the
//! next slot from the database (`db::pacing`), so several instances share one rate, and
//! waits for it. Used through `wechat::client::paced`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::db::campaigns::Campaign;
use crate::db::{self, DbError, DbPool};
use crate::wechat::client::Pacer;

pub struct DbPacer {
    pool: DbPool,
    key: String,
    interval_us: i64,
}

impl DbPacer {
    /// The pacer of a campaign's call rate cap, shared by every instance through its row
    /// in `call_pacers`; ready to hand to `wechat::client::paced`.
    pub fn for_campaign(pool: &DbPool, campaign: &Campaign) -> Arc<dyn Pacer> {
        let interval_us = crate::domain::campaign::call_interval_us(campaign.calls_per_minute.into());
        Arc::new(Self { pool: pool.clone(), key: campaign.pacer_key(), interval_us })
    }
}

fn now_us() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

impl Pacer for DbPacer {
    fn wait(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let (key, interval) = (self.key.clone(), self.interval_us);
            let slot = db::run(&self.pool, move |c| -> Result<_, DbError> {
                Ok(db::pacing::take_slot(c, &key, interval, now_us())?)
            })
            .await;
            let wait_us = match slot {
                Ok(at) => at - now_us(),
                // Without a slot, keep to the rate as if one was taken now.
                Err(e) => {
                    tracing::warn!(error = %e, pacer = %self.key, "could not take a call slot");
                    interval
                }
            };
            if wait_us > 0 {
                tokio::time::sleep(Duration::from_micros(wait_us.unsigned_abs())).await;
            }
        })
    }
}
