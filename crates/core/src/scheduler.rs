//! Pure scheduling decisions: which agent gets a task, and how long a retry waits. No I/O, no clock
//! reads, no registry state: callers pass in views of the agents and the current time, so a different
//! policy can replace this module without touching anything else.
use std::time::Duration;

/// What the scheduler needs to know about one agent.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentView {
    /// Agent id.
    pub id: String,
    /// Online with an open command stream: the only agents that may get work.
    pub available: bool,
    /// Task types it offers.
    pub task_types: Vec<String>,
    /// Tasks it holds now.
    pub running: u32,
    /// Tasks it may hold at once.
    pub max_concurrency: u32,
    /// Tasks it completed.
    pub successes: u64,
    /// Tasks that failed on it (reported failures and lost attempts).
    pub failures: u64,
    /// Declared relative cost.
    pub cost: f64,
}

impl AgentView {
    fn offers(&self, task_type: &str) -> bool {
        self.task_types.iter().any(|t| t == task_type)
    }

    fn has_slot(&self) -> bool {
        self.running < self.max_concurrency
    }

    fn load(&self) -> f64 {
        f64::from(self.running) / f64::from(self.max_concurrency.max(1))
    }
}

/// What the scheduler needs to know about one queued task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskView {
    /// Task id.
    pub id: String,
    /// Its type.
    pub task_type: String,
    /// Run only on this agent.
    pub pin_agent: Option<String>,
    /// Not before this time (µs).
    pub not_before_us: Option<i64>,
    /// Agents earlier attempts ran on; others are preferred.
    pub tried: Vec<String>,
    /// Agents an earlier run of it may still be running on (told to stop, or not back since the
    /// manager restarted): no agent gets it until they are done, as two runs would share its
    /// folder.
    pub earlier_run_on: Vec<String>,
}

/// Why a task waits.
#[derive(Clone, Debug, PartialEq)]
pub enum Wait {
    /// Its retry backoff has not passed.
    Backoff {
        /// Until then (µs).
        until_us: i64,
    },
    /// No available agent offers its type.
    NoAgent,
    /// Its pinned agent is offline or does not offer its type.
    PinnedUnavailable,
    /// Every capable agent is busy.
    AllBusy,
    /// An earlier run of it may still be going on this agent.
    EarlierRun {
        /// The agent.
        agent: String,
    },
}

impl Wait {
    /// The reason in words, for `status_reason`.
    pub fn describe(&self, task: &TaskView) -> String {
        match self {
            Wait::Backoff { .. } => "waiting for its retry backoff to pass".to_string(),
            Wait::NoAgent => format!("waiting for an online agent offering `{}`", task.task_type),
            Wait::PinnedUnavailable => format!(
                "waiting for pinned agent `{}` to be online and offer `{}`",
                task.pin_agent.as_deref().unwrap_or_default(),
                task.task_type
            ),
            Wait::AllBusy => format!(
                "waiting for a free slot on an agent offering `{}`",
                task.task_type
            ),
            Wait::EarlierRun { agent } => format!(
                "waiting for agent `{agent}` to stop an earlier run of it (or to be gone for \
                 agents.heartbeat_timeout): two runs would share its folder"
            ),
        }
    }
}

/// An agent's observed success rate with a Laplace prior, so a new agent starts at 0.5.
pub fn reputation(successes: u64, failures: u64) -> f64 {
    (successes as f64 + 1.0) / ((successes + failures) as f64 + 2.0)
}

/// Picks the agent for `task` among `agents`, or says why it must wait.
///
/// Order: only available agents that offer the type and have a free slot (the pinned one alone when
/// pinned); among those, agents no earlier attempt ran on, then the least loaded, then the best
/// reputation, then the cheapest, then the id (so decisions are deterministic).
pub fn pick(task: &TaskView, agents: &[AgentView], now_us: i64) -> Result<usize, Wait> {
    if let Some(until_us) = task.not_before_us.filter(|&t| t > now_us) {
        return Err(Wait::Backoff { until_us });
    }
    if let Some(agent) = task.earlier_run_on.first() {
        return Err(Wait::EarlierRun {
            agent: agent.clone(),
        });
    }
    let capable = |a: &AgentView| {
        a.available
            && a.offers(&task.task_type)
            && task.pin_agent.as_ref().is_none_or(|p| *p == a.id)
    };
    let mut best: Option<usize> = None;
    let mut any_capable = false;
    for (i, a) in agents.iter().enumerate() {
        if !capable(a) {
            continue;
        }
        any_capable = true;
        if !a.has_slot() {
            continue;
        }
        best = match best {
            Some(b) if !better(task, a, &agents[b]) => Some(b),
            _ => Some(i),
        };
    }
    match (best, any_capable) {
        (Some(i), _) => Ok(i),
        (None, true) => Err(Wait::AllBusy),
        (None, false) if task.pin_agent.is_some() => Err(Wait::PinnedUnavailable),
        (None, false) => Err(Wait::NoAgent),
    }
}

/// Is `a` a better home for `task` than `b`?
fn better(task: &TaskView, a: &AgentView, b: &AgentView) -> bool {
    let untried = |x: &AgentView| !task.tried.contains(&x.id);
    let key = |x: &AgentView| {
        (
            !untried(x),
            x.load(),
            -reputation(x.successes, x.failures),
            x.cost,
        )
    };
    match key(a).partial_cmp(&key(b)) {
        Some(std::cmp::Ordering::Less) => true,
        Some(std::cmp::Ordering::Greater) => false,
        _ => a.id < b.id,
    }
}

/// One assignment decided by [`plan`]: `queue[task]` goes to `agents[agent]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Index into the queue.
    pub task: usize,
    /// Index into the agents.
    pub agent: usize,
}

/// Assigns as many of `queue` (in order: earlier tasks first) as the free slots allow. Returns the
/// assignments and, for each task left waiting, why.
pub fn plan(
    queue: &[TaskView],
    agents: &[AgentView],
    now_us: i64,
) -> (Vec<Assignment>, Vec<(usize, Wait)>) {
    let mut agents = agents.to_vec();
    let mut assigned = Vec::new();
    let mut waiting = Vec::new();
    for (ti, task) in queue.iter().enumerate() {
        match pick(task, &agents, now_us) {
            Ok(ai) => {
                agents[ai].running += 1;
                assigned.push(Assignment {
                    task: ti,
                    agent: ai,
                });
            }
            Err(w) => waiting.push((ti, w)),
        }
    }
    (assigned, waiting)
}

/// The wait before retry number `attempt` (1 = the first retry): `base * 2^(attempt-1)`, at most `max`.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str, running: u32, max: u32) -> AgentView {
        AgentView {
            id: id.into(),
            available: true,
            task_types: vec!["echo.sleep".into()],
            running,
            max_concurrency: max,
            successes: 0,
            failures: 0,
            cost: 1.0,
        }
    }

    fn task() -> TaskView {
        TaskView {
            id: "t".into(),
            task_type: "echo.sleep".into(),
            pin_agent: None,
            not_before_us: None,
            tried: vec![],
            earlier_run_on: vec![],
        }
    }

    fn picked<'a>(t: &TaskView, agents: &'a [AgentView]) -> &'a str {
        &agents[pick(t, agents, 0).expect("an agent")].id
    }

    #[test]
    fn only_agents_offering_the_type_get_it() {
        let mut other = agent("a", 0, 4);
        other.task_types = vec!["other".into()];
        assert_eq!(pick(&task(), &[other.clone()], 0), Err(Wait::NoAgent));
        assert_eq!(picked(&task(), &[other, agent("b", 3, 4)]), "b");
    }

    #[test]
    fn an_unavailable_agent_is_never_given_work() {
        let mut dead = agent("a", 0, 4);
        dead.available = false;
        assert_eq!(
            pick(&task(), std::slice::from_ref(&dead), 0),
            Err(Wait::NoAgent)
        );
        assert_eq!(picked(&task(), &[dead, agent("b", 2, 4)]), "b");
    }

    #[test]
    fn least_loaded_wins_then_reputation_then_cost_then_id() {
        assert_eq!(picked(&task(), &[agent("a", 2, 4), agent("b", 1, 4)]), "b");
        // Load is relative to capacity: 1 of 8 is lighter than 1 of 2.
        assert_eq!(picked(&task(), &[agent("a", 1, 2), agent("b", 1, 8)]), "b");
        let mut good = agent("b", 0, 4);
        good.successes = 9;
        let mut bad = agent("a", 0, 4);
        bad.failures = 3;
        assert_eq!(picked(&task(), &[bad, good]), "b");
        let mut cheap = agent("b", 0, 4);
        cheap.cost = 0.5;
        assert_eq!(picked(&task(), &[agent("a", 0, 4), cheap]), "b");
        assert_eq!(picked(&task(), &[agent("b", 0, 4), agent("a", 0, 4)]), "a");
    }

    #[test]
    fn a_retry_moves_to_an_agent_not_tried_before() {
        let mut t = task();
        t.tried = vec!["a".into()];
        assert_eq!(picked(&t, &[agent("a", 0, 4), agent("b", 3, 4)]), "b");
        // ... but goes back to the tried one when it is the only one.
        assert_eq!(picked(&t, &[agent("a", 0, 4)]), "a");
    }

    #[test]
    fn a_pinned_task_goes_only_to_its_agent() {
        let mut t = task();
        t.pin_agent = Some("b".into());
        assert_eq!(picked(&t, &[agent("a", 0, 4), agent("b", 3, 4)]), "b");
        assert_eq!(
            pick(&t, &[agent("a", 0, 4)], 0),
            Err(Wait::PinnedUnavailable)
        );
        assert_eq!(pick(&t, &[agent("b", 4, 4)], 0), Err(Wait::AllBusy));
    }

    #[test]
    fn no_agent_gets_a_task_an_earlier_run_of_which_may_still_be_going() {
        let mut t = task();
        t.earlier_run_on = vec!["a".into()];
        let gone = Wait::EarlierRun { agent: "a".into() };
        assert_eq!(
            pick(&t, &[agent("a", 0, 4), agent("b", 0, 4)], 0),
            Err(gone.clone())
        );
        assert!(gone.describe(&t).contains("agent `a`"));
        t.earlier_run_on.clear();
        assert_eq!(picked(&t, &[agent("a", 0, 4), agent("b", 3, 4)]), "a");
    }

    #[test]
    fn full_agents_make_the_task_wait() {
        assert_eq!(pick(&task(), &[agent("a", 4, 4)], 0), Err(Wait::AllBusy));
    }

    #[test]
    fn backoff_holds_a_task_until_its_time() {
        let mut t = task();
        t.not_before_us = Some(100);
        assert_eq!(
            pick(&t, &[agent("a", 0, 4)], 99),
            Err(Wait::Backoff { until_us: 100 })
        );
        assert_eq!(pick(&t, &[agent("a", 0, 4)], 100), Ok(0));
    }

    #[test]
    fn plan_fills_free_slots_in_queue_order() {
        let queue: Vec<TaskView> = (0..5)
            .map(|i| TaskView {
                id: format!("t{i}"),
                ..task()
            })
            .collect();
        let (assigned, waiting) = plan(&queue, &[agent("a", 0, 2), agent("b", 1, 2)], 0);
        assert_eq!(
            assigned,
            vec![
                Assignment { task: 0, agent: 0 },
                Assignment { task: 1, agent: 0 },
                Assignment { task: 2, agent: 1 },
            ]
        );
        assert_eq!(waiting, vec![(3, Wait::AllBusy), (4, Wait::AllBusy)]);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        assert_eq!(backoff(1, base, max), Duration::from_millis(100));
        assert_eq!(backoff(2, base, max), Duration::from_millis(200));
        assert_eq!(backoff(4, base, max), Duration::from_millis(800));
        assert_eq!(backoff(5, base, max), max);
        assert_eq!(backoff(200, base, max), max);
    }

    #[test]
    fn reputation_starts_neutral_and_follows_outcomes() {
        assert_eq!(reputation(0, 0), 0.5);
        assert!(reputation(10, 0) > 0.9);
        assert!(reputation(0, 10) < 0.1);
    }
}
