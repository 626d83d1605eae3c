import { useState } from 'react';

/**
 * Copies `text` to the clipboard, and says so beside the button; when the browser refuses, the text
 * is said instead, so it can be copied by hand.
 */
export function CopyButton({ text, label, testId }: { text: string; label: string; testId?: string }) {
  const [note, setNote] = useState<string | null>(null);
  const copy = () => {
    const done = navigator.clipboard?.writeText(text) ?? Promise.reject(new Error('no clipboard'));
    done.then(
      () => setNote('Copied.'),
      () => setNote(`The browser refused to copy it: ${text}`),
    );
  };
  return (
    <>
      <button type="button" onClick={copy} data-testid={testId}>
        {label}
      </button>
      {note && (
        <span className="help" role="status">
          {' '}
          {note}
        </span>
      )}
    </>
  );
}
