//! Task payload schemas: compiled once when an agent registers, checked on every submission, with
//! errors that name the place in the payload and the rule it broke.
use std::sync::Arc;

use serde_json::Value;

use crate::error::{Error, Result};

/// How many schema violations one error message lists.
const MAX_REPORTED: usize = 5;

/// A compiled payload schema and its source text.
#[derive(Clone)]
pub struct Compiled {
    /// The JSON Schema document as the agent sent it.
    pub source: Arc<str>,
    /// The required property that takes the folder the task works on, as an absolute path (see
    /// [`folder_property`]).
    pub folder_property: Option<String>,
    validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("source", &self.source)
            .finish()
    }
}

impl Compiled {
    /// Parses and compiles a schema; the error says why it is not a usable JSON Schema.
    pub fn new(source: &str) -> std::result::Result<Compiled, String> {
        let doc: Value = serde_json::from_str(source)
            .map_err(|e| format!("payload schema is not valid JSON: {e}"))?;
        let validator = jsonschema::validator_for(&doc)
            .map_err(|e| format!("payload schema is not a valid JSON Schema: {e}"))?;
        Ok(Compiled {
            source: source.into(),
            folder_property: folder_property(&doc),
            validator: Arc::new(validator),
        })
    }

    /// Whether `other` is this very schema (not a copy of its text): what was checked against
    /// one is checked against the other.
    pub fn same(&self, other: &Compiled) -> bool {
        Arc::ptr_eq(&self.validator, &other.validator)
    }

    /// Checks a payload.
    pub fn validate(&self, task_type: &str, payload: &Value) -> Result<()> {
        let errors: Vec<String> = self
            .validator
            .iter_errors(payload)
            .take(MAX_REPORTED)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("{}: {e}", if at.is_empty() { "/" } else { at.as_str() })
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "payload for task type `{task_type}` does not match its schema: {}",
                errors.join("; ")
            )))
        }
    }
}

/// The property of a payload that takes the folder its task works on: the first required string
/// property whose pattern asks for an absolute path (`"pattern": "^/..."`, e.g. `code.change`'s
/// `repository`). A task type that takes its folder so works on it from a folder of its own (its
/// own clone, worktree or scratch files there); a plan's step hands it the folder this way.
pub fn folder_property(schema: &Value) -> Option<String> {
    let props = schema.get("properties")?.as_object()?;
    let required = schema.get("required")?.as_array()?;
    required.iter().filter_map(Value::as_str).find_map(|name| {
        let p = props.get(name)?;
        let string = p.get("type").and_then(Value::as_str) == Some("string");
        let absolute = p
            .get("pattern")
            .and_then(Value::as_str)
            .is_some_and(|pat| pat.starts_with("^/"));
        (string && absolute).then(|| name.to_string())
    })
}

/// Parses a payload, naming line and column of a syntax error. An empty payload means `{}`.
pub fn parse_payload(json: &str) -> Result<Value> {
    if json.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_str(json)
        .map_err(|e| Error::InvalidInput(format!("payload is not valid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"type":"object","properties":{"seconds":{"type":"number","minimum":0}},"required":["seconds"],"additionalProperties":false}"#;

    #[test]
    fn a_valid_payload_passes() {
        let c = Compiled::new(SCHEMA).unwrap();
        c.validate("echo.sleep", &serde_json::json!({"seconds": 1}))
            .unwrap();
    }

    #[test]
    fn violations_name_the_place_and_the_rule() {
        let c = Compiled::new(SCHEMA).unwrap();
        let err = c
            .validate("echo.sleep", &serde_json::json!({"seconds": -1}))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "payload for task type `echo.sleep` does not match its schema: /seconds: "
            ),
            "{err}"
        );
        assert!(err.contains("minimum of 0"), "{err}");
        let err = c
            .validate("echo.sleep", &serde_json::json!({"sec": 1}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"seconds\" is a required property"), "{err}");
    }

    #[test]
    fn broken_schemas_and_payloads_are_explained() {
        assert!(Compiled::new("{").unwrap_err().contains("not valid JSON"));
        assert!(Compiled::new(r#"{"type": 12}"#)
            .unwrap_err()
            .contains("not a valid JSON Schema"));
        let err = parse_payload("{\"a\": }").unwrap_err().to_string();
        assert!(
            err.contains("payload is not valid JSON") && err.contains("line 1 column 7"),
            "{err}"
        );
        assert_eq!(parse_payload("  ").unwrap(), serde_json::json!({}));
    }

    #[test]
    fn the_folder_property_is_a_required_string_that_must_be_an_absolute_path() {
        let of = |s: serde_json::Value| folder_property(&s);
        let repo = serde_json::json!({"type": "string", "pattern": "^/"});
        assert_eq!(
            of(
                serde_json::json!({"properties": {"base": {"type": "string"}, "repository": repo},
                "required": ["base", "repository"]})
            ),
            Some("repository".into())
        );
        // Optional, another type, or no absolute pattern: none.
        assert_eq!(
            of(serde_json::json!({"properties": {"repository": repo}})),
            None
        );
        assert_eq!(
            of(
                serde_json::json!({"properties": {"p": {"type": "array", "pattern": "^/"}},
                "required": ["p"]})
            ),
            None
        );
        assert_eq!(
            of(
                serde_json::json!({"properties": {"p": {"type": "string", "pattern": "^v"}},
                "required": ["p"]})
            ),
            None
        );
        assert_eq!(Compiled::new(SCHEMA).unwrap().folder_property, None);
    }
}
