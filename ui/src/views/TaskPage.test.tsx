import { act, cleanup, render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider, type Event, type Task } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { task } from '../testing/tasks';
import { TaskPage } from './TaskPage';

function setup(initial: Task, editor = 'code (/usr/bin/code)') {
  let current = initial;
  const transport = new MockTransport({
    GetTask: () => current,
    GetLogs: () => ({ lines: [], complete: true }),
    GetStatus: () => ({
      version: '0',
      pid: 1,
      paused: false,
      agents_online: 1,
      agents_known: 1,
      tasks_queued: 0,
      tasks_running: 0,
      tasks_awaiting_consent: 0,
      workspace_root: '/home/me/src',
      workspace_root_source: 'default',
      editor,
    }),
  });
  render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <TaskPage taskId={initial.id} />
      </FeedProvider>
    </ClientProvider>,
  );
  return {
    transport,
    set: (t: Task) => {
      current = t;
    },
  };
}

const state = () => within(screen.getByTestId('task-page')).getByTestId('task-state');

describe('TaskPage', () => {
  it('offers the editor the manager found, or says there is none and offers the folder and its path', async () => {
    setup(task('t1', { workspace: '/home/me/src/shop' }));
    expect(await screen.findByRole('button', { name: 'Open in VS Code' })).toBeInTheDocument();
    expect(screen.queryByTestId('no-editor')).not.toBeInTheDocument();
    cleanup();
    setup(task('t1', { workspace: '/home/me/src/shop' }), '');
    expect(await screen.findByRole('button', { name: 'Open folder' })).toBeInTheDocument();
    expect(screen.getByTestId('no-editor')).toHaveTextContent("VS Code's code command is not on the manager's PATH");
    expect(screen.getByRole('button', { name: 'Copy path' })).toBeInTheDocument();
    cleanup();
    setup(task('t1'), 'vim (/usr/bin/vim)');
    expect(await screen.findByRole('button', { name: 'Open in vim' })).toBeInTheDocument();
    cleanup();
    setup(task('t1'), '/opt/editors/code (/opt/editors/code)');
    expect(await screen.findByRole('button', { name: 'Open in VS Code' })).toBeInTheDocument();
  });

  it('prints the running step once', async () => {
    setup(task('t1', { progress: { fraction: 0.5, step: 'sleep 5/10' } }));
    expect(await screen.findByTestId('task-progress')).toHaveTextContent('50% sleep 5/10');
    expect(screen.getAllByText(/sleep 5\/10/)).toHaveLength(1);
  });

  it("shows the end state from the app's feed, however far behind the task's own (log) feed is", async () => {
    const { transport, set } = setup(task('t1'));
    await screen.findByRole('button', { name: 'Cancel task' });
    const ended = task('t1', { state: 'TASK_STATE_COMPLETED', result: { status: 'RESULT_STATUS_SUCCEEDED', exit_code: 0, summary: 'slept', artifacts: [], output_json: '', error: '' } });
    set(ended);
    // The task's own feed is still busy with lines before it: only the app's feed has the event.
    const change: Event = {
      seq: '99',
      task_state: { task_id: 't1', from: 'TASK_STATE_RUNNING', to: 'TASK_STATE_COMPLETED', reason: '', agent_id: 'echo', attempt: 1, task_type: 'echo.sleep' },
    };
    const appFeed = [...transport.subscribers].filter((s) => s.query.exclude_logs);
    expect(appFeed).toHaveLength(1);
    act(() => appFeed[0]!.onEvent(change));
    expect(state()).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED');
    expect(screen.queryByRole('button', { name: 'Cancel task' })).not.toBeInTheDocument();
    expect(screen.queryByTestId('task-progress')).not.toBeInTheDocument();
    expect(await screen.findByTestId('task-result')).toHaveTextContent('Done');
  });

  it('shows a task the person cancelled as cancelled by them, not as a failure', async () => {
    setup(
      task('t1', {
        state: 'TASK_STATE_CANCELED',
        cancel_requested: true,
        status_reason: 'cancelled: cancelled from the web UI',
        result: { status: 'RESULT_STATUS_CANCELED', exit_code: 0, summary: '', artifacts: [], output_json: '', error: 'stopped by the manager' },
      }),
    );
    const result = await screen.findByTestId('task-result');
    expect(within(result).getByRole('heading')).toHaveTextContent('Cancelled by you');
    expect(result).not.toHaveClass('bad');
    expect(state()).toHaveTextContent('cancelled by you');
    expect(screen.queryByText(/stopped by the manager/)).not.toBeInTheDocument();
    expect(screen.queryByText(/canceled/)).not.toBeInTheDocument();
  });

  it('shows a project made with checks that did not run as such, never as a plain "Done"', async () => {
    const checks = [
      { name: 'environment', status: 'passed', detail: '.venv created with uv', seconds: 0.2 },
      { name: 'install', status: 'skipped', detail: 'network access to pypi.org:443 was refused (denied)', seconds: 0.1 },
      { name: 'tests', status: 'skipped', detail: 'not run: install was skipped', seconds: 0 },
      { name: 'serve', status: 'skipped', detail: 'not run: install was skipped', seconds: 0 },
    ];
    // An older bootstrapper's output has no `outcome`: read from its checks.
    for (const output of [{ path: '/w/shop', checks, outcome: 'checks skipped' }, { path: '/w/shop', checks }]) {
      cleanup();
      setup(
        task('t1', {
          task_type: 'bootstrap.project',
          state: 'TASK_STATE_COMPLETED',
          result: { status: 'RESULT_STATUS_SUCCEEDED', exit_code: 0, summary: 'made', artifacts: [], output_json: JSON.stringify(output), error: '' },
        }),
      );
      const result = await screen.findByTestId('task-result');
      expect(within(result).getByRole('heading')).toHaveTextContent('Completed, checks skipped');
      expect(result).not.toHaveClass('ok');
      expect(state()).toHaveTextContent('completed, checks skipped');
      expect(state()).not.toHaveClass('ok');
      const notRun = within(result).getByTestId('checks-not-run');
      expect(notRun).toHaveTextContent('install — network access to pypi.org:443 was refused (denied)');
      expect(notRun).toHaveTextContent('serve — not run: install was skipped');
      expect(within(result).getAllByTestId('check-row')).toHaveLength(4);
    }
  });
});
