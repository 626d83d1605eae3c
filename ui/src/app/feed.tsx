import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, Client, ClientProvider, useClient, type Event } from '../ipc';

// The app's one subscription to the feed (without log lines): views listen to it for state,
// progress, agent and consent changes. A task page opens its own, with that task's log lines.

type Listener = (event: Event) => void;

export interface FeedStatus {
  connected: boolean;
  error: ApiError | null;
  /** While down: when the next try is (ms since the epoch), and a way to try at once. */
  retry: { at: number; now: () => void } | null;
  /**
   * How many times the feed came back after it was lost (0 until then). What is under
   * `<ReadAgainOnReturn>` reads what it shows again when it changes (see there).
   */
  returns: number;
  /** While down: since when (ms since the epoch), so the person knows how old what is shown may be. */
  lostAt: number | null;
}

interface Feed {
  listen(listener: Listener): () => void;
  status: FeedStatus;
}

const FeedContext = createContext<Feed | null>(null);

export function FeedProvider({ children }: { children: ReactNode }) {
  const client = useClient();
  const listeners = useRef(new Set<Listener>());
  const [status, setStatus] = useState<FeedStatus>({ connected: false, error: null, retry: null, returns: 0, lostAt: null });

  useEffect(() => {
    // Lost since the last open (or failed before the first): the next open is a return.
    let lost = false;
    return client.subscribe(
      { exclude_logs: true },
      (event) => {
        for (const l of listeners.current) l(event);
      },
      (error) => {
        lost = true;
        setStatus((s) => ({ ...s, connected: false, error, lostAt: s.lostAt ?? Date.now() }));
      },
      () => {
        const returned = lost;
        lost = false;
        setStatus((s) => ({ connected: true, error: null, retry: null, returns: s.returns + (returned ? 1 : 0), lostAt: null }));
      },
      (inMs, now) => {
        lost = true;
        setStatus((s) => ({ ...s, connected: false, retry: { at: Date.now() + inMs, now }, lostAt: s.lostAt ?? Date.now() }));
      },
    );
  }, [client]);

  const listen = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const feed = useMemo(() => ({ listen, status }), [listen, status]);

  return <FeedContext.Provider value={feed}>{children}</FeedContext.Provider>;
}

function useFeed(): Feed {
  const feed = useContext(FeedContext);
  if (!feed) throw new Error('useFeed outside <FeedProvider>');
  return feed;
}

/** Calls `handler` with each event of the app's feed (the latest handler, without resubscribing). */
export function useFeedEvents(handler: Listener) {
  const { listen } = useFeed();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => listen((e) => latest.current(e)), [listen]);
}

export function useFeedStatus(): FeedStatus {
  return useFeed().status;
}

/**
 * Reads again, when the feed returns, what its children read while the manager was away, without
 * making them again: what the person typed or chose (a filter, a search, a draft, where the log
 * was scrolled) stays. Its children get a new handle on the same client at each return, so every
 * effect that reads through `useClient()` runs again, as it did when they were first shown.
 */
export function ReadAgainOnReturn({ children }: { children: ReactNode }) {
  const client = useClient();
  const { returns } = useFeedStatus();
  const handle = useMemo(() => (returns === 0 ? client : new Client(client.transport)), [client, returns]);
  return <ClientProvider client={handle}>{children}</ClientProvider>;
}
