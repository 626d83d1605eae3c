import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type ReactNode, type RefObject } from 'react';
import { useFeedEvents } from '../app/feed';
import { notifyState, setNotify, type NotifyState } from '../app/notify';
import { useShowIntroduction } from '../app/onboarding';
import { useThrottled } from '../app/useRefresh';
import { ErrorNote } from '../components/ErrorNote';
import { TableScroll } from '../components/TableScroll';
import { Untrusted } from '../components/Untrusted';
import { WorkspaceRootForm } from '../components/WorkspaceRootForm';
import {
  ApiError,
  useClient,
  type ManagerStatus,
  type PolicyDecision,
  type PolicyRule,
  type SecretInfo,
  type ServiceAction,
  type ServiceReply,
} from '../ipc';
import { enumLabel, formatTime } from '../lib/format';
import { revealHidden } from '../lib/untrusted';

/** The kinds of rule the manager takes, with what their target is. */
const RULE_KINDS: { kind: string; target: string }[] = [
  { kind: 'read', target: 'an absolute path' },
  { kind: 'write', target: 'an absolute path' },
  { kind: 'connect', target: 'HOST:PORT' },
  { kind: 'open', target: 'an absolute path' },
];

const decisionLabel = (d: PolicyDecision) => enumLabel(d, 'POLICY_DECISION_');

/**
 * What the manager may do on the person's behalf, and how it runs: rules, secrets, scheduling.
 * With `section` (a link such as `#/settings/editor`), that section is scrolled to and its
 * heading focused.
 */
export function Settings({ section }: { section?: string }) {
  const showIntroduction = useShowIntroduction();
  useEffect(() => {
    if (!section) return;
    const heading = document.querySelector<HTMLElement>(`[data-testid="${CSS.escape(section)}"] h2`);
    heading?.scrollIntoView({ block: 'start' });
    heading?.focus();
  }, [section]);
  return (
    <div className="view settings">
      <h1>Settings</h1>
      <p>
        <button type="button" className="link" data-testid="show-introduction" onClick={showIntroduction}>
          Show introduction
        </button>
      </p>
      <Notifications />
      <PolicyRules />
      <Secrets />
      <Scheduling />
      <BackgroundService />
      <WorkspaceRoot />
      <Editor />
    </div>
  );
}

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  const headingId = useId();
  return (
    <section className="panel" aria-labelledby={headingId} data-testid={id}>
      <h2 id={headingId} tabIndex={-1}>
        {title}
      </h2>
      {children}
    </section>
  );
}

/** Desktop notifications for permission requests: asked of the browser only when switched on here. */
function Notifications() {
  const [state, setState] = useState<NotifyState>(notifyState);
  const [asking, setAsking] = useState(false);
  const words: Record<NotifyState, string> = {
    unsupported: 'This browser cannot show desktop notifications.',
    off: 'Off.',
    on: 'On: a permission request that arrives while HyperAgent is in the background shows as a desktop notification.',
    blocked: 'The browser blocks notifications from this page: allow them in its site settings, then switch them on here.',
  };
  return (
    <Section id="notifications" title="Notifications">
      <label className="inline">
        <input
          type="checkbox"
          data-testid="notify-toggle"
          checked={state === 'on'}
          disabled={state === 'unsupported' || asking}
          onChange={(e) => {
            setAsking(true);
            setNotify(e.target.checked)
              .then(setState)
              .finally(() => setAsking(false));
          }}
        />
        Notify me of permission requests while HyperAgent is in the background
      </label>
      <p className="help" role="status" data-testid="notify-state">
        {words[state]}
      </p>
    </Section>
  );
}

function PolicyRules() {
  const client = useClient();
  const ruleTarget = useRef<HTMLInputElement>(null);
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const [rules, setRules] = useState<PolicyRule[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(() => {
    client.listPolicyRules(includeRevoked).then(
      (r) => {
        setRules(r.rules);
        setError(null);
      },
      (err: unknown) => setError(ApiError.from(err)),
    );
  }, [client, includeRevoked]);
  useEffect(load, [load]);
  // An "always" or "this agent" answer to a consent request makes a rule.
  useFeedEvents((e) => {
    if (e.consent && e.consent.status !== 'CONSENT_STATUS_PENDING') load();
  });

  return (
    <Section id="policy-rules" title="Permission rules">
      <p className="help">
        What agents may touch beyond their task&apos;s folder, without asking. A deny rule wins over an allow rule.
      </p>
      <label className="inline">
        <input
          type="checkbox"
          checked={includeRevoked}
          onChange={(e) => setIncludeRevoked(e.target.checked)}
          data-testid="rules-include-revoked"
        />
        Show revoked rules
      </label>
      {error && <ErrorNote error={error} what="The rules could not be listed" />}
      {rules === null && !error && <p role="status">Loading…</p>}
      {rules && rules.length === 0 && (
        <p className="empty-note" data-testid="rules-empty">
          No rules: agents ask before each access.{' '}
          <button type="button" className="link" onClick={() => ruleTarget.current?.focus()}>
            Add a rule
          </button>
        </p>
      )}
      {rules && rules.length > 0 && (
        <TableScroll label="Permission rules">
          <table className="table" data-testid="rule-table">
            <caption className="sr-only">Permission rules</caption>
            <thead>
              <tr>
                <th scope="col">Decision</th>
                <th scope="col">Kind</th>
                <th scope="col">Target</th>
                <th scope="col">Agent</th>
                <th scope="col">Origin</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.id} data-testid="rule-row" data-rule-id={r.id} data-revoked={String(Boolean(r.revoked_at))}>
                  <td>
                    <span
                      className={`badge ${r.decision === 'POLICY_DECISION_DENY' ? 'bad' : 'ok'}`}
                      data-testid="rule-decision"
                    >
                      {decisionLabel(r.decision)}
                    </span>
                  </td>
                  <td data-testid="rule-kind">{r.kind}</td>
                  <td className="detail">
                    <code data-testid="rule-target">
                      <Untrusted text={r.target} />
                    </code>
                  </td>
                  <td data-testid="rule-agent">{r.agent ? <Untrusted text={r.agent} /> : 'every agent'}</td>
                  <td>{r.origin || '—'}</td>
                  <td>{formatTime(r.created_at)}</td>
                  <td>
                    {r.revoked_at ? (
                      <span className="badge idle">revoked {formatTime(r.revoked_at)}</span>
                    ) : (
                      <RevokeRule rule={r} onDone={load} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <AddRule onAdded={load} targetRef={ruleTarget} />
    </Section>
  );
}

function RevokeRule({ rule, onDone }: { rule: PolicyRule; onDone: () => void }) {
  const client = useClient();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const what = revealHidden(`${decisionLabel(rule.decision)} ${rule.kind} ${rule.target}`);
  if (!confirming) {
    return (
      <button type="button" className="danger" data-testid="rule-revoke" aria-label={`Revoke: ${what}`} onClick={() => setConfirming(true)}>
        Revoke
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={`Confirm revoking: ${what}`}>
      <span>Revoke this rule? Agents will ask again.</span>
      <button
        type="button"
        className="danger"
        data-testid="rule-revoke-confirm"
        autoFocus
        disabled={busy}
        onClick={() => {
          setBusy(true);
          client.revokePolicyRule(rule.id).then(
            () => {
              setBusy(false);
              setConfirming(false);
              onDone();
            },
            (err: unknown) => {
              setBusy(false);
              setError(ApiError.from(err));
            },
          );
        }}
      >
        Yes, revoke
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        Keep it
      </button>
      {error && <ErrorNote error={error} what="The rule was not revoked" />}
    </span>
  );
}

/** `targetRef`: the Target field, which the empty list's "Add a rule" brings the focus to. */
function AddRule({ onAdded, targetRef }: { onAdded: () => void; targetRef: RefObject<HTMLInputElement | null> }) {
  const client = useClient();
  const ids = useId();
  const [decision, setDecision] = useState<PolicyDecision>('POLICY_DECISION_ALLOW');
  const [kind, setKind] = useState('read');
  const [target, setTarget] = useState('');
  const [agent, setAgent] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await client.addPolicyRule({ decision, kind, target: target.trim(), agent: agent.trim() });
      setTarget('');
      setAgent('');
      onAdded();
    } catch (err) {
      setError(ApiError.from(err));
    } finally {
      setBusy(false);
    }
  };

  const targetHelp = RULE_KINDS.find((k) => k.kind === kind)?.target ?? '';
  return (
    <form className="settings-form" aria-label="Add a rule" data-testid="rule-form" onSubmit={(e) => void submit(e)}>
      <h3>Add a rule</h3>
      <div className="filters">
        <label htmlFor={`${ids}-decision`}>Decision</label>
        <select id={`${ids}-decision`} value={decision} onChange={(e) => setDecision(e.target.value as PolicyDecision)}>
          <option value="POLICY_DECISION_ALLOW">allow</option>
          <option value="POLICY_DECISION_DENY">deny</option>
        </select>
        <label htmlFor={`${ids}-kind`}>Kind</label>
        <select id={`${ids}-kind`} value={kind} onChange={(e) => setKind(e.target.value)}>
          {RULE_KINDS.map((k) => (
            <option key={k.kind} value={k.kind}>
              {k.kind}
            </option>
          ))}
        </select>
        <label htmlFor={`${ids}-target`}>Target</label>
        <input
          id={`${ids}-target`}
          ref={targetRef}
          value={target}
          onChange={(e) => setTarget(e.target.value)}
          required
          spellCheck={false}
          placeholder={kind === 'connect' ? 'pypi.org:443' : '/home/me/projects'}
          aria-describedby={`${ids}-target-help`}
          aria-invalid={error ? true : undefined}
        />
        <label htmlFor={`${ids}-agent`}>Agent (optional)</label>
        <input
          id={`${ids}-agent`}
          value={agent}
          onChange={(e) => setAgent(e.target.value)}
          spellCheck={false}
          placeholder="every agent"
        />
        <button type="submit" className="primary" disabled={busy}>
          Add rule
        </button>
      </div>
      <p className="help" id={`${ids}-target-help`}>
        For {kind}, the target is {targetHelp}.
      </p>
      {error && <ErrorNote error={error} what="The rule was not added" testId="rule-error" />}
    </form>
  );
}

function Secrets() {
  const client = useClient();
  const ids = useId();
  const [secrets, setSecrets] = useState<{ list: SecretInfo[]; store: string } | null>(null);
  const [listError, setListError] = useState<ApiError | null>(null);
  const [name, setName] = useState('');
  // Left uncontrolled: React mirrors a controlled input's value into its `value` attribute, and a
  // secret has no business in the DOM's markup. Read once on submit, emptied after.
  const valueInput = useRef<HTMLInputElement>(null);
  const nameInput = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const load = useCallback(() => {
    client.listSecrets().then(
      (r) => {
        setSecrets({ list: [...r.secrets].sort((a, b) => a.name.localeCompare(b.name)), store: r.store });
        setListError(null);
      },
      (err: unknown) => setListError(ApiError.from(err)),
    );
  }, [client]);
  useEffect(load, [load]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(null);
    const n = name.trim();
    try {
      await client.setSecret(n, valueInput.current?.value ?? '');
      setName('');
      if (valueInput.current) valueInput.current.value = '';
      setSaved(n);
      load();
    } catch (err) {
      setError(ApiError.from(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section id="secrets" title="Secrets">
      <p className="help">
        Tokens and passwords agents may use, kept in the system keychain. Values go in and are never shown again.
      </p>
      {listError && <ErrorNote error={listError} what="The secrets could not be listed" />}
      {secrets && (
        <p data-testid="secret-store">
          Kept in: <strong>{storeLabel(secrets.store)}</strong>
        </p>
      )}
      {secrets && secrets.list.length === 0 && (
        <p className="empty-note" data-testid="secrets-empty">
          No secrets stored. An agent that needs one names it, and asks you before it reads it.{' '}
          <button type="button" className="link" onClick={() => nameInput.current?.focus()}>
            Set a secret
          </button>
        </p>
      )}
      {secrets && secrets.list.length > 0 && (
        <TableScroll label="Secrets">
          <table className="table" data-testid="secret-table">
            <caption className="sr-only">Secrets (names only)</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Updated</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {secrets.list.map((s) => (
                <tr key={s.name} data-testid="secret-row" data-secret-name={s.name}>
                  <th scope="row">
                    <code>{s.name}</code>
                  </th>
                  <td>{formatTime(s.updated_at)}</td>
                  <td>
                    <DeleteSecret name={s.name} onDone={load} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <form className="settings-form" aria-label="Set a secret" data-testid="secret-form" onSubmit={(e) => void submit(e)}>
        <h3>Set a secret</h3>
        <div className="filters">
          <label htmlFor={`${ids}-name`}>Name</label>
          <input
            id={`${ids}-name`}
            ref={nameInput}
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            spellCheck={false}
            autoComplete="off"
            pattern="[A-Za-z0-9_.\-]{1,128}"
            title="1-128 letters, digits, _, - or ."
          />
          <label htmlFor={`${ids}-value`}>Value</label>
          <input
            id={`${ids}-value`}
            type="password"
            ref={valueInput}
            required
            autoComplete="new-password"
            data-testid="secret-value"
          />
          <button type="submit" className="primary" disabled={busy}>
            Save secret
          </button>
        </div>
        <p className="help">Setting an existing name replaces its value.</p>
        <p role="status" data-testid="secret-saved">
          {saved && `Saved ${saved}.`}
        </p>
        {error && <ErrorNote error={error} what="The secret was not saved" testId="secret-error" />}
      </form>
    </Section>
  );
}

function storeLabel(store: string): string {
  switch (store) {
    case 'secret-service':
      return 'the desktop keychain (Secret Service)';
    case 'keyutils':
      return "the kernel's key store (forgotten on reboot)";
    default:
      return store || 'unknown';
  }
}

function DeleteSecret({ name, onDone }: { name: string; onDone: () => void }) {
  const client = useClient();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  if (!confirming) {
    return (
      <button type="button" className="danger" data-testid="secret-delete" aria-label={`Delete ${name}`} onClick={() => setConfirming(true)}>
        Delete
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={`Confirm deleting ${name}`}>
      <span>Delete {name}? Its value cannot be brought back.</span>
      <button
        type="button"
        className="danger"
        data-testid="secret-delete-confirm"
        autoFocus
        onClick={() => {
          client.deleteSecret(name).then(
            () => {
              setConfirming(false);
              onDone();
            },
            (err: unknown) => setError(ApiError.from(err)),
          );
        }}
      >
        Yes, delete
      </button>
      <button type="button" onClick={() => setConfirming(false)}>
        Keep it
      </button>
      {error && <ErrorNote error={error} what="The secret was not deleted" />}
    </span>
  );
}

function Scheduling() {
  const client = useClient();
  const [status, setStatus] = useState<ManagerStatus | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(() => {
    client.getStatus().then(
      (s) => {
        setStatus(s);
        setError(null);
      },
      (err: unknown) => setError(ApiError.from(err)),
    );
  }, [client]);
  const loadSoon = useThrottled(load, 500);
  useEffect(load, [load]);
  useFeedEvents((e) => {
    if (e.agent_status || e.task_state || e.scheduling) loadSoon();
  });

  const toggle = (paused: boolean) => {
    setBusy(true);
    client.setPaused(paused).then(
      (s) => {
        setStatus(s);
        setError(null);
        setBusy(false);
      },
      (err: unknown) => {
        setError(ApiError.from(err));
        setBusy(false);
      },
    );
  };

  return (
    <Section id="scheduling" title="Scheduling">
      {error && <ErrorNote error={error} what="The manager's status could not be read or changed" />}
      {status === null && !error && <p role="status">Loading…</p>}
      {status && (
        <>
          <dl className="facts">
            <dt>Manager version</dt>
            <dd data-testid="status-version">{status.version || '—'}</dd>
            <dt>Handing out work</dt>
            <dd data-testid="status-paused" data-paused={String(status.paused)}>
              {status.paused ? (
                <span className="badge warn">paused — running tasks go on, new ones wait</span>
              ) : (
                <span className="badge ok">yes</span>
              )}
            </dd>
            <dt>Agents</dt>
            <dd data-testid="status-agent-count">
              {status.agents_online} of {status.agents_known} online
            </dd>
            <dt>Tasks</dt>
            <dd data-testid="status-task-count">
              {status.tasks_queued} queued, {status.tasks_running} running, {status.tasks_awaiting_consent} awaiting
              consent
            </dd>
          </dl>
          <button
            type="button"
            className={status.paused ? 'primary' : undefined}
            data-testid="pause-toggle"
            disabled={busy}
            onClick={() => toggle(!status.paused)}
          >
            {status.paused ? 'Resume' : 'Pause'}
          </button>
          <p className="help">Pausing is not kept when the manager restarts.</p>
        </>
      )}
    </Section>
  );
}

const SERVICE_STATE: Record<string, { label: string; tone: string }> = {
  unavailable: { label: 'unavailable', tone: 'muted' },
  not_installed: { label: 'not installed', tone: 'muted' },
  stopped: { label: 'stopped', tone: 'muted' },
  changing: { label: 'changing…', tone: 'warn' },
  running: { label: 'running', tone: 'ok' },
  failed: { label: 'failed', tone: 'bad' },
};

const SERVICE_BUSY: Record<ServiceAction, string> = {
  status: 'Checking…',
  install: 'Installing…',
  start: 'Starting the service and handing over to it…',
  stop: 'Stopping the service; the app runs the manager again…',
  uninstall: 'Uninstalling…',
};

/**
 * The headless manager as a user service (desktop app only): it runs without the app, starts with
 * the session and serves the web UI. The app hands its work over to it when it starts, and takes it
 * back when it stops.
 */
function BackgroundService() {
  const client = useClient();
  const control = client.service;
  const [reply, setReply] = useState<ServiceReply | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState<ServiceAction | null>(null);

  const run = useCallback(
    (action: ServiceAction) => {
      if (!control) return;
      setBusy(action);
      control(action).then(
        (r) => {
          setReply(r);
          setError(null);
          setBusy(null);
        },
        (err: unknown) => {
          setError(ApiError.from(err));
          setBusy(null);
          // Where it is after the failure.
          control('status').then(setReply, () => undefined);
        },
      );
    },
    [control],
  );
  useEffect(() => run('status'), [run]);

  if (!control) return null;
  const state = reply?.service.state;
  const installed = state !== undefined && state !== 'unavailable' && state !== 'not_installed';
  const shown = state ? SERVICE_STATE[state] : undefined;
  return (
    <Section id="background-service" title="Background service">
      <p className="help">
        Run the manager as a service of your session: it keeps working when this app is closed, starts when you log in,
        and serves the same UI in a browser. While it runs, the app uses it.
      </p>
      {error && <ErrorNote error={error} what="The service could not be changed" />}
      {busy && (
        <p role="status" data-testid="service-busy">
          {SERVICE_BUSY[busy]}
        </p>
      )}
      {reply && (
        <dl className="facts">
          <dt>Service</dt>
          <dd data-testid="service-state" data-state={state}>
            <span className={`badge ${shown?.tone ?? ''}`}>{shown?.label ?? state}</span>{' '}
            {reply.service.pid !== null && <span>pid {reply.service.pid}</span>}
            {reply.service.enabled && <span> · starts when you log in</span>}
          </dd>
          <dt>Details</dt>
          <dd data-testid="service-detail">{reply.service.detail}</dd>
          <dt>This app uses</dt>
          <dd data-testid="app-mode" data-mode={reply.app.mode}>
            {reply.app.mode === 'embedded' ? 'its own manager (stops when you quit the app)' : 'the running manager'}
          </dd>
        </dl>
      )}
      <div className="actions">
        {state === 'not_installed' && (
          <button type="button" data-testid="service-install" disabled={busy !== null} onClick={() => run('install')}>
            Install
          </button>
        )}
        {(state === 'stopped' || state === 'failed') && (
          <button
            type="button"
            className="primary"
            data-testid="service-start"
            disabled={busy !== null}
            onClick={() => run('start')}
          >
            Start
          </button>
        )}
        {state === 'running' && (
          <button type="button" data-testid="service-stop" disabled={busy !== null} onClick={() => run('stop')}>
            Stop
          </button>
        )}
        {installed && (
          <button type="button" data-testid="service-uninstall" disabled={busy !== null} onClick={() => run('uninstall')}>
            Uninstall
          </button>
        )}
      </div>
    </Section>
  );
}

function WorkspaceRoot() {
  return (
    <Section id="workspace-root" title="Workspace root">
      <p>
        Each task works in its own folder under the workspace root. A folder chosen here is kept across restarts and
        wins over <code>paths.workspace_root</code> in the config file; tasks already made keep their folders.
      </p>
      <WorkspaceRootForm allowReset />
    </Section>
  );
}

/** What opens folders and files ("Open in VS Code"), and how to choose another editor. */
function Editor() {
  const client = useClient();
  // undefined: not known yet; '': no editor on the manager's PATH.
  const [editor, setEditor] = useState<string | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    client.getStatus().then(
      (s) => live && setEditor(s.editor ?? ''),
      (err: unknown) => live && setError(ApiError.from(err)),
    );
    return () => {
      live = false;
    };
  }, [client]);
  return (
    <Section id="editor" title="Editor">
      {error && <ErrorNote error={error} what="Could not ask the manager" testId="editor-error" />}
      <p role="status" data-testid="editor-found">
        {error ? (
          ''
        ) : editor === undefined ? (
          'Asking the manager which editor it would use…'
        ) : editor ? (
          <>
            Folders open in <code>{editor}</code>.
          </>
        ) : (
          <>
            VS Code's <code>code</code> command is not on the manager's PATH: folders open in your file manager, and a
            finding cannot be shown at its line.
          </>
        )}
      </p>
      <p className="help">
        For VS Code, put its <code>code</code> command on the PATH (in VS Code: Command Palette, &ldquo;Shell Command:
        Install &lsquo;code&rsquo; command in PATH&rdquo;) and restart HyperAgent. For another editor, set{' '}
        <code>command</code> in the <code>[editor]</code> table of the config file (e.g.{' '}
        <code>command = [&quot;codium&quot;]</code>) and <code>goto</code> for how it shows a file at a line (e.g.{' '}
        <code>goto = [&quot;+&#123;line&#125;&quot;, &quot;&#123;file&#125;&quot;]</code> for vim); <code>hyperagent config show</code>{' '}
        prints the configuration in force.
      </p>
    </Section>
  );
}
