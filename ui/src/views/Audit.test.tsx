import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider, type AuditEntry } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { Audit } from './Audit';

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
  it('says so when the filter matches no entry, with a way to clear it', async () => {
    const user = userEvent.setup();
    const transport = new MockTransport({
      ListAudit: () => ({ entries: [entry('1', 'task.submitted'), entry('2', 'task.completed')] }),
      VerifyAudit: () => ({ intact: true, entries_checked: '2', problems: [] }),
    });
    render(
      <ClientProvider client={transport.client()}>
        <FeedProvider>
          <Audit />
        </FeedProvider>
      </ClientProvider>,
    );
    expect(await screen.findAllByTestId('audit-row')).toHaveLength(2);
    await user.type(screen.getByLabelText('Action contains'), 'secret.read');
    expect(screen.queryByTestId('audit-table')).not.toBeInTheDocument();
    expect(screen.getByTestId('audit-empty')).toHaveTextContent(
      'None of the 2 entries read has an action or actor containing “secret.read”.',
    );
    await user.click(screen.getByRole('button', { name: 'Clear the filters' }));
    expect(await screen.findAllByTestId('audit-row')).toHaveLength(2);
  });

  it("links an entry's task to its page and folds long details, pretty when opened", async () => {
    const user = userEvent.setup();
    const long = JSON.stringify({ agent: 'bootstrapper', read: ['/usr', '/etc/ssl'], write: [], workspace: `/home/me/${'x'.repeat(120)}` });
    const transport = new MockTransport({
      ListAudit: () => ({
        entries: [
          { ...entry('1', 'task.confined'), task_id: '01a23fbd-fa0b-738d-81b6-f5868fdc78e7', detail_json: long },
          entry('2', 'task.completed'),
        ],
      }),
      VerifyAudit: () => ({ intact: true, entries_checked: '2', problems: [] }),
    });
    render(
      <ClientProvider client={transport.client()}>
        <FeedProvider>
          <Audit />
        </FeedProvider>
      </ClientProvider>,
    );
    const link = await screen.findByTestId('audit-task-link');
    expect(link).toHaveAttribute('href', '#/tasks/01a23fbd-fa0b-738d-81b6-f5868fdc78e7');
    expect(link).toHaveTextContent('01a23fbd-fa0');
    const folded = screen.getByTestId('audit-detail-folded');
    expect(folded).not.toHaveAttribute('open');
    await user.click(within(folded).getByText(/^\{"agent":"bootstrapper"/));
    expect(folded).toHaveAttribute('open');
    expect(within(folded).getByText(/"read": \[/)).toBeInTheDocument();
    expect(screen.getAllByTestId('audit-detail-folded')).toHaveLength(1); // "{}" stays as it is
  });
});
