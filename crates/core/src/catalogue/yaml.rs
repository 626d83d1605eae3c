//! Reads copier manifests the way copier does. Copier (and the bootstrapper agent) load them with
//! PyYAML's safe loader, which follows YAML 1.1: a plain `yes`, `no`, `on` or `off` is a boolean,
//! `010` is 8, `1_000` is 1000, `1:30` is 90, and `1e3` (no dot) is a string. A YAML 1.2 reader would
//! give other answers' defaults and types, so plain scalars are resolved here with PyYAML's rules,
//! on top of saphyr-parser's events (which also give every node its line).
//!
//! Supported besides plain YAML: anchors and aliases, merge keys (`<<`), the core tags (`!!str`,
//! `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq`, `!!map`), and copier's `!include PATTERN`,
//! which [`load_all_with`] hands to its caller (the files are the template's business). Refused
//! with the line: any other tag. Dates stay strings (PyYAML would make them dates).
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

/// A YAML value, in the shapes a manifest can hold.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null`, or nothing.
    Null,
    /// `true`, `yes`, `on`, ...
    Bool(bool),
    /// An integer that fits 64 bits.
    Int(i64),
    /// A float (also an integer too large for 64 bits).
    Float(f64),
    /// Anything else that is a scalar.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping in document order; a repeated key keeps its first place and its last value.
    Map(Vec<(Node, Node)>),
}

/// A value and the line (from 1) where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Its line.
    pub line: usize,
}

/// Why a document cannot be read, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    /// The line (from 1).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl Node {
    /// The string, when the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entry for `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Every document of `text`, in order (an empty document is `Null`).
#[cfg(test)]
pub fn load_all(text: &str) -> Result<Vec<Node>, Error> {
    load_all_with(text, &mut |_| {
        Err("YAML tag `!include` is not supported here (only plain YAML)".into())
    })
}

/// [`load_all`], with each `!include PATTERN` scalar replaced by a sequence of what `include`
/// returns for the pattern (copier's: the documents of the files it matches), or refused with
/// its message at that line.
pub fn load_all_with(
    text: &str,
    include: &mut dyn FnMut(&str) -> Result<Vec<Node>, String>,
) -> Result<Vec<Node>, Error> {
    let mut r = Reader {
        events: Parser::new_from_str(text),
        anchors: HashMap::new(),
        include,
    };
    let mut docs = Vec::new();
    loop {
        let (ev, span) = r.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => return Ok(docs),
            Event::DocumentStart(_) => {
                let (ev, span) = r.next()?;
                if matches!(ev, Event::DocumentEnd) {
                    docs.push(Node {
                        value: Value::Null,
                        line: line(&span),
                    });
                } else {
                    docs.push(r.node(ev, span)?);
                }
                r.anchors.clear();
            }
            other => {
                return Err(Error {
                    line: line(&span),
                    message: format!("unexpected {other:?}"),
                })
            }
        }
    }
}

fn line(span: &Span) -> usize {
    span.start.line()
}

struct Reader<'a, 'i> {
    events: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
    include: &'i mut dyn FnMut(&str) -> Result<Vec<Node>, String>,
}

impl<'a> Reader<'a, '_> {
    fn next(&mut self) -> Result<(Event<'a>, Span), Error> {
        match self.events.next() {
            Some(Ok(e)) => Ok(e),
            Some(Err(e)) => Err(Error {
                line: e.marker().line(),
                message: e.info().to_string(),
            }),
            None => Err(Error {
                line: 0,
                message: "unexpected end of the document".into(),
            }),
        }
    }

    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<Node, Error> {
        let at = line(&span);
        let (node, anchor) = match ev {
            Event::Alias(id) => {
                return self.anchors.get(&id).cloned().ok_or(Error {
                    line: at,
                    message: "an alias to an anchor that is not defined before it".into(),
                })
            }
            Event::Scalar(text, _, anchor, Some(tag))
                if tag.handle == "!" && tag.suffix == "include" =>
            {
                let value = Value::Seq(
                    (self.include)(&text).map_err(|message| Error { line: at, message })?,
                );
                (Node { value, line: at }, anchor)
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(&text, style, tag.as_deref())
                    .map_err(|message| Error { line: at, message })?;
                (Node { value, line: at }, anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                collection_tag(tag.as_deref(), "seq")
                    .map_err(|message| Error { line: at, message })?;
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, span)?);
                }
                (
                    Node {
                        value: Value::Seq(items),
                        line: at,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, tag) => {
                collection_tag(tag.as_deref(), "map")
                    .map_err(|message| Error { line: at, message })?;
                let mut explicit = Vec::new();
                let mut merged = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let merge_key =
                        matches!(&ev, Event::Scalar(t, ScalarStyle::Plain, _, None) if t == "<<");
                    let key = self.node(ev, span)?;
                    let (ev, span) = self.next()?;
                    let value = self.node(ev, span)?;
                    if merge_key {
                        merged.extend(merge_pairs(value)?);
                    } else {
                        explicit.push((key, value));
                    }
                }
                // PyYAML puts merged pairs first, so explicit keys override them.
                merged.extend(explicit);
                (
                    Node {
                        value: Value::Map(dedupe(merged)),
                        line: at,
                    },
                    anchor,
                )
            }
            other => {
                return Err(Error {
                    line: at,
                    message: format!("unexpected {other:?}"),
                })
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

/// The pairs a merge key (`<<: *a` or `<<: [*a, *b]`) brings in; earlier mappings win.
fn merge_pairs(value: Node) -> Result<Vec<(Node, Node)>, Error> {
    let bad = |line| Error {
        line,
        message: "a merge key (<<) takes a mapping or a list of mappings".into(),
    };
    match value.value {
        Value::Map(pairs) => Ok(pairs),
        Value::Seq(items) => {
            let mut out = Vec::new();
            for item in items.into_iter().rev() {
                match item.value {
                    Value::Map(pairs) => out.extend(pairs),
                    _ => return Err(bad(item.line)),
                }
            }
            Ok(out)
        }
        _ => Err(bad(value.line)),
    }
}

/// A repeated key keeps its first place and takes its last value (and that key's line), as a
/// Python dict does.
fn dedupe(pairs: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    let mut out: Vec<(Node, Node)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match out.iter_mut().find(|(ok, _)| ok.value == k.value) {
            Some(slot) => *slot = (k, v),
            None => out.push((k, v)),
        }
    }
    out
}

fn core(tag: &Tag) -> Option<&str> {
    tag.is_yaml_core_schema().then_some(tag.suffix.as_str())
}

fn collection_tag(tag: Option<&Tag>, kind: &str) -> Result<(), String> {
    match tag {
        None => Ok(()),
        Some(t) if core(t) == Some(kind) => Ok(()),
        Some(t) => Err(format!("YAML tag `{t}` is not supported (only plain YAML)")),
    }
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let Some(tag) = tag else {
        return Ok(if style == ScalarStyle::Plain {
            plain(text)
        } else {
            Value::Str(text.to_string())
        });
    };
    let refuse = || format!("YAML tag `{tag}` is not supported (only plain YAML)");
    // The non-specific tag `!` makes a string.
    if tag.handle == "!" && tag.suffix.is_empty() {
        return Ok(Value::Str(text.to_string()));
    }
    let wrong = |kind: &str| format!("`{text}` is not a valid {kind}");
    match core(tag).ok_or_else(refuse)? {
        "str" => Ok(Value::Str(text.to_string())),
        "null" => Ok(Value::Null),
        "bool" => match text.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" => Ok(Value::Bool(true)),
            "no" | "false" | "off" => Ok(Value::Bool(false)),
            _ => Err(wrong("!!bool")),
        },
        "int" => int11(text).ok_or_else(|| wrong("!!int")),
        "float" => float11(text)
            .or_else(|| text.replace('_', "").parse().ok())
            .map(Value::Float)
            .ok_or_else(|| wrong("!!float")),
        _ => Err(refuse()),
    }
}

/// PyYAML's implicit resolution of a plain scalar.
fn plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Value::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        _ => int11(s)
            .or_else(|| float11(s).map(Value::Float))
            .unwrap_or_else(|| Value::Str(s.to_string())),
    }
}

fn split_sign(s: &str) -> (f64, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ => (1.0, s),
    }
}

/// `[0-9][0-9_]*` (or, with `nonzero`, `[1-9][0-9_]*`).
fn digits_(s: &str, nonzero: bool) -> bool {
    let first = if nonzero { b'1' } else { b'0' };
    matches!(s.as_bytes().first(), Some(b) if (first..=b'9').contains(b))
        && s.bytes().all(|b| b == b'_' || b.is_ascii_digit())
}

/// `(:[0-5]?[0-9])+` after a first part: the base-60 parts, or None.
fn sexagesimal_tail(parts: &[&str]) -> bool {
    !parts.is_empty()
        && parts.iter().all(|p| {
            let b = p.as_bytes();
            match b.len() {
                1 => b[0].is_ascii_digit(),
                2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
                _ => false,
            }
        })
}

/// PyYAML's int: `0b1010`, `0x1f`, `017` (octal), `1_000`, `1:30` (base 60), with a sign.
fn int11(s: &str) -> Option<Value> {
    let (sign, body) = split_sign(s);
    let radix_digits = |t: &str, ok: fn(u8) -> bool| {
        (!t.is_empty() && t.bytes().all(|b| b == b'_' || ok(b))).then(|| t.replace('_', ""))
    };
    let (radix, digits) = if let Some(t) = body.strip_prefix("0b") {
        (2, radix_digits(t, |b| b == b'0' || b == b'1')?)
    } else if let Some(t) = body.strip_prefix("0x") {
        (16, radix_digits(t, |b| b.is_ascii_hexdigit())?)
    } else if body == "0" {
        (10, "0".to_string())
    } else if let Some(t) = body.strip_prefix('0') {
        let d = radix_digits(t, |b| (b'0'..=b'7').contains(&b))?;
        (8, if d.is_empty() { "0".into() } else { d })
    } else if digits_(body, true) {
        (10, body.replace('_', ""))
    } else {
        let parts: Vec<&str> = body.split(':').collect();
        if parts.len() < 2 || !digits_(parts[0], true) || !sexagesimal_tail(&parts[1..]) {
            return None;
        }
        let mut total: i128 = 0;
        for p in parts {
            total = total
                .checked_mul(60)?
                .checked_add(p.replace('_', "").parse::<i128>().ok()?)?;
        }
        return Some(int_value(if sign < 0.0 { -total } else { total }));
    };
    if digits.is_empty() {
        return None;
    }
    let n = i128::from_str_radix(&digits, radix).ok();
    match n {
        Some(n) => Some(int_value(if sign < 0.0 { -n } else { n })),
        // Larger than 128 bits: Python keeps it exact; a float is the closest JSON can say.
        None => Some(Value::Float(sign * f64::INFINITY)),
    }
}

fn int_value(n: i128) -> Value {
    i64::try_from(n)
        .map(Value::Int)
        .unwrap_or(Value::Float(n as f64))
}

/// PyYAML's float: `1.5`, `1.`, `.5`, `6.8523015e+5` (the exponent needs its sign), `1:30.5`
/// (base 60), `.inf`, `-.inf`, `.nan`. No dot, no float.
fn float11(s: &str) -> Option<f64> {
    if matches!(s, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN);
    }
    let (sign, body) = split_sign(s);
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return Some(sign * f64::INFINITY);
    }
    let plain = body.replace('_', "");
    // Base 60: [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
    if body.contains(':') {
        let parts: Vec<&str> = body.split(':').collect();
        let (last, middle) = parts[1..].split_last()?;
        let (whole, frac) = last.split_once('.')?;
        let frac_ok = frac.bytes().all(|b| b == b'_' || b.is_ascii_digit());
        let mut tail = middle.to_vec();
        tail.push(whole);
        if !digits_(parts[0], false) || !sexagesimal_tail(&tail) || !frac_ok {
            return None;
        }
        let mut total = 0.0;
        for p in plain.split(':') {
            total = total * 60.0 + p.parse::<f64>().ok()?;
        }
        return Some(sign * total);
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if let Some(e) = exponent {
        let b = e.as_bytes();
        if b.len() < 2 || !matches!(b[0], b'+' | b'-') || !b[1..].iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    let (whole, frac) = mantissa.split_once('.')?;
    let ok = if whole.is_empty() {
        // `\.[0-9][0-9_]*`: no sign allowed before it.
        body.len() == s.len() && digits_(frac, false)
    } else {
        digits_(whole, false) && frac.bytes().all(|b| b == b'_' || b.is_ascii_digit())
    };
    if !ok {
        return None;
    }
    plain.parse::<f64>().ok().map(|f| sign * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Value {
        load_all(text).unwrap().remove(0).value
    }

    fn scalar_of(text: &str) -> Value {
        match one(&format!("k: {text}\n")) {
            Value::Map(mut pairs) => pairs.remove(0).1.value,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_scalars_resolve_as_pyyaml_does() {
        for (text, want) in [
            ("yes", Value::Bool(true)),
            ("Off", Value::Bool(false)),
            ("y", Value::Str("y".into())),
            ("~", Value::Null),
            ("", Value::Null),
            ("010", Value::Int(8)),
            ("0x1f", Value::Int(31)),
            ("0b101", Value::Int(5)),
            ("1_000", Value::Int(1000)),
            ("-1:30", Value::Int(-90)),
            ("09", Value::Str("09".into())),
            ("1e3", Value::Str("1e3".into())),
            ("1.0e+3", Value::Float(1000.0)),
            ("1.", Value::Float(1.0)),
            (".5", Value::Float(0.5)),
            ("-.5", Value::Str("-.5".into())),
            ("1:30.5", Value::Float(90.5)),
            ("-.inf", Value::Float(f64::NEG_INFINITY)),
            ("2024-01-02", Value::Str("2024-01-02".into())),
            ("'yes'", Value::Str("yes".into())),
            ("\"1\"", Value::Str("1".into())),
            ("!!str 1", Value::Str("1".into())),
            ("!!int '7'", Value::Int(7)),
        ] {
            assert_eq!(scalar_of(text), want, "{text}");
        }
    }

    #[test]
    fn lines_anchors_merges_and_repeated_keys() {
        let text = "base: &b\n  x: 1\n  y: 2\nm:\n  <<: *b\n  y: 3\nk: 1\nk: 2\n";
        let doc = load_all(text).unwrap().remove(0);
        let m = doc.get("m").unwrap();
        assert_eq!(m.get("x").unwrap().value, Value::Int(1));
        assert_eq!(m.get("y").unwrap().value, Value::Int(3));
        assert_eq!(doc.get("k").unwrap().value, Value::Int(2));
        assert_eq!(doc.get("k").unwrap().line, 8);
        let Value::Map(pairs) = &doc.value else {
            panic!()
        };
        let keys: Vec<_> = pairs.iter().map(|(k, _)| k.as_str().unwrap()).collect();
        assert_eq!(keys, ["base", "m", "k"]);
        assert_eq!(pairs[1].0.line, 4);
    }

    #[test]
    fn errors_name_their_line() {
        let err = load_all("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
        let err = load_all("a: 1\nb: !include other.yml\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("!include"), "{err:?}");
    }

    #[test]
    fn several_documents() {
        let docs = load_all("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].get("b").unwrap().line, 3);
    }
}
