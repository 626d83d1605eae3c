//! The event feed: stored events replayed from a cursor, then live ones, with no gap and no
//! duplicate. A subscriber that falls behind the live buffer catches up from the database.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, watch};

use crate::error::{Error, Result};
use crate::model::Event;
use crate::store::{EventFilter, Store};

/// Publishes committed events and serves subscriptions.
#[derive(Clone)]
pub struct Feed {
    live: broadcast::Sender<Arc<Event>>,
    published: Arc<AtomicU64>,
    store: Store,
    replay_page: u32,
    subscriber_buffer: usize,
    /// Set when the manager shuts down: every subscription ends (its client sees `ShuttingDown`
    /// and resumes from its cursor elsewhere), so the servers can finish their connections.
    closing: watch::Sender<bool>,
}

impl Feed {
    /// A feed over `store`; `last_seq` is the highest stored sequence number.
    pub fn new(
        store: Store,
        last_seq: u64,
        live_buffer: usize,
        replay_page: u32,
        subscriber_buffer: usize,
    ) -> Feed {
        let (live, _) = broadcast::channel(live_buffer);
        Feed {
            live,
            published: Arc::new(AtomicU64::new(last_seq)),
            store,
            replay_page,
            subscriber_buffer,
            closing: watch::channel(false).0,
        }
    }

    /// Ends every subscription, now and from now on (at shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// The sender the writer publishes committed events on.
    pub fn sender(&self) -> broadcast::Sender<Arc<Event>> {
        self.live.clone()
    }

    /// Records that events up to `seq` are published (called by the writer after each commit).
    pub fn mark_published(&self, seq: u64) {
        self.published.fetch_max(seq, Ordering::SeqCst);
    }

    /// The highest published sequence number.
    pub fn last_seq(&self) -> u64 {
        self.published.load(Ordering::SeqCst)
    }

    /// Events after `after` (or from now when `None`) that pass `filter`, until the receiver is dropped.
    pub fn subscribe(
        &self,
        after: Option<u64>,
        filter: EventFilter,
    ) -> mpsc::Receiver<Result<Arc<Event>>> {
        // Subscribe to live events before reading the store, so nothing published meanwhile is missed.
        let live = self.live.subscribe();
        let cursor = after.unwrap_or_else(|| self.last_seq());
        let (tx, rx) = mpsc::channel(self.subscriber_buffer);
        let feed = self.clone();
        let mut closing = self.closing.subscribe();
        tokio::spawn(async move {
            let closed = async move {
                let _ = closing.wait_for(|c| *c).await.map(|_| ());
            };
            tokio::select! {
                r = feed.pump(cursor, filter, live, &tx) => {
                    if let Err(e) = r {
                        let _ = tx.send(Err(e)).await;
                    }
                }
                // Not waiting on a subscriber that does not read: shutdown goes on.
                () = closed => {
                    let _ = tx.try_send(Err(Error::ShuttingDown));
                }
            }
        });
        rx
    }

    async fn pump(
        &self,
        mut cursor: u64,
        filter: EventFilter,
        mut live: broadcast::Receiver<Arc<Event>>,
        tx: &mpsc::Sender<Result<Arc<Event>>>,
    ) -> Result<()> {
        loop {
            // Catch up from the database.
            loop {
                let page = self
                    .store
                    .events_after(cursor, &filter, self.replay_page)
                    .await?;
                let full = page.len() as u32 == self.replay_page;
                for e in page {
                    cursor = e.seq;
                    if tx.send(Ok(Arc::new(e))).await.is_err() {
                        return Ok(());
                    }
                }
                if !full {
                    break;
                }
            }
            // Then follow live events until we fall behind.
            loop {
                match live.recv().await {
                    Ok(e) => {
                        if e.seq <= cursor {
                            continue;
                        }
                        cursor = e.seq;
                        if filter.matches(&e.body) && tx.send(Ok(e)).await.is_err() {
                            return Ok(());
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                }
            }
        }
    }
}
