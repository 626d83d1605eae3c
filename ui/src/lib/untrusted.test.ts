import { describe, expect, it } from 'vitest';
import { hasHidden, revealHidden, splitUntrusted, type Mark, type Segment } from './untrusted';

/** The segments with each mark as its label in brackets: what a reader sees. */
const seen = (segments: Segment[]) => segments.map((s) => (typeof s === 'string' ? s : `[${s.label}]`)).join('');
const marks = (segments: Segment[]) => segments.filter((s): s is Mark => typeof s !== 'string');
const chr = (code: number) => String.fromCodePoint(code);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('splitUntrusted', () => {
  it('gives plain text back as itself, alone', () => {
    const text = 'step 3 of 5: pip install -r requirements.txt (12.5 MB) — ok ✓ 日本語 עברית';
    expect(hasHidden(text)).toBe(false);
    const segments = splitUntrusted(text);
    expect(segments).toEqual([text]);
    expect(segments[0]).toBe(text);
    expect(splitUntrusted('')).toEqual([]);
    expect(revealHidden(text)).toBe(text);
  });

  it('marks every bidi control by its code point', () => {
    const bidi = [0x061c, 0x200e, 0x200f, ...range(0x202a, 0x202e), ...range(0x2066, 0x2069)];
    for (const code of bidi) {
      const hex = code.toString(16).toUpperCase().padStart(4, '0');
      const segments = splitUntrusted(`a${chr(code)}b`);
      expect(segments).toHaveLength(3);
      expect(marks(segments)[0]).toMatchObject({ char: chr(code), code, label: `U+${hex}` });
      expect(seen(segments)).toBe(`a[U+${hex}]b`);
    }
  });

  it('marks invisible format characters', () => {
    for (const code of [0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x00ad, 0x2028, 0x2029]) {
      expect(marks(splitUntrusted(`x${chr(code)}y`)).map((m) => m.code)).toEqual([code]);
    }
    // A tag character hides an ASCII letter; it is one code point, two UTF-16 units.
    expect(seen(splitUntrusted(`ok${chr(0xe0041)}`))).toBe('ok[U+E0041]');
  });

  it('marks C0 controls and DEL as \\xNN', () => {
    for (const code of [...range(0x00, 0x1f), 0x7f]) {
      const [mark] = marks(splitUntrusted(`a${chr(code)}b`));
      expect(mark?.label).toBe(`\\x${code.toString(16).padStart(2, '0')}`);
    }
    expect(seen(splitUntrusted('\x1b[31mred\x1b[0m'))).toBe('[\\x1b][31mred[\\x1b][0m');
  });

  it('marks C1 controls', () => {
    for (const code of range(0x80, 0x9f)) {
      expect(marks(splitUntrusted(`a${chr(code)}b`)).map((m) => m.label)).toEqual([`\\x${code.toString(16)}`]);
    }
    expect(hasHidden('\u00a0\u00e9')).toBe(false); // no-break space and é are text
  });

  it('keeps tab and newline in multi-line text only', () => {
    expect(seen(splitUntrusted('a\tb\nc'))).toBe('a[\\x09]b[\\x0a]c');
    expect(hasHidden('a\tb\nc', true)).toBe(false);
    expect(splitUntrusted('a\tb\nc', true)).toEqual(['a\tb\nc']);
    // Carriage return and every other control are still marked there.
    expect(seen(splitUntrusted('line\r\nnext\u202e', true))).toBe('line[\\x0d]\nnext[U+202E]');
  });

  it('splits a string mixing several, in order, one mark per character', () => {
    const text = `\u202Etxt.exe\u202C\u200B\x00 at \x1b\x9b/home/\uFEFF`;
    const segments = splitUntrusted(text);
    expect(seen(segments)).toBe('[U+202E]txt.exe[U+202C][U+200B][\\x00] at [\\x1b][\\x9b]/home/[U+FEFF]');
    // Nothing lost: the raw characters put back make the text again.
    expect(segments.map((s) => (typeof s === 'string' ? s : s.char)).join('')).toBe(text);
    expect(segments.filter((s) => typeof s === 'string')).toEqual(['txt.exe', ' at ', '/home/']);
  });

  it('says why in the title', () => {
    const [mark] = marks(splitUntrusted('\u202E'));
    expect(mark?.title).toBe('Hidden control character from the agent: right-to-left override (U+202E)');
    expect(marks(splitUntrusted('\x1b'))[0]?.title).toMatch(/from the agent: escape \(U\+001B\)$/);
  });

  it('writes marks as their labels for attributes', () => {
    expect(revealHidden('Revoke allow read /tmp/\u202Egpj.exe')).toBe('Revoke allow read /tmp/U+202Egpj.exe');
  });
});
