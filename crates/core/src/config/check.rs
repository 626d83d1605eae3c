//! The checks a configuration passes beyond its TOML types: relations between values (a timeout
//! longer than its interval), lower bounds, addresses that must be loopback. Each section checks
//! its own keys; the first problem found is the error, naming the key and what is allowed.
use super::{
    Agents, Config, Consent, Drift, Editor, Feed, Messages, Planner, Router, RouterModel, Sandbox,
    Server, Store, Tasks, Telemetry, Templates, Web,
};

/// Most warm task processes per agent (`sandbox.warm_pool_size`).
const MAX_WARM_POOL: u32 = 16;

impl Config {
    /// Relations between values that TOML types cannot express.
    pub fn check(&self) -> Result<(), String> {
        self.agents.check()?;
        self.tasks.check()?;
        self.sandbox.check()?;
        self.consent.check()?;
        self.server.check()?;
        self.feed.check()?;
        self.store.check()?;
        self.templates.check()?;
        self.editor.check()?;
        self.router.check()?;
        self.planner.check()?;
        self.drift.check(&self.tasks)?;
        self.messages.check(&self.server)?;
        self.telemetry.check()?;
        self.web.check()
    }
}

impl Telemetry {
    fn check(&self) -> Result<(), String> {
        let e = self.otlp_endpoint.trim();
        if !(e.is_empty() || e.starts_with("http://") || e.starts_with("https://")) {
            return Err(format!(
                "telemetry.otlp_endpoint `{e}` must be an http:// or https:// address of an \
                 OTLP/gRPC collector, e.g. http://127.0.0.1:4317 (or \"\" to export nothing)"
            ));
        }
        if self.service_name.trim().is_empty() {
            return Err("telemetry.service_name must not be empty".into());
        }
        if self.export_timeout.is_zero() || self.retry_backoff_max.is_zero() {
            return Err(
                "telemetry.export_timeout and telemetry.retry_backoff_max must be more than 0"
                    .into(),
            );
        }
        Ok(())
    }
}

impl Messages {
    fn check(&self, server: &Server) -> Result<(), String> {
        if self.ack_timeout.is_zero() {
            return Err("messages.ack_timeout must be more than 0".into());
        }
        if self.max_deliveries == 0 {
            return Err("messages.max_deliveries must be at least 1".into());
        }
        if self.max_active_per_sender == 0 {
            return Err("messages.max_active_per_sender must be at least 1".into());
        }
        if self.max_per_minute_per_sender == 0 {
            return Err("messages.max_per_minute_per_sender must be at least 1".into());
        }
        if self.max_unread_per_agent == 0 {
            return Err("messages.max_unread_per_agent must be at least 1".into());
        }
        if self.max_body_bytes == 0 || self.max_body_bytes >= server.max_message_bytes {
            return Err(format!(
                "messages.max_body_bytes must be more than 0 and less than server.max_message_bytes ({})",
                server.max_message_bytes
            ));
        }
        Ok(())
    }
}

impl Drift {
    fn check(&self, tasks: &Tasks) -> Result<(), String> {
        if !self.silent_after.is_zero()
            && self.silent_after < tasks.tick_interval.max(std::time::Duration::from_secs(1))
        {
            return Err(format!(
                "drift.silent_after must be \"0s\" (never) or at least 1s and tasks.tick_interval ({}): silence is checked once a tick",
                humantime::format_duration(tasks.tick_interval)
            ));
        }
        if self.repeat_lines == 1 {
            return Err(
                "drift.repeat_lines must be 0 (never) or at least 2: one line is no repetition"
                    .into(),
            );
        }
        if self.burn_scan_entries == 0 {
            return Err("drift.burn_scan_entries must be at least 1".into());
        }
        Ok(())
    }
}

impl Agents {
    fn check(&self) -> Result<(), String> {
        if self.heartbeat_interval.is_zero() {
            return Err("agents.heartbeat_interval must be more than 0".into());
        }
        if self.heartbeat_timeout <= self.heartbeat_interval {
            return Err(format!(
                "agents.heartbeat_timeout ({}) must be longer than agents.heartbeat_interval ({})",
                humantime::format_duration(self.heartbeat_timeout),
                humantime::format_duration(self.heartbeat_interval)
            ));
        }
        if self.max_log_line_bytes < 64 {
            return Err("agents.max_log_line_bytes must be at least 64".into());
        }
        Ok(())
    }
}

impl Tasks {
    fn check(&self) -> Result<(), String> {
        if self.default_max_attempts == 0 || self.default_max_attempts > self.max_attempts_limit {
            return Err(format!(
                "tasks.default_max_attempts must be between 1 and tasks.max_attempts_limit ({})",
                self.max_attempts_limit
            ));
        }
        if self.tick_interval.is_zero() {
            return Err("tasks.tick_interval must be more than 0".into());
        }
        if self.list_page_size == 0 || self.log_page_size == 0 {
            return Err("tasks.list_page_size and tasks.log_page_size must be more than 0".into());
        }
        Ok(())
    }
}

impl Sandbox {
    fn check(&self) -> Result<(), String> {
        if u32::from(self.local_port_first) + u32::from(self.local_port_count) > 65536
            || self.local_port_first == 0
        {
            return Err(
                "sandbox.local_port_first must be 1 or more, and the range must end by 65535"
                    .into(),
            );
        }
        if self.warm_pool_size > 0 && self.warm_pool_idle.is_zero() {
            return Err(
                "sandbox.warm_pool_idle must be more than 0 while sandbox.warm_pool_size is \
                 (set warm_pool_size = 0 to keep no warm processes)"
                    .into(),
            );
        }
        if self.warm_pool_size > MAX_WARM_POOL {
            return Err(format!(
                "sandbox.warm_pool_size is {}; at most {MAX_WARM_POOL} warm processes per agent \
                 are allowed (each holds an interpreter's memory)",
                self.warm_pool_size
            ));
        }
        if self.quota_check_interval.is_zero() {
            return Err("sandbox.quota_check_interval must be more than 0".into());
        }
        if self.max_file_bytes < 1024 * 1024 {
            return Err("sandbox.max_file_bytes must be at least 1048576 (1 MiB)".into());
        }
        if let Some(p) = self
            .read_paths
            .iter()
            .chain(&self.device_paths)
            .find(|p| !p.is_absolute())
        {
            return Err(format!(
                "sandbox paths must be absolute; `{}` is not",
                p.display()
            ));
        }
        Ok(())
    }
}

impl Consent {
    fn check(&self) -> Result<(), String> {
        if self.timeout.is_zero() {
            return Err("consent.timeout must be more than 0".into());
        }
        if self.max_requests_per_task == 0 {
            return Err("consent.max_requests_per_task must be at least 1".into());
        }
        if self.max_pending_per_agent == 0 {
            return Err("consent.max_pending_per_agent must be at least 1".into());
        }
        Ok(())
    }
}

impl Server {
    fn check(&self) -> Result<(), String> {
        if self.max_message_bytes < 64 * 1024 {
            return Err("server.max_message_bytes must be at least 65536".into());
        }
        if self.max_confined_connections == 0 {
            return Err("server.max_confined_connections must be at least 1".into());
        }
        if let Some(addr) = self.tcp {
            if !addr.ip().is_loopback() && !self.tcp_allow_remote {
                return Err(format!(
                    "server.tcp = \"{addr}\" is not a loopback address; use 127.0.0.1 or ::1, or set server.tcp_allow_remote = true"
                ));
            }
        }
        Ok(())
    }
}

impl Feed {
    fn check(&self) -> Result<(), String> {
        if self.live_buffer == 0 || self.replay_page == 0 || self.subscriber_buffer == 0 {
            return Err(
                "feed.live_buffer, feed.replay_page and feed.subscriber_buffer must be more than 0"
                    .into(),
            );
        }
        Ok(())
    }
}

impl Store {
    fn check(&self) -> Result<(), String> {
        if self.free_space_check_interval.is_zero() {
            return Err("store.free_space_check_interval must be more than 0".into());
        }
        if self.task_retention < self.log_retention {
            return Err("store.task_retention must be at least store.log_retention (a task's log goes before the task)".into());
        }
        if self.checkpoint_interval.is_zero() {
            return Err("store.checkpoint_interval must be more than 0".into());
        }
        if self.write_batch_rows == 0 {
            return Err("store.write_batch_rows must be more than 0".into());
        }
        Ok(())
    }
}

impl Templates {
    fn check(&self) -> Result<(), String> {
        if self.debounce.is_zero() {
            return Err("templates.debounce must be more than 0".into());
        }
        Ok(())
    }
}

impl Router {
    fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("router.min_score", self.min_score),
            ("router.split_min_score", self.split_min_score),
            ("router.min_known_share", self.min_known_share),
            ("router.clarify_ratio", self.clarify_ratio),
            ("router.dominant_share", self.dominant_share),
            ("router.fuzzy_likeness", self.fuzzy_likeness),
        ] {
            if !(0.0..=1.0).contains(&v) || v.is_nan() {
                return Err(format!("{name} is {v}: it must be from 0 to 1"));
            }
        }
        if self.specific_within == 0 {
            return Err("router.specific_within must be at least 1".into());
        }
        if self.max_request_bytes == 0 {
            return Err("router.max_request_bytes must be more than 0".into());
        }
        self.model.check()
    }
}

impl RouterModel {
    fn check(&self) -> Result<(), String> {
        let e = &self.endpoint;
        if !e.is_empty() {
            let rest = e
                .strip_prefix("http://")
                .or_else(|| e.strip_prefix("https://"))
                .ok_or_else(|| {
                    format!("router.model.endpoint is {e:?}: it must start with http:// or https:// (or be \"\" for no model)")
                })?;
            if rest.is_empty() || rest.starts_with('/') || rest.chars().any(char::is_whitespace) {
                return Err(format!(
                    "router.model.endpoint is {e:?}: it needs a host, e.g. \"http://127.0.0.1:8080/v1\""
                ));
            }
            if self.name.is_empty() {
                return Err(
                    "router.model.name is empty: name the model the endpoint serves".into(),
                );
            }
        }
        if self.agent.is_empty() {
            return Err(
                "router.model.agent is empty: name the agent that asks the model (\"llm\")".into(),
            );
        }
        if self.summary_task_type.is_empty() {
            return Err("router.model.summary_task_type is empty: name the task type that writes a plan's summary (\"llm.summarize\")".into());
        }
        if self.task_type.is_empty() {
            return Err("router.model.task_type is empty: name the task type that asks the model (\"llm.route\")".into());
        }
        if self.timeout.is_zero() {
            return Err("router.model.timeout must be more than 0".into());
        }
        for (name, v) in [
            ("router.model.prompt_price", self.prompt_price),
            ("router.model.completion_price", self.completion_price),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("{name} is {v}: it must be 0 (free) or more"));
            }
        }
        if self.context_turns > 16 {
            return Err(format!(
                "router.model.context_turns is {}: it must be from 0 to 16",
                self.context_turns
            ));
        }
        if !(1..=16).contains(&self.max_steps) {
            return Err(format!(
                "router.model.max_steps is {}: it must be from 1 to 16",
                self.max_steps
            ));
        }
        Ok(())
    }
}

impl Planner {
    fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("planner.reputation_weight", self.reputation_weight),
            ("planner.price_weight", self.price_weight),
            ("planner.load_weight", self.load_weight),
        ] {
            if !(0.0..=1.0).contains(&v) || v.is_nan() {
                return Err(format!("{name} is {v}: it must be from 0 to 1"));
            }
        }
        if self.budget_secs == 0 || self.budget_secs > self.max_budget_secs {
            return Err(format!(
                "planner.budget_secs must be between 1 and planner.max_budget_secs ({})",
                self.max_budget_secs
            ));
        }
        if !(1..=10).contains(&self.max_attempts) {
            return Err("planner.max_attempts must be from 1 to 10".into());
        }
        if self.list_page_size == 0 {
            return Err("planner.list_page_size must be more than 0".into());
        }
        if self.proposal_ttl.is_zero() {
            return Err("planner.proposal_ttl must be more than 0".into());
        }
        if !self.money_budget.is_finite() || self.money_budget < 0.0 {
            return Err(format!(
                "planner.money_budget is {}: it must be 0 (no limit) or more",
                self.money_budget
            ));
        }
        Ok(())
    }
}

impl Editor {
    fn check(&self) -> Result<(), String> {
        if self.command.first().is_none_or(|c| c.trim().is_empty()) {
            return Err("editor.command must name a program, e.g. [\"code\"]".into());
        }
        if self.launch_timeout.is_zero() {
            return Err("editor.launch_timeout must be more than 0".into());
        }
        for (i, a) in self.goto.iter().enumerate() {
            let rest = a
                .replace("{file}", "")
                .replace("{line}", "")
                .replace("{column}", "");
            if rest.contains(['{', '}']) {
                return Err(format!(
                    "editor.goto[{i}] is `{a}`: only {{file}}, {{line}} and {{column}} may be in braces"
                ));
            }
        }
        if !self.goto.is_empty() && !self.goto.iter().any(|a| a.contains("{file}")) {
            return Err(format!(
                "editor.goto is {:?}: it must name the file with {{file}} (e.g. [\"--goto\", \"{{file}}:{{line}}:{{column}}\"]), or be empty",
                self.goto
            ));
        }
        Ok(())
    }
}

impl Web {
    fn check(&self) -> Result<(), String> {
        if !self.address.ip().is_loopback() {
            return Err(format!(
                "web.address {} is not a loopback address; the web UI is for this machine only (e.g. 127.0.0.1:8765)",
                self.address
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_not_longer_than_the_interval_is_refused() {
        let err = Config::parse(
            "[agents]\nheartbeat_interval = \"5s\"\nheartbeat_timeout = \"5s\"\n",
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("must be longer than agents.heartbeat_interval"),
            "{err}"
        );
    }

    #[test]
    fn a_warm_pool_is_bounded_and_needs_an_idle_limit() {
        let err = Config::parse("[sandbox]\nwarm_pool_size = 17\n", "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 16 warm processes"), "{err}");
        let err = Config::parse("[sandbox]\nwarm_pool_idle = \"0s\"\n", "x")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sandbox.warm_pool_idle must be more than 0"),
            "{err}"
        );
        assert!(Config::parse(
            "[sandbox]\nwarm_pool_size = 0\nwarm_pool_idle = \"0s\"\n",
            "x"
        )
        .is_ok());
    }

    #[test]
    fn tcp_must_be_loopback_unless_allowed() {
        let err = Config::parse("[server]\ntcp = \"0.0.0.0:7077\"\n", "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a loopback address"), "{err}");
        assert!(Config::parse("[server]\ntcp = \"127.0.0.1:7077\"\n", "x").is_ok());
    }

    #[test]
    fn editor_goto_names_the_file_and_only_known_placeholders() {
        let err = Config::parse("[editor]\ngoto = [\"--goto\", \"{path}:{line}\"]\n", "x")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("editor.goto[1]") && err.contains("{column}"),
            "{err}"
        );
        let err = Config::parse("[editor]\ngoto = [\"+{line}\"]\n", "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must name the file with {file}"), "{err}");
        assert!(Config::parse("[editor]\ngoto = [\"+{line}\", \"{file}\"]\n", "x").is_ok());
        assert!(Config::parse("[editor]\ngoto = []\n", "x").is_ok());
    }
}
