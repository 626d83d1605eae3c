import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider, type Task } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { task } from '../testing/tasks';
import { StatusLine } from './StatusLine';

function renderWith(running: Task[]) {
  const transport = new MockTransport({
    ListAgents: () => ({ agents: [] }),
    ListTasks: () => ({ tasks: running, next_page_token: '' }),
  });
  return render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <StatusLine />
      </FeedProvider>
    </ClientProvider>,
  );
}

describe('StatusLine', () => {
  it('says "1 task running" for one, "2 tasks running" for two', async () => {
    const { unmount } = renderWith([task('t1')]);
    expect(await screen.findByText('1 task running')).toBeInTheDocument();
    unmount();
    renderWith([task('t1'), task('t2')]);
    expect(await screen.findByText('2 tasks running')).toBeInTheDocument();
  });
});
