//! What the supervisor reports: agent and task processes started, gone, over quota, their output.
use super::*;

impl Manager {
    /// The supervisor started (or restarted) `agent_id`'s process.
    pub fn agent_process_started(
        &self,
        agent_id: &str,
        process: SupervisedProcess,
        restarted: bool,
    ) -> Pending {
        let mut st = self.state();
        st.supervised.insert(agent_id.to_string(), process);
        let mut writes = Vec::new();
        if restarted {
            if let Some(rec) = st.registry.get_mut(agent_id) {
                rec.row.restarts += 1;
                writes.push(Write::Agent(Box::new(rec.row.clone())));
            }
        }
        self.inner.writer.submit(writes)
    }

    /// The task types each manifest declares (the supervisor's manifests, at start).
    pub fn declare_types(&self, declared: DeclaredTypes) {
        self.state().declared = declared;
    }

    /// The supervisor started a task process for `task_id`.
    pub fn task_process_started(&self, task_id: &str) {
        *self
            .state()
            .task_processes
            .entry(task_id.to_string())
            .or_default() += 1;
    }

    /// A task process the supervisor started for `task_id` is gone, and every process in its
    /// pid namespace with it.
    pub fn task_process_gone(&self, task_id: &str) {
        let mut st = self.state();
        if let Some(n) = st.task_processes.get_mut(task_id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                st.task_processes.remove(task_id);
            }
        }
        self.inner.process_gone.notify_waiters();
    }

    /// Waits until no process of `task_id` is left, for at most the supervisor's stop grace
    /// (a task that has ended stops within it, or is killed). False if some is still there.
    pub(super) async fn task_processes_gone(&self, task_id: &str) -> bool {
        let deadline = tokio::time::Instant::now() + self.inner.cfg.supervisor.stop_grace;
        loop {
            let gone = self.inner.process_gone.notified();
            if !self.state().task_processes.contains_key(task_id) {
                return true;
            }
            if tokio::time::timeout_at(deadline, gone).await.is_err() {
                return false;
            }
        }
    }

    /// A task process the supervisor started for `agent_id` has exited. If the attempt it ran has
    /// not ended (no result was reported), it is lost: retried, or canceled when a cancel was asked.
    #[tracing::instrument(skip_all, fields(agent = %agent_id, task = %task_id, attempt = attempt))]
    pub fn task_process_exited(&self, agent_id: &str, task_id: &str, attempt: u32, how: &str) {
        let now = self.now_us();
        let mut writes = Vec::new();
        let pending = {
            let mut st = self.state();
            if st.stopping {
                return;
            }
            let current = st.tasks.get(task_id).is_some_and(|a| {
                a.task.agent_id.as_deref() == Some(agent_id)
                    && a.task.attempts.len() as u32 == attempt
                    && a.task.state.holds_slot()
            });
            if !current {
                return;
            }
            let err = format!("its task process exited ({how}) before reporting a result");
            if let Err(e) = self.lose_attempt(&mut st, task_id, &err, now, &mut writes) {
                tracing::error!(task = task_id, error = %e, "ending an attempt failed");
            }
            self.inner.writer.submit(writes)
        };
        self.settle_later(pending, "storing a lost attempt failed");
    }

    /// A task process's workspace outgrew the quota (the supervisor stops it next): the task
    /// fails (no retry: it would outgrow it again), and the audit log says so.
    #[tracing::instrument(skip_all, fields(agent = %agent_id, task = %task_id, attempt = attempt))]
    pub fn task_over_quota(&self, agent_id: &str, task_id: &str, attempt: u32, used: u64) {
        let now = self.now_us();
        let mut writes = Vec::new();
        let pending = {
            let mut st = self.state();
            let Some(a) = st.tasks.get_mut(task_id).filter(|a| {
                a.task.agent_id.as_deref() == Some(agent_id)
                    && a.task.attempts.len() as u32 == attempt
                    && matches!(
                        a.task.state,
                        TaskState::Running | TaskState::AwaitingConsent
                    )
            }) else {
                return;
            };
            let quota = self.inner.cfg.sandbox.workspace_quota_bytes;
            let why = format!("its workspace outgrew the quota ({used} bytes > {quota})");
            if let Some(att) = a.task.attempts.last_mut() {
                att.ended_us = Some(now);
                att.error = why.clone();
            }
            a.deadline_us = None;
            a.cancel_by_us = None;
            match tasks::transition(&mut a.task, TaskState::Failed, why, now) {
                Ok(ev) => push_task(&mut writes, &a.task, ev, now),
                Err(e) => tracing::error!(task = task_id, error = %e, "failing a task failed"),
            }
            writes.push(Write::audit(
                now,
                "manager",
                "sandbox.quota_exceeded",
                Some(task_id),
                serde_json::json!({ "agent": agent_id, "bytes": used, "quota": quota }),
            ));
            if let Some(rec) = st.registry.get_mut(agent_id) {
                rec.holding.remove(task_id);
            }
            self.inner.writer.submit(writes)
        };
        self.settle_later(pending, "storing a failed task failed");
    }

    /// A line an agent process wrote to stdout or stderr.
    /// Dropped while the disk is nearly full (`store.min_free_bytes`).
    pub fn agent_output(&self, agent_id: &str, stream: &str, line: String) -> Pending {
        if self.inner.disk.low().is_some() {
            return self.inner.writer.submit(Vec::new());
        }
        self.inner.writer.submit(vec![Write::Event {
            time_us: self.now_us(),
            body: EventBody::AgentOutput {
                agent_id: agent_id.to_string(),
                stream: stream.to_string(),
                line,
            },
        }])
    }
}

/// The supervisor's view of the manager: these methods and nothing else.
impl crate::supervisor::Host for Manager {
    fn config(&self) -> &Config {
        Manager::config(self)
    }

    fn paths(&self) -> &ResolvedPaths {
        Manager::paths(self)
    }

    fn template_dirs(&self) -> &[PathBuf] {
        Manager::template_dirs(self)
    }

    fn standing_reads(&self, agent: &str) -> Vec<PathBuf> {
        crate::policy::grants(&self.state().rules, &[], agent).read
    }

    fn declare_types(&self, declared: DeclaredTypes) {
        Manager::declare_types(self, declared)
    }

    fn attach_supervisor(&self, tx: mpsc::UnboundedSender<SupervisorRequest>) {
        Manager::attach_supervisor(self, tx)
    }

    fn agent_process_started(
        &self,
        agent_id: &str,
        process: SupervisedProcess,
        restarted: bool,
    ) -> Pending {
        Manager::agent_process_started(self, agent_id, process, restarted)
    }

    fn agent_output(&self, agent_id: &str, stream: &str, line: String) -> Pending {
        Manager::agent_output(self, agent_id, stream, line)
    }

    fn task_process_started(&self, task_id: &str) {
        Manager::task_process_started(self, task_id)
    }

    fn task_process_gone(&self, task_id: &str) {
        Manager::task_process_gone(self, task_id)
    }

    fn task_process_exited(&self, agent_id: &str, task_id: &str, attempt: u32, how: &str) {
        Manager::task_process_exited(self, agent_id, task_id, attempt, how)
    }

    fn task_over_quota(&self, agent_id: &str, task_id: &str, attempt: u32, used: u64) {
        Manager::task_over_quota(self, agent_id, task_id, attempt, used)
    }

    fn task_output(
        &self,
        agent_id: &str,
        task_id: &str,
        stream: &str,
        line: String,
        max_bytes: usize,
    ) -> Pending {
        Manager::task_output(self, agent_id, task_id, stream, line, max_bytes)
    }
}
