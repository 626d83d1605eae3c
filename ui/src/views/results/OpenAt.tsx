import { useState } from 'react';
import { ErrorNote } from '../../components/ErrorNote';
import { Untrusted } from '../../components/Untrusted';
import { ApiError, useClient } from '../../ipc';
import { revealHidden } from '../../lib/untrusted';

/**
 * `file:line` that opens the file at that line in the editor, through the manager (which checks
 * the file is inside the task's folder). Without a file, plain text.
 */
export function OpenAt({ taskId, file, line, column = 0 }: { taskId: string; file: string; line: number; column?: number }) {
  const client = useClient();
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  if (!file) return null;
  const where = line > 0 ? `${file}:${line}` : file;
  return (
    <span className="open-at">
      <button
        type="button"
        className="link"
        data-testid="open-at"
        title={`Open ${revealHidden(where)} in the editor`}
        onClick={() => {
          setNote(null);
          setError(null);
          client.openPath({ task_id: taskId, file, line, column }).then(
            (r) => setNote(`Opened with ${revealHidden(r.opener)}`),
            (err: unknown) => setError(ApiError.from(err)),
          );
        }}
      >
        <code>
          <Untrusted text={where} />
        </code>
      </button>
      {note && (
        <span role="status" className="help" data-testid="open-at-result">
          {note}
        </span>
      )}
      {error && <ErrorNote error={error} what="Not opened" testId="open-at-error" />}
    </span>
  );
}
