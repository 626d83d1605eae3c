import { useEffect, useId, useState } from 'react';
import { ApiError, useClient, type Plan, type PlannedStep, type PlanStep } from '../ipc';
import { percent } from '../lib/format';
import {
  blockersOf,
  budgetText,
  dependantsOf,
  editsOf,
  OPEN_TASK,
  projectStepOf,
  untouched,
  type StepDraft,
} from '../lib/plan';
import { ErrorNote } from './ErrorNote';
import { PayloadEditor } from './PayloadEditor';
import { PayloadValues, Ranking } from './PlanBits';
import { Untrusted } from './Untrusted';

/** Each task type's payload schema, by name (empty while not known, or when it cannot be listed). */
function useSchemas(): Record<string, string> {
  const client = useClient();
  const [schemas, setSchemas] = useState<Record<string, string>>({});
  useEffect(() => {
    let live = true;
    client.listTaskTypes().then(
      (r) => {
        if (!live) return;
        const entries = r.task_types.flatMap((t) =>
          t.task_type?.payload_schema_json ? [[t.task_type.name, t.task_type.payload_schema_json] as const] : [],
        );
        setSchemas(Object.fromEntries(entries));
      },
      // Without schemas every payload is edited as JSON.
      () => {},
    );
    return () => {
      live = false;
    };
  }, [client]);
  return schemas;
}

const list = (ns: number[]) => ns.map((n) => `step ${n}`).join(', ');

/**
 * A proposed plan, editable: each step with why it was chosen, the agents that could run it, the
 * folder it touches and what it will ask first; the person changes a payload or folder, removes a
 * step, then runs the plan (with those edits) or rejects it.
 */
export function PlanPreview({
  plan,
  onAccepted,
  onRejected,
}: {
  plan: Plan;
  onAccepted: (plan: Plan) => void;
  onRejected: (plan: Plan) => void;
}) {
  const client = useClient();
  const ids = useId();
  const schemas = useSchemas();
  const [drafts, setDrafts] = useState<Map<number, StepDraft>>(() => new Map());
  const [busy, setBusy] = useState<'run' | 'reject' | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const steps = plan.steps.flatMap((p) => (p.step ? [p.step] : []));
  const removed = new Set(steps.filter((s) => drafts.get(s.number)?.removed).map((s) => s.number));
  const blockers = blockersOf(plan.steps, drafts);

  const update = (step: PlanStep, change: Partial<StepDraft>) =>
    setDrafts((d) => new Map(d).set(step.number, { ...(d.get(step.number) ?? untouched(step)), ...change }));

  const run = async () => {
    setBusy('run');
    setError(null);
    try {
      onAccepted(await client.acceptPlan(plan.id, editsOf(steps, drafts)));
    } catch (err) {
      setError(ApiError.from(err));
    } finally {
      setBusy(null);
    }
  };
  const reject = async () => {
    setBusy('reject');
    setError(null);
    try {
      onRejected(await client.rejectPlan(plan.id, 'rejected from the UI'));
    } catch (err) {
      setError(ApiError.from(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="plan-preview" aria-labelledby={`${ids}-title`} data-testid="plan-preview" data-plan-id={plan.id}>
      <h2 id={`${ids}-title`}>
        The plan: {steps.length} {steps.length === 1 ? 'step' : 'steps'}
      </h2>
      <p className="help">
        Nothing runs until you press Run. Change a step&apos;s folder or payload, or remove it, first if you like.
        Once running it may take <span data-testid="plan-budget">{budgetText(plan.budget_secs)}</span>; what is still
        running then is stopped.
      </p>
      <ol className="plan-steps">
        {plan.steps.flatMap((p) => {
          const step = p.step;
          if (!step) return [];
          return [
            <StepCard
              key={step.number}
              planned={p}
              step={step}
              draft={drafts.get(step.number) ?? untouched(step)}
              dependants={dependantsOf(steps, step.number, removed)}
              schemaJson={schemas[step.task_type]}
              onChange={(change) => update(step, change)}
            />,
          ];
        })}
      </ol>
      {blockers.length > 0 && (
        <ul id={`${ids}-blockers`} className="plain field-error blockers" data-testid="plan-blockers">
          {blockers.map((b) => (
            <li key={b}>{b}</li>
          ))}
        </ul>
      )}
      {error && <ErrorNote error={error} what="The manager refused it" testId="plan-error" />}
      <div className="actions">
        <button
          type="button"
          className="primary"
          data-testid="plan-run"
          disabled={busy !== null || blockers.length > 0}
          aria-describedby={blockers.length > 0 ? `${ids}-blockers` : undefined}
          onClick={() => void run()}
        >
          {busy === 'run' ? 'Starting…' : 'Run'}
        </button>
        <button type="button" data-testid="plan-reject" disabled={busy !== null} onClick={() => void reject()}>
          {busy === 'reject' ? 'Rejecting…' : 'Reject'}
        </button>
      </div>
    </section>
  );
}

interface StepCardProps {
  planned: PlannedStep;
  step: PlanStep;
  draft: StepDraft;
  /** Steps still in the plan that need this one. */
  dependants: number[];
  schemaJson: string | undefined;
  onChange: (change: Partial<StepDraft>) => void;
}

function StepCard({ planned, step, draft, dependants, schemaJson, onChange }: StepCardProps) {
  const id = useId();
  const [refusal, setRefusal] = useState<string | null>(null);
  const n = step.number;
  const project = projectStepOf(step.workspace);
  const isOpen = step.task_type === OPEN_TASK;

  const toggleRemoved = () => {
    if (!draft.removed && dependants.length > 0) {
      setRefusal(
        `Step ${n} cannot be removed alone: ${list(dependants)} ${dependants.length === 1 ? 'needs' : 'need'} it. Remove ${dependants.length === 1 ? 'that step' : 'those steps'} first.`,
      );
      return;
    }
    setRefusal(null);
    onChange({ removed: !draft.removed });
  };

  return (
    <li
      className={`plan-step${draft.removed ? ' removed' : ''}${planned.problem ? ' has-problem' : ''}`}
      data-testid="plan-step"
      data-step={n}
      aria-labelledby={`${id}-title`}
    >
      <h3 id={`${id}-title`}>
        Step {n}:{' '}
        <code>
          <Untrusted text={step.task_type} />
        </code>
        {isOpen && ' (open in the editor)'}
        {draft.removed && <span className="badge idle"> removed</span>}
      </h3>
      {planned.problem && !draft.removed && (
        <p className="step-problem" data-testid="step-problem">
          <strong>Cannot run as it stands:</strong> <Untrusted text={planned.problem} />
        </p>
      )}
      <dl className="facts">
        <dt>Why</dt>
        <dd>
          <Untrusted text={step.why} /> <span className="help">({percent(step.confidence)} sure)</span>
        </dd>
        <dt>After</dt>
        <dd data-testid="step-after">{step.after.length > 0 ? list(step.after) : 'nothing: it starts first'}</dd>
        <dt>Agent</dt>
        <dd>{isOpen ? 'HyperAgent itself (no agent)' : <Ranking candidates={planned.candidates} />}</dd>
        <dt>Touches</dt>
        <dd data-testid="step-touches">{planned.touches ? <Untrusted text={planned.touches} /> : '—'}</dd>
        <dt>Asks first</dt>
        <dd data-testid="step-asks">
          {planned.asks.length > 0 ? (
            <ul className="plain">
              {planned.asks.map((a, i) => (
                <li key={i}>
                  <Untrusted text={a} />
                </li>
              ))}
            </ul>
          ) : (
            'nothing'
          )}
        </dd>
        {!isOpen && (
          <>
            <dt>Payload</dt>
            <dd>
              <PayloadValues payloadJson={step.payload_json} />
            </dd>
          </>
        )}
      </dl>
      {/* Hidden, not dropped, while removed: keeping the step again keeps what was typed. */}
      <div className="step-edit" hidden={draft.removed}>
        <div className="question">
          <label htmlFor={`${id}-folder`}>Folder of step {n}</label>
          <input
            id={`${id}-folder`}
            type="text"
            data-testid="step-folder"
            autoComplete="off"
            spellCheck={false}
            value={draft.workspace}
            placeholder="as planned"
            aria-describedby={`${id}-folder-help`}
            onChange={(e) => onChange({ workspace: e.target.value })}
          />
          <p id={`${id}-folder-help`} className="help">
            {project !== null && `"$${project}.path" is the folder of the project step ${project} makes. `}
            Inside the workspace folder, or a path; left empty, the planned folder is kept.
          </p>
        </div>
        {!isOpen && (
          <details>
            <summary>Edit the payload</summary>
            <PayloadEditor
              payloadJson={step.payload_json || '{}'}
              schemaJson={schemaJson}
              label={`Payload of step ${n}`}
              onChange={(payloadJson, payloadProblem) => onChange({ payloadJson, payloadProblem })}
            />
          </details>
        )}
      </div>
      <div className="actions">
        <button type="button" data-testid="step-remove" onClick={toggleRemoved}>
          {draft.removed ? `Keep step ${n}` : `Remove step ${n}`}
        </button>
      </div>
      {refusal && (
        <p className="field-error" role="alert" data-testid="step-remove-refused">
          {refusal}
        </p>
      )}
    </li>
  );
}
