/**
 * ANSI colour in log lines: tools (pytest, uv, ruff) colour their output with SGR sequences
 * (`ESC [ 31 m` ... `ESC [ 0 m`). This reads those, and only those, into runs of text with a style.
 *
 * Written here rather than taken from npm: only SGR is wanted (a log is not a terminal, so cursor
 * moves and screen clears mean nothing in it), the npm converters produce HTML strings (which would
 * bypass `Untrusted`, the one way agent text reaches the page), and the whole of it is this file.
 * Any other escape sequence is left in the text, where `Untrusted` shows its ESC by its code.
 */

/** How a run of text looks; absent fields are the row's own. */
export interface AnsiStyle {
  /** A palette index 0..15 (themed by CSS), or a CSS colour (256-colour and truecolour). */
  fg?: number | string;
  bg?: number | string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

export interface AnsiRun {
  text: string;
  style: AnsiStyle;
}

const ESC = String.fromCharCode(0x1b);
// ESC [ params m, params digits separated by ; (or : in the ITU form of 38/48).
const SGR = new RegExp(`${ESC}\\[([0-9;:]*)m`, 'g');
const HAS_SGR = new RegExp(`${ESC}\\[[0-9;:]*m`);

/** True when `text` has an SGR sequence (the common plain line costs one test). */
export function hasAnsi(text: string): boolean {
  return text.includes(`${ESC}[`) && HAS_SGR.test(text);
}

/** The xterm 256-colour palette beyond the 16 themed ones: a 6x6x6 cube, then 24 greys. */
function color256(n: number): number | string | undefined {
  if (!Number.isInteger(n) || n < 0 || n > 255) return undefined;
  if (n < 16) return n;
  if (n < 232) {
    const c = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(c / 36))}, ${level(Math.floor(c / 6) % 6)}, ${level(c % 6)})`;
  }
  const grey = 8 + (n - 232) * 10;
  return `rgb(${grey}, ${grey}, ${grey})`;
}

/** Reads an extended colour (`5;n` or `2;r;g;b`) from `codes` at `i`; returns it and the codes used. */
function extended(codes: number[], i: number): [number | string | undefined, number] {
  const kind = codes[i];
  if (kind === 5) return [color256(codes[i + 1] ?? -1), 2];
  if (kind === 2) {
    const [r, g, b] = [codes[i + 1], codes[i + 2], codes[i + 3]];
    const ok = [r, g, b].every((v) => v !== undefined && v >= 0 && v <= 255);
    return [ok ? `rgb(${r}, ${g}, ${b})` : undefined, 4];
  }
  return [undefined, 1];
}

function apply(style: AnsiStyle, params: string): AnsiStyle {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  let next: AnsiStyle = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i] ?? 0;
    if (c === 0) next = {};
    else if (c === 1) next.bold = true;
    else if (c === 2) next.dim = true;
    else if (c === 3) next.italic = true;
    else if (c === 4) next.underline = true;
    else if (c === 7) next.inverse = true;
    else if (c === 22) next.bold = next.dim = undefined;
    else if (c === 23) next.italic = undefined;
    else if (c === 24) next.underline = undefined;
    else if (c === 27) next.inverse = undefined;
    else if (c >= 30 && c <= 37) next.fg = c - 30;
    else if (c >= 90 && c <= 97) next.fg = c - 90 + 8;
    else if (c === 39) next.fg = undefined;
    else if (c >= 40 && c <= 47) next.bg = c - 40;
    else if (c >= 100 && c <= 107) next.bg = c - 100 + 8;
    else if (c === 49) next.bg = undefined;
    else if (c === 38 || c === 48) {
      const [color, used] = extended(codes, i + 1);
      if (c === 38) next.fg = color;
      else next.bg = color;
      i += used;
    }
    // Anything else (blink, fonts, ...) is ignored.
  }
  return next;
}

/** `text` split into runs by its SGR sequences, which are consumed; empty runs are dropped. */
export function parseAnsi(text: string): AnsiRun[] {
  const runs: AnsiRun[] = [];
  let style: AnsiStyle = {};
  let at = 0;
  for (const m of text.matchAll(SGR)) {
    if (m.index > at) runs.push({ text: text.slice(at, m.index), style });
    style = apply(style, m[1] ?? '');
    at = m.index + m[0].length;
  }
  if (at < text.length) runs.push({ text: text.slice(at), style });
  return runs;
}
