//! Group commit for WeChat's pushes: the pushes that arrive while one batch is being
//! written wait together and are written in the next batch, in one transaction.
//!
//! Why: on PostgreSQL every commit waits for a WAL flush and every statement is a round
//! trip, so storing pushes one by one (nonce, event, processing: three commits and
//! seven round trips each) held the endpoint near 1,300 pushes/s on two cores, far below
//! SQLite's in-process writes. Batched, a commit and each statement serve every push of
//! the batch (`inbox::accept_batch`). Durability is unchanged: a push's `success` is
//! only sent after the commit that stored it. Measured batched: about 9,500 pushes/s on
//! PostgreSQL at 64 at once, 6,600 at 32 (`benches/events.rs`, figures in the README).
//!
//! Latency is not traded for it: nothing waits for a batch to fill. A writer takes
//! whatever is queued the moment it is free, so a lone push is written at once, alone,
//! and batches only form under load, from pushes that would otherwise have queued for a
//! connection anyway. Two writers take turns, so one collects while the other writes.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use super::inbox::{self, Incoming, Verdict};
use crate::db::{self, DbError, DbPool};
use crate::secrets::Sealer;

/// How many writers take turns: one gathers the next batch while the other writes.
const WRITERS: usize = 2;
/// The most pushes written in one transaction (bounds the statement's arrays and the
/// time a failed batch takes to redo one by one).
const MAX_BATCH: usize = 256;
/// Pushes waiting beyond this make the endpoint wait to queue (back-pressure on the
/// connections) instead of growing memory without bound.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Verdict, DbError>>;

/// Where the event endpoints hand verified pushes to be stored.
#[derive(Clone)]
pub struct EventWriter {
    queue: mpsc::Sender<(Incoming, Reply)>,
}

impl EventWriter {
    /// Starts the writers on the current runtime. They end when every `EventWriter` clone
    /// is dropped (with the server's app data), after writing what was queued.
    pub fn start(pool: DbPool, sealer: Sealer) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(write_batches(rx.clone(), pool.clone(), sealer.clone()));
        }
        Self { queue }
    }

    /// Stores and processes one push; returns once it is committed (or refused).
    pub async fn accept(&self, item: Incoming) -> Result<Verdict, DbError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((item, reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> DbError {
    DbError::Task("the event writer has stopped".into())
}

async fn write_batches(rx: Arc<Mutex<mpsc::Receiver<(Incoming, Reply)>>>, pool: DbPool, sealer: Sealer) {
    loop {
        let mut batch = Vec::new();
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(first) => batch.push(first),
                None => return,
            }
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
        }
        let (items, replies): (Vec<Incoming>, Vec<Reply>) = batch.into_iter().unzip();
        let sealer = sealer.clone();
        let count = items.len();
        let written = db::run(&pool, move |conn| -> Result<Vec<Result<Verdict, DbError>>, DbError> {
            let now = crate::now();
            match inbox::accept_batch(conn, &sealer, &items, now) {
                Ok(verdicts) => Ok(verdicts.into_iter().map(Ok).collect()),
                Err(e) => {
                    // Rolled back as a whole: take them one by one, so one push that cannot
                    // be processed is stored as failed and the others go through.
                    if count > 1 {
                        tracing::warn!(error = %e, pushes = count, "a batch of WeChat pushes failed; storing them one by one");
                    }
                    Ok(items.iter().map(|item| Ok(inbox::accept(conn, &sealer, item, now)?)).collect())
                }
            }
        })
        .await;
        match written {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, pushes = count, "could not store a batch of WeChat pushes");
                for reply in replies {
                    let _ = reply.send(Err(DbError::Task(e.to_string().into())));
                }
            }
        }
    }
}
