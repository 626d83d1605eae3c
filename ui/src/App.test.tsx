import { render, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import App from './App';
import { ApiError } from './ipc';
import { ONBOARDED_KEY } from './app/onboarding';
import { parseRoute } from './app/router';
import { MockTransport } from './testing/mockTransport';
import { shopPlan } from './testing/plans';

function renderApp(signedIn = true) {
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
  render(<App client={transport.client()} />);
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
});
