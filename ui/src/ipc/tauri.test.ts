import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { ApiError } from './errors';
import { TauriTransport } from './tauri';
import type { Event } from './types';

// The desktop shell is replaced at its IPC boundary (Tauri's own mocks): what the transport sends
// to the shell's commands, and what it makes of their answers and channel messages.

type Deliver = (message: unknown) => void;

function channelOf(payload: unknown): Deliver {
  const channel = (payload as { onEvent: { id: number } }).onEvent;
  let index = 0;
  const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, m: unknown) => void } })
    .__TAURI_INTERNALS__;
  return (message) => internals.runCallback(channel.id, { index: index++, message });
}

const event = (seq: number): Event => ({ seq: String(seq), time: '2026-11-26T00:00:00Z' }) as Event;

afterEach(() => clearMocks());

describe('TauriTransport', () => {
  it('calls the shell with the method and request and keeps the error code', async () => {
    const seen: unknown[] = [];
    mockIPC((cmd, payload) => {
      seen.push([cmd, payload]);
      const { method } = payload as { method: string };
      if (method === 'GetTask') throw { code: 'not_found', message: 'no task with id `x`' };
      return { paused: true };
    });
    const t = new TauriTransport();
    await expect(t.call('SetPaused', { paused: true })).resolves.toEqual({ paused: true });
    expect(seen[0]).toEqual(['call', { method: 'SetPaused', request: { paused: true } }]);
    const err = await t.call('GetTask', { task_id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('not_found');
  });

  it('delivers each event once and resubscribes after the last seq when the feed ends', async () => {
    const subscriptions: { query: { after_seq: string | null }; deliver: Deliver }[] = [];
    mockIPC((cmd, payload) => {
      if (cmd === 'subscribe') {
        subscriptions.push({
          query: (payload as { query: { after_seq: string | null } }).query,
          deliver: channelOf(payload),
        });
        return subscriptions.length;
      }
      return null;
    });
    vi.useFakeTimers();
    const got: string[] = [];
    const errors: string[] = [];
    const t = new TauriTransport({ retryMs: 10 });
    const stop = t.subscribe({ after_seq: '0' }, (e) => got.push(e.seq), (e) => errors.push(e.code));
    await vi.waitFor(() => expect(subscriptions).toHaveLength(1));
    expect(subscriptions[0]!.query.after_seq).toBe('0');
    const first = subscriptions[0]!.deliver;
    first({ event: event(1) });
    first({ event: event(2) });
    first({ event: event(2) }); // a repeat never reaches the app
    first({ end: { code: 'unavailable', message: 'the manager closed the feed' } });
    expect(errors).toEqual(['unavailable']);
    await vi.advanceTimersByTimeAsync(10);
    await vi.waitFor(() => expect(subscriptions).toHaveLength(2));
    expect(subscriptions[1]!.query.after_seq).toBe('2');
    subscriptions[1]!.deliver({ event: event(2) });
    subscriptions[1]!.deliver({ event: event(3) });
    expect(got).toEqual(['1', '2', '3']);
    stop();
    vi.useRealTimers();
  });
});
