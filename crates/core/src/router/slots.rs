//! A step's payload from its words, driven by the task type's JSON Schema: each property is
//! filled only when the words state it, by what the schema says the property is — a version
//! pattern, an enum (matched through misspellings and abbreviations), a boolean named by its
//! words, a number with its unit, a name after "called", a ref after "against". The template
//! catalogue's answers schemas fill `answers` the same way.
use serde_json::{Map, Value};

use super::text::{self, Kind, Token};

/// Words before a folder or project name ("in shop", "for the project billing").
const BEFORE_PLACE: &[&str] = &["in", "for", "of", "on", "at", "inside", "under", "from"];
/// Words that name a place's kind and come between the preposition and the name.
pub const PLACE_NOUNS: &[&str] = &[
    "project",
    "repo",
    "repository",
    "folder",
    "directory",
    "app",
    "codebase",
    "service",
];
/// Words between a preposition and a place's name that are not its name ("in the existing
/// folder forum").
const PLACE_WORDS: &[&str] = &[
    "the", "my", "our", "this", "that", "existing", "new", "same",
];
/// Words before a new project's name.
const BEFORE_NAME: &[&str] = &["called", "named", "name", "titled"];
/// Words before a git ref.
const BEFORE_REF: &[&str] = &[
    "against", "since", "vs", "versus", "compared", "relative", "onto", "base",
];
/// Words that follow a preposition in a set phrase, never a folder's name ("as well", "from
/// scratch", "thanks in advance").
const IDIOMS: &[&str] = &[
    "well",
    "scratch",
    "advance",
    "general",
    "particular",
    "parallel",
    "place",
    "time",
    "full",
    "total",
    "short",
    "detail",
    "depth",
    "addition",
    "fact",
    "mind",
    "turn",
    "sequence",
    "bulk",
    "order",
    "case",
    "future",
    "meantime",
    "progress",
    "front",
    "now",
    "once",
    "all",
    "least",
    "most",
    "first",
    "last",
    "mine",
    "me",
    "us",
    "them",
    "hand",
    "return",
    "line",
    "sync",
];
/// Words that negate the boolean after them.
const NEGATIONS: &[&str] = &[
    "no",
    "not",
    "without",
    "dont",
    "don't",
    "skip",
    "skipping",
    "never",
    "disable",
    "except",
    "excluding",
    "exclude",
    "avoid",
    "w/o",
    "nor",
    "neither",
];
/// Words that begin another clause: a negation before one of them says nothing of what follows
/// ("no docker but with the history").
const CLAUSE_WORDS: &[&str] = &["but", "and", "then", "with", "however", "also", "plus"];
/// How far back, in words, a negation reaches within its clause ("don't look at the git
/// history").
const NEGATION_REACH: usize = 6;

/// Whether a negation stands before token `at` in the same clause, within [`NEGATION_REACH`]
/// words: none past a punctuation mark or a word that begins another clause.
fn negated_before(tokens: &[Token], at: usize) -> bool {
    for i in (at.saturating_sub(NEGATION_REACH)..at).rev() {
        let t = &tokens[i];
        if t.punct.starts_with([',', ';', '.', '!', '?', ':']) {
            return false;
        }
        if NEGATIONS.contains(&t.norm.as_str()) {
            return true;
        }
        if CLAUSE_WORDS.contains(&t.norm.as_str()) {
            return false;
        }
    }
    false
}
/// Seconds in a unit of time.
const UNITS: &[(&str, f64)] = &[
    ("s", 1.0),
    ("sec", 1.0),
    ("secs", 1.0),
    ("second", 1.0),
    ("seconds", 1.0),
    ("m", 60.0),
    ("min", 60.0),
    ("mins", 60.0),
    ("minute", 60.0),
    ("minutes", 60.0),
    ("h", 3600.0),
    ("hour", 3600.0),
    ("hours", 3600.0),
];
/// Seconds in `word` as a unit of time: one of [`UNITS`], or a long one misspelt ("secnds").
fn seconds_in(word: &str) -> Option<f64> {
    UNITS
        .iter()
        .find(|(u, _)| *u == word)
        .or_else(|| {
            (word.chars().count() >= 5)
                .then(|| {
                    UNITS
                        .iter()
                        .find(|(u, _)| u.len() >= 5 && text::edits(word, u, 1) <= 1)
                })
                .flatten()
        })
        .map(|(_, m)| *m)
}

/// Count words.
const COUNTS: &[(&str, f64)] = &[
    ("once", 1.0),
    ("twice", 2.0),
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("couple", 2.0),
    ("few", 3.0),
];

/// Whether `word` (lower case) reads as `value` (an enum value): the same, a misspelling, a
/// prefix either way ("postgre", "postgresql"), or an abbreviation of its letters ("pg").
pub fn reads_as(word: &str, value: &str) -> bool {
    let value = value.to_lowercase();
    if word == value {
        return true;
    }
    // A version or a number is what it says: "3.12" is no misspelling of "3.11".
    if word.chars().any(|c| c.is_ascii_digit()) || value.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let (wn, vn) = (word.chars().count(), value.chars().count());
    if wn >= 5 && vn >= 5 && (value.starts_with(word) || word.starts_with(&value)) {
        return true;
    }
    if wn >= 4 && vn >= 4 && text::edits(word, &value, 2) <= if vn >= 7 { 2 } else { 1 } {
        return true;
    }
    // An abbreviation ("pg"; "deps" of a long word it opens like), never a little word that
    // happens to fit ("in" of "inline").
    // A four-letter one skips letters of the value ("deps"), never a plain cut of it ("post").
    let opens_alike = |n: usize| word.chars().take(n).eq(value.chars().take(n));
    let four = wn == 4 && vn >= 8 && opens_alike(3) && !value.starts_with(word);
    if ((2..=3).contains(&wn) || four) && vn > wn && !text::is_stop(word) && opens_alike(1) {
        let mut it = value.chars();
        return word.chars().all(|c| it.any(|v| v == c));
    }
    false
}

/// Words skipped between any lead word and what it leads to ("against the branch main").
const BETWEEN: &[&str] = &["the", "is", "to", "branch"];

/// The word after the first of `before` in `tokens` (skipping `skip` words), if any.
fn after<'a>(tokens: &'a [Token], before: &[&str], skip: &[&str]) -> Option<&'a Token> {
    for (i, t) in tokens.iter().enumerate() {
        if before.contains(&t.norm.as_str()) {
            let mut j = i + 1;
            while j < tokens.len()
                && (skip.contains(&tokens[j].norm.as_str())
                    || BETWEEN.contains(&tokens[j].norm.as_str()))
            {
                j += 1;
            }
            if let Some(t) = tokens.get(j) {
                return Some(t);
            }
        }
    }
    None
}

/// A plausible name: a word (or quoted phrase) that is not a stop word and starts with a letter.
fn is_name(t: &Token, not_names: &[String]) -> bool {
    matches!(t.kind, Kind::Word | Kind::Quoted)
        && python_version(std::slice::from_ref(t)).is_none()
        && t.norm.chars().next().is_some_and(|c| c.is_alphabetic())
        && !text::is_stop(&t.norm)
        && !not_names.iter().any(|n| {
            let stem = text::stem(&t.norm);
            *n == stem
                || *n == t.norm
                // a misspelling of one ("editr", "djang") is not a name either
                || (n.chars().count() >= 5 && text::edits(&stem, n, 1) <= 1)
        })
}

/// The names a phrasing gives as examples: its folder ("run the tests in shop") and what it
/// calls a project ("called shop"). They are example values, not words that ask for anything.
pub fn names_in(tokens: &[Token], not_names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = workspace(tokens, not_names).into_iter().collect();
    for w in tokens.windows(2) {
        if BEFORE_NAME.contains(&w[0].norm.as_str()) && is_name(&w[1], not_names) {
            out.push(w[1].norm.trim_end_matches("'s").to_string());
        }
    }
    out.iter().map(|n| text::stem(&n.to_lowercase())).collect()
}

/// The folder the words name: a path, or a name after "in"/"for"/... (with "the project" and
/// the like between), or `None`. `not_names` are words that are never a folder's name (the
/// intents' own words, template names).
pub fn workspace(tokens: &[Token], not_names: &[String]) -> Option<String> {
    if let Some(i) = (0..tokens.len()).find(|&i| folder_path(tokens, i)) {
        return Some(tokens[i].raw.clone());
    }
    // "the blog project", "billing's tests"
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 && PLACE_NOUNS.contains(&t.norm.as_str()) {
            let n = &tokens[i - 1];
            if is_name(n, not_names)
                && !BEFORE_PLACE.contains(&n.norm.as_str())
                && !PLACE_WORDS.contains(&n.norm.as_str())
                && !IDIOMS.contains(&n.norm.as_str())
                && n.kind == Kind::Word
            {
                return Some(n.raw.clone());
            }
        }
    }
    for (i, t) in tokens.iter().enumerate() {
        if !BEFORE_PLACE.contains(&t.norm.as_str()) && !PLACE_NOUNS.contains(&t.norm.as_str()) {
            continue;
        }
        let mut j = i + 1;
        while j < tokens.len()
            && (PLACE_NOUNS.contains(&tokens[j].norm.as_str())
                || PLACE_WORDS.contains(&tokens[j].norm.as_str()))
        {
            j += 1;
        }
        if let Some(n) = tokens.get(j) {
            let word = n.norm.as_str();
            if is_name(n, not_names)
                && !BEFORE_PLACE.contains(&word)
                && !BEFORE_NAME.contains(&word)
                && !BEFORE_REF.contains(&word)
                && !IDIOMS.contains(&word)
                && n.kind != Kind::Quoted
            {
                return Some(n.raw.trim_end_matches("'s").to_string());
            }
        }
    }
    None
}

/// Words beside which a path is a web address's ("the /health endpoint", "route /users").
const WEB_NOUNS: &[&str] = &[
    "endpoint",
    "endpoints",
    "route",
    "routes",
    "url",
    "urls",
    "page",
];

/// Whether token `i` is a path naming a folder: not a git ref ("since origin/develop"), not a test
/// file or node id ("tests/x.py", "x.py::test_y"), not a web address ("a /health endpoint").
fn folder_path(tokens: &[Token], i: usize) -> bool {
    let t = &tokens[i];
    let is_ref = i > 0 && BEFORE_REF.contains(&tokens[i - 1].norm.as_str());
    let beside = |j: Option<usize>| {
        j.and_then(|j| tokens.get(j))
            .is_some_and(|n| WEB_NOUNS.contains(&n.norm.as_str()))
    };
    let web = t.raw.starts_with('/') && (beside(i.checked_sub(1)) || beside(Some(i + 1)));
    t.kind == Kind::Path
        && !is_ref
        && !web
        && !t.norm.ends_with(".py")
        && !t.norm.contains("::")
        && super::intents::file_word(t).is_none()
}

/// A word as a folder's name would be compared: "Shop's" -> "shop".
fn folder_word(t: &Token) -> String {
    t.norm.trim_end_matches("'s").to_lowercase()
}

/// The folder of the workspace root `t` names, spelt as on disk.
pub fn folder_named<'f>(t: &Token, folders: &'f [String]) -> Option<&'f String> {
    let w = folder_word(t);
    folders.iter().find(|f| f.to_lowercase() == w)
}

/// A folder beneath the workspace root that the words name ("tests for shop", "shop's deps"),
/// spelt as on disk: a word that is no intent's word first, then any; failing those, a misspelling
/// of one (one edit, from 5 letters: "paymnts").
pub fn known_folder(tokens: &[Token], folders: &[String], not_names: &[String]) -> Option<String> {
    let words: Vec<String> = tokens
        .iter()
        .filter(|t| matches!(t.kind, Kind::Word | Kind::Quoted))
        .map(folder_word)
        .collect();
    let exact = |w: &String| folders.iter().find(|f| f.to_lowercase() == *w);
    let plain = |w: &&String| !not_names.contains(&text::stem(w));
    words
        .iter()
        .filter(plain)
        .find_map(exact)
        .or_else(|| words.iter().find_map(exact))
        .or_else(|| {
            words.iter().filter(plain).find_map(|w| {
                (w.chars().count() >= 5)
                    .then(|| {
                        folders
                            .iter()
                            .find(|f| text::edits(w, &f.to_lowercase(), 1) <= 1)
                    })
                    .flatten()
            })
        })
        .cloned()
}

/// Every folder the words name, in order: paths (not refs, not test files) and folders of the
/// workspace root ("index shop and billing" -> shop, billing).
pub fn all_folders(tokens: &[Token], folders: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let found = match t.kind {
            Kind::Path if folder_path(tokens, i) => Some(t.raw.clone()),
            Kind::Word | Kind::Quoted => folder_named(t, folders).cloned(),
            _ => None,
        };
        if let Some(f) = found.filter(|f| !out.contains(f)) {
            out.push(f);
        }
    }
    out
}

/// The folder a terse request names bare ("tests shop", "audit crm"): its first word that is no
/// intent's word, nor a misspelling of one (`common`: every word of the phrasings).
pub fn bare_name(
    tokens: &[Token],
    not_names: &[String],
    common: &[String],
    terse: usize,
) -> Option<String> {
    if tokens.len() > terse {
        return None;
    }
    tokens
        .iter()
        .find(|t| {
            t.kind == Kind::Word
                && t.norm.chars().count() >= 2
                && !t.norm.starts_with('-')
                && is_name(t, not_names)
                && !common.iter().any(|c| {
                    // A misspelling: one edit in a word of 5 or more letters, two from 7; a short
                    // name is not a misspelling of a short word ("shop" of "show").
                    let s = text::stem(&t.norm);
                    let n = c.chars().count();
                    *c == s
                        || (n >= 5 && text::edits(&s, c, 1) <= 1)
                        || (n >= 7 && text::edits(&s, c, 2) <= 2)
                })
        })
        .map(|t| t.raw.clone())
}

/// A new project's name: the word after "called" or "named" (misspelt too: "caled", "nmaed";
/// "it call" as a learner writes it), else the one quoted phrase that reads as a name ("the
/// FastAPI project \"kasir\""; a phrase of several words is a message, not a name).
pub fn project_name(tokens: &[Token], not_names: &[String]) -> Option<String> {
    let lead = |t: &Token| {
        let w = t.norm.as_str();
        t.kind == Kind::Word
            && (BEFORE_NAME.contains(&w)
                || w == "call"
                || BEFORE_NAME
                    .iter()
                    .any(|b| b.len() >= 5 && text::edits(w, b, 1) <= 1))
    };
    let skip = |t: &Token| ["it", "is", "as", "the", "be"].contains(&t.norm.as_str());
    for (i, t) in tokens.iter().enumerate() {
        if lead(t) {
            let next = tokens[i + 1..].iter().find(|n| !skip(n));
            if let Some(n) = next.filter(|n| is_name(n, not_names)) {
                return Some(n.raw.clone());
            }
        }
    }
    let named: Vec<&Token> = quoted(tokens)
        .into_iter()
        .filter(|t| {
            !t.raw.contains(char::is_whitespace)
                && t.raw
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && is_name(t, not_names)
        })
        .collect();
    match named[..] {
        [one] => Some(one.raw.clone()),
        _ => None,
    }
}

/// At most this many tokens make a terse request, whose folder may be named bare.
pub const TERSE_TOKENS: usize = 5;

/// A Python version the words name ("python 3.11", "python-3.11", "py3.12", "3.12").
fn python_version(tokens: &[Token]) -> Option<String> {
    for t in tokens {
        let digits: String = t
            .norm
            .trim_start_matches(|c: char| c.is_alphabetic() || c == '-' || c == 'v')
            .to_string();
        let mut parts = digits.split('.');
        if let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) {
            if a == "3" && !b.is_empty() && b.len() <= 2 && b.chars().all(|c| c.is_ascii_digit()) {
                return Some(format!("3.{b}"));
            }
        }
    }
    None
}

/// A number before a unit, or a count word, near the words of `name` (within a few tokens).
fn number_near(tokens: &[Token], name: &[String], seconds: bool) -> Option<f64> {
    let near: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| name.iter().any(|n| text::stem(&t.norm) == *n))
        .map(|(i, _)| i)
        .collect();
    if near.is_empty() {
        return None;
    }
    // Nearest first, and after the name before before it ("timeout 2 minutes", "3 reruns").
    let mut order: Vec<(usize, usize)> = (0..tokens.len())
        .filter_map(|i| {
            let d = near
                .iter()
                .map(|&n| if i > n { 2 * (i - n) - 1 } else { 2 * (n - i) })
                .min()?;
            (d > 0 && d <= 8).then_some((d, i))
        })
        .collect();
    order.sort_unstable();
    for (_, i) in order {
        let t = &tokens[i];
        let value = if t.kind == Kind::Number {
            t.norm.trim_start_matches('v').parse::<f64>().ok()
        } else if let Some((_, v)) = COUNTS.iter().find(|(w, _)| *w == t.norm) {
            Some(*v)
        } else {
            // "30s", "2min"
            let split = t
                .norm
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(t.norm.len());
            let (n, unit) = t.norm.split_at(split);
            match (n.parse::<f64>(), seconds_in(unit)) {
                (Ok(n), Some(mul)) if seconds => return Some(n * mul),
                _ => None,
            }
        };
        if let Some(v) = value {
            let unit = tokens.get(i + 1).and_then(|u| seconds_in(&u.norm));
            return Some(match (seconds, unit) {
                (true, Some(mul)) => v * mul,
                _ => v,
            });
        }
    }
    None
}

/// The words of a property's name ("fail_fast" -> ["fail", "fast"]), stemmed.
fn name_words(name: &str) -> Vec<String> {
    name.split(['_', '-'])
        .filter(|w| !w.is_empty() && !matches!(*w, "max" | "min" | "include" | "apply"))
        .map(text::stem)
        .collect()
}

/// The option (`{const, title}`) the words name: by its value ("postgres", "pg"), or by every
/// word of its title ("No database" for "without a database").
fn choice(tokens: &[Token], options: &[Value]) -> Option<Value> {
    let stems: Vec<String> = tokens
        .iter()
        .map(|t| {
            if NEGATIONS.contains(&t.norm.as_str()) {
                "no".to_string()
            } else {
                text::stem(&t.norm)
            }
        })
        .collect();
    let by_title = options.iter().find(|o| {
        let title = o
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase();
        let words: Vec<String> = title
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty() && (*w == "no" || !text::is_stop(w)))
            .map(text::stem)
            .collect();
        words.len() >= 2 && words.iter().all(|w| stems.contains(w))
    });
    if let Some(o) = by_title {
        return o.get("const").cloned();
    }
    tokens.iter().find_map(|t| {
        options.iter().find_map(|o| {
            let c = o.get("const")?;
            let title = o.get("title").and_then(Value::as_str).unwrap_or("");
            let hit = c.as_str().is_some_and(|v| reads_as(&t.norm, v))
                || (!title.contains(' ') && reads_as(&t.norm, title));
            hit.then(|| c.clone())
        })
    })
}

/// Whether the words name this boolean (all its name's words appear), and whether negated.
fn boolean(tokens: &[Token], name: &str, prop: &Value) -> Option<bool> {
    if let Some(at) = tokens.iter().position(|t| flags(prop).contains(&t.norm)) {
        let negated =
            (at.saturating_sub(2)..at).any(|i| NEGATIONS.contains(&tokens[i].norm.as_str()));
        return Some(!negated);
    }
    let words: Vec<&str> = name
        .split(['_', '-'])
        .filter(|w| !w.is_empty() && !matches!(*w, "max" | "min" | "include" | "apply"))
        .collect();
    if words.is_empty() {
        return None;
    }
    // A word of the name as written, stemmed, misspelt ("ofline", "dockr"), or inside a longer
    // word ("post-check" holds "check"; "Dockerfile" is about "docker").
    let names = |t: &Token, w: &str| {
        let part = t.norm.rsplit('-').next().unwrap_or(&t.norm);
        let long = w.chars().count() >= 5;
        // Stemmed alike ("fix" and "fixes", "failing" and "fail"), but a word ending in -er
        // keeps it ("dock" is not "docker").
        let stem = |x: &str| {
            if x.ends_with("er") || x.ends_with("ers") {
                x.to_string()
            } else {
                text::stem(x)
            }
        };
        stem(part) == stem(w)
            || (long && part.starts_with(w))
            // "overwriting" for "overwrite"; a six-letter name is too short to tell an ending
            // from another word ("checkout" is not "checks").
            || (w.chars().count() >= 7 && endings_apart(part, w))
            || (long && t.kind == Kind::Word && text::edits(part, w, 1) <= 1)
    };
    let first = words
        .iter()
        .map(|w| tokens.iter().position(|t| names(t, w)));
    let (at, last) = match first.collect::<Option<Vec<_>>>() {
        Some(at) => (*at.iter().min()?, *at.iter().max()?),
        None => return described(tokens, prop),
    };
    let negated = negated_before(tokens, at) || said_no_after(tokens, last);
    Some(!negated)
}

/// Whether a "no" or "not" closes the clause a few words after token `i` ("but the history of
/// git no.", "docker not"): the negation after the thing, as some people put it.
fn said_no_after(tokens: &[Token], i: usize) -> bool {
    (i + 1..tokens.len().min(i + 4)).any(|j| {
        let t = &tokens[j];
        let closes = j + 1 == tokens.len() || !t.punct.is_empty();
        matches!(t.norm.as_str(), "no" | "not") && closes
    })
}

/// Whether the words say what one clause of a boolean's description says ("stop at the first
/// failure" for "Stop at the first failure (pytest -x).", "without the network"): every word of
/// a clause of two (a negation counts: it is what the clause says), all but one of a longer
/// one, each as written, stemmed or misspelt, within a few words of each other. A clause of one
/// word says too little to go on.
fn described(tokens: &[Token], prop: &Value) -> Option<bool> {
    let description = prop.get("description").and_then(Value::as_str)?;
    let sentence = description.split(". ").next().unwrap_or(description);
    for clause in sentence.split([',', ';', ':', '(', ')']) {
        let words: Vec<String> = text::tokens(clause)
            .iter()
            .filter(|t| t.kind == Kind::Word)
            .map(|t| t.norm.clone())
            .filter(|w| NEGATIONS.contains(&w.as_str()) || !text::is_stop(w))
            .collect();
        if words.len() < 2 {
            continue;
        }
        let needed = if words.len() >= 3 {
            words.len() - 1
        } else {
            words.len()
        };
        let span = words.len() + 3;
        let said = (0..tokens.len()).find(|&i| {
            let near = &tokens[i..(i + span).min(tokens.len())];
            let found = words
                .iter()
                .filter(|w| near.iter().any(|t| same_word(&t.norm, w)))
                .count();
            found >= needed
        });
        if let Some(i) = said {
            // The request's own negation of what the clause says ("don't stop at the first
            // failure"), unless the clause is itself a negation ("without the network").
            let first = (i..tokens.len())
                .find(|&j| words.iter().any(|w| same_word(&tokens[j].norm, w)))
                .unwrap_or(i);
            let clause_negates = words.iter().any(|w| NEGATIONS.contains(&w.as_str()));
            return Some(clause_negates || !negated_before(tokens, first));
        }
    }
    None
}

/// The same word: as written, stemmed alike, one slip in a word of five letters or more, or
/// two long words apart only in their endings ("overwriting", "overwrite").
fn same_word(a: &str, b: &str) -> bool {
    if a == b || text::stem(a) == text::stem(b) {
        return true;
    }
    let (na, nb) = (a.chars().count(), b.chars().count());
    if na.min(nb) >= 5 && text::edits(a, b, 1) <= 1 {
        return true;
    }
    endings_apart(a, b)
}

/// Two long words apart only in their endings ("overwriting", "overwrite").
fn endings_apart(a: &str, b: &str) -> bool {
    let shorter = a.chars().count().min(b.chars().count());
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    shorter >= 6 && common + 1 >= shorter
}

/// The command-line flags a property's description names ("(pytest -k)" -> "-k").
fn flags(prop: &Value) -> Vec<String> {
    prop.get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| {
            w.len() >= 2
                && w.starts_with('-')
                && w[1..].chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        .map(str::to_lowercase)
        .collect()
}

/// The quoted phrases, in order.
fn quoted(tokens: &[Token]) -> Vec<&Token> {
    tokens.iter().filter(|t| t.kind == Kind::Quoted).collect()
}

/// A free-text property: the phrase after one of its flags or the words of its name ("-k
/// checkout", "matching \"login\"", "marked integration"), or, for a message, the quoted phrase.
fn free_text(tokens: &[Token], name: &str, prop: &Value) -> Option<String> {
    let triggers = flags(prop);
    let words = name_words(name);
    for (i, t) in tokens.iter().enumerate() {
        let s = text::stem(&t.norm);
        let hit = triggers.contains(&t.norm)
            || words
                .iter()
                .any(|w| *w == s || (w.len() >= 5 && s.len() >= 5 && w[..5] == s[..5]));
        if !hit {
            continue;
        }
        let rest: Vec<&Token> = tokens[i + 1..]
            .iter()
            .skip_while(|t| matches!(t.norm.as_str(), "with" | "the" | "as" | "is" | "by" | "to"))
            .collect();
        if let Some(q) = rest.first().filter(|t| t.kind == Kind::Quoted) {
            return Some(q.raw.clone());
        }
        if let Some(t) = rest
            .first()
            .filter(|t| t.kind == Kind::Word && !text::is_stop(&t.norm))
        {
            let mut phrase = t.raw.clone();
            // "not slow", "db and not slow"
            if t.norm == "not" {
                if let Some(n) = rest.get(1) {
                    phrase = format!("not {}", n.raw);
                }
            } else if is_expression(prop) && negated_before(tokens, i) {
                // "except those marked integration": the expression's own negation.
                phrase = format!("not {phrase}");
            }
            return Some(phrase);
        }
    }
    // "skip the slow ones", "skipping slow tests": the tests left out by a marker.
    if name == "markers" {
        if let Some(w) = left_out(tokens) {
            return Some(format!("not {w}"));
        }
    }
    // A message is what the person quoted, or, in a short request, every word after its verb
    // ("echo hello there").
    if matches!(name, "message" | "text") {
        if let Some(q) = quoted(tokens).first() {
            return Some(q.raw.clone());
        }
        let rest: Vec<&str> = tokens.iter().skip(1).map(|t| t.raw.as_str()).collect();
        return (tokens.len() <= TERSE_TOKENS && !rest.is_empty()).then(|| rest.join(" "));
    }
    // What a worker that reads prose is to do ("instruction": a coding worker's): the request's
    // own words, all of them; the person's context is the worker's to read.
    if matches!(name, "instruction" | "prompt") {
        return (!tokens.is_empty()).then(|| prose(tokens));
    }
    // What to look for: the quoted phrase, else the words that are not the asking.
    if matches!(name, "query" | "question" | "q") {
        if let Some(q) = quoted(tokens).first() {
            return Some(q.raw.clone());
        }
        let place = workspace(tokens, &[]);
        let words: Vec<&str> = tokens
            .iter()
            .filter(|t| {
                t.kind == Kind::Word
                    && !text::is_stop(&t.norm)
                    // "I'd", "that's": the asking's own grammar
                    && !t.norm.contains('\'')
                    && !ASKING.contains(&text::stem(&t.norm).as_str())
                    && !BEFORE_PLACE.contains(&t.norm.as_str())
                    && !PLACE_NOUNS.contains(&t.norm.as_str())
                    && place.as_deref() != Some(t.raw.as_str())
            })
            .map(|t| t.raw.as_str())
            .collect();
        return (!words.is_empty()).then(|| words.join(" "));
    }
    None
}

/// The branch changes are counted from: "from the main branch", "changes from develop".
fn branch_from(tokens: &[Token]) -> Option<&Token> {
    const TRUNKS: &[&str] = &["main", "master", "develop", "trunk"];
    tokens.iter().enumerate().find_map(|(i, t)| {
        if t.norm != "from" {
            return None;
        }
        let mut j = i + 1 + usize::from(tokens.get(i + 1).is_some_and(|n| n.norm == "the"));
        // "from the branch develop"
        let named = tokens.get(j).is_some_and(|n| n.norm == "branch");
        j += usize::from(named);
        let w = tokens.get(j)?;
        if named {
            return (w.kind == Kind::Word || w.kind == Kind::Path).then_some(w);
        }
        let branch = tokens.get(j + 1).is_some_and(|n| n.norm == "branch");
        (w.kind == Kind::Word && (branch || TRUNKS.contains(&w.norm.as_str()))).then_some(w)
    })
}

/// Whether a property takes an expression that can say "not" (pytest's `-k` and `-m`).
fn is_expression(prop: &Value) -> bool {
    prop.get("description")
        .and_then(Value::as_str)
        .is_some_and(|d| d.contains("expression"))
}

/// The kind of tests a request leaves out: "skip the slow ones", "skipping slow tests", "skip
/// slow" at the end of a clause.
fn left_out(tokens: &[Token]) -> Option<String> {
    const LEAVE_OUT: &[&str] = &[
        "skip",
        "skipping",
        "except",
        "excluding",
        "exclude",
        "without",
    ];
    const TESTS: &[&str] = &["ones", "tests", "test", "testcases", "cases"];
    for (i, t) in tokens.iter().enumerate() {
        if !LEAVE_OUT.contains(&t.norm.as_str()) || !t.punct.is_empty() {
            continue;
        }
        let mut j = i + 1;
        while tokens
            .get(j)
            .is_some_and(|t| matches!(t.norm.as_str(), "the" | "all" | "any"))
        {
            j += 1;
        }
        let Some(w) = tokens
            .get(j)
            .filter(|w| w.kind == Kind::Word && !text::is_stop(&w.norm))
        else {
            continue;
        };
        let ends_clause = j + 1 == tokens.len() || !w.punct.is_empty();
        let then_tests = tokens
            .get(j + 1)
            .is_some_and(|n| TESTS.contains(&n.norm.as_str()));
        let skipping = matches!(t.norm.as_str(), "skip" | "skipping");
        if then_tests || (skipping && ends_clause) {
            return Some(w.raw.clone());
        }
    }
    None
}

/// The tokens as the person wrote them: quoted phrases in quotes, punctuation kept.
fn prose(tokens: &[Token]) -> String {
    let words: Vec<String> = tokens
        .iter()
        .map(|t| match t.kind {
            Kind::Quoted => format!("\"{}\"{}", t.raw, t.punct),
            _ => format!("{}{}", t.raw, t.punct),
        })
        .collect();
    words.join(" ")
}

/// The words of asking, not of what is asked about ("where is ... explained").
const ASKING: &[&str] = &[
    "where",
    "how",
    "why",
    "when",
    "which",
    "find",
    "search",
    "look",
    "show",
    "tell",
    "doc",
    "docs",
    "documentation",
    "explain",
    "describ",
    "configur",
    "set",
    "up",
    "defin",
    "file",
    "result",
    "top",
    "hit",
    "work",
    "give",
];

/// An array property: every enum value named (`passes`), the quoted phrases or a `:` list
/// (`texts`), or the test files and node ids (`node_ids`).
fn array(tokens: &[Token], prop: &Value) -> Option<Value> {
    let items = prop.get("items").cloned().unwrap_or(Value::Null);
    if let Some(values) = items.get("enum").and_then(Value::as_array) {
        let mut found: Vec<Value> = Vec::new();
        for v in values {
            if tokens
                .iter()
                .any(|t| v.as_str().is_some_and(|v| reads_as(&t.norm, v)))
            {
                found.push(v.clone());
            }
        }
        return (!found.is_empty()).then_some(Value::Array(found));
    }
    if items.get("type").and_then(Value::as_str) != Some("string") {
        return None;
    }
    let pattern = items.get("pattern").and_then(Value::as_str).unwrap_or("");
    if pattern.contains("(?!-)") || pattern.contains("::") {
        let ids: Vec<Value> = tokens
            .iter()
            .filter(|t| t.kind == Kind::Path && (t.norm.contains(".py") || t.norm.contains("::")))
            .map(|t| Value::String(t.raw.clone()))
            .collect();
        return (!ids.is_empty()).then_some(Value::Array(ids));
    }
    let q: Vec<Value> = quoted(tokens)
        .iter()
        .map(|t| Value::String(t.raw.clone()))
        .collect();
    if !q.is_empty() {
        return Some(Value::Array(q));
    }
    // "into embeddings: apples, oranges, pears"
    let colon = tokens.iter().position(|t| t.punct.starts_with(':'))?;
    let list: Vec<Value> = tokens[colon + 1..]
        .iter()
        .map(|t| Value::String(t.raw.trim_end_matches([',', '.']).to_string()))
        .collect();
    (!list.is_empty()).then_some(Value::Array(list))
}

/// Fills `payload` (an object) with what the words say for each property of `schema`.
/// `prefix` names nested objects ("answers."); `not_names` as in [`workspace`].
pub fn fill(
    tokens: &[Token],
    schema: &Value,
    payload: &mut Map<String, Value>,
    not_names: &[String],
) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, prop) in props {
        if payload.contains_key(name) {
            continue;
        }
        if let Some(v) = property(tokens, name, prop, not_names) {
            payload.insert(name.clone(), v);
        }
    }
    by_unit(tokens, props, payload);
    quoted_to_described(tokens, props, payload);
    // A quoted phrase another property took ("ask me \"Ship it?\"": the question) is no item of
    // a list as well.
    let taken: Vec<String> = payload
        .values()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let lists: Vec<String> = props
        .iter()
        .filter(|(_, p)| p["type"] == "array")
        .map(|(n, _)| n.clone())
        .collect();
    for name in lists {
        if let Some(Value::Array(items)) = payload.get_mut(&name) {
            items.retain(|i| !i.as_str().is_some_and(|s| taken.iter().any(|t| t == s)));
            if items.is_empty() {
                payload.remove(&name);
            }
        }
    }
    // A required number the words did not tie to its name is the request's one number ("sleep
    // 3", "spam 1000 lines"), when it has just one.
    let required = |n: &&String| {
        schema["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == n.as_str()))
    };
    let numbers: Vec<&Token> = tokens.iter().filter(|t| t.kind == Kind::Number).collect();
    if let [only] = numbers[..] {
        let taken = payload
            .values()
            .any(|v| v.to_string().trim_matches('"') == only.norm);
        for (name, prop) in props.iter().filter(|(n, _)| required(n)) {
            let kind = prop["type"].as_str().unwrap_or("");
            if taken || payload.contains_key(name) || !matches!(kind, "integer" | "number") {
                continue;
            }
            if let Ok(v) = only.norm.parse::<f64>() {
                payload.insert(name.clone(), number_of(prop, v));
                break;
            }
        }
    }
}

/// A number and the word after it ("200 bytes", "3 times", "top 3 hits", "10 seconds") fill the
/// unfilled numeric property whose description speaks of that word best: the word itself beats
/// a word of the same stem ("3 times" is `rerun_failures`' "this many times", not `timeout`'s
/// "timed out"); a time unit goes to the one counted in seconds, converted. A number after
/// "top" or "first", or before a word no description names ("5 results"), fills the one
/// property that counts how many ("How many hits to return"). Nothing when two tie.
fn by_unit(tokens: &[Token], props: &Map<String, Value>, payload: &mut Map<String, Value>) {
    for (i, n) in tokens.iter().enumerate() {
        let Ok(v) = n.norm.parse::<f64>() else {
            continue;
        };
        if n.kind != Kind::Number {
            continue;
        }
        let unit = tokens
            .get(i + 1)
            .filter(|u| u.kind == Kind::Word && !text::is_stop(&u.norm));
        let counted = i > 0 && COUNT_BEFORE.contains(&tokens[i - 1].norm.as_str());
        let time = unit.and_then(|u| seconds_in(&u.norm));
        let stem = unit.map(|u| text::stem(&u.norm));
        // How well a property's description speaks of the unit: 3 its very word, 2 a time unit
        // for a property in seconds, 1 the same stem; 0 not at all.
        let speaks_of = |name: &str, prop: &Value| -> u8 {
            let words: Vec<String> = prop["description"]
                .as_str()
                .unwrap_or("")
                .split(|c: char| !c.is_alphanumeric())
                .filter(|d| !d.is_empty())
                .map(str::to_lowercase)
                .collect();
            let seconds = in_seconds(name);
            match (unit, &stem) {
                (Some(u), _) if words.contains(&u.norm) => 3,
                _ if time.is_some() && seconds => 2,
                (_, Some(stem)) if words.iter().any(|d| text::stem(d) == *stem) => 1,
                _ => 0,
            }
        };
        let numeric = |name: &String, prop: &Value| {
            matches!(prop["type"].as_str(), Some("integer" | "number"))
                && !payload.contains_key(name)
        };
        let mut open: Vec<(u8, &String, &Value)> = props
            .iter()
            .filter(|(name, prop)| numeric(name, prop))
            .map(|(name, prop)| (speaks_of(name, prop), name, prop))
            .filter(|(score, _, _)| *score > 0)
            .collect();
        let results = unit.is_some_and(|u| RESULT_NOUNS.contains(&u.norm.as_str()));
        let whole = !n.norm.contains('.');
        if open.is_empty() && time.is_none() && whole && (counted || results) {
            // "top 5", "first 10", "5 results": the property that counts how many, when the
            // number is one it allows.
            open = props
                .iter()
                .filter(|(name, prop)| numeric(name, prop) && counts_how_many(prop))
                .filter(|(_, prop)| prop["maximum"].as_f64().is_none_or(|max| v <= max))
                .map(|(name, prop)| (1, name, prop))
                .collect();
        }
        let best = open.iter().map(|(s, _, _)| *s).max().unwrap_or(0);
        let top: Vec<&(u8, &String, &Value)> = open.iter().filter(|(s, _, _)| *s == best).collect();
        if let [(_, name, prop)] = top[..] {
            payload.insert((*name).clone(), number_of(prop, v * time.unwrap_or(1.0)));
        }
    }
}

/// Whether a numeric property counts seconds (`timeout`, `seconds`, `max_seconds`).
fn in_seconds(name: &str) -> bool {
    name.contains("second") || name == "timeout"
}

/// `v` as the property's JSON number: rounded for an integer.
fn number_of(prop: &Value, v: f64) -> Value {
    if prop["type"] == "integer" {
        Value::from(v.round() as i64)
    } else {
        Value::from(v)
    }
}

/// Words before a number that make it a count of results ("top 5", "first 10").
const COUNT_BEFORE: &[&str] = &["top", "first", "best"];
/// Words after a number that make it a count of results ("5 results").
const RESULT_NOUNS: &[&str] = &[
    "results", "result", "hits", "hit", "matches", "match", "items", "entries",
];

/// Whether a numeric property counts how many of something to give ("How many hits to return").
fn counts_how_many(prop: &Value) -> bool {
    prop["description"]
        .as_str()
        .is_some_and(|d| d.to_lowercase().starts_with("how many"))
}

/// A quoted phrase no property took ("tests matching \"login\"") fills the free-text property
/// whose description shares the most words with the request; one whose own name (a word, not a
/// letter) the request never says is not meant. None when two tie.
fn quoted_to_described(
    tokens: &[Token],
    props: &Map<String, Value>,
    payload: &mut Map<String, Value>,
) {
    let taken = |q: &str| payload.values().any(|v| v.as_str() == Some(q));
    let Some(phrase) = quoted(tokens).into_iter().find(|q| !taken(&q.raw)) else {
        return;
    };
    let said: Vec<String> = tokens
        .iter()
        .filter(|t| t.kind == Kind::Word && !text::is_stop(&t.norm))
        .map(|t| t.norm.clone())
        .collect();
    let mut scored: Vec<(usize, &String)> = props
        .iter()
        .filter(|(name, prop)| {
            prop["type"] == "string"
                && prop.get("enum").is_none()
                && !payload.contains_key(*name)
                && !matches!(name.as_str(), "name" | "project_name" | "base")
                && !name.contains("python")
        })
        .filter(|(name, _)| {
            let words = name_words(name);
            words.iter().all(|w| w.chars().count() < 3)
                || words
                    .iter()
                    .any(|w| said.iter().any(|s| text::stem(s) == *w))
                || said.iter().any(|s| {
                    words
                        .iter()
                        .any(|w| s.starts_with(w.as_str()) && w.len() >= 5)
                })
        })
        .map(|(name, prop)| {
            let described: Vec<String> = prop["description"]
                .as_str()
                .unwrap_or("")
                .split(|c: char| !c.is_alphanumeric())
                .map(str::to_lowercase)
                .filter(|d| !d.is_empty() && !text::is_stop(d))
                .collect();
            // Each word as written, stemmed or misspelt ("tetss matchng").
            let shared = said
                .iter()
                .filter(|s| described.iter().any(|d| same_word(s, d)))
                .count();
            (shared, name)
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    match &scored[..] {
        [(_, name)] => {
            payload.insert((*name).clone(), Value::String(phrase.raw.clone()));
        }
        [(a, name), (b, _), ..] if a > b => {
            payload.insert((*name).clone(), Value::String(phrase.raw.clone()));
        }
        _ => {}
    }
}

fn property(tokens: &[Token], name: &str, prop: &Value, not_names: &[String]) -> Option<Value> {
    let kind = prop.get("type").and_then(Value::as_str).unwrap_or("");
    let pattern = prop.get("pattern").and_then(Value::as_str).unwrap_or("");
    if let Some(values) = prop.get("enum").and_then(Value::as_array) {
        return tokens.iter().find_map(|t| {
            values
                .iter()
                .find(|v| v.as_str().is_some_and(|v| reads_as(&t.norm, v)))
                .cloned()
        });
    }
    if let Some(options) = prop.get("oneOf").and_then(Value::as_array) {
        return choice(tokens, options);
    }
    if kind == "array" {
        return array(tokens, prop);
    }
    match kind {
        "string" if name.contains("python") || pattern.starts_with("^3") => {
            python_version(tokens).map(Value::String)
        }
        "string" if name == "base" || name.ends_with("_ref") => after(
            tokens,
            BEFORE_REF,
            &["to", "with", "the", "tag", "commit", "ref", "revision"],
        )
        .or_else(|| branch_from(tokens))
        .filter(|t| t.kind != Kind::Number || t.norm.contains('.'))
        .map(|t| Value::String(t.raw.clone())),
        "string" if name == "name" || name == "project_name" => {
            project_name(tokens, not_names).map(Value::String)
        }
        "boolean" => boolean(tokens, name, prop).map(Value::Bool),
        "string" => free_text(tokens, name, prop).map(Value::String),
        "integer" | "number" => {
            let words = name_words(name);
            number_near(tokens, &words, in_seconds(name)).map(|v| number_of(prop, v))
        }
        "object" => {
            let mut inner = Map::new();
            fill(tokens, prop, &mut inner, not_names);
            (!inner.is_empty()).then_some(Value::Object(inner))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filled(text: &str, schema: Value) -> Value {
        let mut m = Map::new();
        fill(
            &text::tokens(text),
            &schema,
            &mut m,
            &["test".into(), "run".into()],
        );
        Value::Object(m)
    }

    #[test]
    fn an_instruction_is_the_requests_own_words_and_a_web_path_is_no_folder() {
        let schema = json!({"properties": {"instruction": {"type": "string"}}});
        assert_eq!(
            filled(
                "in crm, make the \"Save\" button blue; keep the tests green",
                schema
            ),
            json!({"instruction": "in crm, make the \"Save\" button blue; keep the tests green"})
        );
        let none: Vec<String> = Vec::new();
        for said in [
            "add a /health endpoint to the API in ~/src/api",
            "in ~/src/api, the route /users should page",
        ] {
            assert_eq!(
                workspace(&text::tokens(said), &none).as_deref(),
                Some("~/src/api"),
                "{said}"
            );
        }
        assert_eq!(
            workspace(&text::tokens("add an endpoint in /srv/api"), &none).as_deref(),
            Some("/srv/api")
        );
    }

    #[test]
    fn enums_read_through_misspellings_and_abbreviations() {
        for w in ["postgres", "postgress", "postgresql", "postgre", "pg"] {
            assert!(reads_as(w, "postgres"), "{w}");
        }
        assert!(!reads_as("pytest", "postgres"));
        assert!(!reads_as("sqlite", "postgres"));
        assert!(reads_as("djnago", "django"));
        // A version is what it says, never a slip of another.
        assert!(!reads_as("3.12", "3.11"));
        assert!(reads_as("3.12", "3.12"));
    }

    #[test]
    fn a_new_projects_name_follows_called_misspelt_or_is_the_one_quoted_word() {
        let schema = json!({"properties": {"project_name": {"type": "string"}}});
        let name = |text: &str| filled(text, schema.clone())["project_name"].clone();
        assert_eq!(name("a fastapi project caled shop"), "shop");
        assert_eq!(name("new django project nmaed crm"), "crm");
        assert_eq!(name("one new FastAPI app, it call \"agenda\""), "agenda");
        assert_eq!(
            name("scaffold the FastAPI project \"kasir\" with Postgres"),
            "kasir"
        );
        // A quoted phrase of several words is a message; two quoted names are not one name.
        assert_eq!(name("a project that says \"hello world\""), Value::Null);
        assert_eq!(name("projects \"shop\" and \"blog\""), Value::Null);
    }

    #[test]
    fn a_boolean_is_also_said_by_a_clause_of_its_description() {
        let schema = json!({"properties": {
            "fail_fast": {"type": "boolean", "description": "Stop at the first failure (pytest -x)."},
            "offline": {"type": "boolean", "description":
                "Work offline, without the network or internet: skip the slow pass."},
            "include_history": {"type": "boolean", "description":
                "The old commits too: scan the git history."},
        }});
        let said = |text: &str, key: &str| filled(text, schema.clone())[key].clone();
        assert_eq!(
            said("run them, stop at the first failure", "fail_fast"),
            true
        );
        assert_eq!(said("runn tests, stpo at first failure", "fail_fast"), true);
        assert_eq!(said("stop in the first error please", "fail_fast"), true);
        assert_eq!(
            said("audit blog without using the network", "offline"),
            true
        );
        assert_eq!(said("a security check without internet", "offline"), true);
        assert_eq!(
            said(
                "people committing keys... go through crm, the old commits too",
                "include_history"
            ),
            true
        );
        // One word of a clause is not the clause; nor are its words far apart.
        assert_eq!(said("stop the server", "fail_fast"), Value::Null);
        assert_eq!(said("the network is slow today", "offline"), Value::Null);
        assert_eq!(
            said(
                "stop the server, wait for the deploy to finish, then read the first page",
                "fail_fast"
            ),
            Value::Null
        );
    }

    #[test]
    fn a_boolean_is_named_by_its_words_misspelt_or_inside_a_longer_word() {
        let schema = json!({"properties": {
            "docker": {"type": "boolean"},
            "offline": {"type": "boolean"},
        }});
        assert_eq!(
            filled("with SQLite and a Dockerfile", schema.clone())["docker"],
            true
        );
        assert_eq!(
            filled("new project with dockr", schema.clone())["docker"],
            true
        );
        assert_eq!(
            filled("scan ~/src/api ofline", schema.clone())["offline"],
            true
        );
        assert_eq!(filled("without docker", schema.clone())["docker"], false);
        // The negation after the thing, closing its clause; not one that goes on.
        let history = json!({"properties": {"include_history": {"type": "boolean"}}});
        assert_eq!(
            filled("audit crm, but the history of git no.", history.clone())["include_history"],
            false
        );
        assert_eq!(
            filled("audit crm with the history, no rush", history)["include_history"],
            true
        );
        // A longer word that only opens like a short name is not it.
        let checks = json!({"properties": {"checks": {"type": "boolean"}}});
        assert_eq!(
            filled("a service without postgres called checkout", checks)["checks"],
            Value::Null
        );
        let overwrite = json!({"properties": {"overwrite": {"type": "boolean"}}});
        assert_eq!(
            filled("in forum, overwriting what is there", overwrite)["overwrite"],
            true
        );
        assert_eq!(filled("a dock for boats", schema)["docker"], Value::Null);
    }

    #[test]
    fn a_set_phrase_is_no_folder_and_a_base_branch_is_read_from_where_changes_start() {
        for text in [
            "review its code as well",
            "rebuild the index from scratch",
            "run the tests, thanks in advance",
        ] {
            assert_eq!(workspace(&text::tokens(text), &[]), None, "{text}");
        }
        assert_eq!(
            workspace(&text::tokens("review the code in ledger as well"), &[]).as_deref(),
            Some("ledger")
        );
        let schema = json!({"type": "object", "properties": {"base": {"type": "string"}}});
        for (text, base) in [
            ("review only the changes from the main branch", "main"),
            ("review what changed from develop", "develop"),
            ("review ledger --base release/2.1", "release/2.1"),
            (
                "review only what changed from the branch develop, in ledger",
                "develop",
            ),
        ] {
            assert_eq!(filled(text, schema.clone())["base"], base, "{text}");
        }
        assert!(filled("rebuild it from scratch", schema)
            .get("base")
            .is_none());
    }

    #[test]
    fn a_negation_reaches_through_its_clause_and_no_further() {
        let schema = json!({"type": "object", "properties": {
            "include_history": {"type": "boolean", "description": "Also scan the git history."},
            "offline": {"type": "boolean", "description": "Work offline, without the network."},
            "markers": {"type": "string",
                "description": "Only tests whose markers match this expression (pytest -m)."},
        }});
        let f = |t: &str| filled(t, schema.clone());
        assert_eq!(
            f("audit it but don't look at the git history")["include_history"],
            false
        );
        assert_eq!(
            f("no docker, and with the history please")["include_history"],
            true
        );
        assert_eq!(
            f("the network is slow here, offline please")["offline"],
            true
        );
        assert_eq!(f("no need for network, offline")["offline"], true);
        assert_eq!(
            f("run all except the tests marked integration")["markers"],
            "not integration"
        );
        assert_eq!(f("tests marked smoke")["markers"], "smoke");
        assert_eq!(
            f("run the tests, skipping the slow ones")["markers"],
            "not slow"
        );
        assert_eq!(f("tests for ledger, skip flaky")["markers"], "not flaky");
        let ask = json!({"type": "object", "properties": {
            "question": {"type": "string", "description": "The question to ask."},
            "choices": {"type": "array", "items": {"type": "string"}},
        }});
        let asked = filled("ask me \"go on?\" and show my answer", ask);
        assert_eq!(asked["question"], "go on?");
        assert!(asked.get("choices").is_none(), "{asked}");
        assert!(f("run the tests without fail fast")
            .get("markers")
            .is_none());
    }

    #[test]
    fn a_schema_fills_what_the_words_state_and_nothing_else() {
        let schema = json!({"properties": {
            "python": {"type": "string", "pattern": "^3\\.[0-9]{1,2}$"},
            "fail_fast": {"type": "boolean"},
            "rerun_failures": {"type": "integer"},
            "timeout": {"type": "number"},
            "base": {"type": "string"},
        }});
        assert_eq!(
            filled(
                "run the tests on python-3.11, fail fast, rerun failures twice, timeout 2 minutes",
                schema.clone()
            ),
            json!({"python": "3.11", "fail_fast": true, "rerun_failures": 2, "timeout": 120.0})
        );
        assert_eq!(
            filled("review against main", schema.clone()),
            json!({"base": "main"})
        );
        assert_eq!(
            filled("run the tests without fail fast", schema),
            json!({"fail_fast": false})
        );
    }

    #[test]
    fn a_number_with_its_unit_fills_the_property_whose_description_speaks_of_it() {
        let schema = json!({"properties": {
            "python": {"type": "string", "pattern": "^3\\.[0-9]{1,2}$"},
            "rerun_failures": {"type": "integer", "description": "Run failed tests again up to this many times; one that then passes is reported flaky."},
            "timeout": {"type": "number", "description": "Seconds a single test may run before it fails as timed out."},
            "size": {"type": "integer", "description": "About how many bytes each line has."},
        }});
        // "times" is rerun_failures' own word; timeout's "timed" only shares its stem.
        assert_eq!(
            filled("rerun anything that fails up to 3 times", schema.clone()),
            json!({"rerun_failures": 3})
        );
        assert_eq!(
            filled(
                "retry what breaks 3 times, allow each test 2 minutes, lines of 200 bytes",
                schema.clone()
            ),
            json!({"rerun_failures": 3, "timeout": 120.0, "size": 200})
        );
        // A long unit misspelt is still the unit.
        let sleep =
            json!({"properties": {"seconds": {"type": "number", "description": "How long."}}});
        assert_eq!(filled("slep 5 secnds", sleep)["seconds"], 5.0);
        // "3.12 is": a stop word is no unit.
        assert_eq!(
            filled("Python 3.12 is what we use", schema),
            json!({"python": "3.12"})
        );
    }

    #[test]
    fn a_quoted_phrase_no_property_took_goes_to_the_one_its_request_describes() {
        let schema = json!({"properties": {
            "k": {"type": "string", "description": "Only tests whose names match this expression (pytest -k)."},
            "markers": {"type": "string", "description": "Only tests whose markers match this expression (pytest -m)."},
        }});
        assert_eq!(
            filled("run only the tests matching \"login\"", schema.clone()),
            json!({"k": "login"})
        );
        // Taken by the property the words name, it is not given twice.
        assert_eq!(
            filled("run the tests marked \"slow\"", schema.clone()),
            json!({"markers": "slow"})
        );
        // Nothing in the words says which: none.
        assert_eq!(filled("run \"slow\"", schema.clone()), json!({}));
        // Misspelt words still say which.
        assert_eq!(
            filled("run the tetss matchng \"checkout\"", schema),
            json!({"k": "checkout"})
        );
    }

    #[test]
    fn a_count_of_results_fills_the_property_that_says_how_many() {
        let schema = json!({"properties": {
            "query": {"type": "string", "description": "What to look for."},
            "limit": {"type": "integer", "description": "How many hits to return (at most 50)."},
            "passes": {"type": "array", "items": {"enum": ["dependencies", "secrets", "code"]}},
        }});
        for text in [
            "search \"webhook\" top 5",
            "search \"webhook\", give me 5 results",
        ] {
            assert_eq!(filled(text, schema.clone())["limit"], 5, "{text}");
        }
        // A number that counts nothing is no limit: a time, a version, a year.
        for text in [
            "wait 5 seconds",
            "search \"support\" for python 3.12",
            "search the handbook for the 2024 budget",
            "postgres 16 replication notes",
            "the first 10 minutes of the incident",
        ] {
            assert_eq!(filled(text, schema.clone())["limit"], Value::Null, "{text}");
        }
        // "deps": a long enum value's abbreviation that opens like it; a plain cut of one is
        // no abbreviation ("post" is not postgres).
        assert_eq!(
            filled("vuln check deps", schema)["passes"],
            json!(["dependencies"])
        );
        assert!(!reads_as("post", "postgres"));
        assert!(reads_as("deps", "dependencies"));
    }

    #[test]
    fn the_folder_is_a_path_or_a_name_after_in() {
        let none: Vec<String> = vec!["test".into()];
        assert_eq!(
            workspace(&text::tokens("run the tests in ~/src/api"), &none).as_deref(),
            Some("~/src/api")
        );
        assert_eq!(
            workspace(
                &text::tokens("run the tests for the project billing"),
                &none
            )
            .as_deref(),
            Some("billing")
        );
        assert_eq!(workspace(&text::tokens("run the tests"), &none), None);
        // A file named as what to make is no folder.
        assert_eq!(
            workspace(
                &text::tokens("generate .devcontainer/devcontainer.json for orders"),
                &none
            )
            .as_deref(),
            Some("orders")
        );
        assert_eq!(
            workspace(
                &text::tokens("make it in the existing folder forum, overwriting it"),
                &none
            )
            .as_deref(),
            Some("forum")
        );
    }
}
