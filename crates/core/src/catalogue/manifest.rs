//! copier's manifest as copier reads it: its documents merged into one list of top-level keys
//! (the joined settings' lists joined), its settings checked (what we do not support breaks the
//! template or is warned about), and its values as Python shows them.
use std::collections::BTreeSet;
use std::path::{Component, Path};

use serde_json::{json, Value as Json};

use super::yaml::{self, Node, Value};
use super::{is_templated, Check, DEFAULT_EXCLUDE, HYPERAGENT_FILE};

const DEFAULT_SUFFIX: &str = ".jinja";
/// `_envops` keys that change Jinja's syntax, with their defaults.
const DELIMITERS: [(&str, Option<&str>); 8] = [
    ("block_start_string", Some("{%")),
    ("block_end_string", Some("%}")),
    ("variable_start_string", Some("{{")),
    ("variable_end_string", Some("}}")),
    ("comment_start_string", Some("{#")),
    ("comment_end_string", Some("#}")),
    ("line_statement_prefix", None),
    ("line_comment_prefix", None),
];
/// Settings joined across the manifest's documents (copier does the same).
const JOINED: [&str; 4] = [
    "_exclude",
    "_jinja_extensions",
    "_secret_questions",
    "_skip_if_exists",
];

/// One top-level key of the manifest.
pub(super) struct Entry {
    pub(super) key: String,
    pub(super) line: usize,
    pub(super) value: Node,
}

/// The manifest's documents merged, and what its settings say.
pub(super) struct Manifest {
    pub(super) file: &'static str,
    pub(super) entries: Vec<Entry>,
    /// Where the files to render are, relative to the template's folder; `None` when
    /// `_subdirectory` is unusable (then the files are not checked).
    pub(super) subdirectory: Option<String>,
    pub(super) suffix: String,
    pub(super) exclude: Vec<String>,
    pub(super) secret: BTreeSet<String>,
}

impl Entry {
    /// `file:line: `key``, where an error about it starts.
    fn at(&self, file: &str) -> String {
        format!("{file}:{}: `{}`", self.line, self.key)
    }
}

impl Manifest {
    fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

fn read_text(dir: &Path, file: &str, c: &mut Check) -> Option<String> {
    match std::fs::read(dir.join(file)) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => Some(t),
            Err(_) => {
                c.errors.push(format!("{file}: not UTF-8 text"));
                None
            }
        },
        Err(e) => {
            c.errors.push(format!("{file}: cannot be read: {e}"));
            None
        }
    }
}

/// Nested `!include`s are followed at most this deep (a file including itself would go on
/// forever; copier's stops at Python's recursion limit).
const MAX_INCLUDE_DEPTH: usize = 8;

/// Copier's `!include PATTERN`: the documents of the files the glob PATTERN matches beneath the
/// template folder `root` (in path order; copier takes them in the order the filesystem lists
/// them), each file's own includes followed, flattened as copier flattens them. A pattern that is
/// absolute, a match that resolves outside the folder (through `..` or a link), or a folder, is
/// refused, as copier refuses them. The `glob` crate rather than code of ours: its `*`, `?`,
/// `[...]` and `**` are Python's `Path.glob`'s.
fn included(root: &Path, pattern: &str, depth: usize) -> Result<Vec<Node>, String> {
    let what = format!("`!include {pattern}`");
    if depth >= MAX_INCLUDE_DEPTH {
        return Err(format!(
            "{what}: includes nest deeper than {MAX_INCLUDE_DEPTH} files (does a file include itself?)"
        ));
    }
    if pattern.trim().is_empty() || Path::new(pattern).is_absolute() {
        return Err(format!(
            "{what}: the pattern must be a path relative to the template folder"
        ));
    }
    let real_root = root
        .canonicalize()
        .map_err(|e| format!("{what}: {}: {e}", root.display()))?;
    let full = format!(
        "{}/{pattern}",
        glob::Pattern::escape(&root.to_string_lossy())
    );
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let matches =
        glob::glob_with(&full, options).map_err(|e| format!("{what}: not a valid pattern: {e}"))?;
    let mut out = Vec::new();
    for found in matches {
        let found = found.map_err(|e| format!("{what}: {e}"))?;
        let rel = found
            .strip_prefix(root)
            .unwrap_or(&found)
            .display()
            .to_string();
        let real = found
            .canonicalize()
            .map_err(|e| format!("{what}: {rel}: {e}"))?;
        if !real.starts_with(&real_root) {
            return Err(format!(
                "{what}: {rel} is outside the template folder; an included file must be inside it"
            ));
        }
        if real.is_dir() {
            return Err(format!("{what}: {rel} is a folder, not a YAML file"));
        }
        let text = std::fs::read_to_string(&real)
            .map_err(|e| format!("{what}: {rel} cannot be read: {e}"))?;
        let docs = yaml::load_all_with(&text, &mut |p| included(root, p, depth + 1))
            .map_err(|e| format!("{what}: {rel}:{}: {}", e.line.max(1), e.message))?;
        for doc in docs {
            flatten(doc, &mut out);
        }
    }
    Ok(out)
}

/// Copier's flattening of a file's documents and of what `!include` brings: empty ones (null,
/// `false`, `0`, an empty string, list or mapping) dropped, lists spread, nested ones too.
fn flatten(node: Node, out: &mut Vec<Node>) {
    match node.value {
        Value::Seq(items) => items.into_iter().for_each(|n| flatten(n, out)),
        Value::Null | Value::Bool(false) | Value::Int(0) => {}
        Value::Float(0.0) => {}
        Value::Str(ref s) if s.is_empty() => {}
        Value::Map(ref pairs) if pairs.is_empty() => {}
        _ => out.push(node),
    }
}

/// The documents of a YAML file (and of the files it includes) merged into one list of
/// top-level keys.
fn read_entries(dir: &Path, file: &'static str, c: &mut Check) -> Option<Vec<Entry>> {
    let text = read_text(dir, file, c)?;
    let docs = match yaml::load_all_with(&text, &mut |p| included(dir, p, 0)) {
        Ok(d) => d,
        Err(e) => {
            let what = if e.message.starts_with("`!include") {
                ""
            } else {
                "invalid YAML: "
            };
            c.errors
                .push(format!("{file}:{}: {what}{}", e.line.max(1), e.message));
            return None;
        }
    };
    let mut flat = Vec::new();
    for doc in docs {
        flatten(doc, &mut flat);
    }
    let mut entries: Vec<Entry> = Vec::new();
    for doc in flat {
        let pairs = match doc.value {
            Value::Map(pairs) => pairs,
            _ => {
                c.errors
                    .push(format!("{file}:{}: must be a mapping of keys", doc.line));
                return None;
            }
        };
        for (k, v) in pairs {
            let Some(key) = k.as_str() else {
                c.errors.push(format!(
                    "{file}:{}: key {} must be a string",
                    k.line,
                    py_str(&k)
                ));
                return None;
            };
            match entries.iter_mut().find(|e| e.key == key) {
                Some(e) if JOINED.contains(&key) => {
                    if let (Value::Seq(old), Value::Seq(new)) = (&mut e.value.value, v.value) {
                        old.extend(new);
                    }
                }
                Some(e) => {
                    e.line = k.line;
                    e.value = v;
                }
                None => entries.push(Entry {
                    key: key.to_string(),
                    line: k.line,
                    value: v,
                }),
            }
        }
    }
    Some(entries)
}

/// What `hyperagent.yml` says that the catalogue uses: the template's description, and the
/// naming rule of each answer it names (`names: {package_name: python-package}`), which the
/// bootstrapper checks and the answers schema carries.
#[derive(Default)]
pub(super) struct Extras {
    pub(super) description: String,
    /// (question, rule), in the file's order.
    pub(super) names: Vec<(String, NameRule)>,
}

/// A naming rule of `hyperagent.yml`'s `names`, as the bootstrapper's `render.check_name`
/// applies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NameRule {
    /// An importable, lowercase Python package name.
    PythonPackage,
    /// A Python project (distribution) name.
    PythonDistribution,
}

impl NameRule {
    const ALL: [(&'static str, NameRule); 2] = [
        ("python-package", NameRule::PythonPackage),
        ("python-distribution", NameRule::PythonDistribution),
    ];

    pub(super) fn name(self) -> &'static str {
        NameRule::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map(|(n, _)| *n)
            .unwrap_or_default()
    }

    /// The part of the rule a pattern can say (the bootstrapper also refuses Python's keywords
    /// and standard module names for a package), and what breaking it means.
    pub(super) fn pattern(self) -> (&'static str, &'static str) {
        match self {
            NameRule::PythonPackage => (
                "^[a-z_][a-z0-9_]*$",
                "a Python package name: lowercase letters, digits and _, not starting with a digit",
            ),
            NameRule::PythonDistribution => (
                "^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$",
                "a Python project name: letters, digits, '.', '_' and '-', starting and ending \
                 with a letter or digit",
            ),
        }
    }
}

pub(super) fn read_hyperagent(dir: &Path, c: &mut Check) -> Extras {
    if !dir.join(HYPERAGENT_FILE).is_file() {
        return Extras::default();
    }
    let Some(entries) = read_entries(dir, HYPERAGENT_FILE, c) else {
        return Extras::default();
    };
    let mut extras = Extras::default();
    for e in entries {
        match e.key.as_str() {
            "description" => extras.description = py_str(&e.value),
            "names" => extras.names = name_rules(&e, c),
            _ => {}
        }
    }
    extras
}

/// `names`: a mapping of question to rule; an unknown rule breaks the template, as it breaks the
/// bootstrapper's render.
fn name_rules(e: &Entry, c: &mut Check) -> Vec<(String, NameRule)> {
    let Value::Map(pairs) = &e.value.value else {
        c.errors.push(format!(
            "{HYPERAGENT_FILE}:{}: `names` must map questions to naming rules",
            e.line
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in pairs {
        let rule = v
            .as_str()
            .and_then(|r| NameRule::ALL.iter().find(|(n, _)| *n == r));
        match (k.as_str(), rule) {
            (Some(q), Some((_, rule))) => out.push((q.to_string(), *rule)),
            _ => c.errors.push(format!(
                "{HYPERAGENT_FILE}:{}: naming rule {} is not known; use {}",
                v.line,
                py_str(v),
                NameRule::ALL.map(|(n, _)| n).join(" or ")
            )),
        }
    }
    out
}

pub(super) fn read_manifest(dir: &Path, file: &'static str, c: &mut Check) -> Option<Manifest> {
    let entries = read_entries(dir, file, c)?;
    let mut m = Manifest {
        file,
        entries,
        subdirectory: Some(String::new()),
        suffix: DEFAULT_SUFFIX.into(),
        exclude: Vec::new(),
        secret: BTreeSet::new(),
    };
    check_unsupported(file, &m.entries, c);
    m.subdirectory = match m.get("_subdirectory") {
        None => Some(String::new()),
        Some(e) => {
            let (sub, problem) = subdirectory(dir, &e.value);
            if let Some(p) = problem {
                c.errors.push(format!("{} {p}", e.at(file)));
            }
            sub
        }
    };
    if let Some(e) = m.get("_templates_suffix") {
        match &e.value.value {
            Value::Null => {}
            Value::Str(s) => m.suffix = s.clone(),
            _ => c.errors.push(format!("{} must be a string", e.at(file))),
        }
    }
    let strings = |e: &Entry, c: &mut Check| -> Vec<String> {
        match &e.value.value {
            Value::Str(s) => vec![s.clone()],
            Value::Null => Vec::new(),
            Value::Seq(items) if items.iter().all(|i| i.as_str().is_some()) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => {
                c.errors
                    .push(format!("{} must be a list of strings", e.at(file)));
                Vec::new()
            }
        }
    };
    m.exclude = match m.get("_exclude") {
        Some(e) => strings(e, c),
        None if m.subdirectory.as_deref() == Some("") => DEFAULT_EXCLUDE.map(String::from).to_vec(),
        None => Vec::new(),
    };
    if let Some(e) = m.get("_secret_questions") {
        m.secret = strings(e, c).into_iter().collect();
    }
    Some(m)
}

/// Settings we do not run: those that would make the output differ from copier's break the
/// template, the others are warned about.
fn check_unsupported(file: &str, entries: &[Entry], c: &mut Check) {
    for e in entries {
        let refuse = |why: &str| format!("{} is not supported: {why}", e.at(file));
        match e.key.as_str() {
            "_jinja_extensions" if truthy(&e.value) => {
                c.errors.push(refuse(
                    "Jinja extensions change what templates render to, and HyperAgent renders without them",
                ))
            }
            "_external_data" => c
                .errors
                .push(refuse("it reads files from outside the template")),
            "_tasks" => c.warnings.push(format!(
                "{} ignored: commands after copying are not run",
                e.at(file)
            )),
            "_migrations" => c.warnings.push(format!(
                "{} ignored: migrations apply to `copier update`, not to a new project",
                e.at(file)
            )),
            "_envops" => match &e.value.value {
                Value::Map(_) => {
                    for (key, default) in DELIMITERS {
                        let Some(v) = e.value.get(key) else { continue };
                        if v.as_str() != default && !(default.is_none() && v.value == Value::Null) {
                            c.errors.push(format!(
                                "{file}:{}: `_envops.{key}` is not supported: custom Jinja delimiters",
                                v.line
                            ));
                        }
                    }
                }
                Value::Null => {}
                _ => c.errors.push(format!("{} must be a mapping", e.at(file))),
            },
            _ => {}
        }
    }
}

/// `_subdirectory`, made relative and checked: the folder (`None` when unusable) and what is
/// wrong with it.
fn subdirectory(dir: &Path, value: &Node) -> (Option<String>, Option<String>) {
    let s = match &value.value {
        Value::Null => return (Some(String::new()), None),
        Value::Str(s) => s,
        _ => return (None, Some("must be a string".into())),
    };
    if is_templated(s) {
        return (
            None,
            Some("is not supported: it depends on the answers".into()),
        );
    }
    let sub = s.trim_matches('/');
    let sub = if sub == "." { "" } else { sub };
    let p = Path::new(sub);
    if p.is_absolute() || p.components().any(|c| c == Component::ParentDir) {
        (None, Some("must stay inside the template".into()))
    } else if !sub.is_empty() && !dir.join(sub).is_dir() {
        (
            None,
            Some(format!("names folder `{sub}`, which does not exist")),
        )
    } else {
        (Some(sub.to_string()), None)
    }
}

/// Python's `str()` of a scalar, as copier shows labels: `True`, `None`, `1.5`.
pub(super) fn py_str(n: &Node) -> String {
    match &n.value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => py_float(*f),
        Value::Str(s) => s.clone(),
        Value::Seq(_) | Value::Map(_) => format!("{:?}", to_json(n)),
    }
}

fn py_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Python's truthiness.
pub(super) fn truthy(n: &Node) -> bool {
    match &n.value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(s) => !s.is_empty(),
        Value::Seq(v) => !v.is_empty(),
        Value::Map(v) => !v.is_empty(),
    }
}

/// A YAML value as JSON (mapping keys as `json.dumps` writes them; NaN and infinities as null).
pub(super) fn to_json(n: &Node) -> Json {
    match &n.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => json!(i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(pairs) => Json::Object(
            pairs
                .iter()
                .map(|(k, v)| {
                    let key = match &k.value {
                        Value::Null => "null".into(),
                        Value::Bool(b) => b.to_string(),
                        Value::Float(f) => py_float(*f),
                        _ => py_str(k),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{broken, schema, template};
    use super::super::TemplateStatus;
    use serde_json::json;

    #[test]
    fn a_broken_manifest_names_its_line() {
        let err = broken("a: 1\nb: [1, 2\nc: 3\n", &[]);
        assert!(err.starts_with("copier.yml:"), "{err}");
        let line: usize = err.split(':').nth(1).unwrap().parse().unwrap();
        assert!((2..=4).contains(&line), "{err}");
        assert!(err.contains("invalid YAML"), "{err}");
        assert_eq!(
            broken("- a\n- b\n", &[]),
            "copier.yml:1: must be a mapping of keys"
        );
    }

    #[test]
    fn unsupported_settings_warn_or_break() {
        let (_tmp, t) = template("_tasks: [make]\n_migrations: []\nx: 1\n", &[]);
        assert_eq!(t.status, TemplateStatus::Ok);
        assert_eq!(t.warnings.len(), 2, "{:?}", t.warnings);
        assert!(t.warnings[0].starts_with("copier.yml:1: `_tasks` ignored"));
        let err = broken(
            "x: 1\n_jinja_extensions: [jinja2_time.TimeExtension]\n",
            &[],
        );
        assert!(
            err.starts_with("copier.yml:2: `_jinja_extensions` is not supported"),
            "{err}"
        );
        assert!(broken("_envops: {block_start_string: '[%'}\n", &[])
            .contains("custom Jinja delimiters"));
        let (_tmp, t) = template(
            "_envops: {block_start_string: '{%', autoescape: false}\n",
            &[],
        );
        assert_eq!(t.status, TemplateStatus::Ok, "{}", t.error);
        assert!(broken("_subdirectory: \"{{ x }}\"\n", &[]).contains("depends on the answers"));
        assert!(broken("_subdirectory: nope\n", &[]).contains("does not exist"));
    }

    #[test]
    fn included_documents_and_values_are_read_as_copier_reads_them() {
        let manifest = "---\n!include shared/*.yml\n---\ncolor:\n  type: str\n  choices: !include colors.yml\nb: 3\n";
        let (_tmp, t) = template(
            manifest,
            &[
                ("shared/a.yml", "a: 1\n---\n# only a comment\n"),
                ("shared/b.yml", "b: {type: int, default: 2}\n"),
                ("colors.yml", "- red\n- blue\n"),
            ],
        );
        assert_eq!(t.status, TemplateStatus::Ok, "{}", t.error);
        let s: serde_json::Value = serde_json::from_str(&t.answers_schema_json).unwrap();
        assert_eq!(s["x-order"], json!(["a", "b", "color"]));
        assert_eq!(
            s["properties"]["b"]["default"], 3,
            "the later document wins"
        );
        assert_eq!(s["properties"]["color"]["enum"], json!(["red", "blue"]));
    }

    #[test]
    fn an_include_that_leaves_the_template_or_never_ends_is_refused_with_its_line() {
        let err = broken(
            "x: 1\ny: !include ../outside.yml\n",
            &[("../outside.yml", "a: 1\n")],
        );
        assert!(
            err.starts_with("copier.yml:2: `!include ../outside.yml`"),
            "{err}"
        );
        assert!(err.contains("outside the template folder"), "{err}");
        let err = broken("!include /etc/hostname\n", &[]);
        assert!(
            err.contains("must be a path relative to the template folder"),
            "{err}"
        );
        let err = broken(
            "!include self.yml\n",
            &[("self.yml", "!include self.yml\n")],
        );
        assert!(err.contains("includes nest deeper than"), "{err}");
        let err = broken("!include sub\n", &[("sub/x.yml", "a: 1\n")]);
        assert!(err.contains("sub is a folder, not a YAML file"), "{err}");
        let err = broken("!include bad.yml\n", &[("bad.yml", "a: [1\n")]);
        assert!(err.contains("bad.yml:"), "{err}");
        #[cfg(unix)]
        {
            let (tmp, _) = template("x: 1\n", &[]);
            let dir = tmp.path().join("t");
            std::os::unix::fs::symlink("/etc", dir.join("etc")).unwrap();
            super::super::tests::write(&dir, "copier.yml", "!include etc/passwd\n");
            let t = super::super::load("t", &dir).unwrap();
            assert!(
                t.error.contains("outside the template folder"),
                "{}",
                t.error
            );
        }
    }

    #[test]
    fn several_documents_merge_as_copier_merges_them() {
        let s = schema("a: 1\n_exclude: ['x']\n---\nb: 2\na: 3\n_exclude: ['y']\n");
        assert_eq!(s["x-order"], json!(["a", "b"]));
        assert_eq!(s["properties"]["a"]["default"], 3);
    }
}
