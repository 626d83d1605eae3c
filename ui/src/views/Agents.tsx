import { useCallback, useEffect, useState } from 'react';
import { useFeedEvents } from '../app/feed';
import { useThrottled } from '../app/useRefresh';
import { CopyButton } from '../components/CopyButton';
import { ErrorNote } from '../components/ErrorNote';
import { TableScroll } from '../components/TableScroll';
import { Untrusted } from '../components/Untrusted';
import { hrefOf } from '../app/router';
import { ApiError, useClient, type Agent, type AgentMessageRecord, type Task } from '../ipc';
import { agentStatusLabel, ago, baseName, count, formatTime, runningWords, usageText, type Running } from '../lib/format';
import { revealHidden } from '../lib/untrusted';

/** Heartbeats change without events: list again this often while the view is open. */
const REFRESH_MS = 10_000;
/** How many of an agent's tasks "Doing now" names (the rest are counted). */
export const DOING_SHOWN = 10;
const RUNNING: Task['state'][] = ['TASK_STATE_ASSIGNED', 'TASK_STATE_RUNNING', 'TASK_STATE_AWAITING_CONSENT'];


/** The agents the manager knows, listed again whenever one comes or goes, each with what it is
 * doing now: its running tasks, their step and the model calls they made (live from the feed). */
export function Agents() {
  const client = useClient();
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [running, setRunning] = useState<Map<string, Task>>(() => new Map());
  const [counted, setCounted] = useState<Running | null>(null);
  const [messages, setMessages] = useState<AgentMessageRecord[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [now, setNow] = useState(() => Date.now());

  const load = useCallback(() => {
    const listed = client.listAgents();
    listed.then(
      (r) => {
        setAgents([...r.agents].sort((a, b) => a.id.localeCompare(b.id)));
        setError(null);
        setNow(Date.now());
      },
      (err: unknown) => setError(ApiError.from(err)),
    );
    // The running tasks' details: a listing stops at its page (the manager's list page size), so
    // a task an agent names that it left out is read by itself — only those "Doing now" names.
    const tasks = client.listTasks({ states: RUNNING });
    Promise.all([listed, tasks]).then(
      async ([a, t]) => {
        const byId = new Map(t.tasks.map((x) => [x.id, x]));
        const missing = a.agents.flatMap((x) => x.running_task_ids.slice(0, DOING_SHOWN)).filter((id) => !byId.has(id));
        for (const r of await Promise.allSettled(missing.map((id) => client.getTask(id)))) {
          if (r.status === 'fulfilled') byId.set(r.value.id, r.value);
        }
        setRunning(byId);
      },
      () => {}, // the agents are listed without them
    );
    // How many: the manager counts them; without its count, what the listing saw, "at least".
    client.getStatus().then(
      (s) => setCounted({ running: s.tasks_running, waiting: s.tasks_awaiting_consent, atLeast: false }),
      () =>
        tasks.then(
          (t) => {
            const waiting = t.tasks.filter((x) => x.state === 'TASK_STATE_AWAITING_CONSENT').length;
            setCounted({ running: t.tasks.length - waiting, waiting, atLeast: t.next_page_token !== '' });
          },
          () => setCounted(null),
        ),
    );
    client.listMessages({ limit: MESSAGES_SHOWN }).then(
      (r) => setMessages(r.messages),
      () => {}, // the agents are listed without them
    );
  }, [client]);
  const loadSoon = useThrottled(load, 300);

  useEffect(() => {
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);
  useFeedEvents((e) => {
    if (e.agent_status || e.task_state) loadSoon();
    const p = e.task_progress;
    const m = e.model_call;
    const id = p?.task_id ?? m?.task_id;
    if (!id) return;
    setRunning((tasks) => {
      const t = tasks.get(id);
      if (!t) return tasks;
      const next = new Map(tasks);
      next.set(id, { ...t, ...(p ? { progress: p.progress } : {}), ...(m?.usage ? { usage: m.usage } : {}) });
      return next;
    });
  });

  return (
    <div className="view">
      <h1>Agents</h1>
      {error && <ErrorNote error={error} what="The agents could not be listed" />}
      {agents === null && !error && <p role="status">Loading…</p>}
      {agents && agents.length === 0 && <NoAgents />}
      {agents && agents.length > 0 && (
        <>
          {counted && (
            <p data-testid="agents-running" aria-live="polite">
              {runningWords(counted)}
            </p>
          )}
          <TableScroll label="Agents">
            <table className="table" data-testid="agent-table">
              <caption className="sr-only">Agents</caption>
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Status</th>
                  <th scope="col">Can do</th>
                  <th scope="col">Load</th>
                  <th scope="col">Doing now</th>
                  <th scope="col">Last heartbeat</th>
                  <th scope="col">Restarts</th>
                  <th scope="col">Version</th>
                  <th scope="col">PID</th>
                </tr>
              </thead>
              <tbody>
                {agents.map((a) => (
                  <tr key={a.id} data-testid="agent-row" data-agent-id={a.id}>
                    <th scope="row">
                      <Untrusted text={a.id} />
                      {a.confined && <span className="badge idle"> confined</span>}
                    </th>
                    <td>
                      <span
                        className={`badge ${a.status === 'AGENT_STATUS_ONLINE' ? 'ok' : 'bad'}`}
                        data-testid="agent-status"
                      >
                        {agentStatusLabel(a.status)}
                      </span>
                      {a.status_reason && (
                        <div className="help">
                          <Untrusted text={a.status_reason} />
                        </div>
                      )}
                    </td>
                    <td>
                      <ul className="plain">
                        {a.capabilities.map((c) => (
                          <li key={c.name} title={revealHidden(c.description)}>
                            <code>
                              <Untrusted text={c.name} />
                            </code>
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td>
                      {a.running_task_ids.length}/{a.max_concurrency} ({Math.round(a.load * 100)}%)
                    </td>
                    <td data-testid="agent-doing">
                      <DoingNow ids={a.running_task_ids} tasks={running} />
                    </td>
                    <td>{ago(a.last_heartbeat, now)}</td>
                    <td>{a.restarts}</td>
                    <td>{a.version ? <Untrusted text={a.version} /> : '—'}</td>
                    <td>{a.pid || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          <Messages messages={messages} />
        </>
      )}
    </div>
  );
}

/** How many messages between agents the view lists (newest first). */
const MESSAGES_SHOWN = 50;

const MESSAGE_STATE: Record<string, { label: string; badge: string }> = {
  pending: { label: 'waiting', badge: 'idle' },
  delivered: { label: 'delivered', badge: 'idle' },
  acked: { label: 'handled', badge: 'ok' },
  dead_lettered: { label: 'given up', badge: 'bad' },
};

/** The latest messages between agents: who to whom, what, where each stands, and why one was
 * given up (`hyperagent messages` lists them all). */
function Messages({ messages }: { messages: AgentMessageRecord[] | null }) {
  if (messages === null) return null;
  return (
    <section aria-labelledby="agent-messages" data-testid="agent-messages">
      <h2 id="agent-messages">Messages between agents</h2>
      {messages.length === 0 ? (
        <p className="help">No agent has sent another a message.</p>
      ) : (
        <TableScroll label="Messages between agents">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Kind</th>
                <th scope="col">State</th>
                <th scope="col">About</th>
                <th scope="col">Sent</th>
              </tr>
            </thead>
            <tbody>
              {messages.map((m) => {
                const state = MESSAGE_STATE[m.state] ?? { label: m.state, badge: 'idle' };
                return (
                  <tr key={m.id} data-testid="message-row" data-state={m.state}>
                    <td>
                      <Untrusted text={m.from} />
                    </td>
                    <td>
                      <Untrusted text={m.to_agent} />
                    </td>
                    <td>
                      <code>
                        <Untrusted text={m.kind} />
                      </code>
                    </td>
                    <td>
                      <span className={`badge ${state.badge}`}>{state.label}</span>
                      {m.deliveries > 1 && <span className="help"> ({m.deliveries} deliveries)</span>}
                      {m.reason && (
                        <div className="help">
                          <Untrusted text={m.reason} />
                        </div>
                      )}
                    </td>
                    <td>{m.about_task ? <a href={hrefOf.task(m.about_task)}>task {m.about_task.slice(0, 12)}</a> : '—'}</td>
                    <td>{formatTime(m.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}

/** An agent's running tasks: the first DOING_SHOWN each by type and folder (a link to its page),
 * its step, and the model calls it made so far; how many more. */
function DoingNow({ ids, tasks }: { ids: string[]; tasks: Map<string, Task> }) {
  if (ids.length === 0) return <span className="help">idle</span>;
  const rest = ids.length - DOING_SHOWN;
  return (
    <ul className="plain">
      {ids.slice(0, DOING_SHOWN).map((id) => {
        const t = tasks.get(id);
        const folder = t ? baseName(t.workspace) : '';
        return (
          <li key={id} data-testid="agent-task" data-task-id={id}>
            <a href={hrefOf.task(id)}>
              {t ? <Untrusted text={folder ? `${t.task_type} · ${folder}` : t.task_type} /> : <code>{id.slice(0, 12)}</code>}
            </a>
            {t?.state === 'TASK_STATE_AWAITING_CONSENT' && <span className="badge warn"> waits for you</span>}
            {t?.progress?.step && (
              <div className="help" data-testid="agent-task-step">
                <Untrusted text={t.progress.step} />
              </div>
            )}
            {t?.usage && (
              <div className="help" data-testid="agent-task-usage">
                model: {usageText(t.usage)}
              </div>
            )}
          </li>
        );
      })}
      {rest > 0 && (
        <li className="help" data-testid="agent-tasks-more">
          and {count(rest, 'more task', 'more tasks')} (<a href={hrefOf.tasks}>all tasks</a>)
        </li>
      )}
    </ul>
  );
}

/** What starts agents: the manager, from its agent folders, when it starts (the UI cannot start one). */
export const START_WITH_AGENTS = 'hyperagent serve --web --agents-dir FOLDER';

/** No agent has registered: what that means, and the command that starts the manager with agents. */
function NoAgents() {
  return (
    <div className="empty-note" data-testid="agents-empty">
      <p>
        No agent has registered, so no task can start. The manager starts the agents in its agent folders when it
        starts: each agent is a sub-folder with an <code>agent.toml</code> (HyperAgent&apos;s own are installed in{' '}
        <code>PREFIX/share/hyperagent/agents</code>). Start it with such a folder, or name the folders in its config
        under <code>[supervisor] agent_dirs</code>; an agent that starts is listed here by itself.
      </p>
      <p>
        <code data-testid="agents-command">{START_WITH_AGENTS}</code>{' '}
        <CopyButton text={START_WITH_AGENTS} label="Copy the command" testId="agents-copy-command" />
      </p>
    </div>
  );
}
