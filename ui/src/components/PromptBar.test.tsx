import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import App from '../App';
import { ONBOARDED_KEY } from '../app/onboarding';
import { ApiError, type AskResponse } from '../ipc';
import { consent } from '../testing/consents';
import { MockTransport, type Handlers } from '../testing/mockTransport';
import { shopPlan } from '../testing/plans';

const llmConsent = consent('c-llm', {
  task_id: 'm-9',
  agent_id: 'llm',
  target: 'api.example.com:443',
  reason: 'ask the language model',
  created_at: '2026-12-04T10:00:00Z',
});

const nothing: AskResponse = {
  question: '',
  choices: [],
  refusal: '',
  can_do: [],
  router: 'offline',
  micros: '120',
  fallback: '',
  model_task_id: '',
};

function renderApp(handlers: Handlers = {}) {
  const transport = new MockTransport({
    ListConsents: () => ({ consents: [] }),
    ListAgents: () => ({ agents: [] }),
    ListTasks: () => ({ tasks: [], next_page_token: '' }),
    ListTaskTypes: () => ({ task_types: [] }),
    ListPlans: () => ({ plans: [], next_page_token: '' }),
    ...handlers,
  });
  const user = userEvent.setup();
  render(<App client={transport.client()} />);
  return { transport, user };
}

const bar = () => screen.queryByRole('dialog', { name: 'Ask HyperAgent' });

async function ask(user: ReturnType<typeof userEvent.setup>, text: string) {
  await user.keyboard('/');
  await user.type(screen.getByRole('textbox', { name: 'What do you want done?' }), `${text}{Enter}`);
}

describe('The prompt bar', () => {
  beforeEach(() => {
    window.localStorage.setItem(ONBOARDED_KEY, 'yes');
    window.location.hash = '#/tasks';
  });

  it('opens on "/" from any view with the focus in it; Escape closes it and the focus goes back', async () => {
    const { user } = renderApp();
    const tasks = screen.getByRole('link', { name: 'Tasks' });
    tasks.focus();
    expect(bar()).not.toBeInTheDocument();
    await user.keyboard('/');
    expect(bar()).toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: 'What do you want done?' })).toHaveFocus();
    // The "/" opened the bar; it was not typed into it.
    expect(screen.getByRole('textbox', { name: 'What do you want done?' })).toHaveValue('');
    await user.keyboard('{Escape}');
    expect(bar()).not.toBeInTheDocument();
    expect(tasks).toHaveFocus();
  });

  it('opens from the header button, and from the command palette with the words typed there, asked at once', async () => {
    const { transport, user } = renderApp({ Ask: () => ({ ...nothing, refusal: 'Nothing does that.' }) });
    await user.click(screen.getByRole('button', { name: 'Ask…' }));
    expect(bar()).toBeInTheDocument();
    await user.click(within(bar()!).getByRole('button', { name: 'Close' }));
    expect(bar()).not.toBeInTheDocument();

    await user.keyboard('{Control>}k{/Control}');
    await user.keyboard('tidy my downloads folder');
    await user.keyboard('{Enter}');
    expect(screen.queryByRole('dialog', { name: 'Command palette' })).not.toBeInTheDocument();
    expect(bar()).toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: 'What do you want done?' })).toHaveValue('tidy my downloads folder');
    expect(await screen.findByText('Nothing does that.')).toBeInTheDocument();
    expect(transport.requests('Ask').map((r) => r.text)).toEqual(['tidy my downloads folder']);
  });

  it('leaves "/" alone while typing in a field', async () => {
    const { user } = renderApp();
    const field = document.createElement('input');
    field.setAttribute('aria-label', 'Somewhere else');
    document.body.append(field);
    await user.click(field);
    await user.keyboard('a/b');
    expect(field).toHaveValue('a/b');
    expect(bar()).not.toBeInTheDocument();
    field.remove();
  });

  it('waits while another dialog (the introduction) is up', async () => {
    window.localStorage.clear();
    const { user } = renderApp();
    expect(screen.getByRole('dialog', { name: 'What HyperAgent does' })).toBeInTheDocument();
    await user.keyboard('/');
    expect(bar()).not.toBeInTheDocument();
    await user.keyboard('{Control>}k{/Control}');
    expect(screen.queryByRole('dialog', { name: 'Command palette' })).not.toBeInTheDocument();
  });

  it('shows a question with its choices; a choice asks again with it added', async () => {
    const { transport, user } = renderApp({
      Ask: ({ text }) =>
        text === 'check shop'
          ? { ...nothing, question: 'Run its tests, or review its code?', choices: ['tests.run', 'code.review'] }
          : { ...nothing, plan: shopPlan() },
    });
    await ask(user, 'check shop');
    const question = await screen.findByTestId('prompt-question');
    expect(question).toHaveTextContent('Run its tests, or review its code?');
    const choices = within(question).getAllByRole('button');
    expect(choices.map((b) => b.textContent)).toEqual(['tests.run', 'code.review']);
    await user.click(choices[1]!);
    expect(transport.requests('Ask').map((r) => r.text)).toEqual(['check shop', 'check shop (code.review)']);
    expect(screen.getByRole('textbox', { name: 'What do you want done?' })).toHaveValue('check shop (code.review)');
    expect(await screen.findByTestId('plan-preview')).toBeInTheDocument();
  });

  it('shows a refusal with what can be done instead', async () => {
    const { user } = renderApp({
      Ask: () => ({ ...nothing, refusal: 'no agent here sends email', can_do: ['bootstrap.project', 'tests.run'] }),
    });
    await ask(user, 'email my boss');
    const refusal = await screen.findByTestId('prompt-refusal');
    expect(refusal).toHaveTextContent('Nothing will run: no agent here sends email');
    expect(within(screen.getByTestId('prompt-can-do')).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'bootstrap.project',
      'tests.run',
    ]);
    expect(screen.queryByTestId('plan-preview')).not.toBeInTheDocument();
  });

  it('says why the language model was not taken, with a link to its task', async () => {
    const { user } = renderApp({
      Ask: () => ({
        ...nothing,
        refusal: 'no agent here sends email',
        fallback: 'the language model\'s answer was not taken: the model took longer than 30s',
        model_task_id: 'm-1',
      }),
    });
    await ask(user, 'email my boss');
    const note = await screen.findByTestId('prompt-fallback');
    expect(note).toHaveTextContent('The offline router answered: the language model\'s answer was not taken: the model took longer than 30s');
    expect(within(note).getByRole('link', { name: "the model's task" })).toHaveAttribute('href', '#/tasks/m-1');
  });

  it('sends the time budget in seconds when one is given, and none (the default) otherwise', async () => {
    const { transport, user } = renderApp({ Ask: () => ({ ...nothing, refusal: 'no' }) });
    await ask(user, 'email my boss');
    await screen.findByTestId('prompt-refusal');
    await user.type(screen.getByRole('spinbutton', { name: /Time budget in minutes/ }), '15');
    await user.type(screen.getByRole('textbox', { name: 'What do you want done?' }), '{Enter}');
    await waitFor(() => expect(transport.requests('Ask')).toHaveLength(2));
    expect(transport.requests('Ask').map((r) => r.budget_secs)).toEqual([0, 900]);
  });

  it('lets the person answer the model task\'s permission request while asking waits for it', async () => {
    let answerAsk: (r: AskResponse) => void = () => {};
    const { transport, user } = renderApp({
      Ask: () => new Promise<AskResponse>((resolve) => (answerAsk = resolve)),
      AnswerConsent: (req) => ({ ...llmConsent, status: 'CONSENT_STATUS_GRANTED', answer: req.answer ?? 'CONSENT_ANSWER_ONCE' }),
    });
    await ask(user, 'make a fastapi project called shop');
    expect(await screen.findByRole('status')).toHaveTextContent('Asking…');
    // The model's task needs to reach its endpoint: the person is asked, above the prompt bar.
    act(() => transport.emit({ consent: llmConsent }));
    const modal = await screen.findByRole('dialog', { name: 'Permission requested' });
    await user.click(within(modal).getByRole('button', { name: 'Allow once' }));
    await waitFor(() => expect(transport.requests('AnswerConsent')).toHaveLength(1));
    expect(transport.requests('AnswerConsent')[0]).toMatchObject({ id: 'c-llm', answer: 'CONSENT_ANSWER_ONCE' });
    act(() => answerAsk({ ...nothing, router: 'model', model_task_id: 'm-9', refusal: 'no agent here sends email' }));
    expect(await screen.findByTestId('prompt-refusal')).toBeInTheDocument();
    expect(bar()).toBeInTheDocument();
  });

  it('shows no model note when the model answered or none is configured', async () => {
    const { user } = renderApp({ Ask: () => ({ ...nothing, refusal: 'no', router: 'model', model_task_id: 'm-2' }) });
    await ask(user, 'email my boss');
    await screen.findByTestId('prompt-refusal');
    expect(screen.queryByTestId('prompt-fallback')).not.toBeInTheDocument();
  });

  it('shows the manager refusing the request itself', async () => {
    const { user } = renderApp({
      Ask: () => {
        throw new ApiError('invalid_argument', 'the request is longer than 2000 bytes');
      },
    });
    await ask(user, 'x');
    expect(await screen.findByTestId('prompt-error')).toHaveTextContent('Not asked: the request is longer than 2000 bytes');
  });

  it('shows the proposed plan; Run accepts it and opens its page, closing the bar', async () => {
    const { transport, user } = renderApp({
      Ask: () => ({ ...nothing, plan: shopPlan('plan-7') }),
      AcceptPlan: () => shopPlan('plan-7', { state: 'PLAN_STATE_RUNNING' }),
      GetPlan: () => shopPlan('plan-7', { state: 'PLAN_STATE_RUNNING' }),
    });
    await ask(user, 'make a fastapi project called shop, then open it');
    const preview = await screen.findByTestId('plan-preview');
    expect(within(preview).getAllByTestId('plan-step')).toHaveLength(2);
    expect(within(preview).getByTestId('plan-budget')).toHaveTextContent('30 min');
    expect(transport.requests('Ask')).toEqual([{ text: 'make a fastapi project called shop, then open it', budget_secs: 0 }]);
    await user.click(within(preview).getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(window.location.hash).toBe('#/plans/plan-7'));
    expect(transport.requests('AcceptPlan')).toEqual([{ plan_id: 'plan-7', edits: [] }]);
    expect(bar()).not.toBeInTheDocument();
    expect(await screen.findByTestId('plan-graph')).toBeInTheDocument();
  });

  it('Reject drops the plan and says nothing ran', async () => {
    const { transport, user } = renderApp({
      Ask: () => ({ ...nothing, plan: shopPlan('plan-8') }),
      RejectPlan: () => shopPlan('plan-8', { state: 'PLAN_STATE_REJECTED' }),
    });
    await ask(user, 'make a fastapi project called shop');
    await user.click(await screen.findByRole('button', { name: 'Reject' }));
    expect(await screen.findByTestId('prompt-note')).toHaveTextContent('Plan rejected: nothing ran.');
    expect(transport.requests('RejectPlan')).toEqual([{ plan_id: 'plan-8', reason: 'rejected from the UI' }]);
    expect(screen.queryByTestId('plan-preview')).not.toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: 'What do you want done?' })).toHaveFocus();
  });
});
