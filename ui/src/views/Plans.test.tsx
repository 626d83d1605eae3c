import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ClientProvider } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { Plans } from './Plans';

describe('Plans', () => {
  it('with no plan yet, offers the one thing to do: ask for something', async () => {
    const user = userEvent.setup();
    const onAsk = vi.fn();
    const transport = new MockTransport({ ListPlans: () => ({ plans: [], next_page_token: '' }) });
    render(
      <ClientProvider client={transport.client()}>
        <FeedProvider>
          <Plans onAsk={onAsk} />
        </FeedProvider>
      </ClientProvider>,
    );
    expect(await screen.findByTestId('plans-empty')).toHaveTextContent(
      'No plans yet. Ask for something in plain words: HyperAgent proposes a plan, and nothing runs until you press Run.',
    );
    await user.click(screen.getByRole('button', { name: 'Ask for something' }));
    expect(onAsk).toHaveBeenCalledTimes(1);
  });
});
