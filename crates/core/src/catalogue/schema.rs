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
        ] {
            if let Some(Err((l, m))) = n.and_then(Node::as_str).map(parse_jinja) {
                let at = n.map_or(self.line, |n| n.line);
                return Err(self.err(at, &format!("`{key}` is not valid Jinja (line {l}): {m}")));
            }
        }
        Ok(())
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

    /// `choices`: the schema key that lists them (`enum` or `oneOf`) and the list.
    fn choices(&self) -> Result<Option<(&'static str, Json)>, String> {
        let Some(n) = self.get("choices") else {
            return Ok(None);
        };
        match &n.value {
            Value::Seq(items) => {
                let mut values = Vec::new();
                for item in items {
                    match &item.value {
                        Value::Seq(pair) if pair.len() == 2 => values.push(to_json(&pair[1])),
                        Value::Seq(_) => {
                            return Err(
                                self.err(item.line, "a choice list item must be [label, value]")
                            )
                        }
                        _ => values.push(to_json(item)),
                    }
                }
                Ok(Some(("enum", Json::Array(values))))
            }
            Value::Map(pairs) => Ok(Some((
                "oneOf",
                Json::Array(
                    pairs
                        .iter()
                        .map(|(k, v)| json!({"const": to_json(v), "title": py_str(k)}))
                        .collect(),
                ),
            ))),
            _ => Err(self.err(
                n.line,
                "`choices` must be a list or a mapping of label to value",
            )),
        }
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
    use super::super::tests::{broken, schema, template};
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
}
