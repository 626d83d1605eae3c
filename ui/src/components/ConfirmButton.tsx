import { useState } from 'react';
import { ApiError } from '../ipc';
import { ErrorNote } from './ErrorNote';

interface Props {
  /** The button ("Cancel task"). */
  label: string;
  /** What pressing it does, asked ("Cancel this task? ..."). */
  question: string;
  /** Does it; resolves when done, rejects with why not. */
  action: () => Promise<unknown>;
  testId: string;
  confirmTestId: string;
  /** The answers and what a failure is called (a cancel's by default). */
  yes?: string;
  no?: string;
  failed?: string;
}

/** A danger button that asks once more ("Yes, cancel" / "Keep running" by default) before it acts. */
export function ConfirmButton({
  label,
  question,
  action,
  testId,
  confirmTestId,
  yes = 'Yes, cancel',
  no = 'Keep running',
  failed = 'Not cancelled',
}: Props) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  if (!confirming) {
    return (
      <button type="button" className="danger" data-testid={testId} onClick={() => setConfirming(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={`Confirm: ${label}`}>
      <span>{question}</span>
      <button
        type="button"
        className="danger"
        data-testid={confirmTestId}
        autoFocus
        onClick={() => {
          action().then(
            () => setConfirming(false),
            (err: unknown) => setError(ApiError.from(err)),
          );
        }}
      >
        {yes}
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        {no}
      </button>
      {error && <ErrorNote error={error} what={failed} />}
    </span>
  );
}
