import type { ApiError } from '../ipc';
import { Untrusted } from './Untrusted';

/** An error from the manager, in words: what failed, and its message. */
export function ErrorNote({ error, what, testId }: { error: ApiError; what: string; testId?: string }) {
  return (
    <div className="error-note" role="alert" data-testid={testId ?? 'error'} data-code={error.code}>
      <strong>{what}:</strong> <Untrusted text={error.message} multiline />
      {error.code === 'unauthenticated' && (
        <p>Open the address the manager printed when it started (it carries the access token) once in this browser.</p>
      )}
    </div>
  );
}
