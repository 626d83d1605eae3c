//! Secrets: kept in the keychain, named in the database, handed to the tasks allowed them.
use super::audit::AheadEntry;
use super::*;

impl Manager {
    /// Stores a secret in the keychain (audited by name; the value goes nowhere else).
    pub async fn set_secret(&self, name: &str, value: &str, actor: &str) -> Result<()> {
        let (n, v) = (name.to_string(), value.to_string());
        self.change_secret(name, true, actor, move || crate::secrets::store(&n, &v))
            .await
    }

    /// Deletes a secret from the keychain (audited).
    pub async fn delete_secret(&self, name: &str, actor: &str) -> Result<()> {
        let n = name.to_string();
        self.change_secret(name, false, actor, move || crate::secrets::delete(&n))
            .await
    }

    /// Sets (`present`) or deletes a secret in the keychain with `change`, audited ahead, then
    /// records it.
    async fn change_secret(
        &self,
        name: &str,
        present: bool,
        actor: &str,
        change: impl FnOnce() -> Result<()> + Send + 'static,
    ) -> Result<()> {
        let (started, failed) = if present {
            ("secret.set_started", "secret.set_failed")
        } else {
            ("secret.delete_started", "secret.delete_failed")
        };
        let entry = AheadEntry {
            actor,
            started,
            failed,
            task: None,
            detail: serde_json::json!({ "name": name }),
        };
        self.audited_ahead(entry, blocking(change)).await?;
        self.record_secret(name, present, actor).await
    }

    /// Stores that a secret of this name is (or is no longer) in the keychain, and audits it.
    pub(super) async fn record_secret(&self, name: &str, present: bool, actor: &str) -> Result<()> {
        let now = self.now_us();
        let action = if present {
            "secret.set"
        } else {
            "secret.deleted"
        };
        self.record(vec![
            Write::SecretName {
                name: name.to_string(),
                present,
                time_us: now,
            },
            Write::audit(
                now,
                actor,
                action,
                None,
                serde_json::json!({ "name": name }),
            ),
        ])
        .await
    }

    /// The names of the stored secrets, with when each was last set (µs).
    pub async fn list_secrets(&self) -> Result<Vec<(String, i64)>> {
        self.inner.store.secret_names().await
    }

    /// A task asks for a secret: its agent's manifest must declare it, and the person (or a
    /// rule) must grant it. The value is handed over once, kept in memory to redact it from
    /// what the task reports, and its reading is audited (by name).
    #[tracing::instrument(skip_all, fields(task = %task_id, secret = %name))]
    pub async fn secret_for_task(&self, task_id: &str, token: &str, name: &str) -> Result<String> {
        let permission = policy::parse("secret", name)?;
        let claims = {
            let st = self.state();
            let claims = self.authorize(&st, task_id, token)?;
            let declared = st
                .supervised
                .get(&claims.agent_id)
                .is_some_and(|p| p.secrets.iter().any(|s| s == name));
            if !declared {
                return Err(Error::PermissionDenied(format!(
                    "agent `{}` does not declare secret `{name}` in its manifest \
                     (secrets = [\"{name}\"] in agent.toml); it cannot ask for it",
                    claims.agent_id
                )));
            }
            claims
        };
        let c = self
            .consent_for(
                task_id,
                &claims.agent_id,
                permission,
                &format!("the task asks for secret `{name}`"),
                &claims.agent_id,
            )
            .await?;
        c.granted(&format!("secret `{name}`"))?;
        let n = name.to_string();
        let value = blocking(move || crate::secrets::load(&n)).await?;
        let now = self.now_us();
        self.commit(|st| {
            let a = st.tasks.get_mut(task_id).ok_or_else(|| {
                Error::FailedPrecondition(format!("task {task_id} ended meanwhile"))
            })?;
            // Each value once: its log lines are searched for every one kept.
            if !a.secrets.iter().any(|(n, v)| n == name && *v == value) {
                a.secrets.push((name.to_string(), value.clone()));
            }
            let audit = Write::audit(
                now,
                claims.agent_id.clone(),
                "secret.read",
                Some(task_id),
                serde_json::json!({ "name": name, "consent": c.id }),
            );
            Ok((vec![audit], ()))
        })
        .await?;
        Ok(value)
    }
}
