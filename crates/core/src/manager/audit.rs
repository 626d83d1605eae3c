//! Reading and verifying the audit log.
use super::*;

impl Manager {
    /// A page of the audit log: the entries `query` selects, at most a page of them.
    pub async fn list_audit(
        &self,
        query: &crate::store::AuditQuery,
    ) -> Result<Vec<crate::model::AuditEntry>> {
        let max = self.inner.cfg.tasks.log_page_size;
        let limit = if query.limit == 0 {
            max
        } else {
            query.limit.min(max)
        };
        self.inner.store.audit_entries(query, limit).await
    }

    /// Checks the audit chain: entries read and the problems found.
    pub async fn verify_audit(&self) -> Result<(u64, Vec<String>)> {
        let head = crate::store::audit::Head::read(&self.inner.paths.audit_head);
        self.inner.store.verify_audit(head.as_ref()).await
    }
}
