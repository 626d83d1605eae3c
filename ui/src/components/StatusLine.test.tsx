import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { task } from '../testing/tasks';
import { StatusLine } from './StatusLine';

describe('StatusLine', () => {
  it('says "1 task running" for one, "2 tasks running" for two', async () => {
    let running = [task('t1')];
    const transport = new MockTransport({
      ListAgents: () => ({ agents: [] }),
      ListTasks: () => ({ tasks: running, next_page_token: '' }),
    });
    const { unmount } = render(
      <ClientProvider client={transport.client()}>
        <FeedProvider>
          <StatusLine />
        </FeedProvider>
      </ClientProvider>,
    );
    expect(await screen.findByText('1 task running')).toBeInTheDocument();
    unmount();
    running = [task('t1'), task('t2')];
    render(
      <ClientProvider client={transport.client()}>
        <FeedProvider>
          <StatusLine />
        </FeedProvider>
      </ClientProvider>,
    );
    expect(await screen.findByText('2 tasks running')).toBeInTheDocument();
  });
});
