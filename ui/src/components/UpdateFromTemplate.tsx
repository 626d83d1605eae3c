import { useEffect, useId, useRef, useState, type ReactNode, type Ref } from 'react';
import { hrefOf, navigate } from '../app/router';
import { ApiError, TERMINAL_STATES, useClient, type Action } from '../ipc';
import { formatTime } from '../lib/format';
import {
  UPDATE_TASK,
  conflictFile,
  updateOutputOf,
  updatePayload,
  updateProblemOf,
  upToDate,
  type ConflictMode,
  type UpdateOutput,
  type UpdateProblem,
} from '../lib/update';
import { OpenAt } from '../views/results/OpenAt';
import { ConfirmButton } from './ConfirmButton';
import { Diff } from './Diff';
import { ErrorNote } from './ErrorNote';
import { Untrusted } from './Untrusted';

/** How a conflict can be left, in the person's words. */
const CONFLICT_CHOICES: [ConflictMode, ReactNode][] = [
  [
    'inline',
    <>
      Marked in the file (<code>{'<<<<<<<'}</code> … <code>{'>>>>>>>'}</code>), as copier leaves them
    </>,
  ],
  [
    'rej',
    <>
      The new version's file, with what did not apply in a <code>.rej</code> file beside it
    </>,
  ],
];

/** A failed preview: what it means, and the agent's own words. */
interface Failure extends UpdateProblem {
  error: string;
}

/**
 * "Update from template" for the project at `path` (a folder of the workspace root): the version
 * and how conflicts are left, a preview (the bootstrapper's `project.update` with `preview`, which
 * writes nothing) with its diff and conflicts, and the update itself, which asks the person first
 * and opens on its own task page.
 */
export function UpdatePanel({ path, onClose }: { path: string; onClose: () => void }) {
  const client = useClient();
  const ids = useId();
  const [vcsRef, setVcsRef] = useState('');
  const [conflict, setConflict] = useState<ConflictMode>('inline');
  const [busy, setBusy] = useState<'preview' | 'update' | null>(null);
  const [preview, setPreview] = useState<UpdateOutput | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [refused, setRefused] = useState<ApiError | null>(null);
  const versionRef = useRef<HTMLInputElement>(null);
  const summaryRef = useRef<HTMLHeadingElement>(null);

  // Where the person's eyes (and a screen reader) go once a preview is back: its summary, or the
  // version it could not use; a refusal of the project is an alert where it is.
  useEffect(() => {
    if (preview && !upToDate(preview)) summaryRef.current?.focus();
  }, [preview]);
  useEffect(() => {
    if (failure?.field === 'version') versionRef.current?.focus();
  }, [failure]);

  // A preview is of the choices it was made with: changing one puts it away.
  const changed = () => {
    setPreview(null);
    setFailure(null);
    setRefused(null);
  };

  const run = async (isPreview: boolean) => {
    changed();
    setBusy(isPreview ? 'preview' : 'update');
    try {
      const { task } = await client.submitTask({
        task_type: UPDATE_TASK,
        payload_json: JSON.stringify(updatePayload({ vcsRef, conflict }, isPreview)),
        workspace: path,
      });
      if (!task) throw new ApiError('internal', 'The manager accepted the task but did not return it.');
      if (!isPreview) {
        navigate(hrefOf.task(task.id));
        return;
      }
      const ended = TERMINAL_STATES.has(task.state) ? task : await client.taskEnded(task.id);
      let output: Record<string, unknown> | null = null;
      try {
        output = JSON.parse(ended.result?.output_json || 'null') as Record<string, unknown> | null;
      } catch {
        output = null;
      }
      const out = ended.state === 'TASK_STATE_COMPLETED' ? updateOutputOf(output) : null;
      if (out) {
        setPreview(out);
      } else {
        const error = ended.result?.error || ended.status_reason || 'The preview did not finish.';
        setFailure({ ...updateProblemOf(error), error });
      }
    } catch (err) {
      setRefused(ApiError.from(err));
    } finally {
      setBusy(null);
    }
  };

  const latest = preview && upToDate(preview);
  const versionNote = failure?.field === 'version' ? failure : null;
  const projectNote = failure?.field === 'project' ? failure : null;
  return (
    <section className="panel update-panel" aria-labelledby={`${ids}-h`} data-testid="update-panel">
      <h2 id={`${ids}-h`}>Update from template</h2>
      <p className="help intro">
        Brings{' '}
        <code>
          <Untrusted text={path} />
        </code>{' '}
        to a newer version of the template it was made from, keeping what you changed since. Preview writes nothing;
        Update asks you first, naming every file it changes, and can be rolled back from its task page. Nothing is
        committed: you review the changes and commit them.
      </p>
      <form
        noValidate
        aria-label="Update from template"
        onSubmit={(e) => {
          e.preventDefault();
          const submitter = (e.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
          const isPreview = submitter?.value !== 'update';
          // Previewed as up to date with these choices: an update would change nothing.
          if (!isPreview && preview && upToDate(preview)) return;
          void run(isPreview);
        }}
      >
        <div className="question">
          <label htmlFor={`${ids}-ref`}>Version</label>
          <input
            id={`${ids}-ref`}
            name="vcs_ref"
            ref={versionRef}
            data-testid="update-version"
            value={vcsRef}
            placeholder="latest release"
            aria-invalid={versionNote ? true : undefined}
            aria-describedby={`${ids}-ref-help${versionNote || latest ? ` ${ids}-ref-note` : ''}`}
            onChange={(e) => {
              setVcsRef(e.target.value);
              changed();
            }}
          />
          <p id={`${ids}-ref-help`} className="help">
            A tag, branch or commit of the template; blank: its latest release tag.
          </p>
          {versionNote && (
            <p id={`${ids}-ref-note`} className="field-error" role="alert" data-testid="update-version-error">
              {versionNote.plain} <span className="agent-words">(<Untrusted text={versionNote.error} />)</span>
            </p>
          )}
          {preview && latest && (
            <p id={`${ids}-ref-note`} className="field-note" role="status" data-testid="update-latest">
              Nothing to update: the project is already at{' '}
              <code>
                <Untrusted text={preview.new_commit} />
              </code>
              {vcsRef.trim() ? '' : ", the template's latest release"}.
            </p>
          )}
        </div>
        <fieldset className="question">
          <legend>Conflicts</legend>
          {CONFLICT_CHOICES.map(([mode, label]) => (
            <div className="question-boolean" key={mode}>
              <input
                id={`${ids}-${mode}`}
                type="radio"
                name="conflict"
                value={mode}
                checked={conflict === mode}
                onChange={() => {
                  setConflict(mode);
                  changed();
                }}
              />
              <label htmlFor={`${ids}-${mode}`}>{label}</label>
            </div>
          ))}
        </fieldset>
        {projectNote && (
          <div className="error-note" role="alert" data-testid="update-error">
            <strong>{projectNote.plain}</strong>
            <p>
              <Untrusted text={projectNote.error} multiline />
            </p>
          </div>
        )}
        {refused && <ErrorNote error={refused} what="The manager refused it" testId="update-refused" />}
        <div className="actions">
          <button type="submit" value="preview" data-testid="update-preview" disabled={busy !== null}>
            {busy === 'preview' ? 'Previewing…' : 'Preview'}
          </button>
          <button
            type="submit"
            value="update"
            className="primary"
            data-testid="update-run"
            disabled={busy !== null}
            aria-disabled={latest || undefined}
            aria-describedby={latest ? `${ids}-ref-note` : undefined}
          >
            {busy === 'update' ? 'Updating…' : 'Update'}
          </button>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </form>
      {preview && !latest && <UpdateSummary out={preview} headingRef={summaryRef} />}
    </section>
  );
}

/** What an update changed (or, previewed, would change): versions, files, conflicts, warnings, diff. */
export function UpdateSummary({
  out,
  headingRef,
  task,
}: {
  out: UpdateOutput;
  headingRef?: Ref<HTMLHeadingElement>;
  /** The update's task, whose folder its conflicts are opened in (in the editor, through the manager). */
  task?: { id: string; workspace: string };
}) {
  // The files are the project's; the editor opens them inside the task's folder, which holds it.
  const inFolder = task && out.path.startsWith(`${task.workspace}/`) ? `${out.path.slice(task.workspace.length + 1)}/` : '';
  const lists: [string, string, string[]][] = [
    ['Changed', 'changed', out.changed],
    ['Added', 'new', out.added],
    ['Removed', 'removed', out.removed],
  ];
  return (
    <div className="update-summary" data-testid="update-summary">
      <h3 ref={headingRef} tabIndex={headingRef ? -1 : undefined}>
        {out.preview ? 'Preview: ' : ''}
        <code>
          <Untrusted text={out.old_commit} />
        </code>{' '}
        →{' '}
        <code>
          <Untrusted text={out.new_commit} />
        </code>
      </h3>
      <p>
        {out.changed.length} changed, {out.added.length} added, {out.removed.length} removed
        {out.conflicts.length > 0 ? `, ${out.conflicts.length} ${out.conflicts.length === 1 ? 'conflict' : 'conflicts'}` : ''}
        {out.preview ? '. Nothing was written.' : '.'}
      </p>
      <ul className="file-list" data-testid="update-files">
        {lists.flatMap(([label, state, files]) =>
          files.map((f) => (
            <li key={`${state}:${f}`}>
              <span className={`badge file-${state}`}>{label.toLowerCase()}</span>{' '}
              <code>
                <Untrusted text={f} />
              </code>
            </li>
          )),
        )}
      </ul>
      {out.conflicts.length > 0 && (
        <div className="update-conflicts" data-testid="update-conflicts">
          <h4>
            {out.preview ? 'Conflicts it would leave' : 'Conflicts to resolve'} ({out.conflicts.length})
          </h4>
          <p className="help">
            {out.conflict === 'rej'
              ? 'Your change and the new version touch the same lines: the file is the new version, and the hunks of yours that did not apply are in the .rej file beside it.'
              : 'Your change and the new version touch the same lines: both are kept in the file between <<<<<<< before updating and >>>>>>> after updating.'}
          </p>
          <ul>
            {out.conflicts.map((c) => (
              <li key={c}>
                {task && !out.preview ? (
                  <OpenAt taskId={task.id} file={`${inFolder}${conflictFile(out, c)}`} line={0} />
                ) : (
                  <code>
                    <Untrusted text={conflictFile(out, c)} />
                  </code>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
      {out.warnings.length > 0 && (
        <ul className="warnings" data-testid="update-warnings">
          {out.warnings.map((w) => (
            <li key={w}>
              <Untrusted text={w} />
            </li>
          ))}
        </ul>
      )}
      {out.diff && (
        <details open={out.diff.length < 200_000}>
          <summary>Diff</summary>
          <Diff text={out.diff} testId="update-diff" />
        </details>
      )}
      {!out.preview && <p className="help">Review the changes with git diff{out.conflicts.length > 0 ? ', resolve the conflicts' : ''}, then commit.</p>}
    </div>
  );
}

/**
 * The task's snapshot of the files it changed or removed (a destructive action the person
 * allowed), offered to be put back; said when it already was.
 */
export function RollbackAction({ taskId }: { taskId: string }) {
  const client = useClient();
  const [action, setAction] = useState<Action | null>(null);
  useEffect(() => {
    let live = true;
    client.listActions().then(
      (r) => live && setAction(r.actions.find((a) => a.task_id === taskId) ?? null),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [client, taskId]);
  if (!action) return null;
  const files = Number(action.files) || action.paths.length;
  if (action.rolled_back_at) {
    return (
      <p className="help" role="status" data-testid="rolled-back">
        Rolled back {formatTime(action.rolled_back_at)}: the files are as they were before this task.
      </p>
    );
  }
  return (
    <span className="rollback" data-testid="rollback">
      <ConfirmButton
        label="Roll back"
        question={`Put the ${files} ${files === 1 ? 'file' : 'files'} this task changed back as they were before it?`}
        yes="Yes, roll back"
        no="Keep the changes"
        failed="Not rolled back"
        testId="rollback-task"
        confirmTestId="rollback-confirm"
        action={() => client.rollbackAction(action.id).then(setAction)}
      />
    </span>
  );
}
