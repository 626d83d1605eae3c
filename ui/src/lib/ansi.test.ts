import { describe, expect, it } from 'vitest';
import { hasAnsi, parseAnsi } from './ansi';

describe('parseAnsi', () => {
  it('splits text into runs by its SGR sequences, which it consumes', () => {
    expect(parseAnsi('\x1b[32mok\x1b[0m done')).toEqual([
      { text: 'ok', style: { fg: 2 } },
      { text: ' done', style: {} },
    ]);
  });

  it('reads bold, bright, background, 256-colour and truecolour, and their resets', () => {
    const runs = parseAnsi('\x1b[1;93;44ma\x1b[22;39mb\x1b[38;5;196mc\x1b[48;2;1;2;3md\x1b[49;38;5;244me');
    expect(runs.map((r) => r.style)).toEqual([
      { bold: true, fg: 11, bg: 4 },
      { bold: undefined, dim: undefined, fg: undefined, bg: 4 },
      { bold: undefined, dim: undefined, fg: 'rgb(255, 0, 0)', bg: 4 },
      { bold: undefined, dim: undefined, fg: 'rgb(255, 0, 0)', bg: 'rgb(1, 2, 3)' },
      { bold: undefined, dim: undefined, fg: 'rgb(128, 128, 128)', bg: undefined },
    ]);
  });

  it('leaves other escape sequences in the text (shown by their code elsewhere)', () => {
    expect(parseAnsi('a\x1b[2Kb')).toEqual([{ text: 'a\x1b[2Kb', style: {} }]);
    expect(hasAnsi('a\x1b[2Kb')).toBe(false);
    expect(hasAnsi('plain')).toBe(false);
    expect(hasAnsi('\x1b[0m')).toBe(true);
  });
});
