import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider, type AuditEntry } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { AUDIT_SHOWN, Audit } from './Audit';

/** The Audit view over a stand-in transport (the manager's client API at its boundary). */
function showAudit(transport: MockTransport) {
  render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <Audit />
      </FeedProvider>
    </ClientProvider>,
  );
}

const entry = (id: string, action: string): AuditEntry => ({
  id,
  time: '2026-11-26T10:00:00Z',
  actor: 'client',
  action,
  task_id: '',
  detail_json: '{}',
  prev_hash: '',
  hash: '',
});

describe('Audit', () => {
  it('reads newest first, a page back at a time, each entry a sentence (an unknown action by its raw name)', async () => {
    const user = userEvent.setup();
    const page = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        ...entry(String(from - i), 'task.submitted'),
        detail_json: JSON.stringify({ task_type: 'echo.sleep', attempt: 0 }),
      }));
    const transport = new MockTransport({
      ListAudit: (req) =>
        req.before_id
          ? { entries: [{ ...entry('1', 'task.teleported'), actor: 'bootstrapper' }], more: false }
          : { entries: page(201, 200), more: true },
      VerifyAudit: () => ({ intact: true, entries_checked: '201', problems: [] }),
      ListAgents: () => ({ agents: [] }),
    });
    showAudit(transport);
    const rows = await screen.findAllByTestId('audit-row');
    expect(rows).toHaveLength(200);
    expect(rows[0]).toHaveAttribute('data-entry-id', '201');
    expect(within(rows[0]!).getByTestId('audit-sentence')).toHaveTextContent('You submitted the echo.sleep task');
    expect(transport.requests('ListAudit')[0]).toMatchObject({ newest_first: true, limit: 200, actor: '', action: '' });
    await user.click(screen.getByRole('button', { name: 'Load older entries' }));
    expect(transport.requests('ListAudit')[1]).toMatchObject({ newest_first: true, before_id: '2' });
    const last = (await screen.findAllByTestId('audit-row')).at(-1)!;
    expect(last).toHaveAttribute('data-entry-id', '1');
    expect(within(last).getByTestId('audit-sentence')).toHaveTextContent('bootstrapper: task.teleported');
    expect(screen.queryByRole('button', { name: 'Load older entries' })).not.toBeInTheDocument();
  });

  it('with nothing recorded, says what will be and offers the way to start', async () => {
    const transport = new MockTransport({
      ListAudit: () => ({ entries: [], more: false }),
      VerifyAudit: () => ({ intact: true, entries_checked: '0', problems: [] }),
      ListAgents: () => ({ agents: [] }),
    });
    showAudit(transport);
    const empty = await screen.findByTestId('audit-empty');
    expect(empty).toHaveTextContent('Nothing recorded yet: each task submitted, permission answered and rule changed is written here.');
    expect(within(empty).getByRole('link', { name: 'Start a new project' })).toHaveAttribute('href', '#/new');
    expect(within(empty).queryByRole('button', { name: 'Clear the filters' })).not.toBeInTheDocument();
  });

  it('filters on the manager by who did it and by the kind of action, and says so when nothing matches', async () => {
    const user = userEvent.setup();
    const transport = new MockTransport({
      ListAudit: (req) => ({
        entries: req.actor === 'bootstrapper' && req.action === 'consent.' ? [] : [entry('1', 'task.submitted'), entry('2', 'task.completed')],
        more: false,
      }),
      VerifyAudit: () => ({ intact: true, entries_checked: '2', problems: [] }),
      ListAgents: () => ({ agents: [{ id: 'bootstrapper' } as never] }),
    });
    showAudit(transport);
    expect(await screen.findAllByTestId('audit-row')).toHaveLength(2);
    await user.selectOptions(screen.getByLabelText('Who'), await screen.findByRole('option', { name: 'bootstrapper' }));
    await user.selectOptions(screen.getByLabelText('What'), 'Permission requests');
    expect(transport.requests('ListAudit').at(-1)).toMatchObject({ actor: 'bootstrapper', action: 'consent.', newest_first: true });
    expect(await screen.findByTestId('audit-empty')).toHaveTextContent('No entry matches these filters.');
    await user.click(screen.getByRole('button', { name: 'Clear the filters' }));
    expect(await screen.findAllByTestId('audit-row')).toHaveLength(2);
    expect(transport.requests('ListAudit').at(-1)).toMatchObject({ actor: '', action: '', task_id: '' });
  });

  it("links an entry's task to its page and folds its details under its raw action, pretty when opened", async () => {
    const user = userEvent.setup();
    const long = JSON.stringify({ agent: 'bootstrapper', read: ['/usr', '/etc/ssl'], write: [], workspace: `/home/me/${'x'.repeat(120)}` });
    const transport = new MockTransport({
      ListAudit: () => ({
        entries: [
          { ...entry('1', 'task.confined'), task_id: '01a23fbd-fa0b-738d-81b6-f5868fdc78e7', detail_json: long },
          entry('2', 'task.completed'),
        ],
        more: false,
      }),
      VerifyAudit: () => ({ intact: true, entries_checked: '2', problems: [] }),
      ListAgents: () => ({ agents: [] }),
    });
    showAudit(transport);
    const link = await screen.findByTestId('audit-task-link');
    expect(link).toHaveAttribute('href', '#/tasks/01a23fbd-fa0b-738d-81b6-f5868fdc78e7');
    expect(link).toHaveTextContent('01a23fbd-fa0');
    const folded = screen.getAllByTestId('audit-detail-folded')[0]!;
    expect(folded).not.toHaveAttribute('open');
    await user.click(within(folded).getByText('task.confined'));
    expect(folded).toHaveAttribute('open');
    expect(within(folded).getByText(/"read": \[/)).toBeInTheDocument();
    expect(screen.getAllByTestId('audit-detail-folded')).toHaveLength(1); // "{}": nothing to fold
  });

  it('brings in new entries at the top as the feed says something happened, keeping the filters', async () => {
    const user = userEvent.setup();
    const log = [entry('1', 'task.submitted'), entry('2', 'task.started')];
    const transport = new MockTransport({
      ListAudit: (req) => {
        const after = Number(req.after_id ?? 0);
        const matching = log.filter((e) => (!req.action || e.action.startsWith(req.action)) && Number(e.id) > after);
        return { entries: req.newest_first ? [...matching].reverse() : matching, more: false };
      },
      VerifyAudit: () => ({ intact: true, entries_checked: '2', problems: [] }),
      ListAgents: () => ({ agents: [] }),
    });
    showAudit(transport);
    expect(await screen.findAllByTestId('audit-row')).toHaveLength(2);
    await user.selectOptions(screen.getByLabelText('What'), 'Tasks');
    const action = transport.requests('ListAudit').at(-1)!.action!;
    expect(action).not.toBe('');
    log.push(entry('3', 'task.completed'), entry('4', 'secret.set'));
    act(() => transport.emit({ task_state: { task_id: 't', from: 'TASK_STATE_RUNNING', to: 'TASK_STATE_COMPLETED', reason: '', agent_id: '', attempt: 1, task_type: 'x' } }));
    await vi.waitFor(() => expect(screen.getAllByTestId('audit-row').map((r) => r.dataset.entryId)).toEqual(['3', '2', '1']));
    expect(transport.requests('ListAudit').at(-1)).toMatchObject({ after_id: '2', action });
    expect(screen.getByLabelText('What')).toHaveValue(action);
  });

  it('draws at most a window of entries however far back the person pages, and pages forward again', async () => {
    const user = userEvent.setup();
    const total = 2_000;
    const ids = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => entry(String(from + i), 'task.submitted'));
    const transport = new MockTransport({
      ListAudit: (req) => {
        const limit = req.limit ?? 200;
        if (req.newest_first) {
          const below = req.before_id ? Number(req.before_id) - 1 : total;
          const got = ids(Math.max(1, below - limit + 1), below).reverse();
          return { entries: got, more: Number(got.at(-1)?.id ?? 1) > 1 };
        }
        const above = Number(req.after_id ?? 0) + 1;
        const got = ids(above, Math.min(total, above + limit - 1));
        return { entries: got, more: Number(got.at(-1)?.id ?? total) < total };
      },
      VerifyAudit: () => ({ intact: true, entries_checked: String(total), problems: [] }),
      ListAgents: () => ({ agents: [] }),
    });
    showAudit(transport);
    expect(await screen.findAllByTestId('audit-row')).toHaveLength(200);
    for (let i = 0; i < 6; i++) {
      const last = screen.getAllByTestId('audit-row').at(-1)!.dataset.entryId;
      await user.click(screen.getByRole('button', { name: 'Load older entries' }));
      await vi.waitFor(() => expect(screen.getAllByTestId('audit-row').at(-1)!.dataset.entryId).not.toBe(last));
    }
    const rows = screen.getAllByTestId('audit-row');
    expect(rows.length).toBeLessThanOrEqual(AUDIT_SHOWN);
    expect(rows.at(-1)).toHaveAttribute('data-entry-id', '601');
    expect(rows[0]).toHaveAttribute('data-entry-id', '1200');
    expect(screen.getByTestId('audit-window')).toHaveTextContent('Newer entries are not drawn');
    await user.click(screen.getByRole('button', { name: 'Newer entries' }));
    await vi.waitFor(() => expect(screen.getAllByTestId('audit-row')[0]).toHaveAttribute('data-entry-id', '1400'));
    expect(screen.getAllByTestId('audit-row')).toHaveLength(AUDIT_SHOWN);
    await user.click(screen.getByRole('button', { name: 'Back to the newest' }));
    await vi.waitFor(() => expect(screen.getAllByTestId('audit-row')[0]).toHaveAttribute('data-entry-id', '2000'));
    expect(screen.queryByTestId('audit-window')).not.toBeInTheDocument();
  });
});
