import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { NOTIFY_KEY } from '../app/notify';
import { fakeNotifications } from '../testing/notifications';
import { FeedProvider } from '../app/feed';
import {
  ApiError,
  ClientProvider,
  type ManagerStatus,
  type PolicyRule,
  type SecretInfo,
  type ServiceAction,
  type ServiceReply,
  type Task,
} from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { Settings } from './Settings';

function rule(id: string, over: Partial<PolicyRule> = {}): PolicyRule {
  return {
    id,
    agent: '',
    kind: 'connect',
    target: 'pypi.org:443',
    decision: 'POLICY_DECISION_ALLOW',
    origin: 'cli',
    created_at: '2026-11-26T10:00:00Z',
    ...over,
  };
}

const STATUS: ManagerStatus = {
  version: '0.4.2',
  pid: 4242,
  started_at: '2026-11-26T09:00:00Z',
  paused: false,
  agents_online: 1,
  agents_known: 2,
  tasks_queued: 3,
  tasks_running: 1,
  tasks_awaiting_consent: 0,
  workspace_root: '/home/me/.local/share/hyperagent/workspaces',
  workspace_root_source: 'default',
  editor: 'code (/usr/bin/code)',
};

function setup(
  opts: {
    rules?: PolicyRule[];
    revoked?: PolicyRule[];
    secrets?: SecretInfo[];
    tasks?: Partial<Task>[];
    service?: (action: ServiceAction) => Promise<ServiceReply>;
    editor?: string;
    section?: string;
  } = {},
) {
  const rules = opts.rules ?? [
    rule('r1'),
    rule('r2', { decision: 'POLICY_DECISION_DENY', kind: 'read', target: '/home/me/.ssh', agent: 'bootstrapper', origin: 'consent c9' }),
  ];
  let status = { ...STATUS, editor: opts.editor ?? STATUS.editor };
  const transport = new MockTransport({
    ListPolicyRules: (req) => ({ rules: req.include_revoked ? [...rules, ...(opts.revoked ?? [])] : rules }),
    RevokePolicyRule: (req) => ({ ...rule(req.id ?? ''), revoked_at: '2026-11-26T11:00:00Z' }),
    AddPolicyRule: (req) => ({ ...rule('r-new'), ...req }),
    ListSecrets: () => ({ secrets: opts.secrets ?? [{ name: 'GITHUB_TOKEN', updated_at: '2026-11-25T08:00:00Z' }], store: 'secret-service' }),
    SetSecret: () => ({}),
    DeleteSecret: () => ({}),
    GetStatus: () => status,
    SetPaused: (req) => {
      status = { ...status, paused: req.paused ?? false };
      return status;
    },
    ListTasks: () => ({ tasks: (opts.tasks ?? []) as Task[], next_page_token: '' }),
  });
  transport.service = opts.service;
  const user = userEvent.setup();
  render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <Settings section={opts.section} />
      </FeedProvider>
    </ClientProvider>,
  );
  return { transport, user };
}

const rows = () => screen.getAllByTestId('rule-row');

describe('Settings: permission rules', () => {
  it('with none, says agents ask each time and takes you to the form that adds one', async () => {
    const { user } = setup({ rules: [] });
    const empty = await screen.findByTestId('rules-empty');
    expect(empty).toHaveTextContent('No rules: agents ask before each access.');
    expect(screen.queryByTestId('rule-table')).not.toBeInTheDocument();
    await user.click(within(empty).getByRole('button', { name: 'Add a rule' }));
    expect(within(screen.getByTestId('rule-form')).getByLabelText('Target')).toHaveFocus();
  });

  it('lists the rules with decision, kind, target, agent and origin', async () => {
    setup();
    await screen.findByTestId('rule-table');
    expect(rows().map((r) => r.dataset.ruleId)).toEqual(['r1', 'r2']);
    const [first, second] = rows() as [HTMLElement, HTMLElement];
    expect(within(first).getByTestId('rule-decision')).toHaveTextContent('allow');
    expect(within(first).getByTestId('rule-kind')).toHaveTextContent('connect');
    expect(within(first).getByTestId('rule-target')).toHaveTextContent('pypi.org:443');
    expect(within(first).getByTestId('rule-agent')).toHaveTextContent('every agent');
    expect(within(second).getByTestId('rule-decision')).toHaveTextContent('deny');
    expect(within(second).getByTestId('rule-agent')).toHaveTextContent('bootstrapper');
    expect(second).toHaveTextContent('consent c9');
  });

  it('asks for revoked rules only with the toggle, and offers no Revoke for them', async () => {
    const { transport, user } = setup({ revoked: [rule('r0', { revoked_at: '2026-11-20T00:00:00Z' })] });
    await screen.findByTestId('rule-table');
    expect(transport.requests('ListPolicyRules')).toEqual([{ include_revoked: false }]);
    await user.click(screen.getByLabelText('Show revoked rules'));
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(transport.requests('ListPolicyRules').at(-1)).toEqual({ include_revoked: true });
    const revoked = rows().find((r) => r.dataset.ruleId === 'r0')!;
    expect(revoked).toHaveAttribute('data-revoked', 'true');
    expect(within(revoked).queryByRole('button', { name: /Revoke/ })).not.toBeInTheDocument();
  });

  it('revokes a rule only after confirming, with the rule id', async () => {
    const { transport, user } = setup();
    await screen.findByTestId('rule-table');
    const second = rows()[1]!;
    await user.click(within(second).getByRole('button', { name: 'Revoke: deny read /home/me/.ssh' }));
    expect(transport.requests('RevokePolicyRule')).toHaveLength(0);
    await user.click(within(second).getByRole('button', { name: 'Yes, revoke' }));
    await waitFor(() => expect(transport.requests('RevokePolicyRule')).toEqual([{ id: 'r2' }]));
    // Listed again afterwards.
    await waitFor(() => expect(transport.requests('ListPolicyRules')).toHaveLength(2));
  });

  it('"Keep it" backs out of a revoke without a call', async () => {
    const { transport, user } = setup();
    await screen.findByTestId('rule-table');
    await user.click(within(rows()[0]!).getByTestId('rule-revoke'));
    await user.click(screen.getByRole('button', { name: 'Keep it' }));
    expect(within(rows()[0]!).getByTestId('rule-revoke')).toBeInTheDocument();
    expect(transport.requests('RevokePolicyRule')).toHaveLength(0);
  });

  it('adds a rule with the chosen decision, kind, target and agent', async () => {
    const { transport, user } = setup();
    const form = await screen.findByRole('form', { name: 'Add a rule' });
    await user.selectOptions(within(form).getByLabelText('Decision'), 'deny');
    await user.selectOptions(within(form).getByLabelText('Kind'), 'write');
    await user.type(within(form).getByLabelText('Target'), ' /home/me/projects ');
    await user.type(within(form).getByLabelText('Agent (optional)'), 'bootstrapper');
    await user.click(within(form).getByRole('button', { name: 'Add rule' }));
    await waitFor(() =>
      expect(transport.requests('AddPolicyRule')).toEqual([
        { decision: 'POLICY_DECISION_DENY', kind: 'write', target: '/home/me/projects', agent: 'bootstrapper' },
      ]),
    );
    await waitFor(() => expect(within(form).getByLabelText('Target')).toHaveValue(''));
    expect(transport.requests('ListPolicyRules')).toHaveLength(2);
  });

  it('sends an empty agent for every agent, and shows the server error inline', async () => {
    const { transport, user } = setup();
    transport.handlers.AddPolicyRule = () => {
      throw new ApiError('invalid_argument', 'target: a read rule needs an absolute path, got `projects`');
    };
    const form = await screen.findByRole('form', { name: 'Add a rule' });
    await user.type(within(form).getByLabelText('Target'), 'projects');
    await user.click(within(form).getByRole('button', { name: 'Add rule' }));
    const note = await within(form).findByTestId('rule-error');
    expect(note).toHaveAttribute('data-code', 'invalid_argument');
    expect(note).toHaveTextContent('a read rule needs an absolute path, got `projects`');
    expect(transport.requests('AddPolicyRule')).toEqual([
      { decision: 'POLICY_DECISION_ALLOW', kind: 'read', target: 'projects', agent: '' },
    ]);
    // The typed target stays for correcting.
    expect(within(form).getByLabelText('Target')).toHaveValue('projects');
  });
});

describe('Settings: secrets', () => {
  it('with none stored, says what they are for and takes you to the form that sets one', async () => {
    const { user } = setup({ secrets: [] });
    const empty = await screen.findByTestId('secrets-empty');
    expect(empty).toHaveTextContent('No secrets stored. An agent that needs one names it, and asks you before it reads it.');
    await user.click(within(empty).getByRole('button', { name: 'Set a secret' }));
    expect(within(screen.getByTestId('secret-form')).getByLabelText('Name')).toHaveFocus();
  });

  it('lists names and the keychain, and deletes only after confirming', async () => {
    const { transport, user } = setup();
    const row = await screen.findByTestId('secret-row');
    expect(row).toHaveTextContent('GITHUB_TOKEN');
    expect(screen.getByTestId('secret-store')).toHaveTextContent('Secret Service');
    await user.click(within(row).getByRole('button', { name: 'Delete GITHUB_TOKEN' }));
    expect(transport.requests('DeleteSecret')).toHaveLength(0);
    await user.click(within(row).getByRole('button', { name: 'Yes, delete' }));
    await waitFor(() => expect(transport.requests('DeleteSecret')).toEqual([{ name: 'GITHUB_TOKEN' }]));
  });

  it('sets a secret from a password field, clears it, and never renders the value', async () => {
    const { transport, user } = setup();
    const form = await screen.findByRole('form', { name: 'Set a secret' });
    const value = within(form).getByLabelText('Value');
    expect(value).toHaveAttribute('type', 'password');
    await user.type(within(form).getByLabelText('Name'), 'PYPI_TOKEN');
    await user.type(value, 's3cr3t-value');
    // Not mirrored into the markup even while typed.
    expect(document.body.innerHTML).not.toContain('s3cr3t-value');
    await user.click(within(form).getByRole('button', { name: 'Save secret' }));
    await waitFor(() => expect(transport.requests('SetSecret')).toEqual([{ name: 'PYPI_TOKEN', value: 's3cr3t-value' }]));
    await waitFor(() => expect(value).toHaveValue(''));
    expect(within(form).getByLabelText('Name')).toHaveValue('');
    expect(screen.getByTestId('secret-saved')).toHaveTextContent('Saved PYPI_TOKEN.');
    expect(transport.requests('ListSecrets')).toHaveLength(2);
    // Nowhere in the page: not as text, not in any attribute or field.
    expect(document.body.innerHTML).not.toContain('s3cr3t-value');
    for (const input of document.querySelectorAll('input')) expect(input.value).not.toContain('s3cr3t-value');
  });

  it('keeps the value out of the page when the server refuses it too', async () => {
    const { transport, user } = setup();
    transport.handlers.SetSecret = () => {
      throw new ApiError('invalid_argument', 'name: 1-128 letters, digits, `_`, `-`, `.`');
    };
    const form = await screen.findByRole('form', { name: 'Set a secret' });
    await user.type(within(form).getByLabelText('Name'), 'bad');
    await user.type(within(form).getByLabelText('Value'), 'hunter2hunter2');
    await user.click(within(form).getByRole('button', { name: 'Save secret' }));
    expect(await within(form).findByTestId('secret-error')).toHaveTextContent('1-128 letters');
    expect(document.body.innerHTML).not.toContain('hunter2hunter2');
  });
});

describe('Settings: scheduling and workspaces', () => {
  it("shows the manager's status and pauses, then resumes", async () => {
    const { transport, user } = setup();
    expect(await screen.findByTestId('status-version')).toHaveTextContent('0.4.2');
    expect(screen.getByTestId('status-agent-count')).toHaveTextContent('1 of 2 online');
    expect(screen.getByTestId('status-task-count')).toHaveTextContent('3 queued, 1 running, 0 awaiting consent');
    expect(screen.getByTestId('status-paused')).toHaveAttribute('data-paused', 'false');

    await user.click(screen.getByRole('button', { name: 'Pause' }));
    await waitFor(() => expect(screen.getByTestId('status-paused')).toHaveAttribute('data-paused', 'true'));
    expect(transport.requests('SetPaused')).toEqual([{ paused: true }]);

    await user.click(screen.getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(screen.getByTestId('status-paused')).toHaveAttribute('data-paused', 'false'));
    expect(transport.requests('SetPaused')).toEqual([{ paused: true }, { paused: false }]);
  });

  it('shows a pause made elsewhere (the tray, the CLI) as soon as the feed reports it', async () => {
    const { transport } = setup();
    await waitFor(() => expect(screen.getByTestId('status-paused')).toHaveAttribute('data-paused', 'false'));
    transport.handlers.GetStatus = () => ({ ...STATUS, paused: true });
    transport.emit({ scheduling: { paused: true, actor: 'tray' } });
    await waitFor(() => expect(screen.getByTestId('status-paused')).toHaveAttribute('data-paused', 'true'));
  });

  it('shows the workspace root in force and who chose it', async () => {
    setup();
    const current = await screen.findByTestId('workspace-root-current');
    expect(current).toHaveTextContent('/home/me/.local/share/hyperagent/workspaces');
    expect(current).toHaveAttribute('data-source', 'default');
    expect(screen.getByTestId('workspace-root-input')).toHaveValue('/home/me/.local/share/hyperagent/workspaces');
    expect(screen.queryByTestId('workspace-root-reset')).not.toBeInTheDocument();
  });

  it('chooses another folder, then goes back to the config’s', async () => {
    const { transport, user } = setup();
    transport.handlers.SetWorkspaceRoot = (req) => ({
      ...STATUS,
      workspace_root: req.path || STATUS.workspace_root,
      workspace_root_source: req.path ? 'app' : 'default',
    });
    const input = await screen.findByTestId('workspace-root-input');
    await user.clear(input);
    await user.type(input, '  /home/me/projects ');
    await user.click(screen.getByTestId('workspace-root-save'));
    expect(await screen.findByTestId('workspace-root-saved')).toHaveTextContent('Tasks already made keep their folders');
    expect(transport.requests('SetWorkspaceRoot')).toEqual([{ path: '/home/me/projects' }]);
    expect(screen.getByTestId('workspace-root-current')).toHaveAttribute('data-source', 'app');
    await user.click(screen.getByTestId('workspace-root-reset'));
    await waitFor(() => expect(screen.getByTestId('workspace-root-current')).toHaveAttribute('data-source', 'default'));
    expect(transport.requests('SetWorkspaceRoot').at(-1)).toEqual({ path: '' });
  });

  it('shows why the manager refused a folder, next to the field', async () => {
    const { transport, user } = setup();
    transport.handlers.SetWorkspaceRoot = () => {
      throw new ApiError('invalid_argument', 'workspace root `projects`: must be an absolute path, e.g. /home/me/projects');
    };
    const input = await screen.findByTestId('workspace-root-input');
    await user.clear(input);
    await user.type(input, 'projects');
    await user.click(screen.getByTestId('workspace-root-save'));
    expect(await screen.findByRole('alert')).toHaveTextContent('must be an absolute path');
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(input).toHaveValue('projects'); // nothing typed is lost
  });
});

/** The desktop shell's service control as a small state machine, recording each action. */
function fakeService(startFails = false) {
  const actions: ServiceAction[] = [];
  let state: ServiceReply['service']['state'] = 'not_installed';
  let mode: ServiceReply['app']['mode'] = 'embedded';
  const reply = (): ServiceReply => ({
    service: {
      state,
      unit: 'hyperagent.service',
      unit_file: state === 'not_installed' ? null : '/home/me/.config/systemd/user/hyperagent.service',
      enabled: state !== 'not_installed',
      pid: state === 'running' ? 777 : null,
      detail: { not_installed: 'not installed', stopped: 'installed, not running', running: 'running in the background' }[
        state as string
      ]!,
    },
    app: { mode, socket: '/run/user/1000/hyperagent/manager.sock' },
  });
  const service = async (action: ServiceAction): Promise<ServiceReply> => {
    actions.push(action);
    if (action === 'install') state = 'stopped';
    if (action === 'start') {
      if (startFails) throw new ApiError('failed_precondition', 'the service stopped while starting: see journalctl');
      state = 'running';
      mode = 'connected';
    }
    if (action === 'stop') {
      state = 'stopped';
      mode = 'embedded';
    }
    if (action === 'uninstall') {
      state = 'not_installed';
      mode = 'embedded';
    }
    return reply();
  };
  return { actions, service };
}

describe('Settings: background service (desktop app)', () => {
  it('is not offered in a browser, where the page is served by the manager itself', async () => {
    setup();
    await screen.findByTestId('scheduling');
    expect(screen.queryByTestId('background-service')).not.toBeInTheDocument();
  });

  it('installs, starts (the app then uses it), stops and uninstalls, one button at a time', async () => {
    const fake = fakeService();
    const { user } = setup({ service: fake.service });
    const state = await screen.findByTestId('service-state');
    expect(state).toHaveAttribute('data-state', 'not_installed');
    expect(screen.getByTestId('app-mode')).toHaveTextContent('its own manager');
    expect(screen.queryByTestId('service-start')).not.toBeInTheDocument();

    await user.click(screen.getByTestId('service-install'));
    await waitFor(() => expect(screen.getByTestId('service-state')).toHaveAttribute('data-state', 'stopped'));
    expect(screen.getByTestId('service-state')).toHaveTextContent('starts when you log in');

    await user.click(screen.getByTestId('service-start'));
    await waitFor(() => expect(screen.getByTestId('service-state')).toHaveAttribute('data-state', 'running'));
    expect(screen.getByTestId('service-state')).toHaveTextContent('pid 777');
    expect(screen.getByTestId('app-mode')).toHaveAttribute('data-mode', 'connected');

    await user.click(screen.getByTestId('service-stop'));
    await waitFor(() => expect(screen.getByTestId('app-mode')).toHaveAttribute('data-mode', 'embedded'));
    await user.click(screen.getByTestId('service-uninstall'));
    await waitFor(() => expect(screen.getByTestId('service-state')).toHaveAttribute('data-state', 'not_installed'));
    expect(fake.actions).toEqual(['status', 'install', 'start', 'stop', 'uninstall']);
  });

  it('shows why a start failed, and where the service is after it', async () => {
    const fake = fakeService(true);
    const { user } = setup({ service: fake.service });
    await user.click(await screen.findByTestId('service-install'));
    await user.click(await screen.findByTestId('service-start'));
    expect(await screen.findByText(/the service stopped while starting/)).toBeInTheDocument();
    await waitFor(() => expect(fake.actions.at(-1)).toBe('status'));
    expect(screen.getByTestId('service-state')).toHaveAttribute('data-state', 'stopped');
    expect(screen.getByTestId('app-mode')).toHaveAttribute('data-mode', 'embedded');
  });
});

describe('Settings: notifications', () => {
  it('asks the browser for notifications only when the toggle is switched on, and says what it answered', async () => {
    window.localStorage.removeItem(NOTIFY_KEY);
    const { api } = fakeNotifications('default', 'granted');
    try {
      const { user } = setup();
      const toggle = await screen.findByRole('checkbox', { name: /Notify me of permission requests/ });
      expect(toggle).not.toBeChecked();
      expect(screen.getByTestId('notify-state')).toHaveTextContent('Off.');
      expect(api.requestPermission).not.toHaveBeenCalled();
      await user.click(toggle);
      await waitFor(() => expect(toggle).toBeChecked());
      expect(api.requestPermission).toHaveBeenCalledTimes(1);
      expect(screen.getByTestId('notify-state')).toHaveTextContent(/^On: a permission request that arrives while HyperAgent is in the background/);
      await user.click(toggle);
      await waitFor(() => expect(toggle).not.toBeChecked());
      expect(window.localStorage.getItem(NOTIFY_KEY)).toBeNull();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('says so when the browser blocks them', async () => {
    fakeNotifications('default', 'denied');
    try {
      const { user } = setup();
      await user.click(await screen.findByRole('checkbox', { name: /Notify me of permission requests/ }));
      await waitFor(() => expect(screen.getByTestId('notify-state')).toHaveTextContent(/^The browser blocks notifications/));
      expect(screen.getByRole('checkbox', { name: /Notify me/ })).not.toBeChecked();
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe('Settings: editor', () => {
  it('names the editor the manager found, or says none is on its PATH and how to choose one', async () => {
    setup();
    expect(await screen.findByTestId('editor-found')).toHaveTextContent('Folders open in code (/usr/bin/code).');
  });

  it('says when no editor is on the PATH; a link to the section focuses its heading', async () => {
    setup({ editor: '', section: 'editor' });
    const found = await screen.findByTestId('editor-found');
    await waitFor(() => expect(found).toHaveTextContent("VS Code's code command is not on the manager's PATH"));
    const section = screen.getByTestId('editor');
    expect(section).toHaveTextContent('[editor] table of the config file');
    expect(within(section).getByRole('heading', { name: 'Editor' })).toHaveFocus();
  });
});
