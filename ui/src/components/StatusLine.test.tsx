import { act, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ApiError, ClientProvider } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { StatusLine } from './StatusLine';

/** `running` assigned or running, `asking` awaiting consent, as the manager counts them. */
function renderWith(running: number, asking = 0, pending = false) {
  const transport = new MockTransport({
    ListAgents: () => ({ agents: [] }),
    GetStatus: () => ({
      version: '0',
      pid: 1,
      paused: false,
      agents_online: 0,
      agents_known: 0,
      tasks_queued: 7,
      tasks_running: running,
      tasks_awaiting_consent: asking,
      workspace_root: '/home/me/src',
      workspace_root_source: 'default',
      editor: '',
    }),
  });
  transport.feedPending = pending;
  const view = render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <StatusLine />
      </FeedProvider>
    </ClientProvider>,
  );
  return { ...view, transport };
}

describe('StatusLine', () => {
  it('says "1 task running" for one, "2 tasks running" for two', async () => {
    const { unmount } = renderWith(1);
    expect(await screen.findByText('1 task running')).toBeInTheDocument();
    unmount();
    renderWith(1, 1);
    expect(await screen.findByText('2 tasks running')).toBeInTheDocument();
  });

  it('counts past any page of a listing: the manager says how many', async () => {
    renderWith(1500);
    expect(await screen.findByText('1500 tasks running')).toBeInTheDocument();
  });

  it('says it is connecting until the first connection opens or fails, not that the manager is away', async () => {
    const { transport } = renderWith(0, 0, true);
    expect(screen.getByTestId('status-manager')).toHaveTextContent('Connecting to the manager…');
    act(() => transport.reopenFeed());
    expect(await screen.findByText('Manager connected')).toBeInTheDocument();
  });

  it('while the manager is away, says since when, so what is shown is known to be as of then', async () => {
    const { transport } = renderWith(0);
    expect(await screen.findByText('Manager connected')).toBeInTheDocument();
    expect(screen.queryByTestId('status-stale')).not.toBeInTheDocument();
    act(() => transport.dropFeed(new ApiError('unavailable', 'The manager did not answer.'), 4000));
    expect(screen.getByTestId('status-stale')).toHaveTextContent(/^since \d\d:\d\d:\d\d: what is shown may be out of date until it is back/);
    act(() => transport.reopenFeed());
    expect(screen.queryByTestId('status-stale')).not.toBeInTheDocument();
  });
});
