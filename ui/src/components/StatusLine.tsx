import { useCallback, useEffect, useState } from 'react';
import { useFeedEvents, useFeedStatus } from '../app/feed';
import { useThrottled } from '../app/useRefresh';
import { useClient } from '../ipc';
import { count } from '../lib/format';


/** One line at the foot of every view: is the manager there, how many agents, how much running. */
export function StatusLine() {
  const client = useClient();
  const feed = useFeedStatus();
  const [agents, setAgents] = useState<{ online: number; total: number } | null>(null);
  const [running, setRunning] = useState<number | null>(null);

  const refresh = useCallback(() => {
    client.listAgents().then(
      (r) =>
        setAgents({ online: r.agents.filter((a) => a.status === 'AGENT_STATUS_ONLINE').length, total: r.agents.length }),
      () => setAgents(null),
    );
    // Counted by the manager (a listing stops at its page size).
    client.getStatus().then(
      (s) => setRunning(s.tasks_running + s.tasks_awaiting_consent),
      () => setRunning(null),
    );
  }, [client]);
  const refreshSoon = useThrottled(refresh, 500);

  useEffect(refresh, [refresh]);
  useEffect(() => {
    if (feed.connected) refresh();
  }, [feed.connected, refresh]);
  useFeedEvents((e) => {
    if (e.agent_status || e.task_state) refreshSoon();
  });

  const unauth = feed.error?.code === 'unauthenticated';
  // Not yet opened, nor failed: the first connection is on its way (no alarm at every page load).
  const connecting = !feed.connected && feed.error === null && feed.retry === null && feed.returns === 0;
  return (
    <footer className="status-line" data-testid="status-line" aria-label="Status">
      <span data-testid="status-manager" className={feed.connected ? 'ok' : connecting ? '' : 'bad'}>
        <span className="dot" aria-hidden="true" />
        {feed.connected
          ? 'Manager connected'
          : unauth
            ? 'Not signed in'
            : connecting
              ? 'Connecting to the manager…'
              : 'Manager not reachable'}
      </span>
      {!feed.connected && !unauth && feed.lostAt !== null && (
        <span data-testid="status-stale" className="help">
          since {new Date(feed.lostAt).toLocaleTimeString(undefined, { hour12: false })}: what is shown may be out of date
          until it is back (what you typed stays)
        </span>
      )}
      {!feed.connected && feed.retry && <Reconnecting at={feed.retry.at} now={feed.retry.now} />}
      <span data-testid="status-agents">
        {agents ? `${agents.online} of ${agents.total} agents online` : 'agents: —'}
      </span>
      <span data-testid="status-running">{running === null ? 'tasks: —' : `${count(running, 'task')} running`}</span>
    </footer>
  );
}

/** "Reconnecting in 4 s · Retry now" while the feed is down, counting down each second. */
function Reconnecting({ at, now }: { at: number; now: () => void }) {
  const [clock, setClock] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setClock(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [at]);
  const secs = Math.ceil((at - clock) / 1000);
  return (
    <span data-testid="status-reconnect" className="reconnect">
      {secs > 0 ? `Reconnecting in ${secs} s` : 'Reconnecting…'} ·{' '}
      <button type="button" className="link" data-testid="retry-now" onClick={now}>
        Retry now
      </button>
    </span>
  );
}
