import type { Candidate, PlanState, StepState } from '../ipc';
import { parsePayload, planStateLabel, planTone, stepStateLabel, stepTone } from '../lib/plan';
import { Untrusted } from './Untrusted';

export function PlanStateBadge({ state }: { state: PlanState }) {
  return (
    <span className={`badge ${planTone(state)}`} data-testid="plan-state" data-state={state}>
      {planStateLabel(state)}
    </span>
  );
}

export function StepStateBadge({ state }: { state: StepState }) {
  return (
    <span className={`badge ${stepTone(state)}`} data-testid="step-state" data-state={state}>
      {stepStateLabel(state)}
    </span>
  );
}

const score = (n: number) => n.toFixed(2);

/** The agents that could run a step, best first: the top one, the whole ranking on asking. */
export function Ranking({ candidates, chosen }: { candidates: Candidate[]; chosen?: string }) {
  const top = candidates[0];
  if (!top) return <span className="help">No agent offers this task type now: it waits for one.</span>;
  return (
    <div className="ranking" data-testid="ranking">
      <span data-testid="top-candidate">
        <strong>
          <Untrusted text={chosen || top.agent_id} />
        </strong>{' '}
        {!chosen && (
          <>
            (score {score(top.score)}
            {top.online ? '' : ', offline'})
          </>
        )}
      </span>
      {candidates.length > 1 || chosen ? (
        <details>
          <summary>
            {candidates.length === 1 ? 'The ranking' : `All ${candidates.length} candidates`}
          </summary>
          <table className="table compact">
            <caption className="sr-only">Agents that could run it, best first</caption>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Score</th>
                <th scope="col">Reputation</th>
                <th scope="col">Price</th>
                <th scope="col">Load</th>
                <th scope="col">Online</th>
              </tr>
            </thead>
            <tbody>
              {candidates.map((c) => (
                <tr key={c.agent_id} data-testid="candidate-row">
                  <td>
                    <Untrusted text={c.agent_id} />
                  </td>
                  <td>{score(c.score)}</td>
                  <td>{score(c.reputation)}</td>
                  <td>{score(c.price)}</td>
                  <td>{score(c.load)}</td>
                  <td>{c.online ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </div>
  );
}

/** A payload's values, read-only, each through `Untrusted` (what the words, or an agent, put there). */
export function PayloadValues({ payloadJson }: { payloadJson: string }) {
  const parsed = parsePayload(payloadJson || '{}');
  if (!('value' in parsed)) {
    return (
      <code>
        <Untrusted text={payloadJson} />
      </code>
    );
  }
  const entries = Object.entries(parsed.value);
  if (entries.length === 0) return <span className="help">nothing given (the defaults)</span>;
  return (
    <ul className="plain payload-values" data-testid="payload-values">
      {entries.map(([k, v]) => (
        <li key={k}>
          <code>
            <Untrusted text={k} />
          </code>
          : <Untrusted text={typeof v === 'string' ? v : JSON.stringify(v)} />
        </li>
      ))}
    </ul>
  );
}
