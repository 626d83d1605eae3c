//! Which task type a request (or one step of it) asks for: each intent's declared phrasings and
//! description against the request's words, weighted by how rare each word is among all the
//! intents (so "run" counts little and "review" much), with misspelt words matched by their
//! character trigrams. Pure and fast: the index is made once per catalogue.
use std::collections::HashMap;

use super::text::{self, Kind, Token};
use super::Intent;

/// One phrasing, as weighted stems.
struct Doc {
    intent: usize,
    stems: Vec<(String, f32)>,
    norm: f32,
}

/// The index of every intent's phrasings.
pub struct Index {
    docs: Vec<Doc>,
    /// Known stems with their trigrams and weight (rarity).
    vocab: HashMap<String, (Vec<[char; 3]>, f32)>,
    /// An intent's phrasings taken together, as one bag.
    bags: Vec<Doc>,
    /// For each known stem, how many phrasings of each intent use it.
    owners: HashMap<String, HashMap<usize, u32>>,
    fuzzy: f32,
}

/// Extensions of the tool configuration files a request may name as what to make
/// (".devcontainer/devcontainer.json", ".github/workflows/ci.yml").
const FILE_EXTENSIONS: &[&str] = &["json", "toml", "yml", "yaml", "cfg", "ini"];

/// The name of a tool's configuration file a path names, as a word ("devcontainer"): a file of
/// a hidden folder, or a hidden file. `None` for anything else: a document's name is what it is
/// about ("docs/security.md"), not what to do, and its path is a place.
pub fn file_word(t: &Token) -> Option<&str> {
    if t.kind != Kind::Path {
        return None;
    }
    let hidden = t
        .raw
        .split('/')
        .any(|part| part.len() > 1 && part.starts_with('.') && part != "..");
    if !hidden {
        return None;
    }
    let name = t.norm.rsplit('/').next()?;
    let (stem, ext) = name.trim_start_matches('.').rsplit_once('.')?;
    (FILE_EXTENSIONS.contains(&ext) && !stem.is_empty()).then_some(stem)
}

/// The stems of `tokens` that can carry intent (words and the names of files, not names of
/// folders, paths or numbers).
pub fn content_stems(tokens: &[Token]) -> Vec<String> {
    tokens
        .iter()
        .filter_map(|t| match t.kind {
            Kind::Word if !text::is_stop(&t.norm) => Some(t.norm.as_str()),
            Kind::Path => file_word(t),
            _ => None,
        })
        .flat_map(|t| {
            // "python-3.11" -> "python"; "fastapi" stays.
            t.split(['-', '_', '/'])
                .filter(|p| !p.is_empty() && !p.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .map(text::stem)
                .collect::<Vec<_>>()
        })
        .filter(|s| !text::is_stop(s))
        .collect()
}

impl Index {
    /// Indexes the intents' examples and descriptions; `fuzzy` is the trigram likeness from
    /// which a misspelt word counts as the word it resembles.
    pub fn new(intents: &[Intent], fuzzy: f32) -> Index {
        let mut raw: Vec<(usize, Vec<String>)> = Vec::new();
        for (i, it) in intents.iter().enumerate() {
            let mut phrasings: Vec<&str> = it.examples.iter().map(String::as_str).collect();
            phrasings.push(&it.description);
            for p in phrasings {
                let stems = content_stems(&text::tokens(p));
                if !stems.is_empty() {
                    raw.push((i, stems));
                }
            }
        }
        // Rarity by intent, not by phrasing: a word every phrasing of one intent uses is that
        // intent's word, not a common one.
        let mut intents_with: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, stems) in &raw {
            for s in stems {
                let e = intents_with.entry(s.as_str()).or_default();
                if !e.contains(i) {
                    e.push(*i);
                }
            }
        }
        let mut owners: HashMap<String, HashMap<usize, u32>> = HashMap::new();
        for (i, stems) in &raw {
            let mut once: Vec<&String> = stems.iter().collect();
            once.sort();
            once.dedup();
            for s in once {
                *owners.entry(s.clone()).or_default().entry(*i).or_default() += 1;
            }
        }
        let n = intents.len().max(1);
        let vocab: HashMap<String, (Vec<[char; 3]>, f32)> = intents_with
            .iter()
            .map(|(s, with)| {
                let idf = Index::rarity(n, with.len());
                (s.to_string(), (text::trigrams(s), idf))
            })
            .collect();
        let weigh = |intent: usize, stems: &[String]| {
            let mut seen: Vec<(String, f32)> = Vec::new();
            for s in stems {
                if !seen.iter().any(|(x, _)| x == s) {
                    seen.push((s.clone(), vocab[s].1));
                }
            }
            let norm = seen.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            Doc {
                intent,
                stems: seen,
                norm,
            }
        };
        let docs = raw.iter().map(|(i, s)| weigh(*i, s)).collect();
        let bags = (0..intents.len())
            .map(|i| {
                let all: Vec<String> = raw
                    .iter()
                    .filter(|(j, _)| *j == i)
                    .flat_map(|(_, s)| s.iter().cloned())
                    .collect();
                weigh(i, &all)
            })
            .collect();
        Index {
            docs,
            vocab,
            bags,
            owners,
            fuzzy,
        }
    }

    /// The known stem `word` stands for (itself, or the one it is a misspelling of), with how
    /// sure that is.
    fn resolve(&self, word: &str) -> Option<(&str, f32)> {
        if let Some((k, _)) = self.vocab.get_key_value(word) {
            return Some((k.as_str(), 1.0));
        }
        if word.chars().count() < 4 {
            return None;
        }
        let grams = text::trigrams(word);
        let mut best: Option<(&str, f32)> = None;
        for (k, (g, _)) in &self.vocab {
            let close = text::likeness(&grams, g);
            let near = close >= self.fuzzy
                || (k.chars().count() >= 4 && text::edits(word, k, 1) <= 1)
                || (k.chars().count() >= 7 && text::edits(word, k, 2) <= 2);
            // Ties go to the first word in order: the answer never depends on the map's order.
            // (Compared by likeness itself: the floor below applies only to the one chosen.)
            if near && best.is_none_or(|(bk, b)| close > b || (close == b && k.as_str() < bk)) {
                best = Some((k.as_str(), close));
            }
        }
        best.map(|(k, c)| (k, c.max(0.75) * 0.9))
    }

    /// How specific the words are: the rarity of the rarest intent word among them (0 when none
    /// is known), and the share of the words that are some intent's words at all.
    pub fn specificity(&self, stems: &[String]) -> (f32, f32) {
        if stems.is_empty() {
            return (0.0, 0.0);
        }
        let known: Vec<f32> = stems
            .iter()
            .filter_map(|s| self.resolve(s).map(|(k, _)| self.vocab[k].1))
            .collect();
        let rarest = known.iter().copied().fold(0.0, f32::max);
        (rarest, known.len() as f32 / stems.len() as f32)
    }

    /// Whether one of the words is one intent's more than any other's: at least `share` (0 to 1)
    /// of the phrasings that use it are that intent's. No one intent has "docs" (indexing them or
    /// searching them) or "fix" (a change or a review).
    pub fn dominated(&self, stems: &[String], share: f32) -> bool {
        stems.iter().any(|s| {
            let Some((k, _)) = self.resolve(s) else {
                return false;
            };
            let Some(by) = self.owners.get(k) else {
                return false;
            };
            let all: u32 = by.values().sum();
            let most = by.values().copied().max().unwrap_or(0);
            all > 0 && most as f32 >= share * all as f32
        })
    }

    /// The rarity a word has when this many intents (of all) use it.
    pub fn rarity(intents: usize, using: usize) -> f32 {
        (1.0 + intents as f32 / using.max(1) as f32).ln()
    }

    /// Each intent's score (0 to 1) for these content stems, best first.
    pub fn score(&self, stems: &[String], intents: usize) -> Vec<(usize, f32)> {
        let mut words: Vec<(Option<&str>, f32)> = Vec::new();
        for s in stems {
            let r = self.resolve(s);
            if !words
                .iter()
                .any(|(k, _)| r.is_some() && *k == r.map(|x| x.0))
            {
                words.push((r.map(|x| x.0), r.map_or(0.0, |x| x.1)));
            }
        }
        // An unknown word (a name, an unrelated word) weighs a little on the request's side.
        let qnorm = words
            .iter()
            .map(|(k, _)| k.map_or(0.5, |k| self.vocab[k].1).powi(2))
            .sum::<f32>()
            .sqrt();
        if qnorm == 0.0 {
            return (0..intents).map(|i| (i, 0.0)).collect();
        }
        let cosine = |d: &Doc| {
            let dot: f32 = words
                .iter()
                .filter_map(|(k, sure)| {
                    let k = (*k)?;
                    d.stems
                        .iter()
                        .find(|(s, _)| s == k)
                        .map(|(_, w)| w * w * sure)
                })
                .sum();
            if d.norm == 0.0 {
                0.0
            } else {
                dot / (qnorm * d.norm)
            }
        };
        let mut best = vec![0.0f32; intents];
        for d in &self.docs {
            best[d.intent] = best[d.intent].max(cosine(d));
        }
        let mut out: Vec<(usize, f32)> = self
            .bags
            .iter()
            .map(|b| (b.intent, 0.65 * best[b.intent] + 0.35 * cosine(b)))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_name_carries_intent_and_a_folders_does_not() {
        let stems = content_stems(&text::tokens(
            "generate .devcontainer/devcontainer.json for ~/src/orders",
        ));
        assert_eq!(stems, ["generate", "devcontain"]); // stemmed
                                                       // A document's name is what it is about, not what to do.
        let stems = content_stems(&text::tokens("search ~/src/shop/docs/security.md"));
        assert_eq!(stems, ["search"]);
    }

    #[test]
    fn a_word_is_an_intents_when_most_phrasings_using_it_are_that_intents() {
        let intent = |name: &str, examples: &[&str]| Intent {
            task_type: name.into(),
            description: String::new(),
            schema: serde_json::json!({}),
            examples: examples.iter().map(|e| e.to_string()).collect(),
            folder: super::super::FolderUse::Any,
        };
        let index = Index::new(
            &[
                intent("docs.index", &["index the docs", "rebuild the docs index"]),
                intent("docs.search", &["search the docs", "find it in the docs"]),
                intent(
                    "tests.run",
                    &["run the tests", "test it", "run its tests again"],
                ),
            ],
            0.6,
        );
        let stems = |t: &str| content_stems(&text::tokens(t));
        assert!(
            !index.dominated(&stems("docs for crm"), 0.6),
            "docs: two intents alike"
        );
        assert!(
            index.dominated(&stems("the docs index"), 0.6),
            "index: docs.index's"
        );
        assert!(index.dominated(&stems("tests for crm"), 0.6));
        assert!(!index.dominated(&stems("a poem"), 0.6), "no known word");
    }
}
