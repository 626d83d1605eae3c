import { useCallback, useEffect, useState } from 'react';
import { useFeedEvents } from '../app/feed';
import { hrefOf } from '../app/router';
import { usePages } from '../app/usePages';
import { ErrorNote } from '../components/ErrorNote';
import { TableScroll } from '../components/TableScroll';
import { ProgressBar, StateBadge } from '../components/TaskBits';
import { Untrusted } from '../components/Untrusted';
import { TERMINAL_STATES, useClient, type Task } from '../ipc';
import { ago, baseName, duration, formatTime } from '../lib/format';
import { UPDATE_TASK } from '../lib/update';
import { taskChecksOutcome } from './results/shapes';

const PAGE = 100;

/**
 * A dry run (New project's Preview) or an update's preview: it made nothing, so the list leaves it
 * out unless asked.
 */
function isPreview(task: Task): boolean {
  try {
    const payload: unknown = JSON.parse(task.payload_json);
    if (typeof payload !== 'object' || payload === null) return false;
    const p = payload as { dry_run?: unknown; preview?: unknown };
    return p.dry_run === true || (task.task_type === UPDATE_TASK && p.preview === true);
  } catch {
    return false;
  }
}

/** Every task, newest first, kept current from the feed. */
export function Tasks() {
  const client = useClient();
  const read = useCallback(
    (pageToken: string) =>
      client.listTasks({ limit: PAGE, page_token: pageToken }).then((r) => ({ items: r.tasks, next: r.next_page_token })),
    [client],
  );
  const { items: tasks, setItems: setTasks, next, error, more } = usePages(read);
  const [showPreviews, setShowPreviews] = useState(false);
  // "5 min ago", kept current.
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);

  useFeedEvents((e) => {
    const change = e.task_state;
    if (change && tasks) {
      if (tasks.some((t) => t.id === change.task_id)) {
        setTasks((list) =>
          list?.map((t) => (t.id === change.task_id ? { ...t, state: change.to, status_reason: change.reason } : t)) ??
          null,
        );
        // Its end: read the record for what the event does not carry (who cancelled it).
        if (TERMINAL_STATES.has(change.to)) {
          client.getTask(change.task_id).then(
            (task) => setTasks((list) => list?.map((t) => (t.id === task.id ? task : t)) ?? null),
            () => {},
          );
        }
      } else {
        // A task we have not seen: fetch it and put it first (newest first).
        client.getTask(change.task_id).then(
          (task) => setTasks((list) => (list && !list.some((t) => t.id === task.id) ? [task, ...list] : list)),
          () => {},
        );
      }
    }
    const p = e.task_progress;
    if (p) setTasks((list) => list?.map((t) => (t.id === p.task_id ? { ...t, progress: p.progress } : t)) ?? null);
  });

  const previews = tasks?.filter(isPreview).length ?? 0;
  const shown = tasks && (showPreviews ? tasks : tasks.filter((t) => !isPreview(t)));

  return (
    <div className="view">
      <h1>Tasks</h1>
      {error && <ErrorNote error={error} what="The tasks could not be listed" />}
      {tasks === null && !error && <p role="status">Loading…</p>}
      {previews > 0 && (
        <label className="inline-check">
          <input
            type="checkbox"
            data-testid="show-previews"
            checked={showPreviews}
            onChange={(e) => setShowPreviews(e.target.checked)}
          />{' '}
          Show previews ({previews})
        </label>
      )}
      {shown && shown.length === 0 && (
        <p data-testid="tasks-empty">
          No tasks yet{previews > 0 ? ' (only previews, which make nothing)' : ''}.{' '}
          <a href={hrefOf.newProject}>Start a new project</a>.
        </p>
      )}
      {shown && shown.length > 0 && (
        <TableScroll label="Tasks">
          <table className="table" data-testid="task-table">
            <caption className="sr-only">Tasks, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Type</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
                <th scope="col">Took</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((t) => (
                <tr key={t.id} data-testid="task-row" data-task-id={t.id}>
                  <td>
                    <a href={hrefOf.task(t.id)}>
                      <code>{t.workspace ? <Untrusted text={baseName(t.workspace)} /> : t.id.slice(0, 12)}</code>
                    </a>
                    <div className="help mono">{t.id.slice(0, 12)}</div>
                  </td>
                  <td>
                    <Untrusted text={t.task_type} />
                  </td>
                  <td>
                    <StateBadge
                      state={t.state}
                      cancelRequested={t.cancel_requested}
                      checksSkipped={taskChecksOutcome(t) === 'checks skipped'}
                    />
                  </td>
                  <td>
                    {!TERMINAL_STATES.has(t.state) && <ProgressBar progress={t.progress} label={`Progress of ${t.id}`} />}
                  </td>
                  <td title={formatTime(t.created_at)}>{ago(t.created_at, now)}</td>
                  <td data-testid="task-took">{TERMINAL_STATES.has(t.state) ? duration(t.created_at, t.updated_at) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {next && (
        <button type="button" onClick={more}>
          Load older tasks
        </button>
      )}
    </div>
  );
}
