import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, useClient, type ManagerStatus } from '../ipc';
import { ErrorNote } from './ErrorNote';

const SOURCE: Record<string, string> = {
  app: 'chosen here',
  config: 'from paths.workspace_root in the config file',
  default: 'the default',
};

/**
 * Where new tasks' workspaces go: the folder in force (and who chose it), and a form to choose
 * another one. The manager checks the folder (absolute, writable, not around its own data) and
 * makes it if missing; tasks already made keep their folders. Used by the introduction and Settings.
 */
export function WorkspaceRootForm({ allowReset = false }: { allowReset?: boolean }) {
  const client = useClient();
  const inputId = useId();
  const [status, setStatus] = useState<ManagerStatus | null>(null);
  const [path, setPath] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  // Read again when the feed returns: a folder the person typed meanwhile stays.
  const readPath = useRef<string | null>(null);
  useEffect(() => {
    client.getStatus().then(
      (s) => {
        const before = readPath.current;
        readPath.current = s.workspace_root;
        setStatus(s);
        setPath((typed) => (before === null || typed === before ? s.workspace_root : typed));
      },
      (err: unknown) => setError(ApiError.from(err)),
    );
  }, [client]);

  const choose = (value: string) => {
    setBusy(true);
    setSaved(false);
    client.setWorkspaceRoot(value).then(
      (s) => {
        setStatus(s);
        setPath(s.workspace_root);
        setError(null);
        setBusy(false);
        setSaved(true);
      },
      (err: unknown) => {
        setError(ApiError.from(err));
        setBusy(false);
      },
    );
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    choose(path.trim());
  };

  return (
    <form className="workspace-root" aria-label="Workspace root" onSubmit={onSubmit} data-testid="workspace-root-form">
      {status && (
        <p data-testid="workspace-root-current" data-source={status.workspace_root_source}>
          New tasks work in <code>{status.workspace_root}</code> ({SOURCE[status.workspace_root_source] ?? status.workspace_root_source}).
        </p>
      )}
      <label htmlFor={inputId}>Folder for new workspaces</label>
      <div className="actions">
        <input
          id={inputId}
          data-testid="workspace-root-input"
          value={path}
          onChange={(e) => {
            setPath(e.target.value);
            setSaved(false);
          }}
          placeholder="/home/you/projects"
          spellCheck={false}
          aria-invalid={error ? true : undefined}
        />
        <button type="submit" data-testid="workspace-root-save" disabled={busy || !path.trim()}>
          Use this folder
        </button>
        {allowReset && status?.workspace_root_source === 'app' && (
          <button type="button" data-testid="workspace-root-reset" disabled={busy} onClick={() => choose('')}>
            Back to the config&apos;s
          </button>
        )}
      </div>
      {saved && (
        <p role="status" data-testid="workspace-root-saved">
          Saved. Tasks already made keep their folders.
        </p>
      )}
      {error && <ErrorNote error={error} what="This folder cannot be the workspace root" />}
    </form>
  );
}
