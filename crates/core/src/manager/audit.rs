//! Reading and verifying the audit log.
use super::*;

impl Manager {
    /// Does `act`, an action on the person's files or keychain, audited ahead: `started` is
    /// stored before it begins (so nothing is done unaudited, even when the manager is killed
    /// during it: the entry stays with no end), and `failed` with the error if it fails. The
    /// caller stores the entry that says it was done. Not done at all when the first entry
    /// cannot be stored.
    pub(super) async fn audited_ahead<T>(
        &self,
        entry: AheadEntry<'_>,
        act: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let AheadEntry {
            actor,
            started,
            failed,
            task,
            detail,
        } = entry;
        self.record(vec![Write::audit(
            self.now_us(),
            actor,
            started,
            task,
            detail.clone(),
        )])
        .await?;
        let done = act.await;
        if let Err(e) = &done {
            let mut detail = detail;
            detail["error"] = e.to_string().into();
            if let Err(not_stored) = self
                .record(vec![Write::audit(
                    self.now_us(),
                    actor,
                    failed,
                    task,
                    detail,
                )])
                .await
            {
                tracing::error!(action = failed, error = %not_stored, "a failed action's audit entry was not stored");
            }
        }
        done
    }

    /// A page of the audit log: the entries `query` selects, at most a page of them.
    pub async fn list_audit(
        &self,
        query: &crate::store::AuditQuery,
    ) -> Result<Vec<crate::model::AuditEntry>> {
        Ok(self.audit_page(query).await?.0)
    }

    /// [`Manager::list_audit`], and whether more entries follow the page (it is cut short of
    /// the largest message, so it may hold fewer than asked with more to follow).
    pub async fn audit_page(
        &self,
        query: &crate::store::AuditQuery,
    ) -> Result<(Vec<crate::model::AuditEntry>, bool)> {
        let max = self.inner.cfg.tasks.log_page_size;
        let limit = if query.limit == 0 {
            max
        } else {
            query.limit.min(max)
        };
        let mut entries = self.inner.store.audit_entries(query, limit).await?;
        let full = entries.len() as u32 == limit;
        // A page fits one message: past half the largest, the rest are the next page's.
        let cut = self.page_cut(entries.iter().map(crate::model::AuditEntry::wire_bytes));
        let more = full || cut < entries.len();
        entries.truncate(cut);
        Ok((entries, more))
    }

    /// Whether an entry of `action` at `now` is written: a refusal (`*.refused`) only within
    /// `store.audit_refusals_per_minute` of its kind; with the entry that says how many of a
    /// minute that ended were counted instead.
    pub(super) fn count_refusal(&self, action: &str, now: i64) -> (bool, Option<Write>) {
        if !action.ends_with(".refused") {
            return (true, None);
        }
        let per_minute = self.inner.cfg.store.audit_refusals_per_minute;
        let mut all = self
            .inner
            .refusals
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (record, ended) = all
            .entry(action.to_string())
            .or_default()
            .take(now, per_minute);
        let said = ended.map(|(count, from_us)| {
            Write::audit(
                now,
                "manager",
                "audit.suppressed",
                None,
                serde_json::json!({ "action": action, "count": count, "from_us": from_us, "to_us": now }),
            )
        });
        (record, said)
    }

    /// Checks the audit chain: entries read and the problems found.
    pub async fn verify_audit(&self) -> Result<(u64, Vec<String>)> {
        let head = crate::store::audit::Head::read(&self.inner.paths.audit_head);
        self.inner.store.verify_audit(head.as_ref()).await
    }
}

/// The longest task id an audit entry keeps (the manager's are UUIDs, 36 bytes; one given by a
/// caller or an agent may be anything).
pub(super) const MAX_TASK_ID_BYTES: usize = 64;

/// Events of one kind in the current minute, against a budget a minute: one kind of refusal's
/// audit entries, one agent's messages sent.
#[derive(Debug, Default)]
pub(super) struct PerMinute {
    /// When the minute began (µs).
    from_us: i64,
    /// Events within the budget (for refusals: entries written).
    audited: u32,
    /// Events past the budget (for refusals: not written one by one).
    suppressed: u64,
}

impl PerMinute {
    /// Whether the event at `now_us` is within the minute's budget, and the count (with its
    /// minute's start) of a minute that ended with events past it, to say once.
    pub(super) fn take(&mut self, now_us: i64, per_minute: u32) -> (bool, Option<(u64, i64)>) {
        let mut ended = None;
        if now_us.saturating_sub(self.from_us) >= 60_000_000 {
            if self.suppressed > 0 {
                ended = Some((self.suppressed, self.from_us));
            }
            *self = PerMinute {
                from_us: now_us,
                ..PerMinute::default()
            };
        }
        if self.audited < per_minute {
            self.audited += 1;
            return (true, ended);
        }
        self.suppressed = self.suppressed.saturating_add(1);
        (false, ended)
    }
}

/// The entries [`Manager::audited_ahead`] stores around an action.
pub(super) struct AheadEntry<'a> {
    pub actor: &'a str,
    /// Stored before the action begins (`secret.set_started`).
    pub started: &'a str,
    /// Stored when it fails, with its error (`secret.set_failed`).
    pub failed: &'a str,
    pub task: Option<&'a str>,
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_past_the_minutes_budget_are_counted_and_said_once_the_minute_ends() {
        let mut r = PerMinute::default();
        let minute = 60_000_000;
        assert_eq!(r.take(minute, 2), (true, None));
        assert_eq!(r.take(minute + 1, 2), (true, None));
        assert_eq!(r.take(minute + 2, 2), (false, None));
        assert_eq!(r.take(minute + 3, 2), (false, None));
        // The next minute: the two not written are said, and the budget is whole again.
        assert_eq!(r.take(2 * minute, 2), (true, Some((2, minute))));
        assert_eq!(r.take(2 * minute + 1, 2), (true, None));
        assert_eq!(
            r.take(3 * minute + 5, 2),
            (true, None),
            "nothing was left out"
        );
    }
}
