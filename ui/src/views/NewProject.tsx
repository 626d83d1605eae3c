import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { navigate, hrefOf } from '../app/router';
import { useFeedEvents } from '../app/feed';
import { SchemaForm, Suggestion } from '../components/SchemaForm';
import { Diff } from '../components/Diff';
import { ErrorNote } from '../components/ErrorNote';
import { Untrusted } from '../components/Untrusted';
import { ApiError, TERMINAL_STATES, useClient, type Task, type Template } from '../ipc';
import { answersOf, fieldsOf, initialValues, suggestion, validate, type Field, type FormValue, type FormValues } from '../lib/schema';

export const BOOTSTRAP_TASK = 'bootstrap.project';
/** How often a preview's task is looked at until it ends. */

interface DryRunFile {
  path: string;
  state: string;
  size?: number;
}
interface DryRun {
  path: string;
  files: DryRunFile[];
  diff: string;
}

/** The bootstrap task's options besides the answers (BOOTSTRAP_SCHEMA in the bootstrapper). */
interface Options {
  checks: boolean;
  git: boolean;
  overwrite: boolean;
}

function parseFields(schemaJson: string): { fields: Field[]; error: string | null } {
  if (!schemaJson) return { fields: [], error: null };
  try {
    return { fields: fieldsOf(schemaJson), error: null };
  } catch (err) {
    return { fields: [], error: `Its answers schema could not be read: ${ApiError.from(err).message}` };
  }
}

/** The folder a new project goes in when the person names none: its project name. */
function suggestedFolder(fields: Field[], values: FormValues, template: string): string {
  const nameField = fields.find((f) => f.name === 'project_name') ?? fields.find((f) => f.name.endsWith('name'));
  const v = nameField ? values[nameField.name] : undefined;
  return typeof v === 'string' && v ? v : template;
}

/** Where the form's answers are kept for this tab: they outlive a reload, leaving the page and
 * the view being made again when the manager comes back. */
export const DRAFT_KEY = 'hyperagent.newProject.draft';

interface Draft {
  template: string;
  /** Answers by template: switching to another and back keeps both. */
  answers: Record<string, FormValues>;
  folder: string;
  folderEdited: boolean;
  options: Options;
}

function readDraft(): Draft | null {
  try {
    const raw = window.sessionStorage.getItem(DRAFT_KEY);
    const d = raw ? (JSON.parse(raw) as Partial<Draft>) : null;
    if (!d || typeof d.template !== 'string' || typeof d.answers !== 'object' || d.answers === null) return null;
    return {
      template: d.template,
      answers: d.answers,
      folder: typeof d.folder === 'string' ? d.folder : '',
      folderEdited: d.folderEdited === true,
      options: { checks: d.options?.checks !== false, git: d.options?.git !== false, overwrite: d.options?.overwrite === true },
    };
  } catch {
    return null; // storage refused or garbled: start afresh
  }
}

function saveDraft(d: Draft) {
  try {
    window.sessionStorage.setItem(DRAFT_KEY, JSON.stringify(d));
  } catch {
    // Storage refused (private mode, full): the form works, it is just not kept.
  }
}

/** The saved answers of `fields` (same kinds only) over their defaults. */
function restored(fields: Field[], saved: Partial<FormValues>): FormValues {
  const values = initialValues(fields);
  for (const f of fields) {
    const v = saved[f.name];
    if (v !== undefined && typeof v === typeof values[f.name] && Array.isArray(v) === Array.isArray(values[f.name])) values[f.name] = v;
  }
  return values;
}

/** What is wrong with the folder as typed, or null (blank is reported only once Create is tried). */
function folderProblemOf(workspace: string): string | null {
  if (/(^|\/)\.\.(\/|$)/.test(workspace)) return 'The folder must stay inside the workspace (no "..").';
  if (/\s/.test(workspace)) return 'The folder cannot have spaces in its name.';
  if (/[^A-Za-z0-9._/-]/.test(workspace)) return 'The folder may only have letters, digits, "-", "_", "." and "/" in its name.';
  return null;
}

/** The folder as typed with every run of other characters made one "-" ("my shop" -> "my-shop"). */
function folderSuggestion(workspace: string): string | null {
  const fixed = workspace
    .split('/')
    .map((part) => part.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, ''))
    .filter((part) => part && part !== '..')
    .join('/');
  return fixed && fixed !== workspace && folderProblemOf(fixed) === null ? fixed : null;
}

/** The question a refusal or a failed preview names ("answers ... not valid: package_name ..."), if one. */
function namedField(fields: Field[], message: string): Field | undefined {
  return fields.find((f) => new RegExp(`\\b${f.name}\\b`).test(message));
}

/** Start a project: pick a template, answer its questions, preview the files, create it. */
export function NewProject() {
  const client = useClient();
  const ids = useId();
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [listError, setListError] = useState<ApiError | null>(null);
  const [draft] = useState(readDraft);
  const [selected, setSelected] = useState(draft?.template ?? '');
  const [values, setValues] = useState<FormValues>({});
  const [shown, setShown] = useState<Set<string>>(new Set());
  const [tried, setTried] = useState(false);
  const [folder, setFolder] = useState(draft?.folder ?? '');
  const [folderEdited, setFolderEdited] = useState(draft?.folderEdited ?? false);
  const [options, setOptions] = useState<Options>(draft?.options ?? { checks: true, git: true, overwrite: false });
  const [busy, setBusy] = useState<'preview' | 'create' | null>(null);
  const [serverError, setServerError] = useState<ApiError | null>(null);
  const [preview, setPreview] = useState<{ task: Task; dryRun: DryRun | null } | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  // What the manager or a failed preview said of one question, shown there until that answer changes.
  const [reported, setReported] = useState<{ name: string; message: string; value: FormValue | undefined } | null>(null);

  const load = useCallback(() => {
    client.listTemplates().then(
      (r) => {
        setTemplates(r.templates);
        setListError(null);
      },
      (err: unknown) => setListError(ApiError.from(err)),
    );
  }, [client]);
  useEffect(load, [load]);
  useFeedEvents((e) => {
    if (e.templates_changed) load();
  });

  const template = templates?.find((t) => t.name === selected);
  // Keyed by the schema's text: listing the templates again keeps the answers given so far.
  const schemaJson = template?.answers_schema_json ?? '';
  const { fields, error: schemaError } = useMemo(() => parseFields(schemaJson), [schemaJson]);

  // A newly chosen template starts from its defaults, or the answers kept for it in this tab (set
  // while rendering, so no frame shows the new questions with the old answers).
  const [formFor, setFormFor] = useState<string | null>(null);
  if (formFor !== schemaJson) {
    setFormFor(schemaJson);
    const saved = readDraft()?.answers[selected];
    setValues(saved ? restored(fields, saved) : initialValues(fields));
    setShown(new Set());
    setTried(false);
    setPreview(null);
    setServerError(null);
    setReported(null);
  }

  // Keep the answers for this tab as they are typed (not before the template's questions are known).
  useEffect(() => {
    if (!selected || formFor !== schemaJson || !schemaJson) return;
    const answers = { ...readDraft()?.answers, [selected]: values };
    saveDraft({ template: selected, answers, folder, folderEdited, options });
  }, [selected, formFor, schemaJson, values, folder, folderEdited, options]);

  // Offer the first usable template when there is exactly one choice to make.
  useEffect(() => {
    if (!selected && templates) {
      const ok = templates.filter((t) => t.status === 'TEMPLATE_STATUS_OK');
      if (ok.length === 1 && ok[0]) setSelected(ok[0].name);
    }
  }, [templates, selected]);

  const problems = validate(fields, values);
  if (reported && values[reported.name] === reported.value && !problems[reported.name]) problems[reported.name] = reported.message;
  // A blank answer's computed default is checked once an answer it is made from has been given.
  const madeFromShown = (name: string) => {
    const f = fields.find((x) => x.name === name);
    return !values[name] && !!f?.defaultTemplate && fields.some((o) => shown.has(o.name) && f.defaultTemplate?.includes(o.name));
  };
  const shownProblems = Object.fromEntries(
    Object.entries(problems).filter(([name]) => tried || shown.has(name) || name === reported?.name || madeFromShown(name)),
  );
  const suggestions = Object.fromEntries(
    Object.keys(shownProblems).flatMap((name) => {
      const s = suggestion(fields, values, name);
      return s === null ? [] : [[name, s]];
    }),
  );
  // As typed (trimming it there would eat a space while it is typed); sent trimmed.
  const folderText = folderEdited ? folder : suggestedFolder(fields, values, selected);
  const workspace = folderText.trim();
  const folderRule = workspace ? folderProblemOf(workspace) : 'Name the folder the project goes in.';
  // A folder that follows a wrong project name is put right with it: only the name's problem shows.
  const followsWrongName = !folderEdited && Object.keys(problems).some((n) => workspace === String(values[n] ?? '').trim());
  const folderProblem = (workspace || tried) && !followsWrongName ? folderRule : null;
  const folderFix = folderProblem ? folderSuggestion(workspace) : null;
  const blockers = [...Object.keys(problems), ...(folderRule ? ['the folder'] : [])];

  // Answers are checked as they are typed, as the bootstrapper would check them.
  const change = (name: string, value: FormValue) => {
    setValues((v) => ({ ...v, [name]: value }));
    setShown((s) => (s.has(name) ? s : new Set(s).add(name)));
  };
  const report = (message: string) => {
    const named = namedField(fields, message);
    setReported(named ? { name: named.name, message, value: values[named.name] } : null);
  };

  const submit = async (dryRun: boolean) => {
    setTried(true);
    setServerError(null);
    if (!template) return;
    const bad = Object.keys(problems);
    if (bad.length > 0 || folderRule) {
      const first = bad[0];
      const el = first
        ? formRef.current?.querySelector<HTMLElement>(`[name="${CSS.escape(first)}"]`)
        : formRef.current?.querySelector<HTMLElement>('[name="workspace"]');
      el?.focus();
      return;
    }
    const payload = {
      template: template.name,
      answers: answersOf(fields, values),
      dry_run: dryRun,
      ...options,
    };
    setBusy(dryRun ? 'preview' : 'create');
    setPreview(null);
    try {
      const { task } = await client.submitTask({
        task_type: BOOTSTRAP_TASK,
        payload_json: JSON.stringify(payload),
        workspace,
      });
      if (!task) throw new ApiError('internal', 'The manager accepted the task but did not return it.');
      if (!dryRun) {
        navigate(hrefOf.task(task.id));
        return;
      }
      const current = TERMINAL_STATES.has(task.state) ? task : await client.taskEnded(task.id);
      let dry: DryRun | null = null;
      if (current.result?.output_json) {
        try {
          dry = JSON.parse(current.result.output_json) as DryRun;
        } catch {
          dry = null;
        }
      }
      setPreview({ task: current, dryRun: dry });
      if (current.state !== 'TASK_STATE_COMPLETED') report(current.result?.error || current.status_reason || '');
    } catch (err) {
      const e = ApiError.from(err);
      setServerError(e);
      report(e.message);
    } finally {
      setBusy(null);
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const submitter = (e.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    void submit(submitter?.value === 'preview');
  };

  return (
    <div className="view new-project">
      <h1>New project</h1>
      {listError && <ErrorNote error={listError} what="The templates could not be listed" />}
      {templates === null && !listError && <p role="status">Loading templates…</p>}
      {templates && templates.length === 0 && (
        <p>No templates found. Put copier templates in a templates folder of the manager.</p>
      )}
      {templates && templates.length > 0 && (
        <form ref={formRef} onSubmit={onSubmit} noValidate aria-label="New project">
          <fieldset className="templates">
            <legend>Template</legend>
            <ul className="template-list">
              {templates.map((t) => {
                const broken = t.status !== 'TEMPLATE_STATUS_OK';
                return (
                  <li key={t.name} className={broken ? 'template broken' : 'template'} data-testid="template-option">
                    <label>
                      <input
                        type="radio"
                        name="template"
                        value={t.name}
                        disabled={broken}
                        checked={selected === t.name}
                        onChange={() => setSelected(t.name)}
                        aria-describedby={`${ids}-t-${t.name}`}
                      />
                      <strong>{t.name}</strong>
                      {broken && <span className="badge bad"> broken</span>}
                    </label>
                    <div id={`${ids}-t-${t.name}`} className="template-detail">
                      {t.description && <p>{t.description}</p>}
                      {broken && t.error && (
                        <pre className="template-error" data-testid="template-error">{t.error}</pre>
                      )}
                      {t.warnings.length > 0 && (
                        <ul className="warnings">
                          {t.warnings.map((w) => (
                            <li key={w}>{w}</li>
                          ))}
                        </ul>
                      )}
                    </div>
                  </li>
                );
              })}
            </ul>
          </fieldset>

          {template && (
            <>
              <fieldset>
                <legend>Questions of {template.name}</legend>
                {schemaError && <p className="field-error">{schemaError}</p>}
                <SchemaForm
                  fields={fields}
                  values={values}
                  problems={shownProblems}
                  suggestions={suggestions}
                  onChange={change}
                  onBlur={(name) => setShown((s) => new Set(s).add(name))}
                />
              </fieldset>
              <fieldset>
                <legend>Where and how</legend>
                <div className="question">
                  <label htmlFor={`${ids}-folder`}>Folder</label>
                  <input
                    id={`${ids}-folder`}
                    name="workspace"
                    data-testid="field-workspace"
                    value={folderText}
                    aria-invalid={folderProblem ? true : undefined}
                    aria-describedby={`${ids}-folder-help${folderProblem ? ` ${ids}-folder-error` : ''}`}
                    onChange={(e) => {
                      setFolder(e.target.value);
                      setFolderEdited(true);
                    }}
                  />
                  <p id={`${ids}-folder-help`} className="help">
                    Inside the workspace folder; defaults to the project name.
                  </p>
                  {folderProblem && (
                    <p id={`${ids}-folder-error`} className="field-error" role="alert">
                      {folderProblem}
                    </p>
                  )}
                  {folderFix && (
                    <Suggestion
                      value={folderFix}
                      testId="suggest-workspace"
                      onUse={() => {
                        setFolder(folderFix);
                        setFolderEdited(true);
                      }}
                    />
                  )}
                </div>
                <OptionBox id={`${ids}-checks`} label="Check the project (install, run its tests, start it once)" checked={options.checks} onChange={(checks) => setOptions((o) => ({ ...o, checks }))} />
                <OptionBox id={`${ids}-git`} label="git init and commit the new files" checked={options.git} onChange={(git) => setOptions((o) => ({ ...o, git }))} />
                <OptionBox id={`${ids}-overwrite`} label="Allow a folder that is not empty (you are asked first)" checked={options.overwrite} onChange={(overwrite) => setOptions((o) => ({ ...o, overwrite }))} />
              </fieldset>
              {tried && Object.keys(problems).length > 0 && (
                <p className="field-error" role="alert" data-testid="form-invalid">
                  Fix the {Object.keys(problems).length === 1 ? 'answer' : 'answers'} marked above first.
                </p>
              )}
              {serverError && <ErrorNote error={serverError} what="The manager refused it" testId="form-error" />}
              <div className="actions">
                {/* Not `disabled` while answers are wrong: still focusable, and a press shows what to fix. */}
                <button
                  type="submit"
                  value="preview"
                  disabled={busy !== null}
                  aria-disabled={blockers.length > 0 || undefined}
                  aria-describedby={blockers.length > 0 ? `${ids}-blocked` : undefined}
                >
                  {busy === 'preview' ? 'Previewing…' : 'Preview'}
                </button>
                <button
                  type="submit"
                  value="create"
                  className="primary"
                  data-testid="create"
                  disabled={busy !== null}
                  aria-disabled={blockers.length > 0 || undefined}
                  aria-describedby={blockers.length > 0 ? `${ids}-blocked` : undefined}
                >
                  {busy === 'create' ? 'Creating…' : 'Create'}
                </button>
                {blockers.length > 0 && (
                  <span id={`${ids}-blocked`} className="help" data-testid="form-blocked">
                    First answer or fix: {blockers.join(', ')}
                  </span>
                )}
              </div>
            </>
          )}
        </form>
      )}
      {preview && <PreviewPanel task={preview.task} dryRun={preview.dryRun} />}
    </div>
  );
}

function OptionBox(props: { id: string; label: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <div className="question question-boolean">
      <input id={props.id} type="checkbox" checked={props.checked} onChange={(e) => props.onChange(e.target.checked)} />
      <label htmlFor={props.id}>{props.label}</label>
    </div>
  );
}

function PreviewPanel({ task, dryRun }: { task: Task; dryRun: DryRun | null }) {
  if (task.state !== 'TASK_STATE_COMPLETED' || !dryRun) {
    return (
      <section className="panel" aria-label="Preview" data-testid="preview">
        <h2>Preview failed</h2>
        <p className="field-error" role="alert">
          <Untrusted text={task.result?.error || task.status_reason || 'The dry run did not finish.'} multiline />
        </p>
      </section>
    );
  }
  return (
    <section className="panel" aria-label="Preview" data-testid="preview">
      <h2>Preview: {dryRun.files.length} files</h2>
      <p>
        Would be written to{' '}
        <code>
          <Untrusted text={dryRun.path} />
        </code>
        . Nothing was written.
      </p>
      <ul className="file-list" data-testid="preview-files">
        {dryRun.files.map((f) => (
          <li key={f.path}>
            <span className={`badge file-${f.state}`}>
              <Untrusted text={f.state} />
            </span>{' '}
            <code>
              <Untrusted text={f.path} />
            </code>
          </li>
        ))}
      </ul>
      <details open={dryRun.diff.length < 200_000}>
        <summary>Diff</summary>
        <Diff text={dryRun.diff} testId="preview-diff" />
      </details>
    </section>
  );
}
