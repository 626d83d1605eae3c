import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import App from '../App';
import { ONBOARDED_KEY } from '../app/onboarding';
import type { ManagerStatus } from '../ipc';
import { MockTransport, type Handlers } from '../testing/mockTransport';
import { managerStatus } from '../testing/status';
import { shopPlan } from '../testing/plans';
import { task } from '../testing/tasks';

const status = (paused: boolean): ManagerStatus => managerStatus({ paused });

function renderApp(handlers: Handlers = {}) {
  let paused = false;
  const transport = new MockTransport({
    ListConsents: () => ({ consents: [] }),
    ListAgents: () => ({ agents: [] }),
    ListTaskTypes: () => ({ task_types: [] }),
    ListTasks: () => ({
      tasks: [
        task('t-shop', {
          task_type: 'bootstrap.project',
          state: 'TASK_STATE_COMPLETED',
          payload_json: JSON.stringify({ template: 'fastapi', answers: { project_name: 'shop' } }),
          workspace: '/home/me/src/shop',
        }),
        task('t-sleep', { workspace: '/home/me/src/nap' }),
      ],
      next_page_token: '',
    }),
    ListPlans: () => ({ plans: [{ ...shopPlan(), id: 'p-1', text: 'make a shop and open it' }], next_page_token: '' }),
    GetStatus: () => status(paused),
    SetPaused: (req) => {
      paused = req.paused ?? false;
      return status(paused);
    },
    VerifyAudit: () => ({ intact: true, entries_checked: '42', problems: [] }),
    ...handlers,
  });
  const user = userEvent.setup();
  render(<App client={transport.client()} />);
  return { transport, user };
}

const palette = () => screen.queryByRole('dialog', { name: 'Command palette' });
const combobox = () => within(palette()!).getByRole('combobox');
/** The option the combobox says is active. */
const active = () => document.getElementById(combobox().getAttribute('aria-activedescendant') ?? '');

describe('The command palette', () => {
  beforeEach(() => {
    window.localStorage.setItem(ONBOARDED_KEY, 'yes');
    window.location.hash = '#/tasks';
  });

  it('opens on Ctrl+K or ⌘K from any view with the focus in its field; the arrows move the active option; Escape gives the focus back', async () => {
    const { user } = renderApp();
    const link = screen.getByRole('link', { name: 'Agents' });
    link.focus();
    await user.keyboard('{Control>}k{/Control}');
    expect(palette()).toBeInTheDocument();
    expect(palette()).toHaveAttribute('aria-modal', 'true');
    expect(combobox()).toHaveFocus();
    const listbox = within(palette()!).getByRole('listbox');
    expect(combobox()).toHaveAttribute('aria-controls', listbox.id);
    // The first option is active, and the only one selected.
    expect(active()).toHaveAttribute('data-command', 'view-new');
    expect(active()).toHaveAttribute('aria-selected', 'true');
    expect(within(listbox).getAllByRole('option').filter((o) => o.getAttribute('aria-selected') === 'true')).toHaveLength(1);
    await user.keyboard('{ArrowDown}{ArrowDown}');
    expect(active()).toHaveAttribute('data-command', 'view-tasks');
    // Up from the first goes round to the last: the words to the prompt bar.
    await user.keyboard('{ArrowUp}{ArrowUp}{ArrowUp}');
    expect(active()).toHaveAttribute('data-command', 'ask');
    expect(within(listbox).getAllByRole('group').map((g) => g.getAttribute('aria-labelledby') && document.getElementById(g.getAttribute('aria-labelledby')!)?.textContent)).toEqual([
      'Go to',
      'Actions',
      'Recent tasks',
      'Recent plans',
      'Ask',
    ]);
    await user.keyboard('{Escape}');
    expect(palette()).not.toBeInTheDocument();
    expect(link).toHaveFocus();
    await user.keyboard('{Meta>}k{/Meta}');
    expect(palette()).toBeInTheDocument();
  });

  it('goes to a view, a recent task or a plan by the words typed, with Enter', async () => {
    const { user } = renderApp();
    await user.keyboard('{Control>}k{/Control}');
    await user.keyboard('audit');
    expect(active()).toHaveTextContent('Audit log');
    await user.keyboard('{Enter}');
    expect(window.location.hash).toBe('#/audit');
    expect(palette()).not.toBeInTheDocument();

    await user.keyboard('{Control>}k{/Control}');
    // Tasks are named by what they made (a title, not an id), with their state.
    await user.keyboard('shop fastapi');
    expect(await screen.findByText('shop · fastapi project')).toBeInTheDocument();
    expect(active()).toHaveTextContent('shop · fastapi projectcompleted');
    await user.keyboard('{Enter}');
    expect(window.location.hash).toBe('#/tasks/t-shop');

    await user.keyboard('{Control>}k{/Control}');
    await user.keyboard('open it');
    expect(active()).toHaveAttribute('data-command', 'plan-p-1');
    await user.keyboard('{Enter}');
    expect(window.location.hash).toBe('#/plans/p-1');
  });

  it('runs actions in place: verify the audit log, pause and resume handing out work', async () => {
    const { transport, user } = renderApp();
    await user.keyboard('{Control>}k{/Control}');
    await user.keyboard('verify');
    await user.keyboard('{Enter}');
    expect(await screen.findByTestId('palette-note')).toHaveTextContent('The audit log verifies: 42 entries, none changed.');
    expect(transport.requests('VerifyAudit')).toHaveLength(1);
    await user.clear(combobox());
    await user.keyboard('pause');
    expect(await screen.findByText('Pause handing out work')).toBeInTheDocument();
    await user.keyboard('{Enter}');
    expect(await screen.findByText(/^Paused: no new work is handed out/)).toBeInTheDocument();
    expect(transport.requests('SetPaused')).toEqual([{ paused: true }]);
    await user.clear(combobox());
    await user.keyboard('resume');
    expect(active()).toHaveTextContent('Resume handing out work');
  });

  it('offers only the prompt bar when nothing matches, and a click runs an option as Enter does', async () => {
    const { user } = renderApp();
    await user.click(screen.getByRole('button', { name: /Go to…/ }));
    expect(combobox()).toHaveFocus();
    await user.keyboard('zzz nothing');
    const options = within(palette()!).getAllByRole('option');
    expect(options).toHaveLength(1);
    expect(options[0]).toHaveTextContent('Ask: “zzz nothing”');
    await user.clear(combobox());
    await user.click(within(palette()!).getByRole('option', { name: 'Settings' }));
    expect(window.location.hash).toBe('#/settings');
  });
});
