import { useCallback, useEffect, useState } from 'react';
import { useFeedEvents } from '../app/feed';
import { hrefOf } from '../app/router';
import { ConfirmButton } from '../components/ConfirmButton';
import { ErrorNote } from '../components/ErrorNote';
import { PlanStateBadge, Ranking, StepStateBadge } from '../components/PlanBits';
import { PlanPreview } from '../components/PlanPreview';
import { Untrusted } from '../components/Untrusted';
import { ApiError, PLAN_ENDED_STATES, useClient, type Plan, type PlannedStep } from '../ipc';
import { formatTime } from '../lib/format';
import { budgetText, GRAPH, laterPlan, layoutGraph, OPEN_TASK, stepsDone, stepTone } from '../lib/plan';

/**
 * One plan: while proposed, its editable preview; once accepted, its steps as a graph in layers
 * (a step right of those it waits for), live from the feed, with Cancel while it runs and the
 * summary once it ended.
 */
export function PlanPage({ planId }: { planId: string }) {
  const client = useClient();
  const [plan, setPlan] = useState<Plan | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const take = useCallback((p: Plan) => setPlan((held) => laterPlan(held, p)), []);
  useEffect(() => {
    client.getPlan(planId).then(
      (p) => {
        take(p);
        setError(null);
      },
      (err: unknown) => setError(ApiError.from(err)),
    );
  }, [client, planId, take]);
  useFeedEvents((e) => {
    const p = e.plan?.plan;
    if (p && p.id === planId) take(p);
  });

  const crumbs = (
    <p className="crumbs">
      <a href={hrefOf.plans}>Plans</a> / <code>{planId.slice(0, 12)}</code>
    </p>
  );
  if (!plan) {
    return (
      <div className="view plan-page" data-testid="plan-page" data-plan-id={planId}>
        {crumbs}
        <h1>Plan</h1>
        {error ? <ErrorNote error={error} what="The plan could not be shown" /> : <p role="status">Loading…</p>}
      </div>
    );
  }

  const ended = PLAN_ENDED_STATES.has(plan.state);
  return (
    <div className="view plan-page" data-testid="plan-page" data-plan-id={planId}>
      {crumbs}
      <h1>
        Plan: <Untrusted text={plan.text} />
      </h1>
      <div className="task-head">
        <PlanStateBadge state={plan.state} />
        <span className="help">{stepsDone(plan)}</span>
        {plan.reason && (
          <span className="help" data-testid="plan-reason">
            <Untrusted text={plan.reason} />
          </span>
        )}
        <span className="spacer" />
        {plan.state === 'PLAN_STATE_RUNNING' && (
          <ConfirmButton
            label="Cancel plan"
            question="Cancel this plan? Its running steps are cancelled; the others never start."
            action={() => client.cancelPlan(plan.id, 'cancelled from the UI').then(take)}
            testId="cancel-plan"
            confirmTestId="cancel-plan-confirm"
          />
        )}
      </div>
      <dl className="facts inline-facts">
        <dt>Asked</dt>
        <dd>{formatTime(plan.created_at)}</dd>
        <dt>Time budget</dt>
        <dd>{budgetText(plan.budget_secs)}</dd>
        {(plan.money_budget > 0 || plan.money_spent > 0) && (
          <>
            <dt>Language model</dt>
            <dd data-testid="plan-money">
              {plan.money_spent.toFixed(4)} spent{plan.money_budget > 0 ? ` of ${plan.money_budget}` : ''}
            </dd>
          </>
        )}
        {plan.state === 'PLAN_STATE_RUNNING' && (
          <>
            <dt>Stops by</dt>
            <dd>{formatTime(plan.deadline)}</dd>
          </>
        )}
        <dt>Planned by</dt>
        <dd>{plan.router ? <Untrusted text={plan.router} /> : '—'}</dd>
      </dl>
      {error && <ErrorNote error={error} what="The plan could not be read again" />}
      {plan.state === 'PLAN_STATE_PROPOSED' ? (
        <PlanPreview key={plan.id} plan={plan} onAccepted={take} onRejected={take} />
      ) : (
        <>
          {ended && plan.summary && (
            <section
              className={`panel result ${plan.state === 'PLAN_STATE_SUCCEEDED' ? 'ok' : 'bad'}`}
              aria-label="Summary"
              data-testid="plan-summary"
            >
              <h2>Summary</h2>
              {plan.summary_by === 'model' && (
                <p className="help" data-testid="summary-by-model">
                  Written by the language model from the steps' results; the record of each step follows it.
                </p>
              )}
              <p className="summary-text">
                <Untrusted text={plan.summary} multiline />
              </p>
            </section>
          )}
          <PlanGraph plan={plan} />
          <StepDetails plan={plan} />
        </>
      )}
    </div>
  );
}

function TaskLinks({ step }: { step: PlannedStep }) {
  if (step.task_ids.length === 0) return null;
  return (
    <span className="task-links">
      {step.task_ids.map((id, i) => (
        <a key={id} href={hrefOf.task(id)} data-testid="step-task-link">
          {step.task_ids.length === 1 ? 'its task' : `attempt ${i + 1}`}
        </a>
      ))}
    </span>
  );
}

const agentOf = (p: PlannedStep) =>
  p.step?.task_type === OPEN_TASK ? 'HyperAgent' : p.agent_id || p.decisions.at(-1)?.chosen || '';

/** The steps in columns by layer: each after the steps it waits for, joined by a line. */
function PlanGraph({ plan }: { plan: Plan }) {
  const steps = plan.steps.flatMap((p) => (p.step ? [p.step] : []));
  const planned = new Map(plan.steps.flatMap((p) => (p.step ? [[p.step.number, p] as const] : [])));
  const layout = layoutGraph(steps);
  return (
    <section className="plan-graph-section" aria-label="Steps">
      <h2>Steps</h2>
      <div className="table-scroll" role="region" aria-label="The steps as a graph (scrolls sideways)" tabIndex={0}>
        <div className="plan-graph" style={{ width: layout.width, height: layout.height }} data-testid="plan-graph">
          <svg className="plan-edges" width={layout.width} height={layout.height} aria-hidden="true">
            {layout.edges.map((e) => (
              <path
                key={`${e.from}-${e.to}`}
                d={e.d}
                className={`edge ${stepTone(planned.get(e.from)?.state ?? 'STEP_STATE_WAITING')}`}
                data-testid="plan-edge"
              />
            ))}
          </svg>
          <ol className="plain">
            {layout.nodes.map((n) => {
              const p = planned.get(n.number);
              const step = p?.step;
              if (!p || !step) return null;
              const agent = agentOf(p);
              return (
                <li
                  key={n.number}
                  className={`plan-node ${stepTone(p.state)}`}
                  style={{ left: n.x, top: n.y, width: GRAPH.nodeWidth, height: GRAPH.nodeHeight }}
                  data-testid="plan-node"
                  data-step={n.number}
                  data-state={p.state}
                >
                  <div className="node-title">
                    <strong>Step {n.number}</strong>{' '}
                    <code>
                      <Untrusted text={step.task_type} />
                    </code>
                  </div>
                  <div className="node-line">
                    <StepStateBadge state={p.state} />
                    {step.after.length > 0 && <span className="help"> after {step.after.join(', ')}</span>}
                  </div>
                  <div className="node-line help">
                    {agent ? (
                      <>
                        on <Untrusted text={agent} />
                      </>
                    ) : (
                      'no agent yet'
                    )}
                  </div>
                  {p.task_ids.length > 0 && (
                    <div className="node-line">
                      <TaskLinks step={p} />
                    </div>
                  )}
                  {p.reason && (
                    <div className="node-reason" data-testid="node-reason">
                      <Untrusted text={p.reason} />
                    </div>
                  )}
                </li>
              );
            })}
          </ol>
        </div>
      </div>
    </section>
  );
}

/** Each step in full: why it was planned, why its agent, its state's reason, its result. */
function StepDetails({ plan }: { plan: Plan }) {
  return (
    <section aria-label="Step details" className="step-details">
      <h2>Step details</h2>
      <ol className="plain">
        {plan.steps.map((p) => {
          const step = p.step;
          if (!step) return null;
          const decision = p.decisions.at(-1);
          return (
            <li key={step.number} className="panel" data-testid="step-detail" data-step={step.number}>
              <h3>
                Step {step.number}:{' '}
                <code>
                  <Untrusted text={step.task_type} />
                </code>{' '}
                <StepStateBadge state={p.state} />
              </h3>
              <dl className="facts">
                <dt>Why</dt>
                <dd>
                  <Untrusted text={step.why} />
                </dd>
                {p.reason && (
                  <>
                    <dt>State</dt>
                    <dd>
                      <Untrusted text={p.reason} />
                    </dd>
                  </>
                )}
                <dt>Touches</dt>
                <dd>{p.touches ? <Untrusted text={p.touches} /> : '—'}</dd>
                {step.task_type !== OPEN_TASK && (
                  <>
                    <dt>Agent</dt>
                    <dd>
                      {decision ? (
                        <>
                          <Ranking candidates={decision.candidates} chosen={decision.chosen || undefined} />
                          {decision.why && (
                            <span className="help">
                              <Untrusted text={decision.why} />
                            </span>
                          )}
                        </>
                      ) : p.agent_id ? (
                        <Untrusted text={p.agent_id} />
                      ) : p.state === 'STEP_STATE_WAITING' ? (
                        <Ranking candidates={p.candidates} />
                      ) : (
                        '—'
                      )}
                    </dd>
                  </>
                )}
                {p.task_ids.length > 0 && (
                  <>
                    <dt>Tasks</dt>
                    <dd>
                      <TaskLinks step={p} />
                    </dd>
                  </>
                )}
                {p.summary && (
                  <>
                    <dt>Result</dt>
                    <dd data-testid="step-summary">
                      <Untrusted text={p.summary} multiline />
                    </dd>
                  </>
                )}
              </dl>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
