import { hasHidden, splitUntrusted } from '../lib/untrusted';

/**
 * Text that came from an agent, shown as it is: every bidi control, invisible or control character
 * in it appears as its code ("U+202E", "\x1b") instead of acting on the text around it. Plain text
 * (the usual case, and every log row) costs one regex test and renders as the bare string.
 * `multiline` keeps tabs and newlines (in a <pre>, say).
 */
export function Untrusted({ text, multiline = false }: { text: string | null | undefined; multiline?: boolean }) {
  if (!text) return null;
  if (!hasHidden(text, multiline)) return text;
  return splitUntrusted(text, multiline).map((s, i) =>
    typeof s === 'string' ? (
      s
    ) : (
      <span key={i} className="untrusted-mark" data-testid="untrusted-mark" title={s.title}>
        {s.label}
      </span>
    ),
  );
}
