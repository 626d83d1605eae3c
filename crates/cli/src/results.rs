//! A task's result as a person reads it in a terminal: a compact summary of the parts agents
//! share (tests, findings, files), chosen by what the output holds, never by the task type, as
//! the UI does. `--json` prints the whole output instead. Agent output is untrusted: every value
//! goes through [`line`], and a value of the wrong type is skipped.
use serde_json::Value;

use crate::term::line;

/// Most rows a summary lists per part; `--json` has them all.
const MAX_ROWS: usize = 20;
/// Widest message shown in a row, in characters.
const MAX_MESSAGE: usize = 120;

/// The summary lines for `output` (each starting with two spaces), or "" when it holds no part
/// with a summary.
pub fn summary(output: &Value) -> String {
    let mut s = String::new();
    tests(output, &mut s);
    findings(output, &mut s);
    files(output, &mut s);
    s
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn num_of(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn objects<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|x| x.is_object()).collect())
        .unwrap_or_default()
}

/// "first line of a message", cut to [`MAX_MESSAGE`] characters.
fn short(s: &str) -> String {
    let first = s.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(MAX_MESSAGE).collect();
    if first.chars().count() > MAX_MESSAGE || s.lines().nth(1).is_some() {
        out.push('…');
    }
    line(&out).into_owned()
}

fn place(file: &str, n: u64) -> String {
    if n > 0 {
        format!("{}:{n}", line(file))
    } else {
        line(file).into_owned()
    }
}

fn more(s: &mut String, total: usize) {
    if total > MAX_ROWS {
        s.push_str(&format!(
            "    … and {} more (--json shows them all)\n",
            total - MAX_ROWS
        ));
    }
}

fn tests(out: &Value, s: &mut String) {
    let Some(counts) = out.get("counts").filter(|c| c.is_object()) else {
        return;
    };
    let failures = objects(out, "failures");
    if out.get("tests").is_none() && out.get("failures").is_none() {
        return;
    }
    let parts: Vec<String> = ["passed", "failed", "errors", "flaky", "skipped"]
        .iter()
        .filter(|k| num_of(counts, k) > 0)
        .map(|k| format!("{} {k}", num_of(counts, k)))
        .collect();
    let about: Vec<String> = [
        line(str_of(out, "framework")).into_owned(),
        match str_of(out, "python") {
            "" => String::new(),
            p => format!("Python {}", line(p)),
        },
    ]
    .into_iter()
    .filter(|x| !x.is_empty())
    .collect();
    s.push_str(&format!(
        "  tests:    {} run: {}{}\n",
        num_of(counts, "total"),
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        },
        if about.is_empty() {
            String::new()
        } else {
            format!(" ({})", about.join(", "))
        }
    ));
    for f in failures.iter().take(MAX_ROWS) {
        let kind = if str_of(f, "kind") == "error" {
            "ERROR "
        } else {
            "FAILED"
        };
        s.push_str(&format!(
            "    {kind} {}  {}  {}\n",
            line(str_of(f, "id")),
            place(str_of(f, "file"), num_of(f, "line")),
            short(str_of(f, "message"))
        ));
    }
    more(s, failures.len() + num_of(out, "failures_omitted") as usize);
    for f in objects(out, "flaky").iter().take(MAX_ROWS) {
        s.push_str(&format!(
            "    FLAKY  {} (passed on attempt {})\n",
            line(str_of(f, "id")),
            num_of(f, "passed_on_attempt")
        ));
    }
}

/// Severities, worst first, as the agents name them (SARIF's levels and bandit's).
const SEVERITIES: [&str; 8] = [
    "critical", "error", "high", "warning", "medium", "note", "low", "info",
];

fn findings(out: &Value, s: &mut String) {
    if !out.get("findings").is_some_and(Value::is_array) {
        return;
    }
    let mut all: Vec<&Value> = objects(out, "findings")
        .into_iter()
        .filter(|f| !str_of(f, "message").is_empty())
        .collect();
    let rank = |f: &Value| {
        let sev = str_of(f, "severity");
        SEVERITIES
            .iter()
            .position(|x| *x == sev)
            .unwrap_or(SEVERITIES.len())
    };
    all.sort_by_key(|f| rank(f));
    let total = num_of(out, "total").max(all.len() as u64);
    let mut by: Vec<(String, usize)> = Vec::new();
    for f in &all {
        let sev = line(str_of(f, "severity")).into_owned();
        match by.iter_mut().find(|(k, _)| *k == sev) {
            Some((_, n)) => *n += 1,
            None => by.push((sev, 1)),
        }
    }
    let counts: Vec<String> = by.iter().map(|(k, n)| format!("{n} {k}")).collect();
    if total == 0 {
        s.push_str("  findings: none\n");
        return;
    }
    s.push_str(&format!(
        "  findings: {total}{}\n",
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        }
    ));
    let wide = all
        .iter()
        .take(MAX_ROWS)
        .map(|f| where_of(f).chars().count())
        .max()
        .unwrap_or(0);
    for f in all.iter().take(MAX_ROWS) {
        let fix = match f.get("fix") {
            Some(Value::String(x)) if !x.is_empty() => format!(" — fix: {}", short(x)),
            Some(Value::Object(o)) => match o.get("message").and_then(Value::as_str) {
                Some(m) if !m.is_empty() => format!(" — fix: {}", short(m)),
                _ => String::new(),
            },
            _ => String::new(),
        };
        s.push_str(&format!(
            "    {:<8} {:<wide$}  {}  {}{fix}\n",
            line(str_of(f, "severity")),
            where_of(f),
            line(str_of(f, "rule")),
            short(str_of(f, "message")),
        ));
    }
    more(s, total as usize);
    if let Some(note) = out
        .get("truncated")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        s.push_str(&format!("    {}\n", line(note)));
    }
}

/// `file:line`, or what the finding names instead (package@version, a commit's file).
fn where_of(f: &Value) -> String {
    match str_of(f, "location") {
        "" => place(str_of(f, "file"), num_of(f, "line")),
        loc => line(loc).into_owned(),
    }
}

fn files(out: &Value, s: &mut String) {
    let files: Vec<&Value> = objects(out, "files")
        .into_iter()
        .filter(|f| !str_of(f, "path").is_empty())
        .collect();
    if files.is_empty() {
        return;
    }
    s.push_str("  files:\n");
    for f in files.iter().take(MAX_ROWS) {
        let state = match (
            str_of(f, "state"),
            f.get("replaced").and_then(Value::as_bool),
        ) {
            ("", Some(true)) => "changed",
            ("", Some(false)) => "new",
            (st, _) => st,
        };
        s.push_str(&format!(
            "    {:<9} {}\n",
            line(state),
            line(str_of(f, "path"))
        ));
    }
    more(s, files.len());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_test_run_is_its_counts_then_each_failure_and_flaky_test() {
        let out = json!({
            "framework": "pytest", "python": "3.11.2",
            "counts": {"passed": 5, "failed": 1, "errors": 1, "flaky": 1, "skipped": 0, "total": 8},
            "failures": [
                {"id": "tests/test_a.py::test_bad", "kind": "failed", "file": "tests/test_a.py",
                 "line": 10, "message": "AssertionError: off by one\nmore"},
                {"id": "tests/test_b.py::test_boom", "kind": "error", "file": "tests/test_b.py",
                 "line": 2, "message": "fixture missing"},
            ],
            "flaky": [{"id": "tests/test_b.py::test_shaky", "passed_on_attempt": 2}],
            "tests": [],
        });
        assert_eq!(
            summary(&out),
            "  tests:    8 run: 5 passed, 1 failed, 1 errors, 1 flaky (pytest, Python 3.11.2)\n\
             \x20   FAILED tests/test_a.py::test_bad  tests/test_a.py:10  AssertionError: off by one…\n\
             \x20   ERROR  tests/test_b.py::test_boom  tests/test_b.py:2  fixture missing\n\
             \x20   FLAKY  tests/test_b.py::test_shaky (passed on attempt 2)\n"
        );
    }

    #[test]
    fn findings_are_listed_worst_first_with_where_rule_and_fix() {
        let out = json!({"total": 2, "findings": [
            {"severity": "warning", "file": "app/main.py", "line": 4, "rule": "F401",
             "message": "`os` imported but unused", "fix": {"message": "Remove unused import"}},
            {"severity": "high", "location": "jinja2@3.1.2", "rule": "GHSA-x",
             "message": "XSS", "fix": "Upgrade jinja2 to 3.1.3"},
        ]});
        assert_eq!(
            summary(&out),
            "  findings: 2 (1 high, 1 warning)\n\
             \x20   high     jinja2@3.1.2   GHSA-x  XSS — fix: Upgrade jinja2 to 3.1.3\n\
             \x20   warning  app/main.py:4  F401  `os` imported but unused — fix: Remove unused import\n"
        );
        assert_eq!(summary(&json!({"findings": []})), "  findings: none\n");
    }

    #[test]
    fn long_lists_are_cut_and_say_how_many_more() {
        let many: Vec<Value> = (0..25)
            .map(|i| json!({"severity": "note", "file": "a.py", "line": i + 1, "rule": "R", "message": "m"}))
            .collect();
        let s = summary(&json!({ "findings": many }));
        assert_eq!(s.lines().count(), 1 + MAX_ROWS + 1);
        assert!(
            s.ends_with("    … and 5 more (--json shows them all)\n"),
            "{s}"
        );
    }

    #[test]
    fn agent_text_cannot_move_the_terminal_and_wrong_types_are_skipped() {
        let out = json!({"findings": [
            {"severity": "note", "file": "a.py", "line": 1, "rule": "R", "message": "evil \u{1b}[2J"},
            "not an object", {"severity": "high"},
        ], "files": [{"path": "compose.yaml", "replaced": true}, 7]});
        let s = summary(&out);
        assert!(!s.contains('\u{1b}'), "{s}");
        assert!(s.contains("  findings: 1 (1 note)\n"), "{s}");
        assert!(s.ends_with("  files:\n    changed   compose.yaml\n"), "{s}");
        assert_eq!(summary(&json!({"counts": "x", "files": ["README.md"]})), "");
    }
}
