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
 * The client API over HTTP: `POST /api/v1/<Method>` with JSON, and the feed as Server-Sent Events
 * from `GET /api/v1/events`. Same-origin requests carry the token cookie the manager set.
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
    let source: EventSource | null = null;
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
      source?.close();
      source = null;
      if (stopped) return;
      down = true;
      const inMs = backoff.schedule(connect);
      if (inMs !== null) onRetry?.(inMs, retryNow);
    };

    // EventSource does not say why a connection failed: ask the API, whose error does (a refused
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
      source?.close();
      attempt++;
      const mine = attempt;
      // A new EventSource sends no Last-Event-ID: resume explicitly after the last event seen.
      const es = new EventSource(this.eventsUrl({ ...query, after_seq: gate.lastSeq ?? query.after_seq }));
      source = es;
      es.onopen = () => {
        down = false;
        backoff.reset();
        onOpen?.();
      };
      es.onmessage = (message: MessageEvent<string>) => {
        let event: Event;
        try {
          event = JSON.parse(message.data) as Event;
        } catch {
          return;
        }
        if (gate.accept(event.seq)) onEvent(event);
      };
      es.addEventListener('error', (e: globalThis.Event) => {
        if (stopped || mine !== attempt) return;
        const data = (e as MessageEvent<unknown>).data;
        if (typeof data === 'string') {
          // The server's own `error` event: the feed ends after it.
          onError(ApiError.fromBody(500, data));
        } else {
          diagnose(mine);
        }
        reconnectLater();
      });
    };

    connect();
    return () => {
      stopped = true;
      stopWatching();
      backoff.cancel();
      source?.close();
      source = null;
    };
  }
}
