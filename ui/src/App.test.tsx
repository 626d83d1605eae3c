import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import App from './App';
import { ApiError } from './ipc';
import { ONBOARDED_KEY } from './app/onboarding';
import { parseRoute } from './app/router';
import { MockTransport } from './testing/mockTransport';
import { shopPlan } from './testing/plans';

function renderApp(signedIn = true, before?: (t: MockTransport) => void): MockTransport {
  const transport = new MockTransport({
    ListPolicyRules: () => ({ rules: [] }),
    ListSecrets: () => ({ secrets: [], store: 'secret-service' }),
    ListConsents: () => ({ consents: [] }),
    ListAgents: () => ({ agents: [] }),
    ListTasks: () => ({ tasks: [], next_page_token: '' }),
    ListPlans: () => ({ plans: [], next_page_token: '' }),
    GetPlan: ({ plan_id }) => shopPlan(plan_id, { state: 'PLAN_STATE_RUNNING' }),
  });
  if (!signedIn) transport.feedError = new ApiError('unauthenticated', 'no access token');
  before?.(transport);
  render(<App client={transport.client()} />);
  return transport;
}

describe('App', () => {
  beforeEach(() => {
    window.localStorage.clear();
    window.location.hash = '#/settings';
  });

  it('routes #/settings to Settings, marked in the nav', async () => {
    expect(parseRoute('#/settings')).toEqual({ view: 'settings' });
    window.localStorage.setItem(ONBOARDED_KEY, 'yes');
    renderApp();
    expect(await screen.findByRole('heading', { level: 1, name: 'Settings' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Settings' })).toHaveAttribute('aria-current', 'page');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it('routes #/plans and #/plans/ID to the plans, marked in the nav', async () => {
    expect(parseRoute('#/plans')).toEqual({ view: 'plans' });
    expect(parseRoute('#/plans/p%2F1')).toEqual({ view: 'plan', planId: 'p/1' });
    window.localStorage.setItem(ONBOARDED_KEY, 'yes');
    window.location.hash = '#/plans/p-9';
    renderApp();
    expect(await screen.findByTestId('plan-graph')).toBeInTheDocument();
    expect(screen.getByTestId('plan-page')).toHaveAttribute('data-plan-id', 'p-9');
    expect(within(screen.getByRole('navigation', { name: 'Main' })).getByRole('link', { name: 'Plans' })).toHaveAttribute(
      'aria-current',
      'page',
    );
  });

  it('opens with the introduction on first run', () => {
    renderApp();
    expect(screen.getByRole('dialog', { name: 'What HyperAgent does' })).toBeInTheDocument();
  });

  it('shows the sign-in notice once, instead of the view, and no introduction over it', async () => {
    window.location.hash = '#/tasks';
    renderApp(false);
    expect(await screen.findByTestId('signin-notice')).toBeInTheDocument();
    expect(screen.getAllByText(/Open the address the manager printed/)).toHaveLength(1);
    expect(screen.queryByRole('heading', { level: 1, name: 'Tasks' })).not.toBeInTheDocument();
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it('while the manager is away, keeps the view, says when it tries again, and reads the view again when it is back', async () => {
    window.localStorage.setItem(ONBOARDED_KEY, 'yes');
    window.location.hash = '#/tasks';
    const transport = renderApp();
    expect(await screen.findByRole('heading', { level: 1, name: 'Tasks' })).toBeInTheDocument();
    // The manager stops: its list fails while it is away.
    transport.handlers.ListTasks = () => {
      throw new ApiError('unavailable', 'The manager did not answer.');
    };
    act(() => transport.dropFeed(new ApiError('unavailable', 'The manager did not answer.'), 4000));
    expect(screen.getByTestId('status-manager')).toHaveTextContent('Manager not reachable');
    expect(screen.getByTestId('status-reconnect')).toHaveTextContent(/^Reconnecting in 4 s · Retry now$/);
    expect(screen.queryByTestId('signin-notice')).not.toBeInTheDocument();
    await userEvent.setup().click(screen.getByRole('button', { name: 'Retry now' }));
    expect(transport.retried).toBe(1);
    // Back: the view reads its list again.
    transport.handlers.ListTasks = () => ({ tasks: [], next_page_token: '' });
    const before = transport.requests('ListTasks').length;
    act(() => transport.reopenFeed());
    expect(screen.getByTestId('status-manager')).toHaveTextContent('Manager connected');
    expect(screen.queryByTestId('status-reconnect')).not.toBeInTheDocument();
    await vi.waitFor(() => expect(transport.requests('ListTasks').length).toBeGreaterThan(before));
    expect(screen.getByRole('heading', { level: 1, name: 'Tasks' })).toBeInTheDocument();
  });

  it('keeps what the person typed across a reconnect: the view is read again, not made again', async () => {
    window.localStorage.setItem(ONBOARDED_KEY, 'yes');
    window.location.hash = '#/tasks';
    const user = userEvent.setup();
    const transport = renderApp();
    await screen.findByRole('heading', { level: 1, name: 'Tasks' });
    await user.type(screen.getByLabelText('Search'), 'shop');
    await user.selectOptions(screen.getByTestId('tasks-state'), 'failed');
    act(() => transport.dropFeed(new ApiError('unavailable', 'The manager did not answer.'), 4000));
    const before = transport.requests('ListTasks').length;
    act(() => transport.reopenFeed());
    await vi.waitFor(() => expect(transport.requests('ListTasks').length).toBeGreaterThan(before));
    expect(transport.requests('ListTasks').at(-1)).toMatchObject({ states: ['TASK_STATE_FAILED', 'TASK_STATE_DEAD_LETTERED'] });
    expect(screen.getByLabelText('Search')).toHaveValue('shop');
    expect(screen.getByTestId('tasks-state')).toHaveValue('failed');
  });

  it('a view that failed while the manager was away shows no stale error once it is back', async () => {
    window.localStorage.setItem(ONBOARDED_KEY, 'yes');
    window.location.hash = '#/plans';
    const away = new ApiError('unavailable', 'The manager did not answer.');
    const transport = renderApp(true, (t) => {
      t.feedError = away;
      t.handlers.ListPlans = () => {
        throw away;
      };
    });
    expect(await screen.findByRole('alert')).toHaveTextContent('The manager did not answer.');
    transport.handlers.ListPlans = () => ({ plans: [], next_page_token: '' });
    act(() => transport.reopenFeed());
    await vi.waitFor(() => expect(screen.queryByRole('alert')).not.toBeInTheDocument());
    expect(screen.getByRole('heading', { level: 1, name: 'Plans' })).toBeInTheDocument();
  });

  it('a sign-out (401) shows the sign-in notice until the feed is back, never for good', async () => {
    window.localStorage.setItem(ONBOARDED_KEY, 'yes');
    window.location.hash = '#/tasks';
    const transport = renderApp();
    expect(await screen.findByRole('heading', { level: 1, name: 'Tasks' })).toBeInTheDocument();
    act(() => transport.dropFeed(new ApiError('internal', 'HTTP 502')));
    expect(screen.queryByTestId('signin-notice')).not.toBeInTheDocument();
    act(() => transport.dropFeed(new ApiError('unauthenticated', 'no access token')));
    expect(screen.getByTestId('signin-notice')).toBeInTheDocument();
    expect(screen.getByTestId('status-manager')).toHaveTextContent('Not signed in');
    act(() => transport.reopenFeed());
    expect(screen.queryByTestId('signin-notice')).not.toBeInTheDocument();
    expect(await screen.findByRole('heading', { level: 1, name: 'Tasks' })).toBeInTheDocument();
  });
});
