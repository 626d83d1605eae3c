import { act, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider, type Plan, type PlannedStep } from '../ipc';
import { MockTransport, type Handlers } from '../testing/mockTransport';
import { plan, plannedStep, shopPlan } from '../testing/plans';
import { PlanPage } from './PlanPage';
import { Plans } from './Plans';

function renderWith(ui: ReactNode, handlers: Handlers) {
  const transport = new MockTransport({ ListTaskTypes: () => ({ task_types: [] }), ...handlers });
  const user = userEvent.setup();
  render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>{ui}</FeedProvider>
    </ClientProvider>,
  );
  return { transport, user };
}

/** shopPlan with its steps moved on: `states[i]` (and `more[i]`) for step i + 1. */
function moved(base: Plan, time: string, states: PlannedStep['state'][], more: Partial<PlannedStep>[] = []): Plan {
  return {
    ...base,
    updated_at: time,
    steps: base.steps.map((s, i) => ({ ...s, state: states[i] ?? s.state, ...more[i] })),
  };
}

const running = shopPlan('plan-1', { state: 'PLAN_STATE_RUNNING' });
const node = (n: number) => screen.getAllByTestId('plan-node').find((el) => el.dataset.step === String(n))!;
const stateOf = (n: number) => within(node(n)).getByTestId('step-state');

describe('A plan page', () => {
  beforeEach(() => {
    window.location.hash = '#/plans/plan-1';
  });

  it('reads the plan on opening and draws its steps in layers, each with its state in words and colour', async () => {
    const { transport } = renderWith(<PlanPage planId="plan-1" />, {
      GetPlan: () =>
        moved(running, '2026-12-04T10:00:05Z', ['STEP_STATE_RUNNING'], [
          { agent_id: 'bootstrapper', task_ids: ['t-1'], reason: 'rendering the template' },
        ]),
    });
    await screen.findByTestId('plan-graph');
    expect(transport.requests('GetPlan')).toEqual([{ plan_id: 'plan-1' }]);
    expect(screen.getByTestId('plan-state')).toHaveTextContent('running');
    expect(stateOf(1)).toHaveTextContent('running');
    expect(node(1)).toHaveClass('busy');
    expect(node(1)).toHaveTextContent('on bootstrapper');
    expect(within(node(1)).getByTestId('node-reason')).toHaveTextContent('rendering the template');
    expect(within(node(1)).getByRole('link', { name: 'its task' })).toHaveAttribute('href', '#/tasks/t-1');
    expect(stateOf(2)).toHaveTextContent('waiting');
    expect(node(2)).toHaveTextContent('after 1');
    // Step 2 is a layer right of step 1, joined by one line.
    expect(parseFloat(node(2).style.left)).toBeGreaterThan(parseFloat(node(1).style.left));
    expect(screen.getAllByTestId('plan-edge')).toHaveLength(1);
    expect(screen.getByRole('button', { name: 'Cancel plan' })).toBeInTheDocument();
    // No language model was used: nothing about its cost.
    expect(screen.queryByTestId('plan-money')).not.toBeInTheDocument();
  });

  it('shows what the language model calls cost against the plan\'s money budget', async () => {
    renderWith(<PlanPage planId="plan-1" />, {
      GetPlan: () => ({ ...moved(running, '2026-12-04T10:00:05Z', ['STEP_STATE_RUNNING']), money_budget: 0.5, money_spent: 0.0123 }),
    });
    expect(await screen.findByTestId('plan-money')).toHaveTextContent('0.0123 spent of 0.5');
  });

  it('follows the plan live from the feed, and shows the summary once it ended', async () => {
    const { transport } = renderWith(<PlanPage planId="plan-1" />, { GetPlan: () => running });
    await screen.findByTestId('plan-graph');
    expect(stateOf(1)).toHaveTextContent('waiting');

    act(() => transport.emit({ plan: { plan: moved(running, '2026-12-04T10:00:01Z', ['STEP_STATE_RUNNING']) } }));
    expect(stateOf(1)).toHaveTextContent('running');
    // Another plan's changes are not this one's.
    act(() =>
      transport.emit({ plan: { plan: moved({ ...running, id: 'plan-2' }, '2026-12-04T10:00:02Z', ['STEP_STATE_FAILED']) } }),
    );
    expect(stateOf(1)).toHaveTextContent('running');

    const done = moved(
      { ...running, state: 'PLAN_STATE_SUCCEEDED', summary: 'Made shop in /home/me/HyperAgent/shop\nopened it in the editor' },
      '2026-12-04T10:00:09Z',
      ['STEP_STATE_SUCCEEDED', 'STEP_STATE_SUCCEEDED'],
      [{ summary: 'made shop from fastapi: 14 files' }],
    );
    expect(screen.queryByTestId('plan-summary')).not.toBeInTheDocument();
    act(() => transport.emit({ plan: { plan: done } }));
    expect(stateOf(1)).toHaveTextContent('succeeded');
    expect(stateOf(2)).toHaveTextContent('succeeded');
    expect(node(2)).toHaveClass('ok');
    expect(screen.getByTestId('plan-state')).toHaveTextContent('succeeded');
    expect(screen.getByTestId('plan-summary')).toHaveTextContent(
      'Made shop in /home/me/HyperAgent/shop opened it in the editor',
    );
    expect(screen.getAllByTestId('step-summary')[0]).toHaveTextContent('made shop from fastapi: 14 files');
    expect(screen.queryByRole('button', { name: 'Cancel plan' })).not.toBeInTheDocument();
    expect(screen.queryByTestId('summary-by-model')).not.toBeInTheDocument();

    // The model's summary arrives later, on the same feed, and says who wrote it.
    const written = moved(
      { ...done, summary: `Shop is made and open.\n\n${done.summary}`, summary_by: 'model' },
      '2026-12-04T10:00:12Z',
      ['STEP_STATE_SUCCEEDED', 'STEP_STATE_SUCCEEDED'],
    );
    act(() => transport.emit({ plan: { plan: written } }));
    expect(screen.getByTestId('plan-summary')).toHaveTextContent('Shop is made and open. Made shop in');
    expect(screen.getByTestId('summary-by-model')).toHaveTextContent('Written by the language model');
  });

  it('shows what agents wrote (a reason, a result, the summary) as text, hidden characters by their code', async () => {
    const ended = moved(
      { ...running, state: 'PLAN_STATE_FAILED', summary: 'step 1 failed\u202E' },
      '2026-12-04T10:00:09Z',
      ['STEP_STATE_FAILED', 'STEP_STATE_SKIPPED'],
      [{ reason: 'exit 1\u200B', summary: 'no\u2066 files' }],
    );
    renderWith(<PlanPage planId="plan-1" />, { GetPlan: () => ended });
    const marks = (el: HTMLElement) => within(el).getAllByTestId('untrusted-mark').map((m) => m.textContent);
    expect(marks(await screen.findByTestId('plan-summary'))).toEqual(['U+202E']);
    expect(marks(within(node(1)).getByTestId('node-reason'))).toEqual(['U+200B']);
    expect(marks(screen.getAllByTestId('step-summary')[0]!)).toEqual(['U+2066']);
  });

  it('keeps a newer state from the feed over an older answer to GetPlan', async () => {
    let answer: (p: Plan) => void = () => {};
    const { transport } = renderWith(<PlanPage planId="plan-1" />, {
      GetPlan: () => new Promise<Plan>((ok) => (answer = ok)),
    });
    await waitFor(() => expect(transport.requests('GetPlan')).toHaveLength(1));
    act(() => transport.emit({ plan: { plan: moved(running, '2026-12-04T10:00:05Z', ['STEP_STATE_SUCCEEDED']) } }));
    await act(async () => answer(moved(running, '2026-12-04T10:00:01Z', ['STEP_STATE_RUNNING'])));
    expect(stateOf(1)).toHaveTextContent('succeeded');
  });

  it('cancels a running plan after asking', async () => {
    const { transport, user } = renderWith(<PlanPage planId="plan-1" />, {
      GetPlan: () => running,
      CancelPlan: () =>
        moved({ ...running, state: 'PLAN_STATE_CANCELED', reason: 'cancelled from the UI' }, '2026-12-04T10:01:00Z', [
          'STEP_STATE_CANCELED',
          'STEP_STATE_SKIPPED',
        ]),
    });
    await user.click(await screen.findByRole('button', { name: 'Cancel plan' }));
    await user.click(screen.getByRole('button', { name: 'Yes, cancel' }));
    expect(transport.requests('CancelPlan')).toEqual([{ plan_id: 'plan-1', reason: 'cancelled from the UI' }]);
    expect(await screen.findByTestId('plan-reason')).toHaveTextContent('cancelled from the UI');
    expect(stateOf(1)).toHaveTextContent('cancelled');
    expect(stateOf(2)).toHaveTextContent('skipped');
  });

  it('shows a proposed plan as its editable preview; Run turns it into the graph', async () => {
    const { transport, user } = renderWith(<PlanPage planId="plan-1" />, {
      GetPlan: () => shopPlan('plan-1'),
      AcceptPlan: () => running,
    });
    await screen.findByTestId('plan-preview');
    expect(screen.queryByTestId('plan-graph')).not.toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Run' }));
    expect(await screen.findByTestId('plan-graph')).toBeInTheDocument();
    expect(transport.requests('AcceptPlan')).toEqual([{ plan_id: 'plan-1', edits: [] }]);
  });
});

describe('The plans list', () => {
  it('lists plans newest first, linked to their pages, and puts a new one first from the feed', async () => {
    const older = plan('plan-0', [plannedStep({ number: 1 }, { state: 'STEP_STATE_SUCCEEDED' })], {
      text: 'say hello',
      state: 'PLAN_STATE_SUCCEEDED',
    });
    const { transport } = renderWith(<Plans />, {
      ListPlans: () => ({ plans: [older], next_page_token: '' }),
    });
    const rows = await screen.findAllByTestId('plan-row');
    expect(rows).toHaveLength(1);
    expect(within(rows[0]!).getByRole('link', { name: 'say hello' })).toHaveAttribute('href', '#/plans/plan-0');
    expect(rows[0]).toHaveTextContent('1 of 1 step done');

    act(() => transport.emit({ plan: { plan: running } }));
    const now = screen.getAllByTestId('plan-row');
    expect(now.map((r) => r.dataset.planId)).toEqual(['plan-1', 'plan-0']);
    expect(within(now[0]!).getByTestId('plan-state')).toHaveTextContent('running');
    act(() => transport.emit({ plan: { plan: { ...running, state: 'PLAN_STATE_FAILED', updated_at: '2026-12-04T11:00:00Z' } } }));
    expect(within(screen.getAllByTestId('plan-row')[0]!).getByTestId('plan-state')).toHaveTextContent('failed');
  });

  it('reads older plans on asking, after the ones shown', async () => {
    const { transport, user } = renderWith(<Plans />, {
      ListPlans: ({ page_token }) =>
        page_token === 'p-5'
          ? { plans: [shopPlan('plan-4')], next_page_token: '' }
          : { plans: [shopPlan('plan-6'), shopPlan('plan-5')], next_page_token: 'p-5' },
    });
    expect(await screen.findAllByTestId('plan-row')).toHaveLength(2);
    await user.click(screen.getByRole('button', { name: 'Load older plans' }));
    await waitFor(() => expect(screen.getAllByTestId('plan-row')).toHaveLength(3));
    expect(screen.getAllByTestId('plan-row').map((r) => r.dataset.planId)).toEqual(['plan-6', 'plan-5', 'plan-4']);
    expect(transport.requests('ListPlans')).toEqual([
      { limit: 50, page_token: '' },
      { limit: 50, page_token: 'p-5' },
    ]);
    expect(screen.queryByRole('button', { name: 'Load older plans' })).not.toBeInTheDocument();
  });
});
