import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import { useFeedEvents } from '../app/feed';
import { hrefOf } from '../app/router';
import { usePages } from '../app/usePages';
import { ErrorNote } from '../components/ErrorNote';
import { TableScroll } from '../components/TableScroll';
import { ProgressBar, StateBadge } from '../components/TaskBits';
import { Untrusted } from '../components/Untrusted';
import { TERMINAL_STATES, useClient, type Task, type TaskState } from '../ipc';
import { ago, baseName, duration, formatTime } from '../lib/format';
import { revealHidden } from '../lib/untrusted';
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

/** The State filter's choices and the states each asks the manager for (none: every state). */
const STATE_FILTERS: { value: string; label: string; states: TaskState[] }[] = [
  { value: '', label: 'any state', states: [] },
  {
    value: 'active',
    label: 'waiting or running',
    states: ['TASK_STATE_QUEUED', 'TASK_STATE_ASSIGNED', 'TASK_STATE_RUNNING', 'TASK_STATE_AWAITING_CONSENT', 'TASK_STATE_INTERRUPTED'],
  },
  { value: 'completed', label: 'completed', states: ['TASK_STATE_COMPLETED'] },
  { value: 'failed', label: 'failed', states: ['TASK_STATE_FAILED', 'TASK_STATE_DEAD_LETTERED'] },
  { value: 'cancelled', label: 'cancelled', states: ['TASK_STATE_CANCELED'] },
];

/** Whether the words searched for are in the task's folder, id or type (any case). */
function matches(task: Task, words: string): boolean {
  const q = words.trim().toLowerCase();
  return !q || [task.workspace, task.id, task.task_type].some((f) => f.toLowerCase().includes(q));
}

/**
 * Every task, newest first, kept current from the feed: filtered by state and type on the
 * manager, searched by folder, id or type among those read.
 */
export function Tasks() {
  const client = useClient();
  const ids = useId();
  const [stateFilter, setStateFilter] = useState('');
  const [typeFilter, setTypeFilter] = useState('');
  const [search, setSearch] = useState('');
  const states = useMemo(() => STATE_FILTERS.find((f) => f.value === stateFilter)?.states ?? [], [stateFilter]);
  const read = useCallback(
    (pageToken: string) =>
      client
        .listTasks({ limit: PAGE, page_token: pageToken, states, task_type: typeFilter })
        .then((r) => ({ items: r.tasks, next: r.next_page_token })),
    [client, states, typeFilter],
  );
  const { items: tasks, setItems: setTasks, next, error, more } = usePages(read);
  const [showPreviews, setShowPreviews] = useState(false);
  // The task types agents offer, and any the list has that none offers now.
  const [offered, setOffered] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    client.listTaskTypes().then(
      (r) => live && setOffered(r.task_types.flatMap((t) => (t.task_type?.name ? [t.task_type.name] : []))),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [client]);
  const types = [...new Set([...offered, ...(tasks ?? []).map((t) => t.task_type), ...(typeFilter ? [typeFilter] : [])])].sort();
  const filtered = stateFilter !== '' || typeFilter !== '' || search.trim() !== '';
  const clear = () => {
    setStateFilter('');
    setTypeFilter('');
    setSearch('');
  };
  // "5 min ago", kept current.
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);

  // Tasks the list has not seen, being read once each, with the last state an event gave them
  // meanwhile (the record read is a snapshot that may be older than that).
  const arriving = useRef(new Map<string, { state: TaskState; reason: string } | null>());
  const passes = (state: TaskState) => states.length === 0 || states.includes(state);
  useFeedEvents((e) => {
    const change = e.task_state;
    if (change && tasks) {
      if (tasks.some((t) => t.id === change.task_id)) {
        setTasks(
          (list) =>
            list
              ?.map((t) => (t.id === change.task_id ? { ...t, state: change.to, status_reason: change.reason } : t))
              // A task whose new state the state filter does not take leaves the list.
              .filter((t) => t.id !== change.task_id || passes(t.state)) ?? null,
        );
        // Its end: read the record for what the event does not carry (who cancelled it).
        if (TERMINAL_STATES.has(change.to) && passes(change.to)) {
          client.getTask(change.task_id).then(
            (task) => setTasks((list) => list?.map((t) => (t.id === task.id ? task : t)) ?? null),
            () => {},
          );
        }
      } else {
        // A task we have not seen: read it once, give it the last state heard since, and put it
        // in its place (newest first: ids are time-ordered), if the filters take it.
        const reading = arriving.current.has(change.task_id);
        arriving.current.set(change.task_id, { state: change.to, reason: change.reason });
        if (!reading) {
          client.getTask(change.task_id).then(
            (read) => {
              const last = arriving.current.get(read.id);
              arriving.current.delete(read.id);
              const task = last ? { ...read, state: last.state, status_reason: last.reason } : read;
              if (!passes(task.state) || (typeFilter && task.task_type !== typeFilter)) return;
              setTasks((list) => {
                if (!list || list.some((t) => t.id === task.id)) return list;
                const at = list.findIndex((t) => t.id < task.id);
                // Older than every row loaded: its page, when there is one to load, brings it.
                if (at < 0) return next ? list : [...list, task];
                return [...list.slice(0, at), task, ...list.slice(at)];
              });
            },
            () => arriving.current.delete(change.task_id),
          );
        }
      }
    }
    const p = e.task_progress;
    if (p) setTasks((list) => list?.map((t) => (t.id === p.task_id ? { ...t, progress: p.progress } : t)) ?? null);
  });

  const found = tasks?.filter((t) => matches(t, search)) ?? null;
  const previews = found?.filter(isPreview).length ?? 0;
  const shown = found && (showPreviews ? found : found.filter((t) => !isPreview(t)));

  return (
    <div className="view">
      <h1>Tasks</h1>
      <form className="filters" role="search" aria-label="Filter the tasks" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor={`${ids}-search`}>Search</label>
        <input
          id={`${ids}-search`}
          type="search"
          data-testid="tasks-search"
          value={search}
          placeholder="folder, id or type"
          spellCheck={false}
          onChange={(e) => setSearch(e.target.value)}
        />
        <label htmlFor={`${ids}-state`}>State</label>
        <select id={`${ids}-state`} data-testid="tasks-state" value={stateFilter} onChange={(e) => setStateFilter(e.target.value)}>
          {STATE_FILTERS.map((f) => (
            <option key={f.value} value={f.value}>
              {f.label}
            </option>
          ))}
        </select>
        <label htmlFor={`${ids}-type`}>Type</label>
        <select id={`${ids}-type`} data-testid="tasks-type" value={typeFilter} onChange={(e) => setTypeFilter(e.target.value)}>
          <option value="">any type</option>
          {types.map((t) => (
            <option key={t} value={t}>
              {revealHidden(t)}
            </option>
          ))}
        </select>
      </form>
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
      {shown && shown.length === 0 && !filtered && (
        <p data-testid="tasks-empty">
          No tasks yet{previews > 0 ? ' (only previews, which make nothing)' : ''}.{' '}
          <a href={hrefOf.newProject}>Start a new project</a>.
        </p>
      )}
      {shown && shown.length === 0 && filtered && (
        <p className="empty-note" data-testid="tasks-empty">
          No task matches these filters{previews > 0 ? ' (only previews, which make nothing)' : ''}
          {next && search.trim() ? ' among those read so far' : ''}.{' '}
          <button type="button" className="link" data-testid="tasks-clear-filters" onClick={clear}>
            Clear the filters
          </button>
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
