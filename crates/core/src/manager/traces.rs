//! Traces (`crate::trace`) of what ended, read for the exporter: a plan with the tasks its steps
//! ran, or a task that is no plan's step, each with the model calls it reported; and where the
//! exporter got to on the event feed, kept across restarts.
use super::*;
use crate::trace::{self, CallAt, Span, TaskRecord};

/// The setting that keeps the last event the exporter finished with.
const EXPORTED_SEQ: &str = "telemetry.exported_seq";
/// Events read from the store at a time.
const PAGE: u32 = 1000;

impl Manager {
    /// The trace of a plan: its request, its steps' tasks, their attempts and model calls.
    pub async fn plan_trace(&self, plan_id: &str) -> Result<Vec<Span>> {
        let plan = self.get_plan(plan_id).await?;
        let mut tasks = Vec::new();
        for id in plan.steps.iter().flat_map(|s| &s.task_ids) {
            match self.task_record(id).await {
                Ok(r) => tasks.push(r),
                Err(Error::TaskNotFound(_)) => {} // gone after `store.task_retention`
                Err(e) => return Err(e),
            }
        }
        Ok(trace::plan_trace(&plan, &tasks))
    }

    /// The trace of a task that is no plan's step; `None` for a step (its plan's trace has it).
    pub async fn task_trace(&self, task_id: &str) -> Result<Option<Vec<Span>>> {
        let r = self.task_record(task_id).await?;
        let step = r
            .task
            .idempotency_key
            .as_deref()
            .is_some_and(|k| k.starts_with("plan:"));
        Ok((!step).then(|| trace::task_trace(&r)))
    }

    /// A task with the model calls it reported (those its history kept).
    async fn task_record(&self, task_id: &str) -> Result<TaskRecord> {
        let task = self.get_task(task_id).await?;
        let filter = EventFilter {
            task_id: Some(task_id.to_string()),
            exclude_logs: true,
        };
        let mut calls = Vec::new();
        let mut after = 0;
        loop {
            let page = self.inner.store.events_after(after, &filter, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let full = page.len() == PAGE as usize;
            for ev in page {
                if let EventBody::ModelCall { call, .. } = ev.body {
                    calls.push(CallAt {
                        end_us: ev.time_us,
                        call,
                    });
                }
            }
            if !full {
                break;
            }
        }
        Ok(TaskRecord { task, calls })
    }

    /// The last event the trace exporter finished with (0: none yet).
    pub async fn exported_seq(&self) -> Result<u64> {
        Ok(self
            .inner
            .store
            .setting(EXPORTED_SEQ)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Records that the trace exporter finished with the events up to `seq`.
    pub async fn set_exported_seq(&self, seq: u64) -> Result<()> {
        let time_us = self.now_us();
        self.commit(|_| {
            let writes = vec![Write::Setting {
                key: EXPORTED_SEQ.into(),
                value: Some(seq.to_string()),
                time_us,
            }];
            Ok((writes, ()))
        })
        .await
    }
}
