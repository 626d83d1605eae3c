import { ApiError } from './errors';
import { Backoff, FEED_RETRY_FIRST_MS, FEED_RETRY_MAX_MS, SeqGate, onWorthRetrying, type Transport, type Unsubscribe } from './transport';
import type { Event, Method, RequestOf, ResponseOf, SubscribeRequest } from './types';

export interface HttpTransportOptions {
  /** Where the API is; '' (the default) is the page's own origin, as `serve --web` serves both. */
  baseUrl?: string;
  /** First delay before reconnecting the feed after it failed; doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

/**
 * The client API over HTTP: `POST /api/v1/<Method>` with JSON, and the feed over a WebSocket from
 * `GET /api/v1/events/ws` (the same feed as the Server-Sent Events of `/api/v1/events`, which
 * scripts use). Same-origin requests carry the token cookie the manager set.
 */
export class HttpTransport implements Transport {
  private readonly base: string;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;

  constructor(options: HttpTransportOptions = {}) {
    this.base = options.baseUrl ?? '';
    this.retryMs = options.retryMs ?? FEED_RETRY_FIRST_MS;
    this.maxRetryMs = options.maxRetryMs ?? FEED_RETRY_MAX_MS;
  }

  async call<M extends Method>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    let response: Response;
    try {
      response = await fetch(`${this.base}/api/v1/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
        credentials: 'same-origin',
      });
    } catch (err) {
      throw new ApiError('unavailable', `The manager did not answer (${ApiError.from(err).message}).`);
    }
    const body = await response.text();
    if (!response.ok) throw ApiError.fromBody(response.status, body);
    try {
      return JSON.parse(body) as ResponseOf<M>;
    } catch {
      throw new ApiError('internal', `${method} answered with something that is not JSON.`);
    }
  }

  /** The feed as a WebSocket's address: `/api/v1/events/ws` with the query of `eventsUrl`. A
   * browser shares six HTTP/1.1 connections to a host among all its tabs; an SSE stream per tab
   * would stall the seventh tab and every call behind it, a WebSocket is not counted there. */
  feedUrl(query: SubscribeRequest): string {
    const url = new URL(this.eventsUrl(query).replace('/api/v1/events', '/api/v1/events/ws'), globalThis.location?.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }

  eventsUrl(query: SubscribeRequest): string {
    const params = new URLSearchParams();
    if (query.after_seq !== undefined) params.set('after_seq', query.after_seq);
    if (query.task_id) params.set('task_id', query.task_id);
    if (query.exclude_logs) params.set('exclude_logs', 'true');
    const qs = params.toString();
    return `${this.base}/api/v1/events${qs ? `?${qs}` : ''}`;
  }

  subscribe(
    query: SubscribeRequest,
    onEvent: (event: Event) => void,
    onError: (error: ApiError) => void,
    onOpen?: () => void,
    onRetry?: (inMs: number, now: () => void) => void,
  ): Unsubscribe {
    const gate = new SeqGate(query.after_seq);
    let source: WebSocket | null = null;
    const backoff = new Backoff(this.retryMs, this.maxRetryMs);
    let stopped = false;
    // Counts connections made, so an answer about an older one is not taken for the current one.
    let attempt = 0;

    /** Whether the feed is down (a try is waiting). */
    let down = false;
    const retryNow = () => {
      if (stopped) return;
      backoff.cancel();
      connect();
    };
    const stopWatching = onWorthRetrying(() => {
      if (down) retryNow();
    });

    // The transport, not the browser, decides when to try again (the browser's own retry has no
    // known time, and it gives up on an HTTP error): the person sees when, and can try at once.
    const reconnectLater = () => {
      shut(source);
      source = null;
      if (stopped) return;
      down = true;
      const inMs = backoff.schedule(connect);
      if (inMs !== null) onRetry?.(inMs, retryNow);
    };

    // A WebSocket does not say why a connection failed: ask the API, whose error does (a refused
    // connection is `unavailable`, a missing or stale token `unauthenticated`).
    const diagnose = (of: number) => {
      this.call('ListConsents', {}).then(
        () => {
          if (!stopped && of === attempt) onError(new ApiError('unavailable', 'Lost the event feed; reconnecting.'));
        },
        (err: unknown) => {
          if (!stopped && of === attempt) onError(ApiError.from(err));
        },
      );
    };

    const connect = () => {
      if (stopped) return;
      shut(source);
      attempt++;
      const mine = attempt;
      // Resume explicitly after the last event seen.
      const ws = new WebSocket(this.feedUrl({ ...query, after_seq: gate.lastSeq ?? query.after_seq }));
      source = ws;
      // The server said why it ends the feed: no need to ask.
      let told = false;
      ws.onopen = () => {
        down = false;
        backoff.reset();
        onOpen?.();
      };
      ws.onmessage = (message: MessageEvent<unknown>) => {
        if (typeof message.data !== 'string') return;
        let data: unknown;
        try {
          data = JSON.parse(message.data);
        } catch {
          return;
        }
        if (typeof data !== 'object' || data === null) return;
        if ('error' in data) {
          // The server's own error: the feed ends after it.
          told = true;
          onError(ApiError.fromBody(500, JSON.stringify(data.error)));
          return;
        }
        const event = data as Event;
        if (gate.accept(event.seq)) onEvent(event);
      };
      ws.onclose = () => {
        if (stopped || mine !== attempt) return;
        if (!told) diagnose(mine);
        reconnectLater();
      };
    };

    connect();
    return () => {
      stopped = true;
      stopWatching();
      backoff.cancel();
      shut(source);
      source = null;
    };
  }
}

/** Closes a feed's socket; one still connecting is closed once open (closing it before then
 * makes the browser log a warning). */
function shut(ws: WebSocket | null) {
  if (!ws) return;
  ws.onmessage = null;
  ws.onclose = null;
  if (ws.readyState === WebSocket.CONNECTING) {
    ws.onopen = () => ws.close();
  } else {
    ws.onopen = null;
    ws.close();
  }
}
