import type { CSSProperties } from 'react';
import { hasAnsi, parseAnsi, type AnsiStyle } from '../lib/ansi';
import { Untrusted } from './Untrusted';

function look(style: AnsiStyle): { className: string; css: CSSProperties | undefined } {
  let { fg, bg } = style;
  if (style.inverse) [fg, bg] = [bg ?? 'var(--bg-soft)', fg ?? 'var(--fg)'];
  const classes: string[] = [];
  const css: CSSProperties = {};
  if (typeof fg === 'number') classes.push(`ansi-fg-${fg}`);
  else if (fg) css.color = fg;
  if (typeof bg === 'number') classes.push(`ansi-bg-${bg}`);
  else if (bg) css.backgroundColor = bg;
  if (style.bold) classes.push('ansi-bold');
  if (style.dim) classes.push('ansi-dim');
  if (style.italic) classes.push('ansi-italic');
  if (style.underline) classes.push('ansi-underline');
  return { className: classes.join(' '), css: Object.keys(css).length > 0 ? css : undefined };
}

/**
 * Agent text that may carry ANSI colour (SGR): shown in its colours, the sequences themselves
 * consumed; every other hidden character is shown by its code, as `Untrusted` does. Text without
 * SGR renders exactly as `Untrusted` would (a plain line is its bare string).
 */
export function Ansi({ text, multiline = false }: { text: string | null | undefined; multiline?: boolean }) {
  if (!text || !hasAnsi(text)) return <Untrusted text={text} multiline={multiline} />;
  return parseAnsi(text).map((run, i) => {
    const { className, css } = look(run.style);
    if (!className && !css) return <Untrusted key={i} text={run.text} multiline={multiline} />;
    return (
      <span key={i} className={className || undefined} style={css} data-testid="ansi-run">
        <Untrusted text={run.text} multiline={multiline} />
      </span>
    );
  });
}
