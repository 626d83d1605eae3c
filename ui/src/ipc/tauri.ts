import { Channel, invoke, isTauri } from '@tauri-apps/api/core';

import { ApiError } from './errors';
import { Backoff, FEED_RETRY_FIRST_MS, FEED_RETRY_MAX_MS, SeqGate, onWorthRetrying, type Transport, type Unsubscribe } from './transport';
import type { Event, Method, RequestOf, ResponseOf, ServiceAction, ServiceReply, SubscribeRequest } from './types';

/** What the desktop shell's `subscribe` command sends on its channel. */
type FeedMessage = { event: Event } | { end: { code: string; message: string } };

/** True inside the desktop app (the Tauri shell), false in a browser. */
export const inDesktopApp = (): boolean => isTauri();

/** The shell's `{code, message}` errors as ApiErrors; anything else is a programming error. */
const apiError = (err: unknown): ApiError => ApiError.fromShape(err) ?? ApiError.from(err);

/**
 * The client API through the desktop shell: `invoke('call', {method, request})` for unary methods
 * (the same names and JSON as the web API) and the feed over a Tauri channel (`subscribe`). The
 * shell is a client of the manager's socket; nothing here knows more than the HTTP transport.
 */
export class TauriTransport implements Transport {
  private readonly retryMs: number;
  private readonly maxRetryMs: number;

  constructor(options: { retryMs?: number; maxRetryMs?: number } = {}) {
    this.retryMs = options.retryMs ?? FEED_RETRY_FIRST_MS;
    this.maxRetryMs = options.maxRetryMs ?? FEED_RETRY_MAX_MS;
  }

  async call<M extends Method>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    try {
      return await invoke<ResponseOf<M>>('call', { method, request });
    } catch (err) {
      throw apiError(err);
    }
  }

  async service(action: ServiceAction): Promise<ServiceReply> {
    try {
      return await invoke<ServiceReply>('service', { action });
    } catch (err) {
      throw apiError(err);
    }
  }

  subscribe(
    query: SubscribeRequest,
    onEvent: (event: Event) => void,
    onError: (error: ApiError) => void,
    onOpen?: () => void,
    onRetry?: (inMs: number, now: () => void) => void,
  ): Unsubscribe {
    const gate = new SeqGate(query.after_seq);
    let id: number | null = null;
    let stopped = false;
    const backoff = new Backoff(this.retryMs, this.maxRetryMs);

    /** Whether the feed is down (a try is waiting). */
    let down = false;
    const retryNow = () => {
      if (stopped) return;
      backoff.cancel();
      void connect();
    };
    const again = () => {
      if (stopped) return;
      down = true;
      const inMs = backoff.schedule(() => void connect());
      if (inMs !== null) onRetry?.(inMs, retryNow);
    };
    const stopWatching = onWorthRetrying(() => {
      if (down) retryNow();
    });

    const connect = async () => {
      const channel = new Channel<FeedMessage>();
      channel.onmessage = (message) => {
        if (stopped) return;
        if ('event' in message) {
          if (gate.accept(message.event.seq)) onEvent(message.event);
        } else {
          onError(new ApiError(message.end.code, message.end.message));
          again();
        }
      };
      try {
        const subscription = await invoke<number>('subscribe', {
          query: { ...query, after_seq: gate.lastSeq ?? query.after_seq ?? null },
          onEvent: channel,
        });
        if (stopped) {
          void invoke('unsubscribe', { id: subscription });
          return;
        }
        id = subscription;
        down = false;
        backoff.reset();
        onOpen?.();
      } catch (err) {
        onError(apiError(err));
        again();
      }
    };

    void connect();
    return () => {
      stopped = true;
      stopWatching();
      backoff.cancel();
      if (id !== null) void invoke('unsubscribe', { id });
      id = null;
    };
  }
}
