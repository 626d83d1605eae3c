//! The housekeeping loop: liveness, timeouts, backoffs, checkpoints, retention.
use super::*;

impl Manager {
    /// Liveness, answer timeouts, run deadlines and cancel grace periods.
    pub(super) fn tick(&self) -> Option<Pending> {
        let now = self.now_us();
        let timeout = self.inner.cfg.agents.heartbeat_timeout;
        let mut writes = Vec::new();
        let mut kill = Vec::new();
        let mut st = self.state();
        self.expire_consents(&mut st, now);
        self.expire_questions(&mut st, now);
        let at = self.instant();
        let silent: Vec<String> = st
            .registry
            .iter()
            .filter(|r| {
                r.session
                    .as_ref()
                    .is_some_and(|s| at.saturating_duration_since(s.last_seen) > timeout)
            })
            .map(|r| r.row.id.clone())
            .collect();
        for id in silent {
            let why = format!("no heartbeat for {}", humantime::format_duration(timeout));
            if let Err(e) = self.go_offline(&mut st, &id, &why, now, &mut writes) {
                tracing::error!(agent = %id, error = %e, "taking agent offline failed");
            }
        }
        enum Due {
            Answer,
            Deadline,
            Cancel,
        }
        let due: Vec<(String, Due)> = st
            .tasks
            .values()
            .filter_map(|a| {
                let id = a.task.id.clone();
                if a.task.state == TaskState::Assigned && a.answer_by_us.is_some_and(|t| t <= now) {
                    Some((id, Due::Answer))
                } else if a.task.cancel_requested && a.cancel_by_us.is_some_and(|t| t <= now) {
                    Some((id, Due::Cancel))
                } else if a.task.state.holds_slot() && a.deadline_us.is_some_and(|t| t <= now) {
                    Some((id, Due::Deadline))
                } else {
                    None
                }
            })
            .collect();
        for (id, due) in due {
            let a = st.tasks.get(&id).expect("present");
            let agent = a.task.agent_id.clone().unwrap_or_default();
            let timeout_secs = a.task.timeout_secs;
            let err = match due {
                Due::Answer => format!(
                    "agent `{agent}` did not answer within {}",
                    humantime::format_duration(self.inner.cfg.agents.answer_timeout)
                ),
                Due::Deadline => format!("timed out after {timeout_secs}s on agent `{agent}`"),
                Due::Cancel => {
                    kill.push(agent.clone());
                    format!(
                        "agent `{agent}` did not stop within {} of the cancel",
                        humantime::format_duration(self.inner.cfg.tasks.cancel_grace)
                    )
                }
            };
            if let Some(rec) = st.registry.get(&agent) {
                rec.send(Command::Stop {
                    task_id: id.clone(),
                    reason: err.clone(),
                });
            }
            if let Err(e) = self.lose_attempt(&mut st, &id, &err, now, &mut writes) {
                tracing::error!(task = %id, error = %e, "ending an attempt failed");
            }
        }
        let drifting = self.drifting(&mut st, now, &mut writes);
        self.deliver_messages(&mut st, now, &mut writes);
        let supervised: Vec<String> = kill
            .into_iter()
            .filter(|a| st.supervised.contains_key(a))
            .collect();
        drop(st);
        if !supervised.is_empty() {
            if let Some(tx) = self
                .inner
                .supervisor
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                for agent_id in supervised {
                    let _ = tx.send(SupervisorRequest::Kill {
                        agent_id,
                        reason: "it did not stop a canceled task in time".into(),
                    });
                }
            }
        }
        let pending = (!writes.is_empty()).then(|| self.inner.writer.submit(writes));
        self.cancel_drifting(drifting);
        pending
    }

    /// Running tasks silent past `drift.silent_after`: an event and an audit entry each, and the
    /// tasks to cancel per `drift.on_drift`. A task's silence counts only while it runs (not
    /// while it waits for an agent, an answer or the person).
    fn drifting(&self, st: &mut State, now: i64, writes: &mut Vec<Write>) -> Vec<(String, String)> {
        let after = self.inner.cfg.drift.silent_after;
        let max_flags = self.inner.cfg.drift.max_flags_per_task;
        let mut found = Vec::new();
        for a in st.tasks.values_mut() {
            if a.task.state != TaskState::Running || a.task.cancel_requested {
                a.watch.activity(now);
                continue;
            }
            let d = a.watch.silent(now, after);
            if let Some(d) = a.watch.may_say(d, max_flags) {
                found.push((a.task.id.clone(), d));
            }
        }
        found
            .into_iter()
            .filter_map(|(id, d)| self.drifted(&id, &d, now, writes).map(|why| (id, why)))
            .collect()
    }

    /// A drift on the feed and in the audit log; the reason to cancel the task with, when
    /// `drift.on_drift` says so.
    pub(super) fn drifted(
        &self,
        task_id: &str,
        d: &crate::drift::Drift,
        now: i64,
        writes: &mut Vec<Write>,
    ) -> Option<String> {
        let cancel = self.inner.cfg.drift.on_drift == crate::config::OnDrift::Cancel;
        let action = if cancel { "cancelled" } else { "warned" };
        tracing::warn!(task = %task_id, drift = d.kind.name(), evidence = %d.evidence, action, "task drifting");
        writes.push(Write::Event {
            time_us: now,
            body: EventBody::TaskDrift {
                task_id: task_id.to_string(),
                drift: d.kind.name().to_string(),
                evidence: d.evidence.clone(),
                action: action.to_string(),
            },
        });
        writes.push(Write::audit(
            now,
            "manager",
            "task.drift",
            Some(task_id),
            serde_json::json!({ "drift": d.kind.name(), "evidence": d.evidence, "action": action }),
        ));
        cancel.then(|| format!("it seemed stuck ({})", d.evidence))
    }

    /// Cancels drifting tasks (`drift.on_drift = "cancel"`), each as a client's cancel would, in
    /// the manager's name.
    pub(super) fn cancel_drifting(&self, tasks: Vec<(String, String)>) {
        for (id, why) in tasks {
            let m = self.clone();
            tokio::spawn(async move {
                if let Err(e) = m.cancel_as(&id, &why, "manager").await {
                    tracing::warn!(task = %id, error = %e, "cancelling a drifting task failed");
                }
            });
        }
    }

    pub(super) async fn housekeeping(self) {
        let mut shutdown = self.inner.shutdown.subscribe();
        let mut tick = tokio::time::interval(self.inner.cfg.tasks.tick_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let sweep_every = self.inner.cfg.store.retention_sweep_interval;
        let mut last_sweep: Option<Instant> = None;
        {
            let store = self.inner.store.clone();
            let every = self.inner.cfg.store.checkpoint_interval;
            let wal_limit = self.inner.cfg.store.wal_size_limit_bytes;
            let wal = {
                let mut p = self.inner.paths.database.clone().into_os_string();
                p.push("-wal");
                PathBuf::from(p)
            };
            let mut stop = self.inner.shutdown.subscribe();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            // A log that grew past its limit under load is cut back now (this
                            // waits for readers), not only when a checkpoint finds it idle.
                            let truncate = std::fs::metadata(&wal)
                                .is_ok_and(|m| m.len() > wal_limit);
                            if let Err(e) = store.checkpoint(truncate).await {
                                tracing::warn!(error = %e, "checkpoint failed");
                            }
                        }
                        _ = stop.changed() => return,
                    }
                }
            });
        }
        loop {
            let ticked = tokio::select! {
                _ = self.inner.wake.notified() => false,
                _ = tick.tick() => true,
                _ = shutdown.changed() => return,
            };
            let mut pendings = Vec::new();
            if ticked {
                pendings.extend(self.tick());
                self.plans_due();
                if last_sweep
                    .is_none_or(|t| self.instant().saturating_duration_since(t) >= sweep_every)
                {
                    last_sweep = Some(self.instant());
                    let m = self.clone();
                    tokio::spawn(async move { m.sweep().await });
                }
            }
            pendings.extend(self.dispatch());
            for p in pendings {
                if let Err(e) = p.wait().await {
                    tracing::error!(error = %e, "storing a scheduling decision failed");
                }
            }
            self.forget_ended();
        }
    }

    /// Retention: log lines and settled messages past `store.log_retention`, the oldest ended
    /// tasks' lines and then the oldest settled messages while the database is over
    /// `store.max_database_bytes`, ended tasks past `store.task_retention`.
    pub async fn sweep(&self) {
        let cfg = &self.inner.cfg.store;
        let store = &self.inner.store;
        let now = self.now_us();
        let active: std::collections::HashSet<String> =
            self.state().tasks.keys().cloned().collect();
        let sweeps = [
            Sweep::OlderThan(now - us(cfg.log_retention)),
            Sweep::WhileOver(cfg.max_database_bytes),
        ];
        for sweep in sweeps {
            match store
                .sweep_logs(sweep, &active, now, cfg.write_batch_rows)
                .await
            {
                Ok(s) if s.lines > 0 => {
                    tracing::info!(
                        lines = s.lines,
                        tasks = s.tasks,
                        ?sweep,
                        "deleted log lines"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, ?sweep, "log retention sweep failed"),
            }
            match store.sweep_messages(sweep, cfg.write_batch_rows).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(messages = n, ?sweep, "deleted settled messages"),
                Err(e) => tracing::error!(error = %e, ?sweep, "message retention sweep failed"),
            }
        }
        match store
            .delete_tasks_before(now - us(cfg.task_retention), cfg.write_batch_rows)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(tasks = n, "deleted ended tasks past store.task_retention"),
            Err(e) => tracing::error!(error = %e, "task retention sweep failed"),
        }
        if let Err(e) = store.reclaim(cfg.write_batch_rows).await {
            tracing::warn!(error = %e, "giving free database pages back failed");
        }
    }
}
