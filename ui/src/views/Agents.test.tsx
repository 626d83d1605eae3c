import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { Agents, START_WITH_AGENTS } from './Agents';

function setup() {
  const transport = new MockTransport({ ListAgents: () => ({ agents: [] }) });
  render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <Agents />
      </FeedProvider>
    </ClientProvider>,
  );
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
});
