import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, useClient, type Event } from '../ipc';

// The app's one subscription to the feed (without log lines): views listen to it for state,
// progress, agent and consent changes. A task page opens its own, with that task's log lines.

type Listener = (event: Event) => void;

export interface FeedStatus {
  connected: boolean;
  error: ApiError | null;
  /** While down: when the next try is (ms since the epoch), and a way to try at once. */
  retry: { at: number; now: () => void } | null;
  /**
   * How many times the feed came back after it was lost (0 until then). Views are made again
   * when it changes, so what they read while the manager was away is read again.
   */
  returns: number;
}

interface Feed {
  listen(listener: Listener): () => void;
  status: FeedStatus;
}

const FeedContext = createContext<Feed | null>(null);

export function FeedProvider({ children }: { children: ReactNode }) {
  const client = useClient();
  const listeners = useRef(new Set<Listener>());
  const [status, setStatus] = useState<FeedStatus>({ connected: false, error: null, retry: null, returns: 0 });

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
        setStatus((s) => ({ ...s, connected: false, error }));
      },
      () => {
        const returned = lost;
        lost = false;
        setStatus((s) => ({ connected: true, error: null, retry: null, returns: s.returns + (returned ? 1 : 0) }));
      },
      (inMs, now) => {
        lost = true;
        setStatus((s) => ({ ...s, connected: false, retry: { at: Date.now() + inMs, now } }));
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
