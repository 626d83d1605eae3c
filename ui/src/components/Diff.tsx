import { Untrusted } from './Untrusted';

/** A unified diff, its added, removed and hunk lines marked (text from an agent: untrusted). */
export function Diff({ text, testId }: { text: string; testId?: string }) {
  return (
    <pre className="diff" data-testid={testId}>
      {text.split('\n').map((l, i) => (
        <span
          key={i}
          className={
            l.startsWith('+') && !l.startsWith('+++')
              ? 'add'
              : l.startsWith('-') && !l.startsWith('---')
                ? 'del'
                : l.startsWith('@@')
                  ? 'hunk'
                  : ''
          }
        >
          <Untrusted text={l} multiline />
          {'\n'}
        </span>
      ))}
    </pre>
  );
}
