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
//! `<dir>/<name>/hyperagent.yml` may give a `description` (copier ignores that file), and
//! `names`, naming rules for answers (`python-package`, `python-distribution`: the bootstrapper
//! checks them); a string question with a rule gets `x-name-rule`, and, when it has no validator
//! of its own, the rule's `pattern` with `x-pattern-message` in words.
//!
//! # The answers schema
//!
//! A JSON Schema (draft 2020-12) of the object of answers, built from the manifest's questions by
//! these rules, which the bootstrapper's Python implementation and the UI's form follow too;
//! `tests/questions/corpus.json` is their shared contract (each case a manifest, its schema, and
//! answers taken or refused), which all three are tested against. The manifest is read
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
//!   name listed in `_secret_questions`) -> `writeOnly: true, format: "password"`; a true
//!   `secret` without a `default` is an error, as in copier.
//! - `choices` as a list of plain values -> `enum: [values]`; as a mapping of label to value, or
//!   a list with `[label, value]` pairs in it -> `oneOf: [{const: value, title: label}, ...]` (a
//!   plain item is its own label, as Python's `str()` shows it). A value that is a mapping is
//!   copier's extended choice: its `value` is the `const`, and its non-empty `validator` (whose
//!   message disables the choice) is the entry's `x-validator`; without `value` it is an error.
//!   A string (Jinja rendering to the list, with the answers) -> `"x-choices-template":
//!   "<source>"`. With a true `multiselect`: `type: "array"`, `items: {enum: ...}` or `items:
//!   {oneOf: ...}` (or `x-choices-template` beside them), `uniqueItems: true` (the scalar type is
//!   then not emitted). `multiselect` without `choices` is an error.
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
//! - a question's `default`, `validator`, `when` or `choices` string is not valid Jinja syntax;
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
//!
//! # Where the code is
//!
//! This file holds the catalogue itself ([`Template`], [`load`], [`find`], [`Catalogue`]); the
//! rest is one concept per file: `manifest.rs` reads copier's manifest (documents merged,
//! settings checked), `schema.rs` makes the answers schema from its questions, `files.rs` checks
//! the template's files and file names, `watcher.rs` follows the folders and rescans, and
//! `yaml.rs` reads YAML as copier does.
mod files;
mod manifest;
mod schema;
mod watcher;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

use files::check_files;
use manifest::{read_hyperagent, read_manifest};
use schema::answers_schema;
pub use watcher::Watcher;

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
        let extras = read_hyperagent(dir, &mut c);
        description = extras.description;
        if let Some(m) = read_manifest(dir, manifest, &mut c) {
            schema = answers_schema(name, manifest, &m, &extras.names, &mut c);
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

#[cfg(test)]
mod tests {
    //! Also the helpers the other files' tests share.
    use super::*;
    use serde_json::Value as Json;

    pub(super) fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A template `t` with this manifest (and the given files) in a fresh folder.
    pub(super) fn template(
        manifest: &str,
        files: &[(&str, &str)],
    ) -> (tempfile::TempDir, Template) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("t");
        write(&dir, "copier.yml", manifest);
        for (rel, text) in files {
            write(&dir, rel, text);
        }
        let t = load("t", &dir).unwrap();
        (tmp, t)
    }

    pub(super) fn schema(manifest: &str) -> Json {
        let (_tmp, t) = template(manifest, &[]);
        assert_eq!(t.status, TemplateStatus::Ok, "{}", t.error);
        serde_json::from_str(&t.answers_schema_json).unwrap()
    }

    pub(super) fn broken(manifest: &str, files: &[(&str, &str)]) -> String {
        let (_tmp, t) = template(manifest, files);
        assert_eq!(t.status, TemplateStatus::Broken, "expected broken: {t:?}");
        t.error
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
}
