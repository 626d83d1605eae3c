//! Text from outside the CLI (agents, templates, the manager's messages quoting them) made safe to
//! print on a terminal. An agent controls its log lines, progress steps, errors, results, consent
//! reasons and paths; printed raw, an escape sequence could retitle the terminal, clear it, write
//! the clipboard (OSC 52), or move the cursor back over the line it is on (`\r\x1b[2K`) to show a
//! consent request for another path; a bidi override (U+202E) could show `txt.exe` as `exe.txt`.
//!
//! Every C0 control (and DEL), every C1 control, and the invisible format characters that change
//! how text reads (bidi embeddings, overrides and isolates, marks, zero-width characters) are
//! written as visible escapes: `\x1b`, `\u{202e}`. Written by hand: it is one `match`, and the
//! crates that strip ANSI sequences keep bidi characters and drop what they remove instead of
//! showing it.
use std::borrow::Cow;
use std::fmt::Write;

/// One line: newlines and tabs are escaped too, so a value cannot start a line of its own.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Several lines: newlines and tabs are kept; everything else as in [`line`].
pub fn text(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let hidden = |c: char| needs_escape(c) && !(keep_newlines && matches!(c, '\n' | '\t'));
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if !hidden(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        // bidi: marks, embeddings and overrides, isolates, the Arabic letter mark
        | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{61c}'
        // zero-width and other invisible format characters
        | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{ad}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            line("héllo wörld 🙂"),
            Cow::Borrowed("héllo wörld 🙂")
        ));
        assert!(matches!(text("a\n\tb"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_and_line_tricks_are_shown_not_run() {
        assert_eq!(line("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
        assert_eq!(line("\x1b]52;c;cHduZWQ=\x07"), "\\x1b]52;c;cHduZWQ=\\x07");
        assert_eq!(line("ok\r\x1b[2K/home/me"), "ok\\r\\x1b[2K/home/me");
        assert_eq!(line("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(text("a\nb\r"), "a\nb\\r");
        assert_eq!(line("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(line("\u{7f}"), "\\x7f");
    }

    #[test]
    fn bidi_and_invisible_characters_are_shown() {
        assert_eq!(line("report\u{202e}txt.exe"), "report\\u{202e}txt.exe");
        assert_eq!(line("a\u{2066}b\u{2069}"), "a\\u{2066}b\\u{2069}");
        assert_eq!(line("pay\u{200b}pal"), "pay\\u{200b}pal");
    }
}
