//! Refusals: the safety floor no request gets past whatever a router makes of it (`never`), and
//! the rules that tell a request nothing here does from one to route or to ask about (a verb no
//! intent knows, a kind of project no template makes, the whole disk as a folder).
use super::{slots, takes_template, text, Catalog, Part, Prepared};

/// Requests nothing may serve, whatever else they ask: destroying or sending away the person's
/// data, revealing what guards it, turning off what protects it, talking the router out of its
/// rules, exhausting the machine, or smuggling a shell command in. A safety floor under the
/// scores, which would refuse most of these anyway (no intent speaks of deleting or uploading).
/// Each entry: words that must all be there (stems, or a prefix of one).
const NEVER: &[&[&str]] = &[
    &["rm", "-rf"],
    &["delete"],
    &["erase"],
    &["wipe"],
    &["ssh", "key"],
    &["pastebin"],
    &["gist"],
    &["upload"],
    &["exfiltrate"],
    &["post", "secret"],
    &["send", "secret"],
    &["ignore", "rule"],
    &["ignore", "instruction"],
    &["forget", "instruction"],
    &["forget", "rule"],
    &["disregard"],
    &["disable"],
    &["turn", "off"],
    &["bypass"],
    &["sudo"],
    &["disk", "full"],
    &["forever"],
    // Hiding what is done from the person.
    &["secretly"],
    &["covertly"],
    &["mkfs"],
    &["shred"],
    // The same in the other languages people write requests in ("lösche alle Branches").
    &["lösch"],
    &["borra"],
    &["supprim"],
    &["effac"],
    &["apag"],
];

/// Phrases (lower-cased, as written) that talk the router out of its rules or the manager out
/// of its safeguards: an injected instruction, a claimed authority, the sandbox, consent,
/// snapshots or the audit log done without.
const NEVER_PHRASES: &[&str] = &[
    "system:",
    "system prompt",
    "new instruction",
    "new instructions",
    "admin mode",
    "developer mode",
    "god mode",
    "jailbreak",
    "you are now",
    "from now on you",
    "ignore previous",
    "ignore all previous",
    "ignore the above",
    "ignore your",
    "outside the sandbox",
    "outside of the sandbox",
    "outside its sandbox",
    "without the sandbox",
    "without a sandbox",
    "without sandbox",
    "no sandbox",
    "unsandboxed",
    "don't ask me",
    "dont ask me",
    "do not ask me",
    "without asking",
    "without consent",
    "without my consent",
    "skip consent",
    "skip the consent",
    "no consent",
    "no snapshot",
    "without a snapshot",
    "without snapshot",
    "without audit",
    "without the audit",
    "without logging it",
    "don't mention",
    "dont mention",
    "do not mention",
    "without telling",
    "whole home",
    "entire home",
    "all of my home",
    "full disk access",
    "root access",
    "chmod 777",
    "--no-verify",
    // Planting a way in (finding one is an audit's work: "scan shop for backdoors").
    "add a hidden",
    "create a hidden",
    "make a hidden",
    "insert a hidden",
    "add a backdoor",
    "create a backdoor",
    "install a backdoor",
    "insert a backdoor",
    "plant a backdoor",
    "add a back door",
    // Rewriting or throwing away what others share.
    "push --force",
    "push -f",
    "force push",
    "force-push",
    "reset --hard",
    "drop table",
    "drop database",
    "truncate table",
];

/// Words that ask for a secret's value itself, in full ("print the API keys unredacted").
const IN_FULL: &[&str] = &[
    "unredacted",
    "in full",
    "in plain text",
    "in plaintext",
    "in the clear",
    "full value",
    "actual value",
    "real value",
];

/// Secrets: finding them is an audit's work ("hard-coded passwords in shop"), handing them over
/// never is (with one of [`GIVE_AWAY`]).
const SECRETS: &[&str] = &[
    "password",
    "passwd",
    "credential",
    "token",
    "secret",
    "api key",
    "private key",
    "card number",
    "credit card",
    "customer data",
    "personal data",
    "user data",
    "pii",
];
/// Words that hand something over to someone.
const GIVE_AWAY: &[&str] = &[
    "send", "post", "email", "mail", "upload", "share", "paste", "leak", "publish", "tell",
    "reveal", "print", "dump", "expose", "give",
];

/// Text that is never in a request it would be safe to serve, as written (a shell command in a
/// name, a system file).
const NEVER_TEXT: &[&str] = &[
    "/etc/",
    ".ssh",
    ".aws",
    ".gnupg",
    ".netrc",
    ".kube/config",
    ".docker/config",
    "id_rsa",
    "id_ed25519",
    "/proc/",
    "/dev/sd",
    "| sh",
    "| bash",
    "|sh",
    "|bash",
    "$(",
    "`",
];

/// Why `request` must be refused whatever a router makes of it (the safety floor every router,
/// the language model's too, stands on), or None.
pub fn never_refusal(request: &str) -> Option<String> {
    never(request, &text::tokens(request))
}

pub(super) fn never(request: &str, tokens: &[text::Token]) -> Option<String> {
    if let Some(t) = NEVER_TEXT.iter().find(|t| request.contains(**t)) {
        return Some(format!(
            "this holds `{t}` — HyperAgent never runs a shell command or reaches a system file for a request, whatever else is asked"
        ));
    }
    let lower = request.to_lowercase();
    if let Some(p) = NEVER_PHRASES.iter().find(|p| lower.contains(**p)) {
        return Some(format!(
            "this says `{p}` — HyperAgent keeps its rules and safeguards (the sandbox, consent, snapshots, the audit log, your history) whatever a request says"
        ));
    }
    let stems: Vec<String> = tokens.iter().map(|t| text::stem(&t.norm)).collect();
    if let Some(p) = IN_FULL.iter().find(|p| lower.contains(**p)) {
        if let Some(secret) = SECRETS.iter().find(|s| lower.contains(**s)) {
            return Some(format!(
                "this asks for a {secret} {p} — HyperAgent finds secrets for you but never shows one, whatever else is asked"
            ));
        }
    }
    if let Some((verb, secret)) = gives_away(tokens, &stems) {
        return Some(format!(
            "this asks to {verb} a {secret} — HyperAgent finds secrets for you but never hands one over, whatever else is asked"
        ));
    }
    for pattern in NEVER {
        let hit = pattern
            .iter()
            .all(|p| stems.iter().any(|s| s == p || s.starts_with(p)));
        if hit {
            return Some(format!(
                "this asks to {} — HyperAgent never does that for an agent, whatever else is asked",
                pattern.join(" ")
            ));
        }
    }
    None
}

/// A word of [`GIVE_AWAY`] as a verb (not "leaked") with one of [`SECRETS`] soon after as what
/// it hands over (not "tell me where the secret is set"): `(verb, secret)`.
/// `stems` are the tokens' stems, one each.
fn gives_away(tokens: &[text::Token], stems: &[String]) -> Option<(&'static str, &'static str)> {
    const WITHIN: usize = 6;
    const ASKING: &[&str] = &[
        "where", "how", "which", "what", "whether", "if", "why", "when",
    ];
    for (i, t) in tokens.iter().enumerate() {
        let Some(verb) = GIVE_AWAY
            .iter()
            .find(|v| t.norm == **v || t.norm == format!("{v}s"))
        else {
            continue;
        };
        let end = (i + 1 + WITHIN).min(tokens.len());
        for j in i + 1..end {
            // What a verb hands over is in its own clause, and is not asked about.
            let clause_ends = tokens[j - 1]
                .punct
                .starts_with([',', ';', '.', '!', '?', ':']);
            if clause_ends || ASKING.contains(&tokens[j].norm.as_str()) {
                break;
            }
            let secret = SECRETS.iter().find(|p| {
                let words: Vec<&str> = p.split(' ').collect();
                words.iter().enumerate().all(|(k, w)| {
                    let as_written = tokens.get(j + k).is_some_and(|t| t.norm.starts_with(w));
                    as_written || stems.get(j + k).is_some_and(|s| s == w || s.starts_with(w))
                })
            });
            if let Some(secret) = secret {
                return Some((verb, secret));
            }
        }
    }
    None
}

/// Words that lead into a request before what it asks for ("could you please ...").
/// A request opening otherwise ("I keep forgetting ...") tells a story first; its first word is no
/// verb.
const LEAD_IN: &[&str] = &[
    "please", "pls", "plz", "can", "could", "would", "will", "you", "u", "just", "kindly", "hey",
    "ok", "okay", "now", "also", "quickly", "go", "ahead",
];

/// At most this many tokens make a request short enough to be read as a command, verb first.
pub(super) const COMMAND_TOKENS: usize = 10;

/// The verb a request opens with ("deploy shop to AWS"), when it is no word any intent uses nor
/// a misspelling of one: nothing here does it, whatever the other words match.
pub(super) fn unknown_verb(tokens: &[text::Token], prepared: &Prepared) -> Option<String> {
    // A longer request may open with anything ("Honestly, ...", "Before we publish ...").
    if tokens.len() > COMMAND_TOKENS {
        return None;
    }
    let first = tokens
        .iter()
        .take_while(|t| t.kind == text::Kind::Word)
        .find(|t| !LEAD_IN.contains(&t.norm.as_str()))?;
    let w = first.norm.as_str();
    if text::is_stop(w) || w.chars().count() < 3 || !w.chars().all(char::is_alphabetic) {
        return None;
    }
    // The word as written, its stem, and without a prefix that keeps the deed ("reindex").
    let mut forms = vec![w.to_string(), text::stem(w)];
    for prefix in ["re", "un"] {
        if let Some(rest) = w.strip_prefix(prefix).filter(|r| r.chars().count() >= 5) {
            forms.push(text::stem(rest));
        }
    }
    let sorted = |x: &str| {
        let mut c: Vec<char> = x.chars().collect();
        c.sort_unstable();
        c
    };
    let like = |f: &String, k: &String| {
        let n = k.chars().count().max(f.chars().count());
        *k == *f
            || k.starts_with(f.as_str())
            || (n >= 4 && text::edits(f, k, 1) <= 1)
            || (n >= 7 && text::edits(f, k, 2) <= 2)
            // a slip of two letters in a short word ("rnu")
            || (n == 3 && sorted(f) == sorted(k))
    };
    let is_known = prepared
        .not_names
        .iter()
        .chain(prepared.asking.iter())
        .any(|k| forms.iter().any(|f| like(f, k)));
    (!is_known).then(|| first.raw.clone())
}

/// Whether `verb` is the request's only word that is neither something an agent knows nor a
/// folder of the person's.
pub(super) fn only_unknown(
    tokens: &[text::Token],
    verb: &str,
    prepared: &Prepared,
    catalog: &Catalog,
) -> bool {
    tokens
        .iter()
        .filter(|t| t.kind == text::Kind::Word && t.raw != verb)
        .filter(|t| !text::is_stop(&t.norm) && !LEAD_IN.contains(&t.norm.as_str()))
        .filter(|t| {
            !catalog
                .folders
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&t.norm))
        })
        .all(|t| {
            let s = text::stem(&t.norm);
            prepared.not_names.contains(&s)
                || prepared.asking.contains(&s)
                || prepared.common.contains(&s)
        })
}

/// "a React app", "a Ruby on Rails project": a maker asked for a kind of project no template
/// here makes (a word before "app"/"project" that is no template, no word any intent uses, and
/// not the project's name), and no template named. What it can make instead is in the reason.
pub(super) fn unknown_template(
    part: &Part,
    catalog: &Catalog,
    prepared: &Prepared,
    min_score: f32,
) -> Option<String> {
    // The maker first, or second and likely ("make a Rails project" may score as something
    // else first: what it asks for is still a kind of project).
    let maker = part
        .ranked
        .iter()
        .take(2)
        .enumerate()
        .any(|(n, (i, s))| takes_template(&catalog.intents[*i]) && (n == 0 || *s >= min_score));
    if !maker || catalog.templates.is_empty() {
        return None;
    }
    let names: Vec<&str> = catalog.templates.iter().map(|(n, _)| n.as_str()).collect();
    let t = &part.tokens;
    if t.iter()
        .any(|w| names.iter().any(|n| slots::reads_as(&w.norm, n)))
    {
        return None;
    }
    let known = |w: &str| {
        let s = text::stem(w);
        prepared.not_names.contains(&s) || prepared.common.contains(&s)
    };
    let kind = (0..t.len().saturating_sub(1)).find_map(|i| {
        let (a, b) = (&t[i], &t[i + 1]);
        let named = i > 0 && ["called", "named"].contains(&t[i - 1].norm.as_str());
        (a.kind == text::Kind::Word
            && slots::PLACE_NOUNS.contains(&b.norm.as_str())
            && !text::is_stop(&a.norm)
            && !known(&a.norm)
            && !catalog
                .folders
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&a.norm))
            && !named)
            .then(|| a.raw.clone())
    })?;
    Some(format!(
        "no template here makes a {kind} project; the templates are: {}",
        names.join(", ")
    ))
}

/// Verbs that send word to people or services, and where to: a request that opens with one
/// ("send an email to the team", "post the summary to Slack") asks for something no agent here
/// does (changing code so that it sends is the coder's: "make billing send an email").
const SEND_VERBS: &[&str] = &[
    "send", "post", "email", "mail", "message", "notify", "ping", "tweet", "text", "dm",
];
const CHANNELS: &[&str] = &[
    "email", "e-mail", "mail", "slack", "discord", "sms", "tweet", "twitter", "whatsapp",
    "telegram", "teams", "channel", "mailing", "inbox",
];

/// A request that opens by sending word to people or a service: why nothing here does it.
pub(super) fn sends_word(tokens: &[text::Token]) -> Option<String> {
    let first = tokens
        .iter()
        .take_while(|t| t.kind == text::Kind::Word)
        .find(|t| !LEAD_IN.contains(&t.norm.as_str()) && !text::is_stop(&t.norm))?;
    if !SEND_VERBS.contains(&first.norm.as_str()) {
        return None;
    }
    let to = tokens
        .iter()
        .find(|t| CHANNELS.contains(&t.norm.as_str()))?;
    Some(format!(
        "no agent here sends messages to people or services (`{}` by {}); they work on your projects",
        first.raw, to.raw
    ))
}

/// Other ecosystems' test and build runners, that a request may name as the thing to run ("npm
/// test", "run jest"): each with whether it names the runner alone (`true`) or only beside a word
/// of running ("cargo test": "cargo" alone may be a project's name).
const OTHER_RUNNERS: &[(&str, bool)] = &[
    ("jest", true),
    ("mocha", true),
    ("vitest", true),
    ("rspec", true),
    ("phpunit", true),
    ("karma", true),
    ("cypress", true),
    ("junit", true),
    ("npm", false),
    ("yarn", false),
    ("pnpm", false),
    ("cargo", false),
    ("go", false),
    ("mvn", false),
    ("maven", false),
    ("gradle", false),
    ("dotnet", false),
    ("ctest", false),
];
/// Words of running beside a runner's name.
const RUN_WORDS: &[&str] = &["test", "tests", "run", "build", "install"];

/// A runner of another ecosystem the request asks to run, when no intent's description or
/// examples speak of it (an agent that runs it makes the request routable): why nothing here
/// can.
pub(super) fn other_runner(tokens: &[text::Token], catalog: &Catalog) -> Option<String> {
    let at = tokens.iter().enumerate().find_map(|(i, t)| {
        let (name, alone) = OTHER_RUNNERS.iter().find(|(n, _)| t.norm == *n)?;
        let beside = |j: Option<usize>| {
            j.and_then(|j| tokens.get(j))
                .is_some_and(|w| RUN_WORDS.contains(&w.norm.as_str()))
        };
        (*alone || beside(i.checked_sub(1)) || beside(Some(i + 1))).then_some(*name)
    })?;
    // Spoken of as a runner ("runs JavaScript tests with jest", "go test"), not as a word ("go
    // over the changes").
    let alone = OTHER_RUNNERS.iter().any(|(n, a)| *n == at && *a);
    let speaks_of = |s: &str| {
        let t = text::tokens(s);
        (0..t.len()).any(|i| {
            t[i].norm == at
                && (alone
                    || [i.checked_sub(1), Some(i + 1)].iter().any(|j| {
                        j.and_then(|j| t.get(j))
                            .is_some_and(|w| RUN_WORDS.contains(&w.norm.as_str()))
                    }))
        })
    };
    let known = catalog
        .intents
        .iter()
        .any(|i| speaks_of(&i.description) || i.examples.iter().any(|e| speaks_of(e)));
    (!known).then(|| {
        format!(
            "no agent here works with {at} (none of them says so): the tests it runs are the ones their descriptions name"
        )
    })
}

/// Whether a folder is the whole file system or the whole home folder, never one project's.
pub(super) fn is_everything(folder: &str) -> bool {
    let f = folder.trim_end_matches('/');
    matches!(f, "" | "~" | "$HOME" | "/home" | "/root" | "/Users")
}
