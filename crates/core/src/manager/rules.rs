//! Permission rules: add, revoke, list.
use super::*;

impl Manager {
    /// Adds a permission rule (audited). Tasks assigned from now on get what it grants.
    pub async fn add_rule(
        &self,
        agent: Option<String>,
        kind: &str,
        target: &str,
        decision: policy::Decision,
        origin: &str,
    ) -> Result<policy::Rule> {
        if let Some(a) = &agent {
            check_name("agent name", a, 64)?;
        }
        let permission = policy::parse(kind, target)?;
        let rule = new_rule(
            agent,
            permission,
            decision,
            origin.to_string(),
            self.now_us(),
        );
        self.commit(|st| {
            let mut writes = Vec::new();
            put_rule(st, rule.clone(), origin, None, &mut writes);
            Ok((writes, rule))
        })
        .await
    }

    /// Revokes a rule (audited); it stays listed as revoked.
    pub async fn revoke_rule(&self, id: &str, actor: &str) -> Result<policy::Rule> {
        let now = self.now_us();
        self.commit(|st| {
            let rule = st.rules.iter_mut().find(|r| r.id == id).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "no permission rule with id `{id}`; `hyperagent policy list` shows them"
                ))
            })?;
            if rule.revoked_us.is_some() {
                return Err(Error::FailedPrecondition(format!(
                    "rule {id} is already revoked"
                )));
            }
            rule.revoked_us = Some(now);
            let rule = rule.clone();
            let writes = vec![
                Write::Rule(Box::new(rule.clone())),
                Write::audit(now, actor, "policy.rule_revoked", None, &rule),
            ];
            Ok((writes, rule))
        })
        .await
    }

    /// Every rule, oldest first; revoked ones only when asked.
    pub fn list_rules(&self, include_revoked: bool) -> Vec<policy::Rule> {
        self.state()
            .rules
            .iter()
            .filter(|r| include_revoked || r.revoked_us.is_none())
            .cloned()
            .collect()
    }
}

/// A new rule in force from `now_us`, with a fresh id.
pub(super) fn new_rule(
    agent: Option<String>,
    permission: policy::Permission,
    decision: policy::Decision,
    origin: String,
    now_us: i64,
) -> policy::Rule {
    policy::Rule {
        id: uuid::Uuid::now_v7().to_string(),
        created_us: now_us,
        agent,
        permission,
        decision,
        origin,
        revoked_us: None,
    }
}

/// Puts a new rule in force and queues its row and its audit entry.
pub(super) fn put_rule(
    st: &mut State,
    rule: policy::Rule,
    actor: &str,
    task_id: Option<&str>,
    writes: &mut Vec<Write>,
) {
    writes.push(Write::Rule(Box::new(rule.clone())));
    writes.push(Write::audit(
        rule.created_us,
        actor,
        "policy.rule_added",
        task_id,
        &rule,
    ));
    st.rules.push(rule);
}
