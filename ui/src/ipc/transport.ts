import type { ApiError } from './errors';
import type { Event, Method, RequestOf, ResponseOf, ServiceAction, ServiceReply, SubscribeRequest } from './types';

/** Stops a subscription; calling it twice is harmless. */
export type Unsubscribe = () => void;

/** What a subscription reports besides events. */
export interface SubscriptionHandlers {
  /** An event of the feed. Each is delivered once, in `seq` order, across reconnects. */
  onEvent: (event: Event) => void;
  /** The feed broke (the transport reconnects by itself unless unsubscribed). */
  onError: (error: ApiError) => void;
  /** The feed is (again) connected. */
  onOpen?: () => void;
  /**
   * The feed is down and the next try is `inMs` from now; `now()` tries at once instead (a
   * "Retry now" button). Called again before each later try.
   */
  onRetry?: (inMs: number, now: () => void) => void;
}

/**
 * How the UI reaches the manager: the HTTP + SSE transport in a browser, and (with the desktop
 * shell) one over Tauri's invoke and events. Everything else goes through `Client`, never here.
 */
export interface Transport {
  /** Calls a unary method of the client API; rejects with an `ApiError`. */
  call<M extends Method>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>>;
  /**
   * Follows the event feed. The transport remembers the last `seq` delivered, resumes after it
   * when it reconnects, and drops any event at or before it (a server repeating itself never
   * reaches the app twice).
   */
  subscribe(
    query: SubscribeRequest,
    onEvent: SubscriptionHandlers['onEvent'],
    onError: SubscriptionHandlers['onError'],
    onOpen?: SubscriptionHandlers['onOpen'],
    onRetry?: SubscriptionHandlers['onRetry'],
  ): Unsubscribe;
  /**
   * The headless manager service (install, start, stop, ...): only the desktop app has it, since
   * in a browser the page is served by the very manager it would stop.
   */
  service?(action: ServiceAction): Promise<ServiceReply>;
}

/** The resume cursor of one subscription: lets through only events after the last one seen. */
export class SeqGate {
  private last: bigint | null;

  constructor(afterSeq?: string) {
    this.last = afterSeq === undefined ? null : BigInt(afterSeq);
  }

  /** The `after_seq` to resume with, or undefined when nothing was seen (and none was given). */
  get lastSeq(): string | undefined {
    return this.last === null ? undefined : this.last.toString();
  }

  /** True (and remembered) when `seq` is after the last one; false for a repeat. */
  accept(seq: string): boolean {
    let n: bigint;
    try {
      n = BigInt(seq);
    } catch {
      return false;
    }
    if (this.last !== null && n <= this.last) return false;
    this.last = n;
    return true;
  }
}

/**
 * How soon a transport tries a lost feed again: the first try after `FEED_RETRY_FIRST_MS`, each
 * later one waiting twice as long, never more than `FEED_RETRY_MAX_MS` (a manager restarted is
 * back within seconds, and the person waits for it; a try costs one request).
 */
export const FEED_RETRY_FIRST_MS = 500;
export const FEED_RETRY_MAX_MS = 4_000;

/**
 * Calls `retry` when the browser says trying again is worth it at once: it is back online, or
 * the page is shown again (a laptop woken, a tab brought back). Returns the way to stop.
 */
export function onWorthRetrying(retry: () => void): () => void {
  if (typeof window === 'undefined') return () => {};
  const visible = () => {
    if (document.visibilityState === 'visible') retry();
  };
  window.addEventListener('online', retry);
  document.addEventListener('visibilitychange', visible);
  return () => {
    window.removeEventListener('online', retry);
    document.removeEventListener('visibilitychange', visible);
  };
}

/**
 * When a transport tries its feed again: after a delay that doubles with each failure up to a
 * cap, back to the first delay once connected, and never two tries pending at once.
 */
export class Backoff {
  private readonly first: number;
  private readonly max: number;
  private delay: number;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(firstMs: number, maxMs: number) {
    this.first = firstMs;
    this.max = maxMs;
    this.delay = firstMs;
  }

  /**
   * Runs `retry` after the current delay (unless a try is already pending); the next waits longer.
   * The delay, or null when a try was already pending.
   */
  schedule(retry: () => void): number | null {
    if (this.timer !== null) return null;
    const delay = this.delay;
    this.timer = setTimeout(() => {
      this.timer = null;
      retry();
    }, delay);
    this.delay = Math.min(this.delay * 2, this.max);
    return delay;
  }

  /** Connected: the next failure waits the first delay again. */
  reset() {
    this.delay = this.first;
  }

  /** Drops a pending try. */
  cancel() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
