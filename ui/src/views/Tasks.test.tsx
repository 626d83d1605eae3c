import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider, type Task } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { task } from '../testing/tasks';
import { Tasks } from './Tasks';

function setup(tasks: Task[]) {
  const transport = new MockTransport({ ListTasks: () => ({ tasks, next_page_token: '' }) });
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
});
