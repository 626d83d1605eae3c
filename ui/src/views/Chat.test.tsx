import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider, type Conversation, type ConversationTurn } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { plan, plannedStep } from '../testing/plans';
import { Chat } from './Chat';

function turn(request: string, reply: string, plan_id = ''): ConversationTurn {
  return {
    time: '2026-12-04T10:00:00Z',
    request,
    reply,
    plan_id,
    router: 'offline',
    model_task_id: '',
    model_cost: 0,
    choices: [],
    routed_as: '',
  };
}

function conversation(turns: ConversationTurn[], more: Partial<Conversation> = {}): Conversation {
  return {
    id: 'c1',
    title: 'make shop',
    mode: 'CONVERSATION_MODE_PREVIEW',
    turns,
    folder: 'shop',
    money_budget: 0,
    token_budget: '0',
    created_at: '2026-12-04T10:00:00Z',
    updated_at: '2026-12-04T10:00:00Z',
    ...more,
  };
}

const totals = { plans: 1, tasks: 1, money: 0, tokens: '0' };

function mount(transport: MockTransport, id?: string) {
  return render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <Chat conversationId={id} />
      </FeedProvider>
    </ClientProvider>,
  );
}

describe('Chat', () => {
  it('shows a saved conversation: each request, the answer, its plan and summary, kept current from the feed', async () => {
    const made = plan('p1', [plannedStep({ number: 1, task_type: 'bootstrap.project' }, { state: 'STEP_STATE_RUNNING', task_ids: ['t1'] })], {
      state: 'PLAN_STATE_RUNNING',
    });
    const saved = conversation([turn('make a fastapi project called shop', 'A plan of 1 step: 1. bootstrap.project in shop.', 'p1')]);
    const transport = new MockTransport({
      ListConversations: () => ({ conversations: [{ ...saved, turns: [] }], turn_counts: [1], next_page_token: '' }),
      GetConversation: () => ({ conversation: saved, plans: [made], totals }),
    });
    mount(transport, 'c1');
    const turns = await screen.findAllByTestId('chat-turn');
    expect(turns).toHaveLength(1);
    expect(turns[0]).toHaveTextContent('You: make a fastapi project called shop');
    expect(turns[0]).toHaveTextContent('HyperAgent: A plan of 1 step: 1. bootstrap.project in shop.');
    expect(within(turns[0]!).getByTestId('plan-state')).toHaveAttribute('data-state', 'PLAN_STATE_RUNNING');
    expect(screen.getByTestId('chat-totals')).toHaveTextContent('1 plans · 1 tasks · 0 model tokens · about shop');
    expect(screen.getByTestId('chat-session')).toHaveAttribute('aria-current', 'page');
    // The plan ends: its summary shows without reading the conversation again.
    transport.emit({ plan: { plan: { ...made, state: 'PLAN_STATE_SUCCEEDED', summary: 'Made shop.' } } });
    expect(await screen.findByTestId('chat-summary')).toHaveTextContent('Made shop.');
    expect(transport.requests('GetConversation')).toHaveLength(1);
  });

  it('a new conversation starts at the first request, in the mode chosen, and asks in it', async () => {
    const user = userEvent.setup();
    const asked = conversation([turn('run the tests in shop', 'A plan of 1 step: 1. tests.run in shop.', 'p2')], {
      mode: 'CONVERSATION_MODE_AUTO',
    });
    const running = plan('p2', [plannedStep({ number: 1, task_type: 'tests.run' })], { state: 'PLAN_STATE_RUNNING' });
    const transport = new MockTransport({
      ListConversations: () => ({ conversations: [], turn_counts: [], next_page_token: '' }),
      StartConversation: () => ({ ...asked, turns: [] }),
      Ask: () => ({
        plan: running,
        question: '',
        choices: [],
        refusal: '',
        can_do: [],
        router: 'offline',
        micros: '10',
        fallback: '',
        model_task_id: '',
        conversation: asked,
      }),
      GetConversation: () => ({ conversation: asked, plans: [running], totals }),
    });
    mount(transport);
    await user.click(screen.getByTestId('chat-mode-auto'));
    expect(transport.requests('StartConversation')).toHaveLength(0);
    await user.type(screen.getByTestId('chat-input'), 'run the tests in shop{Enter}');
    expect(await screen.findByTestId('chat-reply')).toHaveTextContent('A plan of 1 step: 1. tests.run in shop.');
    expect(transport.requests('StartConversation')).toEqual([{ mode: 'CONVERSATION_MODE_AUTO' }]);
    expect(transport.requests('Ask')).toEqual([{ text: 'run the tests in shop', budget_secs: 0, conversation_id: 'c1' }]);
    expect(window.location.hash).toBe('#/chat/c1');
  });

  it('a refused request says why and keeps the words', async () => {
    const user = userEvent.setup();
    const transport = new MockTransport({
      ListConversations: () => ({ conversations: [], turn_counts: [], next_page_token: '' }),
      StartConversation: () => conversation([]),
      Ask: () => {
        throw new (class extends Error {
          code = 'resource_exhausted';
        })('this conversation has spent 0.5000 of its money budget of 0.5000');
      },
    });
    mount(transport);
    await user.type(screen.getByTestId('chat-input'), 'run its tests{Enter}');
    expect(await screen.findByTestId('chat-error')).toHaveTextContent('of its money budget');
    expect(screen.getByTestId('chat-input')).toHaveValue('run its tests');
  });

  it('renames the conversation and sets its budget; a budget that cannot be is said and not sent', async () => {
    const user = userEvent.setup();
    const saved = conversation([turn('echo hi', 'A plan of 1 step: 1. echo.echo.')]);
    const transport = new MockTransport({
      ListConversations: () => ({ conversations: [{ ...saved, turns: [] }], turn_counts: [1], next_page_token: '' }),
      GetConversation: () => ({ conversation: saved, plans: [], totals }),
      UpdateConversation: (req) => ({ ...saved, title: req.title ?? saved.title }),
    });
    mount(transport, 'c1');
    await user.click(await screen.findByText('Title and budget'));
    const title = screen.getByLabelText('Title');
    await user.clear(title);
    await user.type(title, 'Shop work');
    const money = screen.getByLabelText('Most its model calls may cost (0: no limit)');
    await user.clear(money);
    await user.type(money, 'lots');
    expect(screen.getByRole('alert')).toHaveTextContent('The money budget is a number, 0 or more.');
    expect(screen.getByTestId('chat-details-save')).toBeDisabled();
    await user.clear(money);
    await user.type(money, '0.5');
    const tokens = screen.getByLabelText('Most model tokens its tasks may use (0: no limit)');
    await user.clear(tokens);
    await user.type(tokens, '20000');
    await user.click(screen.getByTestId('chat-details-save'));
    expect(transport.requests('UpdateConversation')).toEqual([
      { conversation_id: 'c1', title: 'Shop work', money_budget: 0.5, token_budget: '20000' },
    ]);
  });

  it("a question's choices are buttons on the latest turn; one asks again in the conversation", async () => {
    const user = userEvent.setup();
    const question = {
      ...turn('check shop', 'Which one? It could be: tests.run, code.review.'),
      choices: ['tests.run', 'code.review'],
    };
    let saved = conversation([question]);
    const answered = conversation([
      question,
      { ...turn('code.review', "I can't do that here"), routed_as: 'check shop (code.review)' },
    ]);
    const transport = new MockTransport({
      ListConversations: () => ({ conversations: [{ ...saved, turns: [] }], turn_counts: [1], next_page_token: '' }),
      GetConversation: () => ({ conversation: saved, plans: [], totals }),
      Ask: () => ((saved = answered), {
        question: '',
        choices: [],
        refusal: 'nothing to do',
        can_do: [],
        router: 'offline',
        micros: '1',
        fallback: '',
        model_task_id: '',
        conversation: answered,
      }),
    });
    mount(transport, 'c1');
    const choices = await screen.findAllByTestId('chat-choice');
    expect(choices.map((c) => c.textContent)).toEqual(['tests.run', 'code.review']);
    await user.click(choices[1]!);
    expect(transport.requests('Ask')).toEqual([{ text: 'code.review', budget_secs: 0, conversation_id: 'c1' }]);
    expect(await screen.findByTestId('chat-routed-as')).toHaveTextContent('Asked as: check shop (code.review)');
    expect(screen.queryAllByTestId('chat-choice')).toHaveLength(0);
  });

  it('deletes a conversation only once the person confirms, then starts a new one', async () => {
    const user = userEvent.setup();
    const saved = conversation([turn('echo hi', 'A plan of 1 step: 1. echo.echo.')]);
    const transport = new MockTransport({
      ListConversations: () => ({ conversations: [{ ...saved, turns: [] }], turn_counts: [1], next_page_token: '' }),
      GetConversation: () => ({ conversation: saved, plans: [], totals }),
      DeleteConversation: () => ({}),
    });
    window.location.hash = '#/chat/c1';
    mount(transport, 'c1');
    await user.click(await screen.findByTestId('chat-delete'));
    expect(transport.requests('DeleteConversation')).toHaveLength(0);
    expect(screen.getByText('Delete this conversation? Its plans and their tasks stay.')).toBeInTheDocument();
    await user.click(screen.getByTestId('chat-delete-confirm'));
    expect(transport.requests('DeleteConversation')).toEqual([{ conversation_id: 'c1' }]);
    expect(window.location.hash).toBe('#/chat');
  });
});
