import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider, type Task } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { task } from '../testing/tasks';
import { Tasks } from './Tasks';

function setup(tasks: Task[]) {
  const transport = new MockTransport({
    // As the manager filters: by state and by type.
    ListTasks: (req) => ({
      tasks: tasks.filter(
        (t) => (!req.states?.length || req.states.includes(t.state)) && (!req.task_type || t.task_type === req.task_type),
      ),
      next_page_token: '',
    }),
    ListTaskTypes: () => ({
      task_types: ['bootstrap.project', 'project.update', 'echo.sleep'].map((name) => ({
        task_type: { name, description: '', payload_schema_json: '', examples: [], folder: 'FOLDER_USE_UNSPECIFIED' as const },
        agent_ids: ['a'],
        available: true,
      })),
    }),
  });
  render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <Tasks />
      </FeedProvider>
    </ClientProvider>,
  );
  return { transport, user: userEvent.setup() };
}

const row = (id: string) => screen.getAllByTestId('task-row').find((r) => r.dataset.taskId === id)!;

describe('Tasks', () => {
  it('leaves previews out unless asked, and says so when nothing else is there', async () => {
    const preview = task('p1', {
      task_type: 'bootstrap.project',
      payload_json: '{"template":"fastapi","answers":{},"dry_run":true}',
      state: 'TASK_STATE_COMPLETED',
    });
    const updatePreview = task('p2', {
      task_type: 'project.update',
      payload_json: '{"conflict":"inline","preview":true}',
      state: 'TASK_STATE_COMPLETED',
    });
    const { user } = setup([preview, updatePreview]);
    expect(await screen.findByTestId('tasks-empty')).toHaveTextContent('No tasks yet (only previews, which make nothing).');
    expect(within(screen.getByTestId('tasks-empty')).getByRole('link', { name: 'Start a new project' })).toHaveAttribute('href', '#/new');
    expect(screen.queryByTestId('task-row')).not.toBeInTheDocument();
    await user.click(screen.getByRole('checkbox', { name: 'Show previews (2)' }));
    expect(row('p1')).toBeInTheDocument();
    expect(row('p2')).toBeInTheDocument();
  });

  it('shows progress only while a task runs, and a cancel the person asked for as theirs', async () => {
    setup([
      task('running'),
      task('done', { state: 'TASK_STATE_COMPLETED', progress: { fraction: 1, step: 'done' } }),
      task('stopped', { state: 'TASK_STATE_CANCELED', cancel_requested: true }),
    ]);
    await screen.findAllByTestId('task-row');
    expect(within(row('running')).getByTestId('task-progress')).toBeInTheDocument();
    expect(within(row('done')).queryByTestId('task-progress')).not.toBeInTheDocument();
    expect(within(row('stopped')).queryByTestId('task-progress')).not.toBeInTheDocument();
    expect(within(row('stopped')).getByTestId('task-state')).toHaveTextContent('cancelled by you');
  });

  it('says how long an ended task took, and nothing yet for one still going', async () => {
    setup([
      task('done', { state: 'TASK_STATE_COMPLETED', created_at: '2026-12-04T10:00:00Z', updated_at: '2026-12-04T10:03:05Z' }),
      task('running', { created_at: '2026-12-04T10:00:00Z', updated_at: '2026-12-04T10:00:01Z' }),
    ]);
    await screen.findAllByTestId('task-row');
    expect(within(row('done')).getByTestId('task-took')).toHaveTextContent('3 min 5 s');
    expect(within(row('running')).getByTestId('task-took')).toHaveTextContent('—');
  });

  it('filters by state and type on the manager, searches folder, id and type, and clears the filters', async () => {
    const { transport, user } = setup([
      task('shop-task', { task_type: 'bootstrap.project', workspace: '/w/shop', state: 'TASK_STATE_COMPLETED' }),
      task('blog-task', { task_type: 'bootstrap.project', workspace: '/w/blog', state: 'TASK_STATE_FAILED' }),
      task('sleep-task', { workspace: '/w/nap' }),
    ]);
    await screen.findAllByTestId('task-row');
    const ids = () => screen.queryAllByTestId('task-row').map((r) => r.dataset.taskId);
    expect(ids()).toEqual(['shop-task', 'blog-task', 'sleep-task']);

    await user.selectOptions(screen.getByLabelText('State'), 'failed');
    await waitFor(() => expect(ids()).toEqual(['blog-task']));
    expect(transport.requests('ListTasks').at(-1)?.states).toEqual(['TASK_STATE_FAILED', 'TASK_STATE_DEAD_LETTERED']);

    await user.selectOptions(screen.getByLabelText('State'), '');
    await user.selectOptions(screen.getByLabelText('Type'), 'bootstrap.project');
    await waitFor(() => expect(ids()).toEqual(['shop-task', 'blog-task']));
    expect(transport.requests('ListTasks').at(-1)?.task_type).toBe('bootstrap.project');

    await user.type(screen.getByLabelText('Search'), 'SHOP');
    expect(ids()).toEqual(['shop-task']);
    await user.clear(screen.getByLabelText('Search'));
    await user.type(screen.getByLabelText('Search'), 'nothing like it');
    expect(screen.getByTestId('tasks-empty')).toHaveTextContent('No task matches these filters.');
    await user.click(screen.getByRole('button', { name: 'Clear the filters' }));
    await waitFor(() => expect(ids()).toEqual(['shop-task', 'blog-task', 'sleep-task']));
    expect(screen.getByLabelText('Search')).toHaveValue('');
  });

  it('keeps rows current under a stream of events: the last state heard, in id order, one read each, and the filter held', async () => {
    const { transport, user } = setup([task('t3'), task('t1')]);
    // The record read is a snapshot older than the events heard while it was on its way.
    transport.handlers.GetTask = (req) => task(req.task_id ?? '', { state: 'TASK_STATE_QUEUED' });
    await screen.findAllByTestId('task-row');
    const change = (id: string, to: Task['state']) =>
      act(() =>
        transport.emit({
          task_state: { task_id: id, from: 'TASK_STATE_QUEUED', to, reason: to, agent_id: 'echo', attempt: 1, task_type: 'echo.sleep' },
        }),
      );
    change('t2', 'TASK_STATE_QUEUED');
    change('t2', 'TASK_STATE_ASSIGNED');
    change('t2', 'TASK_STATE_RUNNING');
    await waitFor(() => expect(row('t2')).toBeInTheDocument());
    expect(transport.requests('GetTask')).toHaveLength(1);
    expect(within(row('t2')).getByText(/running/i)).toBeInTheDocument();
    expect(screen.getAllByTestId('task-row').map((r) => r.dataset.taskId)).toEqual(['t3', 't2', 't1']);

    // "Waiting or running": a task that ends leaves the list.
    await user.selectOptions(screen.getByLabelText('State'), 'active');
    await waitFor(() => expect(row('t3')).toBeInTheDocument());
    change('t3', 'TASK_STATE_COMPLETED');
    await waitFor(() => expect(screen.getAllByTestId('task-row').map((r) => r.dataset.taskId)).not.toContain('t3'));
  });
});
