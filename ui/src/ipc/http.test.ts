import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from './errors';
import { HttpTransport } from './http';
import type { Event } from './types';

/** A stand-in for the browser's WebSocket: tests push messages and failures by hand. */
class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static instances: FakeWebSocket[] = [];

  readonly url: string;
  readyState = FakeWebSocket.CONNECTING;
  onopen: (() => void) | null = null;
  onmessage: ((m: MessageEvent<unknown>) => void) | null = null;
  onclose: (() => void) | null = null;

  constructor(url: string) {
    this.url = url;
    FakeWebSocket.instances.push(this);
  }
  close() {
    this.readyState = FakeWebSocket.CLOSED;
  }

  open() {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.();
  }
  send(seq: number, body: Partial<Event> = {}) {
    const event: Event = { seq: String(seq), time: '2026-11-26T00:00:00Z', ...body };
    this.onmessage?.(new MessageEvent('message', { data: JSON.stringify(event) }));
  }
  /** The connection dropped. */
  drop() {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.();
  }
  /** The server refused the connection (the handshake failed). */
  fail() {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.();
  }
  /** The server's own error, then its close. */
  serverError(code: string, message: string) {
    this.onmessage?.(new MessageEvent('message', { data: JSON.stringify({ error: { code, message } }) }));
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.();
  }
  get searchParams() {
    return new URL(this.url).searchParams;
  }
}

const latest = () => {
  const es = FakeWebSocket.instances.at(-1);
  if (!es) throw new Error('no WebSocket was made');
  return es;
};

describe('HttpTransport.subscribe', () => {
  beforeEach(() => {
    FakeWebSocket.instances = [];
    vi.stubGlobal('WebSocket', FakeWebSocket);
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ consents: [] }), { status: 200 })),
    );
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('builds the query from the request', () => {
    const t = new HttpTransport();
    t.subscribe({ task_id: 'abc', exclude_logs: true }, () => {}, () => {});
    const url = new URL(latest().url);
    expect(url.protocol).toBe('ws:');
    expect(url.host).toBe(window.location.host);
    expect(`${url.pathname}${url.search}`).toBe('/api/v1/events/ws?task_id=abc&exclude_logs=true');
  });

  it('never delivers an event twice, even when the server repeats it', () => {
    const seen: string[] = [];
    new HttpTransport().subscribe({}, (e) => seen.push(e.seq), () => {});
    const es = latest();
    es.open();
    es.send(1);
    es.send(2);
    es.send(2);
    es.send(1);
    es.send(3);
    expect(seen).toEqual(['1', '2', '3']);
  });

  it('resumes after the last seq when it has to reconnect, and drops replayed events', async () => {
    const seen: string[] = [];
    const errors: ApiError[] = [];
    new HttpTransport({ retryMs: 100 }).subscribe(
      { exclude_logs: true },
      (e) => seen.push(e.seq),
      (e) => errors.push(e),
    );
    const first = latest();
    expect(first.searchParams.has('after_seq')).toBe(false);
    first.open();
    first.send(10);
    first.send(11);

    first.serverError('unavailable', 'the feed lagged');
    expect(errors.map((e) => e.message)).toEqual(['the feed lagged']);
    expect(first.readyState).toBe(FakeWebSocket.CLOSED);
    expect(FakeWebSocket.instances).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(100);
    const second = latest();
    expect(second).not.toBe(first);
    expect(second.searchParams.get('after_seq')).toBe('11');
    expect(second.searchParams.get('exclude_logs')).toBe('true');
    second.open();
    second.send(11); // a server repeating itself
    second.send(12);
    expect(seen).toEqual(['10', '11', '12']);
  });

  it('when the connection drops, says when it tries again, resumes after the last seq, and drops repeats', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw new TypeError('Failed to fetch');
      }),
    );
    const seen: string[] = [];
    const errors: string[] = [];
    const retries: number[] = [];
    new HttpTransport({ retryMs: 1000 }).subscribe(
      { after_seq: '5' },
      (e) => seen.push(e.seq),
      (e) => errors.push(e.code),
      undefined,
      (inMs) => retries.push(inMs),
    );
    const es = latest();
    expect(es.searchParams.get('after_seq')).toBe('5');
    es.open();
    es.send(5);
    es.send(6);
    es.drop();
    expect(es.readyState).toBe(FakeWebSocket.CLOSED);
    expect(retries).toEqual([1000]);
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual(['unavailable']); // a refused connection is the manager away, not a sign-out
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeWebSocket.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const again = latest();
    expect(again).not.toBe(es);
    expect(again.searchParams.get('after_seq')).toBe('6');
    again.fail();
    expect(retries).toEqual([1000, 2000]);
    again.fail();
    expect(retries).toEqual([1000, 2000]); // one try pending at a time
    await vi.advanceTimersByTimeAsync(2000);
    latest().open();
    latest().send(6);
    latest().send(7);
    expect(seen).toEqual(['6', '7']);
  });

  it('by default tries a lost feed again within seconds, never more than 4 s apart, and at once when the browser is back online', async () => {
    vi.stubGlobal('fetch', vi.fn(() => new Promise<Response>(() => {})));
    const retries: number[] = [];
    const stop = new HttpTransport().subscribe({}, () => {}, () => {}, undefined, (inMs) => retries.push(inMs));
    for (let i = 0; i < 8; i++) {
      latest().fail();
      await vi.advanceTimersByTimeAsync(retries.at(-1) ?? 0);
    }
    expect(retries).toEqual([500, 1000, 2000, 4000, 4000, 4000, 4000, 4000]);
    latest().fail();
    const made = FakeWebSocket.instances.length;
    window.dispatchEvent(new globalThis.Event('online'));
    expect(FakeWebSocket.instances).toHaveLength(made + 1);
    // Connected, going online again makes no new connection.
    latest().open();
    window.dispatchEvent(new globalThis.Event('online'));
    expect(FakeWebSocket.instances).toHaveLength(made + 1);
    stop();
  });

  it('"Retry now" tries at once, and an answer about an older connection is not reported', async () => {
    let answer: (r: Response) => void = () => {};
    vi.stubGlobal('fetch', vi.fn(() => new Promise<Response>((ok) => (answer = ok))));
    const errors: string[] = [];
    let retryNow: () => void = () => {};
    new HttpTransport({ retryMs: 60_000 }).subscribe(
      {},
      () => {},
      (e) => errors.push(e.code),
      undefined,
      (_inMs, now) => (retryNow = now),
    );
    latest().fail();
    retryNow();
    expect(FakeWebSocket.instances).toHaveLength(2);
    latest().open();
    answer(new Response(JSON.stringify({ code: 'unauthenticated', message: 'old' }), { status: 401 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.instances).toHaveLength(2); // the scheduled try was dropped
  });

  it('reports why the feed was refused (e.g. no token) and keeps trying', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ code: 'unauthenticated', message: 'no token' }), { status: 401 })),
    );
    const errors: ApiError[] = [];
    new HttpTransport({ retryMs: 50 }).subscribe({}, () => {}, (e) => errors.push(e));
    latest().fail();
    await vi.advanceTimersByTimeAsync(0);
    expect(errors[0]?.code).toBe('unauthenticated');
    await vi.advanceTimersByTimeAsync(50);
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it('stops for good when unsubscribed', async () => {
    const seen: string[] = [];
    const stop = new HttpTransport({ retryMs: 10 }).subscribe({}, (e) => seen.push(e.seq), () => {});
    const es = latest();
    es.open();
    stop();
    expect(es.readyState).toBe(FakeWebSocket.CLOSED);
    es.fail();
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});

describe('HttpTransport.call', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('posts the request as JSON and returns the answer', async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ agents: [] }), { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    await expect(new HttpTransport().call('ListAgents', {})).resolves.toEqual({ agents: [] });
    expect(fetchMock).toHaveBeenCalledWith('/api/v1/ListAgents', expect.objectContaining({ method: 'POST', body: '{}' }));
  });

  it('rejects with the server error code and message', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ code: 'not_found', message: 'no task x' }), { status: 404 })),
    );
    const err = await new HttpTransport().call('GetTask', { task_id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'not_found', message: 'no task x' });
  });
});
