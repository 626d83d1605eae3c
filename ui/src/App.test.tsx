import { render, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import App from './App';
import { ONBOARDED_KEY } from './app/onboarding';
import { parseRoute } from './app/router';
import { MockTransport } from './testing/mockTransport';

function renderApp() {
  const transport = new MockTransport({
    ListPolicyRules: () => ({ rules: [] }),
    ListSecrets: () => ({ secrets: [], store: 'secret-service' }),
    ListConsents: () => ({ consents: [] }),
    ListAgents: () => ({ agents: [] }),
    ListTasks: () => ({ tasks: [], next_page_token: '' }),
  });
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

  it('opens with the introduction on first run', () => {
    renderApp();
    expect(screen.getByRole('dialog', { name: 'What HyperAgent does' })).toBeInTheDocument();
  });
});
