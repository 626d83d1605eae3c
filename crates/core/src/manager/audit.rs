//! Reading and verifying the audit log.
use super::*;

impl Manager {
    /// A page of the audit log (only `task_id`'s entries when given).
    pub async fn list_audit(
        &self,
        task_id: Option<&str>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<crate::model::AuditEntry>> {
        let max = self.inner.cfg.tasks.log_page_size;
        let limit = if limit == 0 { max } else { limit.min(max) };
        self.inner.store.audit_entries(task_id, after, limit).await
    }

    /// Checks the audit chain: entries read and the problems found.
    pub async fn verify_audit(&self) -> Result<(u64, Vec<String>)> {
        let head = crate::store::audit::Head::read(&self.inner.paths.audit_head);
        self.inner.store.verify_audit(head.as_ref()).await
    }
}
