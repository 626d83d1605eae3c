import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { useFeedEvents } from '../app/feed';
import { hrefOf, navigate } from '../app/router';
import { ConfirmButton } from '../components/ConfirmButton';
import { ErrorNote } from '../components/ErrorNote';
import { LogViewer } from '../components/LogViewer';
import { TableScroll } from '../components/TableScroll';
import { DriftNote, ProgressBar, StateBadge, type Drift } from '../components/TaskBits';
import { AttemptList, ErrorBox, StepTimeline } from '../components/TaskTimeline';
import { Untrusted } from '../components/Untrusted';
import { RollbackAction, UpdatePanel, UpdateSummary } from '../components/UpdateFromTemplate';
import { ApiError, TERMINAL_STATES, useClient, type Task } from '../ipc';
import { baseName, duration, enumLabel, formatTime, span, usageText } from '../lib/format';
import { LogStore } from '../lib/logStore';
import { KNOWN_STEPS, errorLineOf, taskTitle, templateWords, timelineOf } from '../lib/timeline';
import { followTaskLogs, readLogLines } from '../lib/taskLogs';
import { revealHidden } from '../lib/untrusted';
import { UPDATE_TASK, updateOutputOf } from '../lib/update';
import { BOOTSTRAP_TASK } from './NewProject';
import { FilesView } from './results/FilesView';
import { FindingsView } from './results/FindingsView';
import { TestsView } from './results/TestsView';
import { checksOutcomeOf, filesOf, findingsOf, parseOutput, testsOf, type ChecksOutcome } from './results/shapes';

interface Check {
  name: string;
  status: string;
  detail?: string;
  seconds?: number;
}
/** The bootstrap task's `output_json` (its dry run has `dry_run`, `files` as objects, `diff`). */
interface BootstrapOutput {
  path?: string;
  files?: (string | { path: string; state: string })[];
  commit?: string;
  checks?: Check[];
  start?: string;
  message?: string;
  dry_run?: boolean;
  /** A `project.update` preview's: it wrote nothing. */
  preview?: boolean;
}

/** The bootstrapper's task that runs a made project's checks again. */
export const CHECK_TASK = 'project.check';


/** One task: its state and progress, its live log, and what it made. */
export function TaskPage({ taskId }: { taskId: string }) {
  const client = useClient();
  const [task, setTask] = useState<Task | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [feedError, setFeedError] = useState<ApiError | null>(null);
  const [store] = useState(() => new LogStore());
  const readLines = useCallback((afterSeq: number, limit: number) => readLogLines(client, taskId, afterSeq, limit), [client, taskId]);
  const [goTo, setGoTo] = useState<{ seq: number } | null>(null);
  const [updating, setUpdating] = useState(false);
  const [drift, setDrift] = useState<Drift | null>(null);

  const refresh = useCallback(() => {
    client.getTask(taskId).then(
      (t) => {
        // A read answered after the feed said the task ended is older than what is shown.
        setTask((shown) => (shown && TERMINAL_STATES.has(shown.state) && !TERMINAL_STATES.has(t.state) ? shown : t));
        setError(null);
      },
      (err: unknown) => setError(ApiError.from(err)),
    );
  }, [client, taskId]);

  useEffect(refresh, [refresh]);

  // Whether the manager found the task drifting before this page was opened: its audit log says.
  useEffect(() => {
    let live = true;
    client.listAudit({ task_id: taskId, action: 'task.drift', newest_first: true, limit: 1 }).then(
      (r) => {
        const e = r.entries[0];
        if (!live || !e) return;
        const d = parseDrift(e.detail_json);
        if (d) setDrift((shown) => shown ?? { ...d, time: e.time });
      },
      () => {}, // only a note: the page works without it
    );
    return () => {
      live = false;
    };
  }, [client, taskId]);

  // The task's state and progress come from the app's feed, which carries no log lines, so they
  // never wait behind a flood of them: the new state is shown as the event arrives, and the full
  // record (result, attempts) read after it.
  useFeedEvents((e) => {
    const changed = e.task_state;
    if (changed?.task_id === taskId) {
      setTask((t) => (t ? { ...t, state: changed.to } : t));
      refresh();
    }
    const p = e.task_progress;
    if (p?.task_id === taskId) {
      setTask((t) => (t && !TERMINAL_STATES.has(t.state) ? { ...t, progress: p.progress } : t));
      setDrift((d) => (d?.drift === 'silent' ? null : d)); // it moved again
    }
    const d = e.task_drift;
    if (d?.task_id === taskId) setDrift({ drift: d.drift, evidence: d.evidence, action: d.action, time: e.time });
    const m = e.model_call;
    if (m?.task_id === taskId && m.usage) {
      const usage = m.usage;
      setTask((t) => (t && (t.usage?.calls ?? 0) < usage.calls ? { ...t, usage } : t));
    }
  });

  // The task's own feed, for its log lines only (its other events come through the app's feed).
  useEffect(
    () =>
      followTaskLogs(
        client,
        taskId,
        store,
        () => {},
        (err) => setFeedError(err),
        () => setFeedError(null),
      ),
    [client, taskId, store],
  );

  if (error && !task) {
    return (
      <div className="view">
        <h1>Task</h1>
        <ErrorNote error={error} what="The task could not be shown" />
        <p>
          <a href={hrefOf.tasks}>All tasks</a>
        </p>
      </div>
    );
  }

  const ended = task ? TERMINAL_STATES.has(task.state) : false;
  const json = parseOutput(task?.result?.output_json);
  const output = json as BootstrapOutput | null;

  const failed = task ? FAILED.has(task.state) : false;
  const show = (seq: number) => setGoTo({ seq });

  return (
    <div className="view task-page" data-testid="task-page" data-task-id={taskId}>
      <p className="crumbs">
        <a href={hrefOf.tasks}>Tasks</a> / <code>{taskId.slice(0, 12)}</code>
      </p>
      <h1 data-testid="task-title">{task ? <Title task={task} /> : 'Task'}</h1>
      {task && (
        <div className="task-head">
          <StateBadge
            state={task.state}
            cancelRequested={task.cancel_requested}
            checksSkipped={checksOutcomeOf(json) === 'checks skipped'}
          />
          <Took task={task} />
          {!ended && <ProgressBar progress={task.progress} label="Progress" />}
          {task.status_reason && !cancelledByYou(task) && !failed && (
            <span className="help">
              <Untrusted text={task.status_reason} />
            </span>
          )}
          <span className="spacer" />
          {!ended && <CancelButton taskId={taskId} requested={task.cancel_requested} onDone={refresh} />}
        </div>
      )}
      {task?.handed_off && (
        <p className="help" data-testid="handed-off">
          Handed off from <a href={hrefOf.task(task.handed_off.from_task)}>task {task.handed_off.from_task.slice(0, 12)}</a>{' '}
          (<Untrusted text={[...task.handed_off.chain, task.task_type].join(' → ')} />)
          {task.handed_off.note && (
            <>
              : <Untrusted text={task.handed_off.note} />
            </>
          )}
        </p>
      )}
      {task && drift && (!ended || drift.action === 'cancelled') && <DriftNote drift={drift} />}
      {task && (
        <TaskActions task={task} output={output} updating={updating} onUpdate={() => setUpdating((u) => !u)} />
      )}
      {task && updating && updatableProject(task, output) && (
        <UpdatePanel path={updatableProject(task, output) ?? ''} onClose={() => setUpdating(false)} />
      )}
      {task && failed && <TaskError task={task} store={store} onShow={show} />}
      {task && <Timeline task={task} store={store} checks={output?.checks ?? null} onShow={show} />}
      {task && <AttemptList attempts={task.attempts} max={task.max_attempts} />}
      {task && (
        <dl className="facts inline-facts">
          <dt>Type</dt>
          <dd>
            <Untrusted text={task.task_type} />
          </dd>
          <dt>Created</dt>
          <dd>{formatTime(task.created_at)}</dd>
          <dt>Agent</dt>
          <dd>{task.agent_id ? <Untrusted text={task.agent_id} /> : '—'}</dd>
          <dt>Folder</dt>
          <dd>
            <code>{task.workspace ? <Untrusted text={task.workspace} /> : '—'}</code>
          </dd>
          <dt>Attempts</dt>
          <dd>
            {task.attempts.length} of {task.max_attempts || '—'}
          </dd>
          {task.usage && (
            <>
              <dt>Model</dt>
              <dd data-testid="task-model-usage">{usageText(task.usage)}</dd>
            </>
          )}
        </dl>
      )}
      {task?.result && <ResultPanel task={task} output={output} />}
      {task && json && <ResultViews task={task} output={json} />}
      {feedError && <ErrorNote error={feedError} what="Live updates paused" testId="feed-error" />}
      <LogViewer store={store} label="Task log" fileName={`task-${taskId}.log`} goTo={goTo} readLines={readLines} />
    </div>
  );
}

/** Ended without doing its work: its error is shown, and it may be tried again. */
const FAILED: ReadonlySet<string> = new Set(['TASK_STATE_FAILED', 'TASK_STATE_DEAD_LETTERED', 'TASK_STATE_INTERRUPTED']);

/** "shop · FastAPI service": the project's name and what it is, from the payload and the template's own words. */
function Title({ task }: { task: Task }) {
  const client = useClient();
  const [words, setWords] = useState('');
  const template = templateOf(task.payload_json);
  useEffect(() => {
    if (!template) return;
    let live = true;
    client.listTemplates().then(
      (r) => live && setWords(templateWords(r.templates.find((t) => t.name === template)?.description ?? '')),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [client, template]);
  const { name, kind } = taskTitle(task, words);
  return (
    <>
      {name && (
        <>
          <Untrusted text={name} /> ·{' '}
        </>
      )}
      <Untrusted text={kind} />
    </>
  );
}

function templateOf(payloadJson: string): string {
  try {
    const v: unknown = JSON.parse(payloadJson || '{}');
    const t = v && typeof v === 'object' ? (v as { template?: unknown }).template : undefined;
    return typeof t === 'string' ? t : '';
  } catch {
    return '';
  }
}

/** How long it took once ended; how long it has waited or run so far, counted each second. */
function Took({ task }: { task: Task }) {
  const ended = TERMINAL_STATES.has(task.state);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (ended) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ended]);
  if (ended) {
    return (
      <span className="took" data-testid="task-took">
        took {duration(task.created_at, task.updated_at)}
      </span>
    );
  }
  const started = task.attempts[0]?.started_at;
  const since = started ?? task.created_at;
  const ms = now - new Date(since ?? '').getTime();
  if (!since || Number.isNaN(ms)) return null;
  return (
    <span className="took" data-testid="task-took">
      {started ? 'running for' : 'waiting for'} {span(Math.max(0, ms))}
    </span>
  );
}

/**
 * The project a completed bootstrap or update made or updated, which can be updated from its
 * template (not a dry run's, which made nothing); null for any other task.
 */
function updatableProject(task: Task, output: BootstrapOutput | null): string | null {
  if (task.state !== 'TASK_STATE_COMPLETED' || !output || output.dry_run) return null;
  if (task.task_type !== BOOTSTRAP_TASK && task.task_type !== UPDATE_TASK) return null;
  return output.path || task.workspace || null;
}

/**
 * The payload of `project.check` for the project an ended bootstrap, update or check made, updated
 * or checked (not a dry run's or a preview's, which wrote nothing): the same folder, and the same
 * `path` inside it; null for any other task.
 */
function recheckPayload(task: Task, output: BootstrapOutput | null): Record<string, unknown> | null {
  if (!TERMINAL_STATES.has(task.state) || !output?.path || output.dry_run || output.preview) return null;
  if (task.task_type !== BOOTSTRAP_TASK && task.task_type !== UPDATE_TASK && task.task_type !== CHECK_TASK) return null;
  // The same project inside the folder, read from the same answers file.
  const payload: Record<string, unknown> = {};
  for (const key of ['path', 'answers_file']) {
    const value = payloadString(task.payload_json, key);
    if (value) payload[key] = value;
  }
  return payload;
}

/** A string of the payload (an update's or a check's `path`, `answers_file`), or ''. */
function payloadString(payloadJson: string, key: string): string {
  try {
    const v: unknown = JSON.parse(payloadJson || '{}');
    const p = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    return typeof p === 'string' ? p : '';
  } catch {
    return '';
  }
}

/**
 * What can be done with the task: try it again, copy its folder or start command, open it, update
 * the project it made from its template, run its checks again, put back the files it changed.
 */
function TaskActions({
  task,
  output,
  updating,
  onUpdate,
}: {
  task: Task;
  output: BootstrapOutput | null;
  updating: boolean;
  onUpdate: () => void;
}) {
  const client = useClient();
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const ended = TERMINAL_STATES.has(task.state);
  const path = output?.path || task.workspace;
  const copy = (what: string, text: string) => {
    navigator.clipboard?.writeText(text).then(
      () => setNote(`Copied the ${what}.`),
      () => setNote(`The browser refused to copy; the ${what} is ${revealHidden(text)}.`),
    );
  };
  const retry = () => {
    setError(null);
    client
      .submitTask({
        task_type: task.task_type,
        payload_json: task.payload_json,
        workspace: task.workspace,
        pin_agent: task.pin_agent,
        timeout_secs: task.timeout_secs,
        max_attempts: task.max_attempts,
      })
      .then(
        (r) => r.task && navigate(hrefOf.task(r.task.id)),
        (err: unknown) => setError(ApiError.from(err)),
      );
  };
  const recheck = recheckPayload(task, output);
  const [recheckError, setRecheckError] = useState<ApiError | null>(null);
  const runChecks = () => {
    if (!recheck) return;
    setRecheckError(null);
    client.submitTask({ task_type: CHECK_TASK, payload_json: JSON.stringify(recheck), workspace: task.workspace }).then(
      (r) => r.task && navigate(hrefOf.task(r.task.id)),
      (err: unknown) => setRecheckError(ApiError.from(err)),
    );
  };
  return (
    <div className="task-actions" role="group" aria-label="Task actions">
      {ended && task.state !== 'TASK_STATE_COMPLETED' && (
        <button type="button" data-testid="retry-task" onClick={retry} title="Submit the same task again, with the same payload and folder">
          Retry
        </button>
      )}
      {path && (
        <button type="button" data-testid="copy-path" onClick={() => copy('path', path)}>
          Copy path
        </button>
      )}
      {output?.start && (
        <button type="button" data-testid="copy-start" onClick={() => copy('start command', output.start ?? '')}>
          Copy start command
        </button>
      )}
      <OpenButton taskId={task.id} state={task.state} />
      {updatableProject(task, output) && (
        <button type="button" data-testid="update-from-template" aria-expanded={updating} onClick={onUpdate}>
          Update from template
        </button>
      )}
      {recheck && (
        <button type="button" data-testid="recheck" onClick={runChecks} title="Install the project, run its tests and start it again, as when it was made">
          Re-run checks
        </button>
      )}
      {ended && <RollbackAction taskId={task.id} />}
      {note && (
        <span role="status" className="help" data-testid="copy-result">
          {note}
        </span>
      )}
      {error && <ErrorNote error={error} what="Not submitted again" testId="retry-error" />}
      {recheckError && <ErrorNote error={recheckError} what="The checks were not started" testId="recheck-error" />}
    </div>
  );
}

/** The log's version while `on` (so a task without steps never re-renders for its lines). */
function useLog(store: LogStore, on: boolean): number {
  return useSyncExternalStore(on ? store.subscribe : noSubscribe, on ? store.getVersion : zero);
}
const noSubscribe = () => () => {};
const zero = () => 0;

/** Why the task failed, in its own words and the log's error line of its last attempt. */
function TaskError({ task, store, onShow }: { task: Task; store: LogStore; onShow: (seq: number) => void }) {
  useLog(store, true);
  const last = task.attempts[task.attempts.length - 1];
  const error = task.result?.error || last?.error || task.status_reason;
  return (
    <ErrorBox
      error={error}
      line={errorLineOf(task, store.lines, store.firstError)}
      onShow={onShow}
      dead={task.state === 'TASK_STATE_DEAD_LETTERED'}
    />
  );
}

/** The steps the task reported, from its log and its checks (none for a task type that logs no known steps). */
function Timeline({
  task,
  store,
  checks,
  onShow,
}: {
  task: Task;
  store: LogStore;
  checks: Check[] | null;
  onShow: (seq: number) => void;
}) {
  const known = task.task_type in KNOWN_STEPS;
  useLog(store, known);
  const ended = TERMINAL_STATES.has(task.state);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (ended || !known) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ended, known]);
  if (!known) return null;
  return <StepTimeline steps={timelineOf(task, store.lines, checks, now)} onShow={onShow} />;
}

function CancelButton({ taskId, requested, onDone }: { taskId: string; requested: boolean; onDone: () => void }) {
  const client = useClient();
  if (requested) return <span className="help">Cancelling…</span>;
  return (
    <ConfirmButton
      label="Cancel task"
      question="Cancel this task? Its folder is put back as it was."
      action={() => client.cancelTask(taskId, 'cancelled from the web UI').then(onDone)}
      testId="cancel-task"
      confirmTestId="cancel-confirm"
    />
  );
}

/** How the manager's opener is named when no editor is on its PATH (`editor::would_open`). */
const SYSTEM_OPENER = 'the system opener';

/** Answers of a check that mean the folder cannot be opened (not that the check failed). */
const CANNOT_OPEN = new Set(['failed_precondition', 'permission_denied', 'not_found']);

/**
 * Opens the task's folder in the editor the manager would use. The manager is asked first
 * (CheckOpenPath: it opens nothing), so a folder deleted since the task ran is said to be gone
 * instead of offered, and the button names what will open it. Asked again when the task's state
 * changes. When the check itself fails (a manager that predates it, a dropped connection), the
 * plain button is offered, as before.
 */
function OpenButton({ taskId, state }: { taskId: string; state: Task['state'] }) {
  const client = useClient();
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  // undefined: not known yet; else the opener's words ('' when unknown) or why it cannot open.
  const [probe, setProbe] = useState<{ opener: string } | { refused: ApiError } | undefined>(undefined);
  useEffect(() => {
    let live = true;
    client.checkOpenPath(taskId).then(
      (r) => {
        if (!live) return;
        // The check says why it cannot open rather than failing (a manager before it fails).
        if (r.cannot_open) setProbe({ refused: new ApiError(r.refused ? 'permission_denied' : 'failed_precondition', r.cannot_open) });
        else setProbe({ opener: r.opener });
      },
      (err: unknown) => {
        if (!live) return;
        const e = ApiError.from(err);
        setProbe(CANNOT_OPEN.has(e.code) ? { refused: e } : { opener: '' });
      },
    );
    return () => {
      live = false;
    };
  }, [client, taskId, state]);
  if (probe === undefined) return null;
  if ('refused' in probe) {
    // A folder that is gone is a fact to state, not an alarm; a refusal says what to allow.
    return (
      <span className="open-path">
        {probe.refused.code === 'permission_denied' ? (
          <ErrorNote error={probe.refused} what="Cannot open the folder" testId="open-unavailable" />
        ) : (
          <span className="help" data-testid="open-unavailable">
            {revealHidden(probe.refused.message)}
          </span>
        )}
      </span>
    );
  }
  const missing = /^the system opener \(`([^`]*)` is not on PATH/.exec(probe.opener)?.[1];
  const noEditor = probe.opener.startsWith(SYSTEM_OPENER);
  // "code (/usr/bin/code)" or "/opt/editors/code (/opt/editors/code)": the program's file name.
  const program = baseName(probe.opener.split(' ')[0] ?? '');
  const label = noEditor
    ? 'Open folder'
    : !probe.opener
      ? 'Open in editor'
      : program && program !== 'code'
        ? `Open in ${program}`
        : 'Open in VS Code';
  return (
    <span className="open-path">
      {noEditor && (
        <span className="help" data-testid="no-editor">
          {missing && missing !== 'code' ? (
            <>
              <code>{missing}</code> is not on the manager&apos;s PATH
            </>
          ) : (
            <>
              VS Code&apos;s <code>code</code> command is not on the manager&apos;s PATH
            </>
          )}
          : the folder opens in your file manager (
          <a href={hrefOf.settingsSection('editor')} data-testid="editor-setting">
            choose an editor
          </a>
          ).
        </span>
      )}
      <button
        type="button"
        data-testid="open-vscode"
        onClick={() => {
          setNote(null);
          setError(null);
          client.openPath({ task_id: taskId }).then(
            (r) =>
              setNote(
                `Opened ${revealHidden(r.path)} with ${revealHidden(r.opener)}.` +
                  (r.warnings ?? []).map((w) => ` Warning: ${revealHidden(w)}`).join(''),
              ),
            (err: unknown) => setError(ApiError.from(err)),
          );
        }}
      >
        {label}
      </button>
      {note && (
        <span role="status" className="help" data-testid="open-result">
          {note}
        </span>
      )}
      {error && <ErrorNote error={error} what="Not opened" testId="open-error" />}
    </span>
  );
}

/** The result's parts that have a view of their own: tests, findings, files with their diffs. */
function ResultViews({ task, output }: { task: Task; output: Record<string, unknown> }) {
  const tests = testsOf(output);
  const findings = findingsOf(output);
  const files = filesOf(output);
  const update = task.task_type === UPDATE_TASK ? updateOutputOf(output) : null;
  if (!tests && !findings && !files && !update) return null;
  return (
    <div className="result-views">
      {update && <UpdateSummary out={update} task={{ id: task.id, workspace: task.workspace }} />}
      {tests && <TestsView task={task} result={tests} />}
      {findings && <FindingsView task={task} result={findings} />}
      {files && <FilesView task={task} files={files} />}
    </div>
  );
}

/** Ended because a person cancelled it (not a failure: no red, no agent's stop message as an error). */
const cancelledByYou = (task: Task) => task.state === 'TASK_STATE_CANCELED' && task.cancel_requested;

function ResultPanel({ task, output }: { task: Task; output: BootstrapOutput | null }) {
  const result = task.result;
  if (!result) return null;
  const ok = result.status === 'RESULT_STATUS_SUCCEEDED';
  const byYou = cancelledByYou(task);
  const outcome: ChecksOutcome | null = ok ? checksOutcomeOf(output as Record<string, unknown> | null) : null;
  const notRun = (output?.checks ?? []).filter((c) => c.status !== 'passed' && c.status !== 'failed');
  const tone = ok
    ? outcome === 'checks skipped'
      ? 'warn'
      : 'ok'
    : byYou
      ? 'cancelled'
      : task.state === 'TASK_STATE_DEAD_LETTERED'
        ? 'dead'
        : 'bad';
  const heading = ok
    ? outcome === 'checks skipped'
      ? 'Completed, checks skipped'
      : outcome === 'not checked'
        ? 'Done, not checked'
        : 'Done'
    : byYou
      ? 'Cancelled by you'
      : enumLabel(result.status, 'RESULT_STATUS_');
  return (
    <section className={`panel result ${tone}`} aria-label="Result" data-testid="task-result" data-outcome={outcome ?? undefined}>
      <h2>{heading}</h2>
      {notRun.length > 0 && (
        <div className="checks-not-run" data-testid="checks-not-run">
          <p>{ok ? 'Made, but not everything was checked. Not run:' : 'Not run:'}</p>
          <ul>
            {notRun.map((c) => (
              <li key={c.name}>
                <strong>
                  <Untrusted text={c.name} />
                </strong>
                {c.detail ? (
                  <>
                    {' '}
                    — <Untrusted text={c.detail} />
                  </>
                ) : null}
              </li>
            ))}
          </ul>
        </div>
      )}
      {result.summary && (
        <p>
          <Untrusted text={result.summary} multiline />
        </p>
      )}
      {output?.path && (
        <p>
          Project:{' '}
          <code data-testid="result-path">
            <Untrusted text={output.path} />
          </code>
          {output.commit && (
            <>
              {' '}
              (commit{' '}
              <code>
                <Untrusted text={output.commit.slice(0, 10)} />
              </code>
              )
            </>
          )}
        </p>
      )}
      {output?.checks && output.checks.length > 0 && (
        <TableScroll label="Checks">
          <table className="table checks" data-testid="result-checks">
            <caption>Checks</caption>
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Status</th>
                <th scope="col">Detail</th>
                <th scope="col">Time</th>
              </tr>
            </thead>
            <tbody>
              {output.checks.map((c) => (
                <tr key={c.name} data-testid="check-row">
                  <td>
                    <Untrusted text={c.name} />
                  </td>
                  <td>
                    <span className={`badge ${c.status === 'passed' ? 'ok' : c.status === 'failed' ? 'bad' : 'idle'}`}>
                      <Untrusted text={c.status} />
                    </span>
                  </td>
                  <td>
                    <Untrusted text={c.detail} />
                  </td>
                  <td>{c.seconds !== undefined ? `${c.seconds.toFixed(1)} s` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {output?.start && (
        <div data-testid="result-start">
          <h3>Start it</h3>
          <pre className="hint">
            <Untrusted text={output.start} multiline />
          </pre>
        </div>
      )}
      {output?.message && (
        <pre className="hint">
          <Untrusted text={output.message} multiline />
        </pre>
      )}
      {result.artifacts.length > 0 && (
        <ul>
          {result.artifacts.map((a) => (
            <li key={a.location}>
              <Untrusted text={a.name} />:{' '}
              <code>
                <Untrusted text={a.location} />
              </code>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** A `task.drift` audit entry's detail, or null when it is not one. */
function parseDrift(json: string): Drift | null {
  try {
    const v = JSON.parse(json) as Partial<Drift>;
    return typeof v.drift === 'string' && typeof v.evidence === 'string' && typeof v.action === 'string'
      ? { drift: v.drift, evidence: v.evidence, action: v.action }
      : null;
  } catch {
    return null;
  }
}
