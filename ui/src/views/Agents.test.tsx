import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider, type Agent } from '../ipc';
import { task } from '../testing/tasks';
import { MockTransport } from '../testing/mockTransport';
import { managerStatus } from '../testing/status';
import { runningWords } from '../lib/format';
import { Agents, DOING_SHOWN, START_WITH_AGENTS } from './Agents';

/** An online agent, with `over`. */
function agentOf(id: string, over: Partial<Agent> = {}): Agent {
  return {
    id,
    version: '1',
    status: 'AGENT_STATUS_ONLINE',
    capabilities: [],
    max_concurrency: 1,
    running_task_ids: [],
    load: 0,
    restarts: 0,
    tasks_succeeded: '0',
    tasks_failed: '0',
    cost: 0,
    pid: 7,
    supervised: true,
    status_reason: '',
    confined: false,
    ...over,
  } as Agent;
}

/** The Agents view over a stand-in transport (the manager's client API at its boundary). */
function showAgents(transport: MockTransport) {
  render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <Agents />
      </FeedProvider>
    </ClientProvider>,
  );
}

function setup() {
  showAgents(new MockTransport({ ListAgents: () => ({ agents: [] }) }));
}

describe('Agents', () => {
  it('with no agent, says no task can start and what starts agents, and copies the command that does', async () => {
    const user = userEvent.setup();
    const writeText = vi.spyOn(navigator.clipboard, 'writeText').mockResolvedValue();
    setup();
    const empty = await screen.findByTestId('agents-empty');
    expect(empty).toHaveTextContent('No agent has registered, so no task can start.');
    expect(empty).toHaveTextContent('[supervisor] agent_dirs');
    expect(screen.getByTestId('agents-command')).toHaveTextContent('hyperagent serve --web --agents-dir FOLDER');
    expect(screen.queryByTestId('agent-table')).not.toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Copy the command' }));
    expect(writeText).toHaveBeenCalledWith(START_WITH_AGENTS);
    expect(await screen.findByRole('status')).toHaveTextContent('Copied.');
  });

  it('says the command when the browser refuses to copy it', async () => {
    const user = userEvent.setup();
    vi.spyOn(navigator.clipboard, 'writeText').mockRejectedValue(new Error('denied'));
    setup();
    await user.click(await screen.findByRole('button', { name: 'Copy the command' }));
    expect(await screen.findByRole('status')).toHaveTextContent(`The browser refused to copy it: ${START_WITH_AGENTS}`);
  });

  it('says what each agent is doing now: its tasks, their step and model calls, live from the feed', async () => {
    const coder = agentOf('coder', { max_concurrency: 2, running_task_ids: ['t1'], load: 0.5, confined: true });
    const idle: Agent = { ...coder, id: 'echo', running_task_ids: [] };
    const transport = new MockTransport({
      ListAgents: () => ({ agents: [coder, idle] }),
      ListMessages: () => ({
        messages: [
          {
            id: 'm2',
            from: 'coder',
            to_agent: 'reviewer',
            kind: 'handoff',
            body_json: '{}',
            idempotency_key: '',
            about_task: 't1',
            state: 'dead_lettered',
            deliveries: 5,
            reason: 'not acknowledged after 5 deliveries',
            created_at: '2026-12-04T10:00:00Z',
          },
        ],
        next_page_token: '',
      }),
      ListTasks: (req) => {
        expect(req.states).toEqual(['TASK_STATE_ASSIGNED', 'TASK_STATE_RUNNING', 'TASK_STATE_AWAITING_CONSENT']);
        return { tasks: [task('t1', { task_type: 'code.change', workspace: '/home/me/src/shop', progress: { fraction: 0.2, step: 'model call 1' } })], next_page_token: '' };
      },
    });
    showAgents(transport);
    const row = await within(await screen.findByTestId('agent-table')).findByRole('row', { name: /coder/ });
    const doing = within(row).getByTestId('agent-doing');
    expect(await within(doing).findByRole('link', { name: 'code.change · shop' })).toHaveAttribute('href', '#/tasks/t1');
    expect(within(doing).getByTestId('agent-task-step')).toHaveTextContent('model call 1');
    expect(within(within(screen.getByTestId('agent-table')).getByRole('row', { name: /echo/ })).getByTestId('agent-doing')).toHaveTextContent('idle');
    const feed = [...transport.subscribers][0]!;
    act(() => feed.onEvent({ seq: '5', task_progress: { task_id: 't1', progress: { fraction: 0.4, step: 'model call 2' } } }));
    const usage = { calls: 2, prompt_tokens: '900', completion_tokens: '100', total_tokens: '1000', elapsed_ms: 1500, first_token_ms: 0, generation_ms: 0, calls_without_usage: 0 };
    act(() => feed.onEvent({ seq: '6', model_call: { task_id: 't1', usage } }));
    expect(within(doing).getByTestId('agent-task-step')).toHaveTextContent('model call 2');
    expect(within(doing).getByTestId('agent-task-usage')).toHaveTextContent('model: 2 calls, 1,000 tokens (900 prompt + 100 completion), 1.5 s');
    // The latest messages between agents, a dead letter with its reason.
    const message = within(screen.getByTestId('agent-messages')).getByTestId('message-row');
    expect(message).toHaveAttribute('data-state', 'dead_lettered');
    expect(message).toHaveTextContent('given up (5 deliveries)');
    expect(message).toHaveTextContent('not acknowledged after 5 deliveries');
    expect(within(message).getByRole('link', { name: 'task t1' })).toHaveAttribute('href', '#/tasks/t1');
  });

  it('counts an agent running more tasks than a listing holds right, naming the first few and counting the rest', async () => {
    const ids = Array.from({ length: 450 }, (_, i) => `t${String(i).padStart(3, '0')}`);
    const busy = agentOf('builder', { max_concurrency: 500, running_task_ids: ids, load: 0.9 });
    const transport = new MockTransport({
      ListAgents: () => ({ agents: [busy] }),
      ListMessages: () => ({ messages: [], next_page_token: '' }),
      // The manager's page: the newest 200, which are not the ones the agent names first.
      ListTasks: () => ({ tasks: ids.slice(250).map((id) => task(id, { task_type: 'build', state: 'TASK_STATE_RUNNING' })), next_page_token: 't250' }),
      GetTask: ({ task_id }) => task(task_id ?? '', { task_type: 'build', state: 'TASK_STATE_RUNNING' }),
      GetStatus: () => managerStatus({ tasks_running: 447, tasks_awaiting_consent: 3 }),
    });
    showAgents(transport);
    const doing = within(await screen.findByRole('row', { name: /builder/ })).getByTestId('agent-doing');
    expect(within(doing).getAllByTestId('agent-task')).toHaveLength(DOING_SHOWN);
    expect(within(doing).getByTestId('agent-tasks-more')).toHaveTextContent('and 440 more tasks');
    expect(await screen.findByTestId('agents-running')).toHaveTextContent('447 tasks running, 3 waiting for you');
    // Each task named has its details, though the listing stopped before it.
    await vi.waitFor(() => expect(within(doing).getAllByRole('link', { name: 'build' })).toHaveLength(DOING_SHOWN));
    expect(transport.requests('GetTask').map((r) => r.task_id)).toEqual(ids.slice(0, DOING_SHOWN));
  });

  it('without the manager\'s count, says "at least" what a listing cut at its page saw', () => {
    expect(runningWords({ running: 198, waiting: 2, atLeast: true })).toBe('200+ tasks running or waiting for you');
    expect(runningWords({ running: 1, waiting: 0, atLeast: false })).toBe('1 task running');
    expect(runningWords({ running: 450, waiting: 2, atLeast: false })).toBe('450 tasks running, 2 waiting for you');
  });
});
