//! The answers schema: a JSON Schema of the answers a template asks for, made from its
//! manifest's questions by the rules in the catalogue's module doc (which the bootstrapper's
//! Python follows too).
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value as Json};

use super::manifest::{py_str, to_json, truthy, Manifest, NameRule};
use super::yaml::{Node, Value};
use super::{is_templated, parse_jinja, Check, SCHEMA_DIALECT};

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
/// Its keys are read in this order, and the first problem is the one reported.
fn question(
    file: &str,
    name: &str,
    line: usize,
    node: &Node,
    listed_secret: bool,
) -> Result<Option<(Json, bool)>, String> {
    let q = Question::new(file, name, line, node);
    q.check_jinja()?;
    q.check_secret()?;
    let mut p = Map::new();
    let Some(when_is_string) = q.when(&mut p)? else {
        return Ok(None);
    };
    let json_type = q.json_type()?;
    q.describe(&mut p, listed_secret)?;
    let choices = q.choices()?;
    q.shape(&mut p, json_type, choices)?;
    q.default_and_validator(&mut p)?;
    Ok(Some((
        Json::Object(p),
        q.default.is_none() && !when_is_string,
    )))
}

/// One question of the manifest, as [`question`] reads it.
struct Question<'a> {
    file: &'a str,
    name: &'a str,
    /// Where its key is.
    line: usize,
    node: &'a Node,
    /// Its `default`; in the short form, the value itself.
    default: Option<&'a Node>,
}

impl<'a> Question<'a> {
    fn new(file: &'a str, name: &'a str, line: usize, node: &'a Node) -> Question<'a> {
        let default = if matches!(node.value, Value::Map(_)) {
            node.get("default")
        } else {
            Some(node)
        };
        Question {
            file,
            name,
            line,
            node,
            default,
        }
    }

    /// A key of the full form (the short form has none).
    fn get(&self, k: &str) -> Option<&'a Node> {
        if matches!(self.node.value, Value::Map(_)) {
            self.node.get(k)
        } else {
            None
        }
    }

    fn err(&self, at: usize, msg: &str) -> String {
        format!("{}:{at}: question `{}`: {msg}", self.file, self.name)
    }

    /// Copier renders these strings (even for a question that is not asked): they must parse.
    fn check_jinja(&self) -> Result<(), String> {
        for (key, n) in [
            ("default", self.default),
            ("validator", self.get("validator")),
            ("when", self.get("when")),
            ("choices", self.get("choices")),
        ] {
            if let Some(Err((l, m))) = n.and_then(Node::as_str).map(parse_jinja) {
                let at = n.map_or(self.line, |n| n.line);
                return Err(self.err(at, &format!("`{key}` is not valid Jinja (line {l}): {m}")));
            }
        }
        Ok(())
    }

    /// copier refuses a `secret: true` question without a default (it could not be asked
    /// without showing what is typed, nor left blank). Checked whatever `when` says, as copier
    /// checks it.
    fn check_secret(&self) -> Result<(), String> {
        match self.get("secret") {
            Some(n) if truthy(n) && self.default.is_none() => {
                Err(self.err(n.line, "a secret question needs a default"))
            }
            _ => Ok(()),
        }
    }

    /// `when`: `None` when false (the question is left out); else whether it is a string, which
    /// goes into `p` as `x-when`.
    fn when(&self, p: &mut Map<String, Json>) -> Result<Option<bool>, String> {
        let Some(n) = self.get("when") else {
            return Ok(Some(false));
        };
        match &n.value {
            Value::Bool(true) => Ok(Some(false)),
            Value::Bool(false) => Ok(None),
            Value::Str(s) => {
                p.insert("x-when".into(), json!(s));
                Ok(Some(true))
            }
            _ => Err(self.err(n.line, "`when` must be true, false or a Jinja expression")),
        }
    }

    /// The JSON type of its `type`, or of the type its default implies; `None`: any value.
    fn json_type(&self) -> Result<Option<&'static str>, String> {
        let type_name = match self.get("type") {
            Some(n) => n
                .as_str()
                .ok_or_else(|| self.err(n.line, "`type` must be a string"))?,
            None => self.default.map_or("str", inferred_type),
        };
        match type_name {
            "str" | "path" => Ok(Some("string")),
            "int" => Ok(Some("integer")),
            "float" => Ok(Some("number")),
            "bool" => Ok(Some("boolean")),
            "yaml" | "json" => Ok(None),
            other => {
                let at = self.get("type").map_or(self.line, |n| n.line);
                Err(self.err(
                    at,
                    &format!("type `{other}` is not one of str, int, float, bool, json, yaml"),
                ))
            }
        }
    }

    /// `help`, `placeholder`, and `secret` (or the name listed in `_secret_questions`).
    fn describe(&self, p: &mut Map<String, Json>, listed_secret: bool) -> Result<(), String> {
        if let Some(n) = self.get("help") {
            if matches!(n.value, Value::Seq(_) | Value::Map(_)) {
                return Err(self.err(n.line, "`help` must be text"));
            }
            if n.value != Value::Null {
                p.insert("description".into(), json!(py_str(n)));
            }
        }
        if let Some(n) = self.get("placeholder") {
            p.insert("examples".into(), json!([to_json(n)]));
        }
        if self.get("secret").is_some_and(truthy) || listed_secret {
            p.insert("writeOnly".into(), json!(true));
            p.insert("format".into(), json!("password"));
        }
        Ok(())
    }

    /// `choices`: the schema key that lists them and its value. A list of plain values is an
    /// `enum`; a mapping of label to value, or a list with `[label, value]` pairs, is a `oneOf`
    /// of `{const, title}` (a plain item is its own label), so the labels reach the form. A Jinja
    /// string (choices rendered with the answers) cannot be listed: `x-choices-template`.
    fn choices(&self) -> Result<Option<(&'static str, Json)>, String> {
        let Some(n) = self.get("choices") else {
            return Ok(None);
        };
        match &n.value {
            Value::Seq(items) if items.iter().all(|i| !matches!(i.value, Value::Seq(_))) => Ok(
                Some(("enum", Json::Array(items.iter().map(to_json).collect()))),
            ),
            Value::Seq(items) => {
                let mut labelled = Vec::new();
                for item in items {
                    match &item.value {
                        Value::Seq(pair) if pair.len() == 2 => {
                            labelled.push(self.choice(&pair[0], &pair[1])?)
                        }
                        Value::Seq(_) => {
                            return Err(
                                self.err(item.line, "a choice list item must be [label, value]")
                            )
                        }
                        _ => labelled.push(json!({"const": to_json(item), "title": py_str(item)})),
                    }
                }
                Ok(Some(("oneOf", Json::Array(labelled))))
            }
            Value::Map(pairs) => Ok(Some((
                "oneOf",
                Json::Array(
                    pairs
                        .iter()
                        .map(|(k, v)| self.choice(k, v))
                        .collect::<Result<_, _>>()?,
                ),
            ))),
            Value::Str(s) => Ok(Some(("x-choices-template", json!(s)))),
            _ => Err(self.err(
                n.line,
                "`choices` must be a list or a mapping of label to value",
            )),
        }
    }

    /// One labelled choice: `{const, title}`; copier's extended choice, a mapping with `value`
    /// and a `validator` whose message disables the choice, adds `x-validator`.
    fn choice(&self, label: &Node, value: &Node) -> Result<Json, String> {
        let title = py_str(label);
        if !matches!(value.value, Value::Map(_)) {
            return Ok(json!({"const": to_json(value), "title": title}));
        }
        let Some(v) = value.get("value") else {
            return Err(self.err(
                value.line,
                &format!("choice `{title}` is a mapping without `value`"),
            ));
        };
        let mut c = json!({"const": to_json(v), "title": title});
        match value.get("validator").map(|n| &n.value) {
            None | Some(Value::Null) => {}
            Some(Value::Str(s)) if s.is_empty() => {}
            Some(Value::Str(s)) => c["x-validator"] = json!(s),
            Some(_) => {
                return Err(self.err(
                    value.line,
                    &format!("the `validator` of choice `{title}` must be a Jinja string"),
                ))
            }
        }
        Ok(c)
    }

    /// The type and the choices, or with `multiselect` an array of unique choices.
    fn shape(
        &self,
        p: &mut Map<String, Json>,
        json_type: Option<&str>,
        choices: Option<(&str, Json)>,
    ) -> Result<(), String> {
        match (self.get("multiselect").is_some_and(truthy), choices) {
            (true, None) => {
                let at = self.get("multiselect").map_or(self.line, |n| n.line);
                return Err(self.err(at, "`multiselect` needs `choices`"));
            }
            (true, Some(("x-choices-template", source))) => {
                p.insert("type".into(), json!("array"));
                p.insert("x-choices-template".into(), source);
                p.insert("uniqueItems".into(), json!(true));
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
        Ok(())
    }

    /// `default` (as `x-default-template` when it holds Jinja) and a non-empty `validator`.
    fn default_and_validator(&self, p: &mut Map<String, Json>) -> Result<(), String> {
        match self.default {
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
        if let Some(n) = self.get("validator") {
            match &n.value {
                Value::Str(s) if !s.is_empty() => {
                    p.insert("x-validator".into(), json!(s));
                }
                Value::Str(_) | Value::Null => {}
                _ => return Err(self.err(n.line, "`validator` must be a Jinja string")),
            }
        }
        Ok(())
    }
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
/// `names`: the naming rules of `hyperagent.yml`, added to their string questions as `pattern`,
/// `x-name-rule` and `x-pattern-message` (what a form says when the pattern fails).
pub(super) fn answers_schema(
    name: &str,
    file: &str,
    m: &Manifest,
    names: &[(String, NameRule)],
    c: &mut Check,
) -> String {
    let mut properties: Vec<(String, Json)> = Vec::new();
    let mut required = Vec::new();
    for e in m.entries.iter().filter(|e| !e.key.starts_with('_')) {
        match question(file, &e.key, e.line, &e.value, m.secret.contains(&e.key)) {
            Ok(Some((p, req))) => {
                if req {
                    required.push(e.key.clone());
                }
                let mut p = p;
                if let Some((_, rule)) = names.iter().find(|(q, _)| *q == e.key) {
                    name_rule(&mut p, *rule);
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

/// A naming rule on a string question: the rule's name, and the part a pattern can say with its
/// words, unless the template's own validator speaks for the question (its author's words come
/// first, and the bootstrapper applies both).
fn name_rule(p: &mut Json, rule: NameRule) {
    let Some(p) = p.as_object_mut() else { return };
    if p.get("type") != Some(&json!("string")) {
        return;
    }
    p.insert("x-name-rule".into(), json!(rule.name()));
    if p.contains_key("pattern") || p.contains_key("x-validator") {
        return;
    }
    let (pattern, message) = rule.pattern();
    p.insert("pattern".into(), json!(pattern));
    p.insert("x-pattern-message".into(), json!(message));
}

#[cfg(test)]
mod tests {
    use super::super::tests::{broken, schema, template, write};
    use super::super::TemplateStatus;
    use super::*;

    fn prop(manifest: &str) -> Json {
        schema(manifest)["properties"]["q"].clone()
    }

    fn schema_with_names(manifest: &str, hyperagent: &str) -> Json {
        let (_tmp, t) = template(manifest, &[("hyperagent.yml", hyperagent)]);
        assert_eq!(t.status, super::super::TemplateStatus::Ok, "{}", t.error);
        serde_json::from_str(&t.answers_schema_json).unwrap()
    }

    #[test]
    fn hyperagent_yml_naming_rules_become_patterns_a_form_can_check() {
        let (_tmp, t) = template(
            "project_name: {type: str}\npackage_name:\n  type: str\n  default: \"{{ project_name }}\"\ncount: 1\n",
            &[(
                "hyperagent.yml",
                "names:\n  project_name: python-distribution\n  package_name: python-package\n  count: python-package\n",
            )],
        );
        assert_eq!(t.status, super::super::TemplateStatus::Ok, "{}", t.error);
        let s: Json = serde_json::from_str(&t.answers_schema_json).unwrap();
        let package = &s["properties"]["package_name"];
        assert_eq!(package["x-name-rule"], "python-package");
        assert_eq!(package["pattern"], "^[a-z_][a-z0-9_]*$");
        assert!(package["x-pattern-message"]
            .as_str()
            .unwrap()
            .starts_with("a Python package name"));
        assert_eq!(
            s["properties"]["project_name"]["x-name-rule"],
            "python-distribution"
        );
        // Not a string question: nothing a pattern could say.
        assert!(s["properties"]["count"].get("pattern").is_none());
        // A question with its own validator keeps its author's words: the rule is named only.
        let s = schema_with_names(
            "a:\n  type: str\n  validator: \"{% if a == 'x' %}no x{% endif %}\"\n",
            "names:\n  a: python-package\n",
        );
        assert_eq!(s["properties"]["a"]["x-name-rule"], "python-package");
        assert!(s["properties"]["a"].get("pattern").is_none());
        let err = broken(
            "a: {type: str}\n",
            &[("hyperagent.yml", "names:\n  a: java-package\n")],
        );
        assert!(
            err.contains("hyperagent.yml:2: naming rule java-package is not known; use python-package or python-distribution"),
            "{err}"
        );
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
            prop("q:\n  type: str\n  choices: [a, b]\n"),
            json!({"type": "string", "enum": ["a", "b"]})
        );
        // A [label, value] pair keeps its label; a plain item beside it is its own.
        assert_eq!(
            prop("q:\n  type: str\n  choices: [a, [Label B, b]]\n"),
            json!({"type": "string", "oneOf": [{"const": "a", "title": "a"}, {"const": "b", "title": "Label B"}]})
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

    /// `tests/questions/corpus.json`, the contract the bootstrapper and the UI's form read too
    /// (`scripts/questions_corpus.py` fills its schemas from this code): each case's manifest
    /// gives exactly its `schema`, or is broken saying its `error`.
    #[test]
    fn the_questions_corpus_is_what_the_catalogue_makes() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/questions/corpus.json"
        );
        let corpus: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = corpus["cases"].as_array().unwrap();
        assert!(cases.len() >= 40, "{} cases", cases.len());
        let mut wrong = Vec::new();
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join(name);
            write(&dir, "copier.yml", case["manifest"].as_str().unwrap());
            if let Some(text) = case.get("hyperagent").and_then(Json::as_str) {
                write(&dir, "hyperagent.yml", text);
            }
            let t = super::super::load(name, &dir).unwrap();
            match (case.get("error").and_then(Json::as_str), case.get("schema")) {
                (Some(error), _) => {
                    if t.status != TemplateStatus::Broken || !t.error.contains(error) {
                        wrong.push(format!("{name}: wanted an error with {error:?}, got {t:?}"));
                    }
                }
                (None, Some(want)) => {
                    let got: Json =
                        serde_json::from_str(&t.answers_schema_json).unwrap_or_default();
                    if t.status != TemplateStatus::Ok || &got != want {
                        wrong.push(format!(
                            "{name}: {:?} {}\n  wanted {want}\n  got    {got}",
                            t.status, t.error
                        ));
                    }
                }
                (None, None) => wrong.push(format!("{name}: neither `schema` nor `error`")),
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
