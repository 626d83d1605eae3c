//! Words of a request as the router reads them: lower case, split into tokens that keep paths,
//! versions and quoted phrases whole, crude stems and character trigrams for misspellings.
//!
//! Written by hand rather than with an NLP library: the router needs only these few operations,
//! on short texts, in microseconds, and the crates that do more bring models or large tables.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A word (letters and digits, with inner `-`, `_` or `.`).
    Word,
    /// A path: starts with `~`, `/` or `./`, or holds a `/`.
    Path,
    /// A version or number: digits with dots (`3.11`, `120`).
    Number,
    /// A phrase the person quoted.
    Quoted,
}

/// One token of a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// As written.
    pub raw: String,
    /// Lower case, without surrounding punctuation.
    pub norm: String,
    /// What it is.
    pub kind: Kind,
    /// The punctuation that ended it (",", ":", ""...).
    pub punct: String,
}

const QUOTES: &[char] = &['"', '\'', '`', '“', '”', '‘', '’'];

/// The request's tokens, in order.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let c = rest.chars().next().expect("not empty");
        if QUOTES.contains(&c) {
            let after = &rest[c.len_utf8()..];
            if let Some(end) = after.find(QUOTES) {
                let inner = after[..end].trim();
                if !inner.is_empty() && end > 0 {
                    out.push(Token {
                        raw: inner.to_string(),
                        norm: inner.to_lowercase(),
                        kind: Kind::Quoted,
                        punct: String::new(),
                    });
                }
                let close = after[end..].chars().next().map_or(1, char::len_utf8);
                rest = &after[end + close..];
                continue;
            }
            rest = after;
            continue;
        }
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let chunk = &rest[..end];
        rest = &rest[end..];
        out.extend(token(chunk));
    }
    out
}

/// A whitespace-separated chunk as a token (none when it is only punctuation).
fn token(chunk: &str) -> Option<Token> {
    // A hidden folder's path keeps its dot (".github/workflows", ".devcontainer/x.json").
    let hidden = chunk.starts_with('.')
        && chunk[1..].starts_with(|c: char| c.is_alphanumeric())
        && chunk.contains('/');
    let is_path =
        chunk.starts_with('~') || chunk.starts_with('/') || chunk.starts_with("./") || hidden;
    let trimmed = chunk.trim_end_matches(['.', ',', ';', ':', '?', '!', ')', '(']);
    let punct = chunk[trimmed.len()..].to_string();
    // A command-line flag ("-k", "-x") keeps its dash.
    let is_flag = trimmed.starts_with('-') && trimmed[1..].starts_with(|c: char| c.is_alphabetic());
    let trimmed = if is_path || is_flag {
        trimmed
    } else {
        trimmed.trim_start_matches(|c: char| !c.is_alphanumeric())
    };
    if trimmed.is_empty() {
        return None;
    }
    let kind = if is_path || (trimmed.contains('/') && !trimmed.contains("://")) {
        Kind::Path
    } else if trimmed
        .trim_start_matches(['v', 'V'])
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.')
        && trimmed.chars().any(|c| c.is_ascii_digit())
    {
        Kind::Number
    } else {
        Kind::Word
    };
    Some(Token {
        raw: trimmed.to_string(),
        norm: trimmed.to_lowercase(),
        kind,
        punct,
    })
}

/// Words that carry no intent ("please", "the", "my"): left out of matching.
pub const STOP: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for", "from",
    "how", "i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "please", "that", "the",
    "there", "these", "this", "those", "to", "was", "what", "which", "who", "with", "you", "your",
    "would", "will", "should", "some", "any", "we", "our", "us", "just", "also", "kindly", "hi",
    "hello", "hey", "thanks", "thank", "want", "like", "need", "into", "onto", "about", "then",
    "so", "if", "but", "all", "one", "now", "quickly", "again", "am", "im", "i'm", "let", "lets",
    "let's", "get", "got", "here", "them", "their", "have", "has", "had",
];

/// Whether `w` (lower case) carries no intent.
pub fn is_stop(w: &str) -> bool {
    STOP.contains(&w)
}

/// A crude stem: common English endings off, so "tests", "testing" and "tested" meet "test".
pub fn stem(w: &str) -> String {
    for (suffix, keep) in [
        ("ies", "y"),
        ("ing", ""),
        ("ers", ""),
        ("er", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ] {
        if let Some(base) = w.strip_suffix(suffix) {
            if base.chars().count() >= 3 {
                return format!("{base}{keep}");
            }
        }
    }
    w.to_string()
}

/// The character trigrams of `#w#`.
pub fn trigrams(w: &str) -> Vec<[char; 3]> {
    let padded: Vec<char> = std::iter::once('#')
        .chain(w.chars())
        .chain(std::iter::once('#'))
        .collect();
    let mut out: Vec<[char; 3]> = padded.windows(3).map(|x| [x[0], x[1], x[2]]).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// How alike two words are by their trigrams (Dice's coefficient, 0 to 1).
pub fn likeness(a: &[[char; 3]], b: &[[char; 3]]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * shared as f32 / (a.len() + b.len()) as f32
}

/// Damerau-Levenshtein distance, at most `limit + 1` (for short words: typos are 1 or 2 edits).
pub fn edits(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()].min(limit + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_versions_and_quotes_stay_whole() {
        let t = tokens("Run the tests in ~/src/api on python-3.11, k \"checkout and pay\".");
        let kinds: Vec<(&str, Kind)> = t.iter().map(|t| (t.raw.as_str(), t.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("Run", Kind::Word),
                ("the", Kind::Word),
                ("tests", Kind::Word),
                ("in", Kind::Word),
                ("~/src/api", Kind::Path),
                ("on", Kind::Word),
                ("python-3.11", Kind::Word),
                ("k", Kind::Word),
                ("checkout and pay", Kind::Quoted),
            ]
        );
        assert_eq!(tokens("3.12")[0].kind, Kind::Number);
    }

    #[test]
    fn stems_trigrams_and_edits_meet_misspellings() {
        assert_eq!(stem("tests"), "test");
        assert_eq!(stem("testing"), "test");
        assert_eq!(stem("dependencies"), "dependency");
        assert!(likeness(&trigrams("postgres"), &trigrams("postgress")) > 0.8);
        assert!(likeness(&trigrams("review"), &trigrams("deploy")) < 0.2);
        assert_eq!(edits("teh", "the", 2), 1);
        assert_eq!(edits("djnago", "django", 2), 1);
        assert_eq!(edits("fastapi", "flask", 2), 3);
    }
}
