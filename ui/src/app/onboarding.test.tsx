import { render, screen, within, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { ClientProvider } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { Settings } from '../views/Settings';
import { FeedProvider } from './feed';
import { ONBOARDED_KEY, OnboardingProvider } from './onboarding';

function setup() {
  const transport = new MockTransport({
    ListPolicyRules: () => ({ rules: [] }),
    ListSecrets: () => ({ secrets: [], store: 'keyutils' }),
    GetStatus: () => ({
      version: '0.4.2',
      pid: 1,
      paused: false,
      workspace_root: '/home/me/.local/share/hyperagent/workspaces',
      workspace_root_source: 'default',
      editor: 'code (/usr/bin/code)',
      agents_online: 0,
      agents_known: 0,
      tasks_queued: 0,
      tasks_running: 0,
      tasks_awaiting_consent: 0,
    }),
    ListTasks: () => ({ tasks: [], next_page_token: '' }),
  });
  const user = userEvent.setup();
  const result = render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <OnboardingProvider>
          <Settings />
        </OnboardingProvider>
      </FeedProvider>
    </ClientProvider>,
  );
  return { user, ...result };
}

const dialog = () => screen.queryByRole('dialog');

describe('Onboarding', () => {
  beforeEach(() => {
    window.localStorage.clear();
  });

  it('shows on first run, walks through its screens, and ends on "Create your first project", which opens the form', async () => {
    const { user, unmount } = setup();
    expect(screen.getByRole('dialog', { name: 'What HyperAgent does' })).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'What HyperAgent does' })).toHaveFocus();

    await user.click(screen.getByRole('button', { name: 'Next' }));
    expect(screen.getByRole('dialog', { name: 'Local only by default' })).toHaveTextContent(/Nothing leaves this machine/);
    await user.click(screen.getByRole('button', { name: 'Next' }));
    // The root in force, and a field to choose another (the manager checks and keeps it).
    const where = screen.getByRole('dialog', { name: 'Where workspaces live' });
    expect(await within(where).findByTestId('workspace-root-current')).toHaveTextContent(
      '/home/me/.local/share/hyperagent/workspaces',
    );
    expect(within(where).getByLabelText('Folder for new workspaces')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Next' }));
    const last = screen.getByRole('dialog', { name: 'How permissions work' });
    for (const answer of ['Allow once', 'Allow for this task', 'Allow for this agent', 'Always allow', 'Deny'])
      expect(last).toHaveTextContent(answer);

    await user.click(screen.getByRole('button', { name: 'Create your first project' }));
    expect(window.location.hash).toBe('#/new');
    expect(dialog()).not.toBeInTheDocument();
    expect(window.localStorage.getItem(ONBOARDED_KEY)).not.toBeNull();

    // The next start: not again.
    unmount();
    setup();
    await screen.findByTestId('scheduling');
    expect(dialog()).not.toBeInTheDocument();
  });

  it('Escape closes it and it is remembered', async () => {
    const { user } = setup();
    expect(dialog()).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(dialog()).not.toBeInTheDocument();
    expect(window.localStorage.getItem(ONBOARDED_KEY)).not.toBeNull();
  });

  it('keeps the focus inside the dialog', async () => {
    const { user } = setup();
    await user.click(screen.getByRole('button', { name: 'Next' }));
    const inDialog = () => screen.getByRole('dialog').contains(document.activeElement);
    for (let i = 0; i < 6; i++) {
      await user.tab();
      expect(inDialog()).toBe(true);
    }
    for (let i = 0; i < 6; i++) {
      await user.tab({ shift: true });
      expect(inDialog()).toBe(true);
    }
  });

  it('does not show once seen, and "Show introduction" in Settings opens it again', async () => {
    window.localStorage.setItem(ONBOARDED_KEY, '2026-11-26T10:00:00Z');
    const { user } = setup();
    await screen.findByTestId('scheduling');
    expect(dialog()).not.toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Show introduction' }));
    expect(screen.getByRole('dialog', { name: 'What HyperAgent does' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Skip introduction' }));
    await waitFor(() => expect(dialog()).not.toBeInTheDocument());
    // Focus goes back to where it was.
    expect(screen.getByRole('button', { name: 'Show introduction' })).toHaveFocus();
  });
});
