/**
 * Text from agents is untrusted: a bidi control can make "txt.exe" read "exe.txt", an invisible
 * character can make two names look alike, a control character can hide or rewrite what follows.
 * This splits such text into plain runs and the characters to show by their code instead.
 *
 * Marked: C0 controls (U+0000..U+001F; tab and newline kept in multi-line text), DEL, C1 controls
 * (U+0080..U+009F), bidi controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) and
 * invisible format characters (U+00AD, U+180E, U+200B..U+200D, U+2028, U+2029, U+2060..U+2064,
 * U+206A..U+206F, U+FEFF, U+FFF9..U+FFFB, and the tag characters U+E0000..U+E007F, which can carry
 * hidden text).
 */

const CLASSES =
  '\\u000B-\\u001F\\u007F-\\u009F\\u00AD\\u061C\\u180E\\u200B-\\u200F\\u2028-\\u202E\\u2060-\\u2064\\u2066-\\u206F\\uFEFF\\uFFF9-\\uFFFB\\u{E0000}-\\u{E007F}';
// U+0000..U+0008, then tab (U+0009) and newline (U+000A) only in single-line text.
const SINGLE_LINE = `[\\u0000-\\u000A${CLASSES}]`;
const MULTI_LINE = `[\\u0000-\\u0008${CLASSES}]`;

// The tests are not global, so they keep no state between calls.
const HIDDEN_SINGLE = new RegExp(SINGLE_LINE, 'u');
const HIDDEN_MULTI = new RegExp(MULTI_LINE, 'u');
const HIDDEN_SINGLE_ALL = new RegExp(SINGLE_LINE, 'gu');
const HIDDEN_MULTI_ALL = new RegExp(MULTI_LINE, 'gu');

/** A character shown by its code: `label` is what is seen ("U+202E", "\x1b"), `title` says why. */
export interface Mark {
  char: string;
  code: number;
  label: string;
  title: string;
}

/** A run of plain text, or one marked character. */
export type Segment = string | Mark;

const NAMES: Record<number, string> = {
  0x00: 'null',
  0x07: 'bell',
  0x08: 'backspace',
  0x09: 'tab',
  0x0a: 'line feed',
  0x0d: 'carriage return',
  0x1b: 'escape',
  0x7f: 'delete',
  0x85: 'next line',
  0x9b: 'control sequence introducer',
  0xad: 'soft hyphen',
  0x061c: 'Arabic letter mark',
  0x180e: 'Mongolian vowel separator',
  0x200b: 'zero width space',
  0x200c: 'zero width non-joiner',
  0x200d: 'zero width joiner',
  0x200e: 'left-to-right mark',
  0x200f: 'right-to-left mark',
  0x2028: 'line separator',
  0x2029: 'paragraph separator',
  0x202a: 'left-to-right embedding',
  0x202b: 'right-to-left embedding',
  0x202c: 'pop directional formatting',
  0x202d: 'left-to-right override',
  0x202e: 'right-to-left override',
  0x2060: 'word joiner',
  0x2066: 'left-to-right isolate',
  0x2067: 'right-to-left isolate',
  0x2068: 'first strong isolate',
  0x2069: 'pop directional isolate',
  0xfeff: 'zero width no-break space (byte order mark)',
};

function nameOf(code: number): string {
  const name = NAMES[code];
  if (name) return name;
  if (code < 0x20) return 'control character';
  if (code >= 0x80 && code < 0xa0) return 'C1 control character';
  if (code >= 0xe0000) return 'tag character (invisible text)';
  return 'invisible format character';
}

/** U+XXXX, at least four hex digits. */
const codePoint = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

function markOf(char: string): Mark {
  const code = char.codePointAt(0) ?? 0;
  // Controls up to U+00FF read best the way logs and terminals write them.
  const label = code <= 0x9f && code !== 0xad ? `\\x${code.toString(16).padStart(2, '0')}` : codePoint(code);
  return { char, code, label, title: `Hidden control character from the agent: ${nameOf(code)} (${codePoint(code)})` };
}

/** Does `text` hold a character to mark? One regex test: the fast path for plain text. */
export function hasHidden(text: string, multiline = false): boolean {
  return (multiline ? HIDDEN_MULTI : HIDDEN_SINGLE).test(text);
}

/**
 * `text` as plain runs and marked characters, in order. Plain text comes back as itself, alone.
 * In `multiline` text, tab and newline are kept as they are.
 */
export function splitUntrusted(text: string, multiline = false): Segment[] {
  if (!hasHidden(text, multiline)) return text ? [text] : [];
  const segments: Segment[] = [];
  let at = 0;
  for (const m of text.matchAll(multiline ? HIDDEN_MULTI_ALL : HIDDEN_SINGLE_ALL)) {
    if (m.index > at) segments.push(text.slice(at, m.index));
    segments.push(markOf(m[0]));
    at = m.index + m[0].length;
  }
  if (at < text.length) segments.push(text.slice(at));
  return segments;
}

/** `text` with each marked character written as its label: for attributes (title, aria-label). */
export function revealHidden(text: string, multiline = false): string {
  if (!hasHidden(text, multiline)) return text;
  return splitUntrusted(text, multiline)
    .map((s) => (typeof s === 'string' ? s : s.label))
    .join('');
}
