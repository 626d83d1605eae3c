import { useCallback } from 'react';
import { useFeedEvents } from '../app/feed';
import { hrefOf } from '../app/router';
import { usePages } from '../app/usePages';
import { ErrorNote } from '../components/ErrorNote';
import { PlanStateBadge } from '../components/PlanBits';
import { TableScroll } from '../components/TableScroll';
import { Untrusted } from '../components/Untrusted';
import { useClient } from '../ipc';
import { formatTime } from '../lib/format';
import { laterPlan, stepsDone } from '../lib/plan';

const PAGE = 50;

/** Every plan, newest first, kept current from the feed; with none, the way to make one (`onAsk`: the prompt bar). */
export function Plans({ onAsk }: { onAsk?: () => void }) {
  const client = useClient();
  const read = useCallback(
    (pageToken: string) =>
      client.listPlans({ limit: PAGE, page_token: pageToken }).then((r) => ({ items: r.plans, next: r.next_page_token })),
    [client],
  );
  const { items: plans, setItems: setPlans, next, error, more } = usePages(read);

  useFeedEvents((e) => {
    const p = e.plan?.plan;
    if (!p) return;
    setPlans((list) => {
      if (!list) return list;
      // A plan not listed yet is new: it goes first (newest first).
      if (!list.some((x) => x.id === p.id)) return [p, ...list];
      return list.map((x) => (x.id === p.id ? laterPlan(x, p) : x));
    });
  });

  return (
    <div className="view">
      <h1>Plans</h1>
      <p className="help">
        What you asked for in the prompt bar (Ctrl K, or /), and how each plan went.
      </p>
      {error && <ErrorNote error={error} what="The plans could not be listed" />}
      {plans === null && !error && <p role="status">Loading…</p>}
      {plans && plans.length === 0 && (
        <p data-testid="plans-empty">
          No plans yet.{' '}
          {onAsk ? (
            <button type="button" className="link" onClick={onAsk}>
              Ask for something
            </button>
          ) : (
            'Ask for something'
          )}{' '}
          in plain words: HyperAgent proposes a plan, and nothing runs until you press Run.
        </p>
      )}
      {plans && plans.length > 0 && (
        <TableScroll label="Plans">
          <table className="table" data-testid="plan-table">
            <caption className="sr-only">Plans, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col">State</th>
                <th scope="col">Steps</th>
                <th scope="col">Asked</th>
              </tr>
            </thead>
            <tbody>
              {plans.map((p) => (
                <tr key={p.id} data-testid="plan-row" data-plan-id={p.id}>
                  <td className="detail">
                    <a href={hrefOf.plan(p.id)}>
                      <Untrusted text={p.text || p.id} />
                    </a>
                  </td>
                  <td>
                    <PlanStateBadge state={p.state} />
                  </td>
                  <td>{stepsDone(p)}</td>
                  <td>{formatTime(p.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {next && (
        <button type="button" onClick={more}>
          Load older plans
        </button>
      )}
    </div>
  );
}
