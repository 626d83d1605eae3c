//! The catalogue of project templates: what can be offered to a person starting a project, with
//! the JSON Schema of the answers each template asks for. Metadata only: the bootstrapper agent
//! renders templates; the manager reads them, checks them and says which are usable.
//!
//! # Where templates are
//!
//! Each folder of [`ResolvedPaths::template_dirs`](crate::config::ResolvedPaths::template_dirs)
//! (`<data_dir>/templates`, then `templates.dirs`, then `serve --templates-dir`) holds one
//! sub-folder per template, `<dir>/<name>/`, with copier's manifest `copier.yml` or `copier.yaml`.
//! Sub-folders without a manifest, and hidden ones, are not templates. When two folders hold a
//! template of the same name, the first one's is offered and the other is named in its warnings.
//! `<dir>/<name>/hyperagent.yml` may give a `description` (copier ignores that file).
//!
//! # The answers schema
//!
//! A JSON Schema (draft 2020-12) of the object of answers, built from the manifest's questions by
//! these rules, which the bootstrapper's Python implementation follows too. The manifest is read
//! as copier reads it: YAML 1.1 as PyYAML resolves it (see `catalogue/yaml.rs`), several documents
//! merged (a later document's key wins; `_exclude`, `_jinja_extensions`, `_secret_questions` and
//! `_skip_if_exists` lists are joined).
//!
//! - Every top-level key not starting with `_` is a question, in manifest order. The short form
//!   `key: value` (value not a mapping) means `{default: value}`.
//! - `type`: `str` (and `path`) -> `{"type": "string"}`, `int` -> `"integer"`, `float` ->
//!   `"number"`, `bool` -> `"boolean"`, `yaml` and `json` -> no `type` (any value). Any other type
//!   is an error. Without `type`: when there is a `default`, from its value (a boolean, integer,
//!   float or string gives `bool`, `int`, `float`, `str`; anything else `yaml`); without a
//!   default, `str`.
//! - `help` -> `description`. `placeholder` -> `examples: [placeholder]`. A true `secret` (or the
//!   name listed in `_secret_questions`) -> `writeOnly: true, format: "password"`.
//! - `choices` as a list -> `enum: [values]`, where an item that is itself a two-item list
//!   `[label, value]` contributes its value; as a mapping of label to value -> `oneOf: [{const:
//!   value, title: label}, ...]`. With a true `multiselect`: `type: "array"`, `items: {enum: ...}`
//!   or `items: {oneOf: ...}`, `uniqueItems: true` (the scalar type is then not emitted).
//!   `multiselect` without `choices` is an error.
//! - `default`: a string containing `{{` or `{%` -> `"x-default-template": "<source>"` (not
//!   `default`); otherwise `default: <value>`.
//! - A non-empty `validator` -> `"x-validator": "<source>"`. `when`: `false` -> the question is
//!   left out of the schema entirely; a string -> `"x-when": "<source>"`; `true` or absent ->
//!   nothing.
//! - `required` lists (in manifest order) the questions without a `default` key whose `when` is
//!   not a string. `additionalProperties: false`.
//! - Top level: `$schema`, `title: "<template name> answers"`, `type: "object"`, `properties`,
//!   `required` (always present), `additionalProperties`, and `x-order`: the property names in
//!   manifest order. Properties are also written in that order, but JSON objects are unordered to
//!   most readers: `x-order` is the order to rely on. (serde_json's `preserve_order` is not used:
//!   it would reorder every JSON object this workspace writes, audit details included.)
//!
//! # Checks
//!
//! A template is `broken` (listed, with `error` naming `file:line`, relative to the template's
//! folder; one problem per line, in file order), not offered, when:
//! - the manifest (or `hyperagent.yml`) is not valid YAML, not a mapping, or both `copier.yml` and
//!   `copier.yaml` exist; a question breaks the rules above;
//! - a question's `default`, `validator` or `when` string is not valid Jinja syntax;
//! - under `_subdirectory` (default: the template's folder), leaving out what `_exclude` matches
//!   (gitignore patterns; copier's default list when the manifest has no `_exclude` and no
//!   `_subdirectory`, as copier does): a path component with `{{` or `{%` is not valid Jinja, or a
//!   file ending in `_templates_suffix` (default `.jinja`; empty: every file) is not UTF-8 or not
//!   valid Jinja. Other files are copied as they are and not read. Links to folders are not
//!   followed. An `_exclude` pattern with Jinja in it depends on the answers: it must parse, and
//!   is not applied;
//! - it uses what would make its output differ from what we render: `_jinja_extensions`,
//!   `_external_data`, custom Jinja delimiters in `_envops`, a templated `_subdirectory`.
//!
//! Only syntax is checked (minijinja parses; filters and tests are looked up when rendering, so
//! copier's extra filters such as `to_nice_yaml` need nothing here). `_tasks` and `_migrations`
//! are listed in `warnings`: the template is offered, and they are not run.
//!
//! # Live
//!
//! [`Watcher`] follows the folders with inotify (through `notify`), waits until they have been
//! quiet for `templates.debounce`, then rescans only the templates the changes touched (by name,
//! in every folder, so a shadowed template takes over when the first is deleted). A folder that
//! does not exist yet is waited for by watching its nearest existing parent (not recursively) and
//! watched itself once it appears; a folder deleted and created again is watched again. Events
//! about anything else in a watched parent are dropped as they arrive (the manager creates
//! `<data_dir>/templates` at start, so the data dir, with its busy database, is not watched). The
//! manager publishes `TemplatesChanged` on the feed with the names whose entries changed. Scans
//! read files: they run on blocking threads, never on the async runtime's workers.
mod yaml;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher as _};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value as Json};
use tokio::sync::{mpsc, watch};

use yaml::{Node, Value};

/// The JSON Schema dialect of answers schemas.
pub const SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";
/// copier's manifest names.
pub const MANIFESTS: [&str; 2] = ["copier.yml", "copier.yaml"];
/// HyperAgent's file beside the manifest (its `description` is shown in the catalogue).
pub const HYPERAGENT_FILE: &str = "hyperagent.yml";
/// What copier leaves out of a template without `_exclude` and `_subdirectory`.
pub const DEFAULT_EXCLUDE: [&str; 8] = [
    "copier.yaml",
    "copier.yml",
    "~*",
    "*.py[co]",
    "__pycache__",
    ".git",
    ".DS_Store",
    ".svn",
];
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

/// Whether a template can be offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    /// Checked; can be offered.
    Ok,
    /// Has errors (see `error`); not offered.
    Broken,
}

/// One template as the catalogue knows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Template {
    /// Its folder's name.
    pub name: String,
    /// Its folder (absolute).
    pub dir: PathBuf,
    /// From `hyperagent.yml`, or "".
    pub description: String,
    /// Usable or not.
    pub status: TemplateStatus,
    /// Why it is broken: one `file:line: problem` per line; "" when ok.
    pub error: String,
    /// What is ignored (settings we do not run, shadowed copies).
    pub warnings: Vec<String>,
    /// The JSON Schema of its answers ("" when the manifest could not be read).
    pub answers_schema_json: String,
}

/// True when `s` holds Jinja markup (a variable or a statement).
pub fn is_templated(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// Parses `source` as a Jinja template (syntax only): `Err((line within source, message))`.
fn parse_jinja(source: &str) -> Result<(), (usize, String)> {
    let env = minijinja::Environment::new();
    env.template_from_str(source).map(|_| ()).map_err(|e| {
        let message = match e.detail() {
            Some(d) => d.to_string(),
            None => e.kind().to_string(),
        };
        (e.line().unwrap_or(1), message)
    })
}

/// Reads the template in `dir` named `name`; `None` when the folder has no manifest.
pub fn load(name: &str, dir: &Path) -> Option<Template> {
    let found: Vec<&str> = MANIFESTS
        .into_iter()
        .filter(|m| dir.join(m).is_file())
        .collect();
    let manifest = *found.first()?;
    let mut c = Check::default();
    let mut description = String::new();
    let mut schema = String::new();
    if found.len() > 1 {
        c.errors
            .push("copier.yml and copier.yaml both exist; keep one".into());
    } else {
        description = read_description(dir, &mut c);
        if let Some(m) = read_manifest(dir, manifest, &mut c) {
            schema = answers_schema(name, manifest, &m, &mut c);
            check_files(dir, &m, &mut c);
        }
    }
    Some(Template {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        description,
        status: if c.errors.is_empty() {
            TemplateStatus::Ok
        } else {
            TemplateStatus::Broken
        },
        error: c.errors.join("\n"),
        warnings: c.warnings,
        answers_schema_json: schema,
    })
}

/// Problems found so far.
#[derive(Default)]
struct Check {
    errors: Vec<String>,
    warnings: Vec<String>,
}

/// One top-level key of the manifest.
struct Entry {
    key: String,
    line: usize,
    value: Node,
}

/// The manifest's documents merged, and what its settings say.
struct Manifest {
    file: &'static str,
    entries: Vec<Entry>,
    /// Where the files to render are, relative to the template's folder; `None` when
    /// `_subdirectory` is unusable (then the files are not checked).
    subdirectory: Option<String>,
    suffix: String,
    exclude: Vec<String>,
    secret: BTreeSet<String>,
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

/// The documents of a YAML file merged into one list of top-level keys.
fn read_entries(dir: &Path, file: &'static str, c: &mut Check) -> Option<Vec<Entry>> {
    let text = read_text(dir, file, c)?;
    let docs = match yaml::load_all(&text) {
        Ok(d) => d,
        Err(e) => {
            c.errors.push(format!(
                "{file}:{}: invalid YAML: {}",
                e.line.max(1),
                e.message
            ));
            return None;
        }
    };
    let mut entries: Vec<Entry> = Vec::new();
    for doc in docs {
        let pairs = match doc.value {
            Value::Map(pairs) => pairs,
            Value::Null => continue,
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

fn read_description(dir: &Path, c: &mut Check) -> String {
    if !dir.join(HYPERAGENT_FILE).is_file() {
        return String::new();
    }
    read_entries(dir, HYPERAGENT_FILE, c)
        .and_then(|entries| entries.into_iter().find(|e| e.key == "description"))
        .map(|e| py_str(&e.value))
        .unwrap_or_default()
}

fn read_manifest(dir: &Path, file: &'static str, c: &mut Check) -> Option<Manifest> {
    let entries = read_entries(dir, file, c)?;
    let mut m = Manifest {
        file,
        entries,
        subdirectory: Some(String::new()),
        suffix: DEFAULT_SUFFIX.into(),
        exclude: Vec::new(),
        secret: BTreeSet::new(),
    };
    let at = |e: &Entry| format!("{file}:{}: `{}`", e.line, e.key);
    for e in &m.entries {
        let refuse = |why: &str| format!("{} is not supported: {why}", at(e));
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
                at(e)
            )),
            "_migrations" => c.warnings.push(format!(
                "{} ignored: migrations apply to `copier update`, not to a new project",
                at(e)
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
                _ => c.errors.push(format!("{} must be a mapping", at(e))),
            },
            _ => {}
        }
    }
    m.subdirectory = match m.get("_subdirectory") {
        None => Some(String::new()),
        Some(e) => {
            let (sub, problem) = subdirectory(dir, &e.value);
            if let Some(p) = problem {
                c.errors.push(format!("{} {p}", at(e)));
            }
            sub
        }
    };
    if let Some(e) = m.get("_templates_suffix") {
        match &e.value.value {
            Value::Null => {}
            Value::Str(s) => m.suffix = s.clone(),
            _ => c.errors.push(format!("{} must be a string", at(e))),
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
                    .push(format!("{} must be a list of strings", at(e)));
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
fn py_str(n: &Node) -> String {
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
fn truthy(n: &Node) -> bool {
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
fn to_json(n: &Node) -> Json {
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

/// The type name a default implies.
fn inferred_type(default: &Node) -> &'static str {
    match default.value {
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "str",
        _ => "yaml",
    }
}

/// One question's property schema and whether it is required; `None` when `when` is false.
fn question(
    file: &str,
    name: &str,
    line: usize,
    node: &Node,
    listed_secret: bool,
) -> Result<Option<(Json, bool)>, String> {
    let full = matches!(node.value, Value::Map(_));
    let get = |k: &str| if full { node.get(k) } else { None };
    let default = if full {
        node.get("default")
    } else {
        Some(node)
    };
    let err = |at: usize, msg: &str| format!("{file}:{at}: question `{name}`: {msg}");
    // Copier renders these strings (even for a question that is not asked): they must parse.
    for (key, n) in [
        ("default", default),
        ("validator", get("validator")),
        ("when", get("when")),
    ] {
        if let Some(Err((l, m))) = n.and_then(Node::as_str).map(parse_jinja) {
            let at = n.map_or(line, |n| n.line);
            return Err(err(
                at,
                &format!("`{key}` is not valid Jinja (line {l}): {m}"),
            ));
        }
    }
    let mut p = Map::new();
    let mut when_is_string = false;
    match get("when") {
        None => {}
        Some(n) => match &n.value {
            Value::Bool(true) => {}
            Value::Bool(false) => return Ok(None),
            Value::Str(s) => {
                when_is_string = true;
                p.insert("x-when".into(), json!(s));
            }
            _ => {
                return Err(err(
                    n.line,
                    "`when` must be true, false or a Jinja expression",
                ))
            }
        },
    }
    let type_name = match get("type") {
        Some(n) => n
            .as_str()
            .ok_or_else(|| err(n.line, "`type` must be a string"))?,
        None => default.map_or("str", inferred_type),
    };
    let json_type = match type_name {
        "str" | "path" => Some("string"),
        "int" => Some("integer"),
        "float" => Some("number"),
        "bool" => Some("boolean"),
        "yaml" | "json" => None,
        other => {
            let at = get("type").map_or(line, |n| n.line);
            return Err(err(
                at,
                &format!("type `{other}` is not one of str, int, float, bool, json, yaml"),
            ));
        }
    };
    if let Some(n) = get("help") {
        if matches!(n.value, Value::Seq(_) | Value::Map(_)) {
            return Err(err(n.line, "`help` must be text"));
        }
        if n.value != Value::Null {
            p.insert("description".into(), json!(py_str(n)));
        }
    }
    if let Some(n) = get("placeholder") {
        p.insert("examples".into(), json!([to_json(n)]));
    }
    if get("secret").is_some_and(truthy) || listed_secret {
        p.insert("writeOnly".into(), json!(true));
        p.insert("format".into(), json!("password"));
    }
    let choices = match get("choices") {
        None => None,
        Some(n) => Some(match &n.value {
            Value::Seq(items) => {
                let mut values = Vec::new();
                for item in items {
                    match &item.value {
                        Value::Seq(pair) if pair.len() == 2 => values.push(to_json(&pair[1])),
                        Value::Seq(_) => {
                            return Err(err(item.line, "a choice list item must be [label, value]"))
                        }
                        _ => values.push(to_json(item)),
                    }
                }
                ("enum", Json::Array(values))
            }
            Value::Map(pairs) => (
                "oneOf",
                Json::Array(
                    pairs
                        .iter()
                        .map(|(k, v)| json!({"const": to_json(v), "title": py_str(k)}))
                        .collect(),
                ),
            ),
            _ => {
                return Err(err(
                    n.line,
                    "`choices` must be a list or a mapping of label to value",
                ))
            }
        }),
    };
    match (get("multiselect").is_some_and(truthy), choices) {
        (true, None) => {
            let at = get("multiselect").map_or(line, |n| n.line);
            return Err(err(at, "`multiselect` needs `choices`"));
        }
        (true, Some((key, list))) => {
            p.insert("type".into(), json!("array"));
            p.insert("items".into(), json!({ key: list }));
            p.insert("uniqueItems".into(), json!(true));
        }
        (false, choices) => {
            if let Some(t) = json_type {
                p.insert("type".into(), json!(t));
            }
            if let Some((key, list)) = choices {
                p.insert(key.into(), list);
            }
        }
    }
    match default {
        Some(Node {
            value: Value::Str(s),
            ..
        }) if is_templated(s) => {
            p.insert("x-default-template".into(), json!(s));
        }
        Some(d) => {
            p.insert("default".into(), to_json(d));
        }
        None => {}
    }
    if let Some(n) = get("validator") {
        match &n.value {
            Value::Str(s) if !s.is_empty() => {
                p.insert("x-validator".into(), json!(s));
            }
            Value::Str(_) | Value::Null => {}
            _ => return Err(err(n.line, "`validator` must be a Jinja string")),
        }
    }
    Ok(Some((
        Json::Object(p),
        default.is_none() && !when_is_string,
    )))
}

/// Properties in the order given (serde_json's own map would sort them).
struct Ordered<'a>(&'a [(String, Json)]);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct AnswersSchema<'a> {
    #[serde(rename = "$schema")]
    dialect: &'static str,
    title: String,
    #[serde(rename = "type")]
    kind: &'static str,
    properties: Ordered<'a>,
    required: Vec<&'a str>,
    #[serde(rename = "additionalProperties")]
    additional_properties: bool,
    #[serde(rename = "x-order")]
    order: Vec<&'a str>,
}

/// The answers schema (see the module doc); question errors go to `c`.
fn answers_schema(name: &str, file: &str, m: &Manifest, c: &mut Check) -> String {
    let mut properties: Vec<(String, Json)> = Vec::new();
    let mut required = Vec::new();
    for e in m.entries.iter().filter(|e| !e.key.starts_with('_')) {
        match question(file, &e.key, e.line, &e.value, m.secret.contains(&e.key)) {
            Ok(Some((p, req))) => {
                if req {
                    required.push(e.key.clone());
                }
                properties.push((e.key.clone(), p));
            }
            Ok(None) => {}
            Err(msg) => c.errors.push(msg),
        }
    }
    let schema = AnswersSchema {
        dialect: SCHEMA_DIALECT,
        title: format!("{name} answers"),
        kind: "object",
        properties: Ordered(&properties),
        required: required.iter().map(String::as_str).collect(),
        additional_properties: false,
        order: properties.iter().map(|(k, _)| k.as_str()).collect(),
    };
    serde_json::to_string(&schema).unwrap_or_default()
}

/// Checks the files under the manifest's `_subdirectory` (see the module doc).
fn check_files(dir: &Path, m: &Manifest, c: &mut Check) {
    let Some(sub) = &m.subdirectory else { return };
    let root = dir.join(sub);
    let mut b = ignore::gitignore::GitignoreBuilder::new(&root);
    for pattern in &m.exclude {
        if is_templated(pattern) {
            // Depends on the answers: cannot be applied before rendering; it must still parse.
            if let Err((l, msg)) = parse_jinja(pattern) {
                c.errors.push(format!(
                    "{}: `_exclude` pattern `{pattern}` is not valid Jinja (line {l}): {msg}",
                    m.file
                ));
            }
            continue;
        }
        if let Err(e) = b.add_line(None, pattern) {
            c.errors
                .push(format!("{}: `_exclude` pattern `{pattern}`: {e}", m.file));
        }
    }
    let exclude = b
        .build()
        .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty());
    walk(&root, Path::new(""), Path::new(sub), &m.suffix, &exclude, c);
}

fn walk(
    abs: &Path,
    rel: &Path,
    shown: &Path,
    suffix: &str,
    exclude: &ignore::gitignore::Gitignore,
    c: &mut Check,
) {
    let mut entries: Vec<_> = match std::fs::read_dir(abs) {
        Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
        Err(e) => {
            c.errors
                .push(format!("{}: cannot be read: {e}", shown.display()));
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let path = e.path();
        let (rel, shown) = (rel.join(&name), shown.join(&name));
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let link = meta.file_type().is_symlink();
        let target = if link {
            match std::fs::metadata(&path) {
                Ok(t) => t,
                Err(_) => continue, // a dangling link: copier skips it too
            }
        } else {
            meta
        };
        if exclude.matched(&rel, target.is_dir()).is_ignore() {
            continue;
        }
        let name = name.to_string_lossy();
        if is_templated(&name) {
            if let Err((_, msg)) = parse_jinja(&name) {
                c.errors.push(format!(
                    "{}: its name is not valid Jinja: {msg}",
                    shown.display()
                ));
            }
        }
        if target.is_dir() {
            if !link {
                walk(&path, &rel, &shown, suffix, exclude, c);
            }
        } else if name.ends_with(suffix) {
            match std::fs::read(&path) {
                Ok(bytes) => match std::str::from_utf8(&bytes) {
                    Ok(text) => {
                        if let Err((line, msg)) = parse_jinja(text) {
                            c.errors
                                .push(format!("{}:{line}: {msg}", shown.display()));
                        }
                    }
                    Err(_) => c.errors.push(format!(
                        "{}: not UTF-8 text, but its name ends in `{suffix}` so it would be rendered",
                        shown.display()
                    )),
                },
                Err(e) => c
                    .errors
                    .push(format!("{}: cannot be read: {e}", shown.display())),
            }
        }
    }
}

/// Sub-folders of `dir` that may be templates (not hidden, names in UTF-8).
fn names_in(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

/// The template called `name`: the first of `dirs` that holds it wins; later copies are named
/// in its warnings.
pub fn find(dirs: &[PathBuf], name: &str) -> Option<Template> {
    if name.starts_with('.') {
        return None;
    }
    let mut found: Option<Template> = None;
    for d in dirs {
        let dir = d.join(name);
        if !dir.is_dir() {
            continue;
        }
        match &mut found {
            None => found = load(name, &dir),
            Some(t) => {
                if MANIFESTS.iter().any(|m| dir.join(m).is_file()) {
                    t.warnings.push(format!(
                        "another template `{name}` in {} is not offered: the first folder wins",
                        dir.display()
                    ));
                }
            }
        }
    }
    found
}

/// The templates of the configured folders, kept current by [`Watcher`].
pub struct Catalogue {
    dirs: Vec<PathBuf>,
    entries: Mutex<BTreeMap<String, Template>>,
}

impl Catalogue {
    /// An empty catalogue of `dirs` (in search order); [`Catalogue::rescan_all`] fills it.
    pub fn new(dirs: Vec<PathBuf>) -> Catalogue {
        Catalogue {
            dirs,
            entries: Mutex::default(),
        }
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, Template>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The folders, in search order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Every template, by name.
    pub fn list(&self) -> Vec<Template> {
        self.entries().values().cloned().collect()
    }

    /// Reads every folder again (blocking). Returns the names whose entries changed.
    pub fn rescan_all(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self.entries().keys().cloned().collect();
        for d in &self.dirs {
            names.extend(names_in(d));
        }
        self.rescan(names)
    }

    /// Reads the templates called `names` again (blocking). Returns those whose entries changed.
    pub fn rescan(&self, names: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut changed = Vec::new();
        for name in names {
            let now = find(&self.dirs, &name);
            let mut entries = self.entries();
            if entries.get(&name) != now.as_ref() {
                match now {
                    Some(t) => entries.insert(name.clone(), t),
                    None => entries.remove(&name),
                };
                changed.push(name);
            }
        }
        changed
    }

    /// Names of the templates held now that come from `dir`, and those on disk in it.
    fn names_from(&self, dir: &Path) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self
            .entries()
            .values()
            .filter(|t| t.dir.parent() == Some(dir))
            .map(|t| t.name.clone())
            .collect();
        names.extend(names_in(dir));
        names
    }
}

/// What a burst of file events touched: templates by name, whole folders (one appeared or went,
/// or a parent of one changed), or everything (the kernel dropped events).
#[derive(Debug, Default, PartialEq)]
struct Touched {
    names: BTreeSet<String>,
    folders: BTreeSet<PathBuf>,
    all: bool,
}

impl Touched {
    /// What one event touches among `dirs`. Events elsewhere (a watched parent holds other
    /// things, such as the database) touch nothing, and are dropped as they arrive.
    fn of(dirs: &[PathBuf], ev: notify::Result<notify::Event>) -> Touched {
        let mut t = Touched::default();
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                tracing::warn!(error = %e, "template folder watch error; rescanning them all");
                t.all = true;
                return t;
            }
        };
        t.all = ev.need_rescan();
        // Reading files (our own scans too) is not a change.
        if matches!(ev.kind, EventKind::Access(k) if k != AccessKind::Close(AccessMode::Write)) {
            return t;
        }
        for p in &ev.paths {
            for d in dirs {
                match p.strip_prefix(d).map(|r| r.components().next()) {
                    Ok(Some(Component::Normal(n))) => {
                        t.names.extend(n.to_str().map(str::to_string));
                    }
                    Ok(_) => {
                        t.folders.insert(d.clone());
                    }
                    // An event on a parent: the folder may have appeared or gone.
                    Err(_) if d.starts_with(p) => {
                        t.folders.insert(d.clone());
                    }
                    Err(_) => {}
                }
            }
        }
        t
    }

    fn is_empty(&self) -> bool {
        self.names.is_empty() && self.folders.is_empty() && !self.all
    }

    fn merge(&mut self, other: Touched) {
        self.names.extend(other.names);
        self.folders.extend(other.folders);
        self.all |= other.all;
    }
}

/// Watches the catalogue's folders and rescans what changes touch.
pub struct Watcher {
    catalogue: Arc<Catalogue>,
    watches: Watches,
    events: mpsc::UnboundedReceiver<Touched>,
}

/// The inotify watches in place, by path.
struct Watches {
    notify: notify::RecommendedWatcher,
    current: HashMap<PathBuf, RecursiveMode>,
}

impl Watches {
    /// Watches each folder recursively, or its nearest existing parent (not recursively) while
    /// it does not exist. Watches of `renew` are set up again (the folder may be a new one).
    fn reconcile(&mut self, dirs: &[PathBuf], renew: &BTreeSet<PathBuf>) {
        let mut want: HashMap<PathBuf, RecursiveMode> = HashMap::new();
        for d in dirs {
            if d.is_dir() {
                want.insert(d.clone(), RecursiveMode::Recursive);
            } else if let Some(parent) = d.ancestors().skip(1).find(|a| a.is_dir()) {
                want.entry(parent.to_path_buf())
                    .or_insert(RecursiveMode::NonRecursive);
            }
        }
        let stale: Vec<PathBuf> = self
            .current
            .iter()
            .filter(|(p, mode)| want.get(*p) != Some(mode) || renew.contains(*p))
            .map(|(p, _)| p.clone())
            .collect();
        for p in stale {
            // Fails when the folder is gone (the kernel dropped its watch): nothing to undo.
            let _ = self.notify.unwatch(&p);
            self.current.remove(&p);
        }
        for (p, mode) in want {
            if self.current.contains_key(&p) {
                continue;
            }
            match self.notify.watch(&p, mode) {
                Ok(()) => {
                    self.current.insert(p, mode);
                }
                Err(e) => tracing::warn!(
                    path = %p.display(),
                    error = %e,
                    "cannot watch a template folder; its changes show after a restart"
                ),
            }
        }
    }
}

impl Watcher {
    /// Starts watching (blocking: it walks the folders). Start it before the first scan, so no
    /// change made meanwhile is missed.
    pub fn start(catalogue: Arc<Catalogue>) -> notify::Result<Watcher> {
        let (tx, events) = mpsc::unbounded_channel();
        let dirs = catalogue.dirs().to_vec();
        let notify = notify::recommended_watcher(move |ev| {
            let t = Touched::of(&dirs, ev);
            if !t.is_empty() {
                let _ = tx.send(t);
            }
        })?;
        let mut watches = Watches {
            notify,
            current: HashMap::new(),
        };
        watches.reconcile(catalogue.dirs(), &BTreeSet::new());
        Ok(Watcher {
            catalogue,
            watches,
            events,
        })
    }

    /// Follows changes until `shutdown`: after each burst of changes has been quiet for
    /// `debounce`, rescans (on a blocking thread) and calls `changed` with the names whose
    /// entries changed, if any.
    pub async fn run<F, Fut>(
        self,
        debounce: Duration,
        mut shutdown: watch::Receiver<bool>,
        changed: F,
    ) where
        F: Fn(Vec<String>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let Watcher {
            catalogue,
            mut watches,
            mut events,
        } = self;
        loop {
            let mut touched = tokio::select! {
                t = events.recv() => match t {
                    Some(t) => t,
                    None => return,
                },
                _ = shutdown.changed() => return,
            };
            loop {
                tokio::select! {
                    t = events.recv() => match t {
                        Some(t) => touched.merge(t),
                        None => return,
                    },
                    _ = tokio::time::sleep(debounce) => break,
                    _ = shutdown.changed() => return,
                }
            }
            let cat = catalogue.clone();
            let done = tokio::task::spawn_blocking(move || {
                let names = apply(&cat, &mut watches, touched);
                (watches, names)
            })
            .await;
            let Ok((w, names)) = done else {
                tracing::error!("a template rescan failed; template changes show after a restart");
                return;
            };
            watches = w;
            if !names.is_empty() {
                changed(names).await;
            }
        }
    }
}

/// Renews the watches of the folders touched, and rescans what was touched.
fn apply(cat: &Catalogue, w: &mut Watches, mut t: Touched) -> Vec<String> {
    w.reconcile(cat.dirs(), &t.folders);
    if t.all {
        return cat.rescan_all();
    }
    for d in &t.folders {
        t.names.extend(cat.names_from(d));
    }
    cat.rescan(t.names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A template `t` with this manifest (and the given files) in a fresh folder.
    fn template(manifest: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Template) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("t");
        write(&dir, "copier.yml", manifest);
        for (rel, text) in files {
            write(&dir, rel, text);
        }
        let t = load("t", &dir).unwrap();
        (tmp, t)
    }

    fn schema(manifest: &str) -> Json {
        let (_tmp, t) = template(manifest, &[]);
        assert_eq!(t.status, TemplateStatus::Ok, "{}", t.error);
        serde_json::from_str(&t.answers_schema_json).unwrap()
    }

    fn prop(manifest: &str) -> Json {
        schema(manifest)["properties"]["q"].clone()
    }

    fn broken(manifest: &str, files: &[(&str, &str)]) -> String {
        let (_tmp, t) = template(manifest, files);
        assert_eq!(t.status, TemplateStatus::Broken, "expected broken: {t:?}");
        t.error
    }

    #[test]
    fn the_top_level_names_the_dialect_title_order_and_required() {
        let s = schema("b: 1\na:\n  type: str\n_skip: x\nc:\n  type: int\n  when: false\n");
        assert_eq!(s["$schema"], SCHEMA_DIALECT);
        assert_eq!(s["title"], "t answers");
        assert_eq!(s["type"], "object");
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["x-order"], json!(["b", "a"]));
        assert_eq!(s["required"], json!(["a"]));
        assert!(
            s["properties"].get("c").is_none(),
            "when: false leaves it out"
        );
        assert!(s["properties"].get("_skip").is_none());
        // Properties are written in manifest order too.
        let (_tmp, t) = template("zeta: 1\nalpha: 2\n", &[]);
        let text = &t.answers_schema_json;
        assert!(text.find("\"zeta\"").unwrap() < text.find("\"alpha\"").unwrap());
    }

    #[test]
    fn short_form_is_a_default_with_its_type_inferred() {
        assert_eq!(prop("q: 3\n"), json!({"type": "integer", "default": 3}));
        assert_eq!(
            prop("q: yes\n"),
            json!({"type": "boolean", "default": true})
        );
        assert_eq!(prop("q: 1.5\n"), json!({"type": "number", "default": 1.5}));
        assert_eq!(prop("q: hi\n"), json!({"type": "string", "default": "hi"}));
        assert_eq!(prop("q: [1, 2]\n"), json!({"default": [1, 2]}));
        assert_eq!(prop("q:\n"), json!({"default": null}));
    }

    #[test]
    fn types_map_onto_json_schema_types() {
        for (t, want) in [
            ("str", json!({"type": "string"})),
            ("int", json!({"type": "integer"})),
            ("float", json!({"type": "number"})),
            ("bool", json!({"type": "boolean"})),
            ("yaml", json!({})),
            ("json", json!({})),
        ] {
            assert_eq!(prop(&format!("q:\n  type: {t}\n")), want, "{t}");
        }
        // No type: from a literal default, else str.
        assert_eq!(prop("q:\n  default: 2\n")["type"], "integer");
        assert_eq!(prop("q:\n  help: h\n")["type"], "string");
        assert_eq!(prop("q:\n  default: {a: 1}\n").get("type"), None);
        let err = broken("q:\n  type: number\n", &[]);
        assert_eq!(
            err,
            "copier.yml:2: question `q`: type `number` is not one of str, int, float, bool, json, yaml"
        );
    }

    #[test]
    fn help_placeholder_and_secret() {
        let p = prop("q:\n  type: str\n  help: Your name\n  placeholder: ada\n  secret: true\n  default: x\n");
        assert_eq!(
            p,
            json!({"type": "string", "description": "Your name", "examples": ["ada"],
                   "writeOnly": true, "format": "password", "default": "x"})
        );
        let p = prop("_secret_questions: [q]\nq:\n  default: x\n");
        assert_eq!(p["writeOnly"], true);
    }

    #[test]
    fn choices_as_a_list_a_mapping_and_multiselect() {
        assert_eq!(
            prop("q:\n  type: str\n  choices: [a, [Label B, b]]\n"),
            json!({"type": "string", "enum": ["a", "b"]})
        );
        assert_eq!(
            prop("q:\n  type: int\n  choices:\n    One: 1\n    Two: 2\n"),
            json!({"type": "integer", "oneOf": [{"const": 1, "title": "One"}, {"const": 2, "title": "Two"}]})
        );
        assert_eq!(
            prop("q:\n  type: str\n  multiselect: true\n  choices: [a, b]\n  default: [a]\n"),
            json!({"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": true, "default": ["a"]})
        );
        assert_eq!(
            prop("q:\n  multiselect: true\n  choices: {A: a}\n")["items"],
            json!({"oneOf": [{"const": "a", "title": "A"}]})
        );
        assert!(broken("q:\n  multiselect: true\n", &[]).contains("`multiselect` needs `choices`"));
    }

    #[test]
    fn templated_defaults_validators_and_when() {
        let s = schema(
            "name:\n  type: str\nslug:\n  type: str\n  default: \"{{ name | lower }}\"\n  validator: \"{% if not slug %}required{% endif %}\"\n  when: \"{{ name != '' }}\"\nextra:\n  type: str\n  when: \"{{ slug }}\"\n",
        );
        assert_eq!(
            s["properties"]["slug"],
            json!({"type": "string", "x-default-template": "{{ name | lower }}",
                   "x-validator": "{% if not slug %}required{% endif %}", "x-when": "{{ name != '' }}"})
        );
        // `name` has no default: required; `extra` has none either, but depends on `when`.
        assert_eq!(s["required"], json!(["name"]));
        assert_eq!(
            prop("q:\n  when: true\n  default: 1\n"),
            json!({"type": "integer", "default": 1})
        );
    }

    #[test]
    fn question_strings_must_parse() {
        let err = broken("a: 1\nq:\n  default: \"{{ oops\"\n", &[]);
        assert!(
            err.starts_with("copier.yml:3: question `q`: `default` is not valid Jinja"),
            "{err}"
        );
        let err = broken("q:\n  when: \"{% if %}\"\n", &[]);
        assert!(
            err.starts_with("copier.yml:2: question `q`: `when`"),
            "{err}"
        );
        // A question that is never asked still has its default rendered: it is checked too.
        assert!(broken("q:\n  when: false\n  default: \"{{\"\n", &[]).contains("`default`"));
    }

    #[test]
    fn a_broken_jinja_file_names_its_path_and_line() {
        let err = broken(
            "_subdirectory: template\nname: x\n",
            &[
                ("template/ok.txt.jinja", "{{ name }}\n"),
                ("template/app/main.py.jinja", "a\nb\n{% if name %}\nc\n"),
                ("template/plain.txt", "{% not jinja, not a template %}"),
                ("docs/outside.jinja", "{% broken"),
            ],
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("template/app/main.py.jinja:3: unexpected end of input"),
            "{err}"
        );
    }

    #[test]
    fn broken_file_and_folder_names() {
        let err = broken("x: 1\n", &[("{{ x }/a.txt", "")]);
        assert!(
            err.starts_with("{{ x }: its name is not valid Jinja"),
            "{err}"
        );
        let (_tmp, t) = template("x: 1\n", &[("{{ x }}/{% if x %}a{% endif %}.txt", "")]);
        assert_eq!(t.status, TemplateStatus::Ok, "{}", t.error);
    }

    #[test]
    fn undefined_filters_are_fine_when_only_parsing() {
        let (_tmp, t) = template(
            "x: 1\n",
            &[(
                "a.yml.jinja",
                "{{ x | to_nice_yaml | unknown_filter(2) }}{% if x is weird %}{% endif %}",
            )],
        );
        assert_eq!(t.status, TemplateStatus::Ok, "{}", t.error);
    }

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
    fn exclusions_are_honoured() {
        // Copier's defaults (no _exclude, no _subdirectory): .git and ~* are left out.
        let (_tmp, t) = template(
            "x: 1\n",
            &[
                (".git/hooks/x.jinja", "{% bad"),
                ("~backup.jinja", "{% bad"),
            ],
        );
        assert_eq!(t.status, TemplateStatus::Ok, "{}", t.error);
        // A manifest's _exclude replaces them (copier's rule), gitignore patterns with negation.
        let err = broken(
            "_exclude: ['*.draft', 'skip/', '!keep.draft']\n",
            &[
                ("a.draft", "{% bad"),
                ("skip/b.jinja", "{% bad"),
                ("keep.draft", ""),
                ("keep.jinja.draft", ""),
                ("~c.jinja", "{% bad"),
            ],
        );
        assert!(err.starts_with("~c.jinja:1:"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn binary_files_are_skipped_unless_they_would_be_rendered() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("t");
        write(&dir, "copier.yml", "x: 1\n");
        std::fs::write(dir.join("logo.png"), [0x89, b'P', 0xff, 0xfe]).unwrap();
        assert_eq!(load("t", &dir).unwrap().status, TemplateStatus::Ok);
        std::fs::write(dir.join("logo.png.jinja"), [0xff, 0xfe]).unwrap();
        let t = load("t", &dir).unwrap();
        assert!(
            t.error.starts_with("logo.png.jinja: not UTF-8"),
            "{}",
            t.error
        );
        // An empty suffix renders every file.
        write(&dir, "copier.yml", "_templates_suffix: ''\n");
        std::fs::remove_file(dir.join("logo.png.jinja")).unwrap();
        assert!(load("t", &dir)
            .unwrap()
            .error
            .starts_with("logo.png: not UTF-8"));
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
    fn several_documents_merge_as_copier_merges_them() {
        let s = schema("a: 1\n_exclude: ['x']\n---\nb: 2\na: 3\n_exclude: ['y']\n");
        assert_eq!(s["x-order"], json!(["a", "b"]));
        assert_eq!(s["properties"]["a"]["default"], 3);
    }

    #[test]
    fn description_comes_from_hyperagent_yml_and_both_manifests_break() {
        let (tmp, t) = template("x: 1\n", &[("hyperagent.yml", "description: A web app\n")]);
        assert_eq!(t.description, "A web app");
        write(&tmp.path().join("t"), "copier.yaml", "x: 1\n");
        let t = load("t", &tmp.path().join("t")).unwrap();
        assert!(t.error.contains("both exist"), "{}", t.error);
    }

    #[test]
    fn the_first_folder_wins_and_rescans_report_what_changed() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write(a.path(), "web/copier.yml", "x: 1\n");
        write(b.path(), "web/copier.yml", "x: 2\n");
        write(b.path(), "cli/copier.yml", "y: 1\n");
        write(b.path(), "notes/readme.txt", "not a template");
        let cat = Catalogue::new(vec![a.path().into(), b.path().into()]);
        assert_eq!(cat.rescan_all(), ["cli", "web"]);
        let web = cat.list().into_iter().find(|t| t.name == "web").unwrap();
        assert_eq!(web.dir, a.path().join("web"));
        assert_eq!(web.warnings.len(), 1);
        assert!(cat.rescan_all().is_empty(), "nothing changed");
        std::fs::remove_dir_all(a.path().join("web")).unwrap();
        assert_eq!(cat.rescan(["web".to_string()]), ["web"]);
        let web = cat.list().into_iter().find(|t| t.name == "web").unwrap();
        assert_eq!(web.dir, b.path().join("web"));
        std::fs::remove_dir_all(b.path().join("cli")).unwrap();
        assert_eq!(cat.rescan_all(), ["cli"]);
        assert_eq!(cat.list().len(), 1);
    }

    #[test]
    fn events_map_onto_template_names_and_folders() {
        use notify::event::{CreateKind, ModifyKind};
        let dirs = [PathBuf::from("/d/templates"), PathBuf::from("/x/t")];
        let ev = |kind, p: &str| Ok(notify::Event::new(kind).add_path(p.into()));
        let modify = EventKind::Modify(ModifyKind::Any);
        let t = Touched::of(&dirs, ev(modify, "/d/templates/web/template/a.jinja"));
        assert_eq!(t.names, BTreeSet::from(["web".to_string()]));
        assert!(t.folders.is_empty());
        // The folder itself, or a parent on the way to it: the whole folder.
        let t = Touched::of(&dirs, ev(EventKind::Create(CreateKind::Folder), "/x"));
        assert_eq!(t.folders, BTreeSet::from([PathBuf::from("/x/t")]));
        let t = Touched::of(&dirs, ev(modify, "/d/templates"));
        assert_eq!(t.folders, BTreeSet::from([PathBuf::from("/d/templates")]));
        // Elsewhere in a watched parent (the database beside the templates), or a read: nothing.
        assert!(Touched::of(&dirs, ev(modify, "/d/hyperagent.db-wal")).is_empty());
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        assert!(Touched::of(&dirs, ev(open, "/d/templates/web/copier.yml")).is_empty());
        let written = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(!Touched::of(&dirs, ev(written, "/d/templates/web/copier.yml")).is_empty());
    }

    #[tokio::test]
    async fn the_watcher_rescans_what_changes_and_folders_that_appear() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("later").join("templates");
        let cat = Arc::new(Catalogue::new(vec![dir.clone()]));
        let watcher = Watcher::start(cat.clone()).unwrap();
        assert!(cat.rescan_all().is_empty());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_stop, shutdown) = watch::channel(false);
        tokio::spawn(
            watcher.run(Duration::from_millis(20), shutdown, move |names| {
                let _ = tx.send(names);
                std::future::ready(())
            }),
        );
        // The folder does not exist yet: its parent's parent is watched until it does.
        let staging = tmp.path().join("staging");
        write(&staging, "web/copier.yml", "x: 1\n");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::rename(staging.join("web"), dir.join("web")).unwrap();
        // Waits on the watcher's reports; the deadline only turns a hang into a failure.
        let waited = tokio::time::timeout(Duration::from_secs(60), async {
            let mut seen = Vec::new();
            while !seen.contains(&"web".to_string()) {
                seen.extend(rx.recv().await.unwrap());
            }
            write(&dir, "web/a.txt.jinja", "{% if");
            while cat.list()[0].status != TemplateStatus::Broken {
                rx.recv().await.unwrap();
            }
        })
        .await;
        assert!(waited.is_ok(), "the watcher reported nothing");
        assert!(cat.list()[0].error.starts_with("a.txt.jinja:1:"));
    }
}
