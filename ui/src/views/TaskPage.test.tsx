import { act, cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ApiError, ClientProvider, type AuditEntry, type Event, type LogLine, type Task } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { managerStatus } from '../testing/status';
import { task } from '../testing/tasks';
import { TaskPage } from './TaskPage';

/** `editor`: what the manager would open folders with ('' = no editor; null = the folder is gone). */
function setup(
  initial: Task,
  editor: string | null = 'code (/usr/bin/code)',
  lines: LogLine[] = [],
  audit: AuditEntry[] = [],
) {
  let current = initial;
  const transport = new MockTransport({
    GetTask: () => current,
    ListAudit: (req) => ({ entries: audit.filter((e) => e.task_id === req.task_id && e.action === req.action), more: false }),
    GetLogs: (req) => ({ lines: lines.filter((l) => Number(l.seq) > Number(req.after_seq ?? 0)), complete: true }),
    ListTemplates: () => ({
      templates: [
        {
          name: 'fastapi',
          dir: '/t/fastapi',
          description: 'A FastAPI service: settings, health checks, pytest, Docker.',
          status: 'TEMPLATE_STATUS_OK',
          error: '',
          warnings: [],
          answers_schema_json: '',
        },
      ],
    }),
    SubmitTask: (req) => ({ task: task('t2', { task_type: req.task_type ?? '' }), created: true }),
    // As the manager answers: why it cannot open, not an error (no 409 in the console).
    CheckOpenPath: () => {
      if (editor === null) {
        return {
          path: '',
          opener: '',
          warnings: [],
          cannot_open: "the task's folder /home/me/src/shop does not exist (moved or deleted?)",
          refused: false,
        };
      }
      return {
        path: '/home/me/src/shop',
        opener: editor || 'the system opener (`code` is not on PATH)',
        warnings: [],
        cannot_open: '',
        refused: false,
      };
    },
    OpenPath: () => ({ path: '/home/me/src/shop', opener: editor || 'xdg-open', warnings: [], cannot_open: '', refused: false }),
    GetStatus: () => managerStatus({ editor: editor ?? '' }),
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
    expect(screen.getByRole('link', { name: 'choose an editor' })).toHaveAttribute('href', '#/settings/editor');
    expect(screen.getByRole('button', { name: 'Copy path' })).toBeInTheDocument();
    cleanup();
    // No workspace, no output path: nothing to copy.
    setup(task('t1'));
    await screen.findByRole('button', { name: 'Open in VS Code' });
    expect(screen.queryByRole('button', { name: 'Copy path' })).not.toBeInTheDocument();
    cleanup();
    setup(task('t1'), 'vim (/usr/bin/vim)');
    expect(await screen.findByRole('button', { name: 'Open in vim' })).toBeInTheDocument();
    cleanup();
    setup(task('t1'), '/opt/editors/code (/opt/editors/code)');
    expect(await screen.findByRole('button', { name: 'Open in VS Code' })).toBeInTheDocument();
  });

  it('says a folder deleted since the task ran is gone instead of offering to open it', async () => {
    const { transport } = setup(task('t1', { workspace: '/home/me/src/shop' }), null);
    expect(await screen.findByTestId('open-unavailable')).toHaveTextContent(
      "the task's folder /home/me/src/shop does not exist",
    );
    expect(screen.queryByTestId('open-vscode')).not.toBeInTheDocument();
    // Only checked: the manager was never asked to open it.
    expect(transport.requests('CheckOpenPath')).not.toHaveLength(0);
    expect(transport.requests('OpenPath')).toHaveLength(0);
  });

  it('offers the plain button when the check itself fails (a manager that predates it)', async () => {
    const { transport } = setup(task('t1', { workspace: '/home/me/src/shop' }));
    transport.handlers.CheckOpenPath = () => {
      throw new ApiError('unimplemented', 'unknown method CheckOpenPath');
    };
    cleanup();
    render(
      <ClientProvider client={transport.client()}>
        <FeedProvider>
          <TaskPage taskId="t1" />
        </FeedProvider>
      </ClientProvider>,
    );
    expect(await screen.findByRole('button', { name: 'Open in editor' })).toBeInTheDocument();
    expect(screen.queryByTestId('open-unavailable')).not.toBeInTheDocument();
  });

  it('prints the running step once', async () => {
    setup(task('t1', { progress: { fraction: 0.5, step: 'sleep 5/10' } }));
    expect(await screen.findByTestId('task-progress')).toHaveTextContent('50% sleep 5/10');
    expect(screen.getAllByText(/sleep 5\/10/)).toHaveLength(1);
  });

  it('says when the manager finds the task drifting, and takes a silence back once it moves again', async () => {
    const { transport } = setup(task('t1'));
    await screen.findByRole('button', { name: 'Cancel task' });
    expect(screen.queryByTestId('drift-note')).not.toBeInTheDocument();
    const appFeed = [...transport.subscribers].filter((s) => s.query.exclude_logs)[0]!;
    const drift: Event = {
      seq: '7',
      time: '2026-12-04T10:00:00Z',
      task_drift: { task_id: 't1', drift: 'silent', evidence: 'nothing logged or reported for 10m', action: 'warned' },
    };
    act(() => appFeed.onEvent({ ...drift, task_drift: { ...drift.task_drift!, task_id: 'other' } }));
    expect(screen.queryByTestId('drift-note')).not.toBeInTheDocument();
    act(() => appFeed.onEvent(drift));
    const note = screen.getByTestId('drift-note');
    expect(note).toHaveTextContent('It may be stuck.');
    expect(note).toHaveTextContent('nothing logged or reported for 10m');
    expect(note).toHaveTextContent('It is still running');
    act(() => appFeed.onEvent({ seq: '8', task_progress: { task_id: 't1', progress: { fraction: 0.6, step: 'next' } } }));
    expect(screen.queryByTestId('drift-note')).not.toBeInTheDocument();
  });

  it('shows a drift the audit log recorded before the page opened, and a cancel for it after the end', async () => {
    const entry: AuditEntry = {
      id: '5',
      time: '2026-12-04T10:00:00Z',
      actor: 'manager',
      action: 'task.drift',
      task_id: 't1',
      detail_json: JSON.stringify({ drift: 'repeating', evidence: 'the same log line 50 times in a row: "retry"', action: 'cancelled' }),
      prev_hash: '',
      hash: '',
    };
    setup(task('t1', { state: 'TASK_STATE_CANCELED', cancel_requested: true }), 'code', [], [entry]);
    const note = await screen.findByTestId('drift-note');
    expect(note).toHaveAttribute('data-drift', 'repeating');
    expect(note).toHaveTextContent('It may be stuck in a loop.');
    expect(note).toHaveTextContent('It cancelled the task');
  });

  it("shows a task's model calls added up, and each new call as it is reported", async () => {
    const usage = {
      calls: 2,
      prompt_tokens: '1000',
      completion_tokens: '234',
      total_tokens: '1234',
      elapsed_ms: 2100,
      first_token_ms: 800,
      generation_ms: 1000,
      calls_without_usage: 0,
    };
    const { transport } = setup(task('t1', { task_type: 'code.change', usage }));
    const shown = await screen.findByTestId('task-model-usage');
    expect(shown).toHaveTextContent('2 calls, 1,234 tokens (1,000 prompt + 234 completion), 2.1 s; first token 0.40 s on average');
    const appFeed = [...transport.subscribers].filter((s) => s.query.exclude_logs)[0]!;
    const more = { ...usage, calls: 3, prompt_tokens: '1500', completion_tokens: '300', total_tokens: '1800', elapsed_ms: 3000, calls_without_usage: 1 };
    act(() => appFeed.onEvent({ seq: '9', model_call: { task_id: 't1', usage: more } }));
    expect(screen.getByTestId('task-model-usage')).toHaveTextContent(
      '3 calls, 1,800 tokens (1,500 prompt + 300 completion), 3.0 s; first token 0.27 s on average; 1 without token counts from the server',
    );
  });

  it('says where handed-off work came from, with its chain and note, and when it went round in circles', async () => {
    const { transport } = setup(
      task('t3', {
        task_type: 'relay.write',
        handed_off: { from_task: 't2-0123456789ab', chain: ['relay.write', 'relay.review'], note: 'your turn again' },
      }),
    );
    const from = await screen.findByTestId('handed-off');
    expect(from).toHaveTextContent('Handed off from task t2-012345678 (relay.write → relay.review → relay.write): your turn again');
    expect(within(from).getByRole('link')).toHaveAttribute('href', '#/tasks/t2-0123456789ab');
    const appFeed = [...transport.subscribers].filter((s) => s.query.exclude_logs)[0]!;
    const evidence = 'handed back to `relay.write`: relay.write -> relay.review -> relay.write';
    act(() => appFeed.onEvent({ seq: '9', task_drift: { task_id: 't3', drift: 'handoff_loop', evidence, action: 'warned' } }));
    expect(screen.getByTestId('drift-note')).toHaveTextContent('Its work is going round in circles between agents.');
    act(() =>
      appFeed.onEvent({
        seq: '10',
        task_drift: { task_id: 't3', drift: 'over_budget', evidence: '1050 tokens in 2 model calls', action: 'cancelled' },
      }),
    );
    expect(screen.getByTestId('drift-note')).toHaveTextContent('It spent more of a language model than its budget allows.');
    expect(screen.getByTestId('drift-note')).toHaveTextContent('It cancelled the task');
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

  it('shows a failed bootstrap as a timeline from its log and checks, its error line one press from the log', async () => {
    const log = (seq: number, s: number, message: string, level: LogLine['level'] = 'LOG_LEVEL_INFO', fields: Record<string, string> = {}): LogLine => ({
      seq: String(seq),
      time: `2026-11-26T10:00:${String(s).padStart(2, '0')}Z`,
      level,
      message,
      fields,
      attempt: 1,
      attempt_seq: String(seq),
    });
    const lines = [
      log(1, 0, 'validating'),
      log(2, 1, 'rendering'),
      log(3, 2, 'moving into place'),
      log(4, 3, 'committing'),
      log(5, 4, 'creating the environment'),
      log(6, 5, 'installing packages'),
      ...Array.from({ length: 60 }, (_, i) => log(7 + i, 6, `uv: resolving ${i}`, 'LOG_LEVEL_WARN', { stream: 'stderr' })),
      log(67, 9, 'install failed: No solution found when resolving dependencies', 'LOG_LEVEL_ERROR', { check: 'install' }),
      log(68, 9, 'putting the folder back as it was'),
    ];
    const checks = [
      { name: 'environment', status: 'passed', detail: '.venv created with uv', seconds: 0.7 },
      { name: 'install', status: 'failed', detail: 'No solution found when resolving dependencies', seconds: 4.2 },
      { name: 'tests', status: 'skipped', detail: 'not run: install failed', seconds: 0 },
    ];
    const payload = { template: 'fastapi', answers: { project_name: 'shop' } };
    // jsdom does no layout and has no scrollTo: the log's box scrolls where it is told.
    Object.defineProperty(HTMLElement.prototype, 'scrollTo', {
      configurable: true,
      value(this: HTMLElement, opts: ScrollToOptions) {
        this.scrollTop = opts.top ?? 0;
      },
    });
    const { transport } = setup(
      task('t1', {
        task_type: 'bootstrap.project',
        payload_json: JSON.stringify(payload),
        workspace: '/home/me/src/shop',
        state: 'TASK_STATE_FAILED',
        attempts: [{ number: 1, agent_id: 'bootstrapper', started_at: '2026-11-26T10:00:00Z', ended_at: '2026-11-26T10:00:10Z', error: '' }],
        updated_at: '2026-11-26T10:00:10Z',
        result: {
          status: 'RESULT_STATUS_FAILED',
          exit_code: 1,
          summary: '',
          artifacts: [],
          output_json: JSON.stringify({ path: '/home/me/src/shop', checks }),
          error: 'the project is at /home/me/src/shop, but its post-check failed: install',
        },
      }),
      'code (/usr/bin/code)',
      lines,
    );
    await vi.waitFor(() => expect(screen.getByTestId('task-title')).toHaveTextContent('shop · FastAPI service'));
    expect(state()).toHaveClass('bad');
    expect(screen.getByTestId('task-took')).toHaveTextContent('took 10 s');
    const steps = await screen.findAllByTestId('step');
    expect(steps.map((s) => `${s.dataset.step}:${s.dataset.status}`)).toEqual([
      'validate:done',
      'render:done',
      'place:done',
      'commit:done',
      'environment:passed',
      'install:failed',
      'tests:skipped',
    ]);
    expect(steps[5]).toHaveTextContent('4.2 s');
    expect(steps[6]).toHaveTextContent('not run: install failed');
    const box = screen.getByTestId('error-box');
    expect(within(box).getByTestId('task-error')).toHaveTextContent('post-check failed: install');
    expect(within(box).getByTestId('error-line')).toHaveTextContent('install failed: No solution found');
    // Following the tail, the first line is far above the rows drawn: a step's "Show in log" brings it, marked, with the focus.
    const row = (seq: number) => document.querySelector(`[data-testid="log-line"][data-seq="${seq}"]`);
    await vi.waitFor(() => expect(row(68)).toBeInTheDocument());
    expect(row(1)).not.toBeInTheDocument();
    expect(document.querySelector('[data-target="true"]')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Show Validate in the log' }));
    expect(row(1)).toHaveAttribute('data-target', 'true');
    expect(screen.getByTestId('log-scroller')).toHaveFocus();
    expect(screen.getByTestId('log-follow')).toHaveAttribute('aria-pressed', 'false');
    // "Jump to line" goes to the error line, hidden by a level filter the reader had set: the filter gives way.
    await userEvent.selectOptions(screen.getByTestId('log-level'), 'LOG_LEVEL_WARN');
    await userEvent.type(screen.getByTestId('log-search'), 'uv:');
    expect(row(67)).not.toBeInTheDocument();
    await userEvent.click(within(box).getByRole('button', { name: 'Jump to line' }));
    expect(row(67)).toHaveAttribute('data-target', 'true');
    expect(row(67)).toHaveTextContent('install failed: No solution found');
    expect(screen.getByTestId('log-search')).toHaveValue('');
    expect(screen.getByTestId('log-scroller')).toHaveFocus();
    // Retry sends the same task again and opens it.
    await userEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(transport.requests('SubmitTask')).toEqual([
      { task_type: 'bootstrap.project', payload_json: JSON.stringify(payload), workspace: '/home/me/src/shop', pin_agent: '', timeout_secs: 0, max_attempts: 3 },
    ]);
    await vi.waitFor(() => expect(window.location.hash).toBe('#/tasks/t2'));
  });

  it('offers the start command and the path to copy once a project is made, and no retry', async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText } });
    setup(
      task('t1', {
        task_type: 'bootstrap.project',
        state: 'TASK_STATE_COMPLETED',
        workspace: '/home/me/src/shop',
        result: {
          status: 'RESULT_STATUS_SUCCEEDED',
          exit_code: 0,
          summary: 'made',
          artifacts: [],
          output_json: JSON.stringify({ path: '/home/me/src/shop', checks: [], start: 'uv run uvicorn shop.main:app' }),
          error: '',
        },
      }),
    );
    await userEvent.click(await screen.findByRole('button', { name: 'Copy start command' }));
    expect(writeText).toHaveBeenLastCalledWith('uv run uvicorn shop.main:app');
    expect(await screen.findByTestId('copy-result')).toHaveTextContent('Copied the start command.');
    await userEvent.click(screen.getByRole('button', { name: 'Copy path' }));
    expect(writeText).toHaveBeenLastCalledWith('/home/me/src/shop');
    expect(screen.queryByRole('button', { name: 'Retry' })).not.toBeInTheDocument();
    expect(screen.queryByTestId('error-box')).not.toBeInTheDocument();
  });

  it('gives each way of ending its own colour, and lists every attempt of a dead-lettered task with its error', async () => {
    const ended = (state: Task['state'], over: Partial<Task> = {}) => task('t1', { state, ...over });
    const tones: [Task, string][] = [
      [ended('TASK_STATE_COMPLETED'), 'ok'],
      [ended('TASK_STATE_FAILED'), 'bad'],
      [ended('TASK_STATE_CANCELED', { cancel_requested: true }), 'cancelled'],
      [ended('TASK_STATE_CANCELED'), 'idle'],
      [ended('TASK_STATE_DEAD_LETTERED'), 'dead'],
    ];
    for (const [t, tone] of tones) {
      cleanup();
      setup(t);
      await screen.findByTestId('task-took');
      expect(state()).toHaveClass(tone);
    }
    cleanup();
    setup(
      ended('TASK_STATE_DEAD_LETTERED', {
        status_reason: 'every attempt failed',
        attempts: [
          { number: 1, agent_id: 'echo', started_at: '2026-11-26T10:00:00Z', ended_at: '2026-11-26T10:00:05Z', error: 'agent lost' },
          { number: 2, agent_id: 'echo', started_at: '2026-11-26T10:00:06Z', ended_at: '2026-11-26T10:00:09Z', error: 'timed out after 3 s' },
        ],
      }),
    );
    const attempts = await screen.findAllByTestId('attempt');
    expect(attempts.map((a) => within(a).getByTestId('attempt-error').textContent)).toEqual(['agent lost', 'timed out after 3 s']);
    expect(screen.getByTestId('error-box')).toHaveClass('dead');
    expect(within(screen.getByTestId('error-box')).getByTestId('task-error')).toHaveTextContent('timed out after 3 s');
    expect(screen.getByRole('button', { name: 'Retry' })).toBeInTheDocument();
    // An echo task reports no steps this page knows: no timeline is made up for it.
    expect(screen.queryByTestId('timeline')).not.toBeInTheDocument();
  });

  it('offers "Update from template" on a project a bootstrap made, never on its dry run, and previews into its folder', async () => {
    const user = userEvent.setup();
    const made = (output: object) =>
      task('b1', {
        task_type: 'bootstrap.project',
        payload_json: '{"template":"fastapi","answers":{"project_name":"shop"}}',
        state: 'TASK_STATE_COMPLETED',
        workspace: '/home/me/src/shop',
        result: { status: 'RESULT_STATUS_SUCCEEDED', exit_code: 0, summary: '', artifacts: [], output_json: JSON.stringify(output), error: '' },
      });
    setup(made({ dry_run: true, path: '/home/me/src/shop', files: [], diff: '' }));
    await screen.findByTestId('task-took');
    expect(screen.queryByRole('button', { name: 'Update from template' })).not.toBeInTheDocument();
    cleanup();
    const { transport } = setup(made({ path: '/home/me/src/shop', commit: 'abc' }));
    const open = await screen.findByRole('button', { name: 'Update from template' });
    expect(open).toHaveAttribute('aria-expanded', 'false');
    await user.click(open);
    expect(open).toHaveAttribute('aria-expanded', 'true');
    const panel = screen.getByTestId('update-panel');
    await user.click(within(panel).getByRole('button', { name: 'Preview' }));
    const [req] = transport.requests('SubmitTask');
    expect(req).toMatchObject({ task_type: 'project.update', workspace: '/home/me/src/shop' });
    await user.click(within(panel).getByRole('button', { name: 'Close' }));
    expect(screen.queryByTestId('update-panel')).not.toBeInTheDocument();
  });

  it("shows what an update changed on its page: versions, files and the conflicts to resolve, each opened in the editor", async () => {
    const output = {
      path: '/home/me/src/shop',
      old_commit: 'v1.0.0',
      new_commit: 'v2.0.0',
      changed: ['README.md'],
      added: [],
      removed: [],
      conflicts: ['README.md'],
      conflict: 'inline',
      warnings: [],
      message: '',
      preview: false,
    };
    const { transport } = setup(
      task('u1', {
        task_type: 'project.update',
        payload_json: '{"conflict":"inline","preview":false}',
        state: 'TASK_STATE_COMPLETED',
        workspace: '/home/me/src/shop',
        result: { status: 'RESULT_STATUS_SUCCEEDED', exit_code: 0, summary: '', artifacts: [], output_json: JSON.stringify(output), error: '' },
      }),
    );
    const summary = await screen.findByTestId('update-summary');
    expect(within(summary).getByRole('heading', { level: 3 })).toHaveTextContent('v1.0.0 → v2.0.0');
    expect(screen.getByTestId('update-conflicts')).toHaveTextContent('Conflicts to resolve (1)');
    expect(summary).toHaveTextContent('Review the changes with git diff, resolve the conflicts, then commit.');
    // A conflict opens in the editor, inside the task's folder.
    await userEvent.setup().click(within(screen.getByTestId('update-conflicts')).getByRole('button', { name: 'README.md' }));
    expect(transport.requests('OpenPath')).toEqual([{ task_id: 'u1', file: 'README.md', line: 0, column: 0 }]);
    expect(await screen.findByTestId('open-at-result')).toHaveTextContent('Opened with code');
    // An updated project can be updated again.
    expect(screen.getByRole('button', { name: 'Update from template' })).toBeInTheDocument();
  });
  it('offers "Re-run checks" on an ended bootstrap, update or check with a project, never while running or on a dry run or preview, and opens the new task', async () => {
    const user = userEvent.setup();
    const checks = [{ name: 'tests', status: 'failed', detail: 'not fixed yet', seconds: 1 }];
    const ended = (task_type: string, output: object, over: Partial<Task> = {}) =>
      task('b1', {
        task_type,
        payload_json: '{}',
        workspace: '/home/me/src/shop',
        state: 'TASK_STATE_FAILED',
        result: { status: 'RESULT_STATUS_FAILED', exit_code: 1, summary: '', artifacts: [], output_json: JSON.stringify(output), error: 'its post-check failed' },
        ...over,
      });
    const none: Task[] = [
      ended('bootstrap.project', { path: '/home/me/src/shop', checks }, { state: 'TASK_STATE_RUNNING', result: undefined }),
      ended('bootstrap.project', { dry_run: true, path: '/home/me/src/shop', files: [], diff: '' }, { state: 'TASK_STATE_COMPLETED' }),
      ended('project.update', { path: '/home/me/src/shop', preview: true }, { state: 'TASK_STATE_COMPLETED' }),
      ended('bootstrap.project', { checks }),
      ended('tests.run', { path: '/home/me/src/shop' }),
    ];
    for (const t of none) {
      cleanup();
      setup(t);
      await screen.findByTestId('task-took');
      expect(screen.queryByRole('button', { name: 'Re-run checks' }), `${t.task_type} ${t.state}`).not.toBeInTheDocument();
    }
    cleanup();
    // A failed bootstrap, its project left with the checks that failed: checked again in its folder.
    let { transport } = setup(ended('bootstrap.project', { path: '/home/me/src/shop', checks }));
    await user.click(await screen.findByRole('button', { name: 'Re-run checks' }));
    expect(transport.requests('SubmitTask')).toEqual([{ task_type: 'project.check', payload_json: '{}', workspace: '/home/me/src/shop' }]);
    await vi.waitFor(() => expect(window.location.hash).toBe('#/tasks/t2'));
    cleanup();
    // An update of a project inside its folder: the same `path`.
    ({ transport } = setup(ended('project.update', { path: '/home/me/src/mono/shop', preview: false }, { payload_json: '{"path":"shop"}', workspace: '/home/me/src/mono', state: 'TASK_STATE_COMPLETED' })));
    await user.click(await screen.findByRole('button', { name: 'Re-run checks' }));
    expect(transport.requests('SubmitTask')).toEqual([{ task_type: 'project.check', payload_json: '{"path":"shop"}', workspace: '/home/me/src/mono' }]);
    cleanup();
    // Refused: said where the button is, and the page stays.
    window.location.hash = '#/tasks/b1';
    ({ transport } = setup(ended('project.check', { path: '/home/me/src/shop', checks })));
    transport.handlers.SubmitTask = () => {
      throw new ApiError('failed_precondition', 'no agent offers project.check');
    };
    await user.click(await screen.findByRole('button', { name: 'Re-run checks' }));
    expect(await screen.findByTestId('recheck-error')).toHaveTextContent('no agent offers project.check');
    expect(window.location.hash).toBe('#/tasks/b1');
  });
});
