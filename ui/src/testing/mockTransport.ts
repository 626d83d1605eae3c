// A Transport for component tests: answers calls from per-method handlers, records every request,
// and lets a test push feed events to whoever subscribed.
import {
  ApiError,
  Client,
  type Event,
  type Method,
  type RequestOf,
  type ResponseOf,
  type ServiceAction,
  type ServiceReply,
  type SubscribeRequest,
  type Transport,
} from '../ipc';

type Handler<M extends Method> = (req: RequestOf<M>) => ResponseOf<M> | Promise<ResponseOf<M>>;
export type Handlers = { [M in Method]?: Handler<M> };

interface Subscriber {
  query: SubscribeRequest;
  onEvent: (e: Event) => void;
  onError: (e: ApiError) => void;
  onOpen?: () => void;
  onRetry?: (inMs: number, now: () => void) => void;
}

export class MockTransport implements Transport {
  readonly calls: { method: Method; request: unknown }[] = [];
  readonly subscribers = new Set<Subscriber>();
  private seq = 0;
  handlers: Handlers;

  constructor(handlers: Handlers = {}) {
    this.handlers = handlers;
  }

  /** The desktop shell's service control, when a test plays the desktop app. */
  service?: (action: ServiceAction) => Promise<ServiceReply>;

  async call<M extends Method>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    this.calls.push({ method, request });
    const handler = this.handlers[method] as Handler<M> | undefined;
    if (!handler) throw new ApiError('unavailable', `no handler for ${method} in this test`);
    return handler(request);
  }

  /** When set, every subscription fails with it (a browser not signed in, say) instead of opening. */
  feedError: ApiError | null = null;
  /** When set, a subscription neither opens nor fails until the test says (`reopenFeed`). */
  feedPending = false;

  subscribe(
    query: SubscribeRequest,
    onEvent: (e: Event) => void,
    onError: (e: ApiError) => void,
    onOpen?: () => void,
    onRetry?: (inMs: number, now: () => void) => void,
  ) {
    const sub: Subscriber = { query, onEvent, onError, onOpen, onRetry };
    this.subscribers.add(sub);
    if (this.feedError) onError(this.feedError);
    else if (!this.feedPending) onOpen?.();
    return () => {
      this.subscribers.delete(sub);
    };
  }

  /** The feed breaks for every subscriber with `error`; its next try is `inMs` away (`retried` counts "Retry now"). */
  dropFeed(error: ApiError, inMs = 4000) {
    for (const s of this.subscribers) {
      s.onError(error);
      s.onRetry?.(inMs, () => {
        this.retried++;
      });
    }
  }

  /** How many times "Retry now" was asked for. */
  retried = 0;

  /** The feed is back for every subscriber. */
  reopenFeed() {
    for (const s of this.subscribers) s.onOpen?.();
  }

  /** Delivers an event (its body) to every subscriber, with the next seq. */
  emit(body: Omit<Event, 'seq' | 'time'>) {
    this.seq++;
    const event: Event = { seq: String(this.seq), time: new Date().toISOString(), ...body };
    for (const s of this.subscribers) s.onEvent(event);
  }

  /** The requests made to one method, in order. */
  requests<M extends Method>(method: M): RequestOf<M>[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.request as RequestOf<M>);
  }

  client(): Client {
    return new Client(this);
  }
}
