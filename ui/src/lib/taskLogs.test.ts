import { describe, expect, it } from 'vitest';
import type { GetLogsRequest, GetLogsResponse, LogLine } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { LogStore } from './logStore';
import { followTaskLogs } from './taskLogs';

const line = (seq: number): LogLine => ({
  seq: String(seq),
  level: 'LOG_LEVEL_INFO',
  message: `line ${seq}`,
  fields: {},
  attempt: 1,
  attempt_seq: String(seq),
});

/** GetLogs answered by the test, one page at a time, when it says so. */
function pagedServer(stored: () => number, pageSize = 3) {
  const asked: GetLogsRequest[] = [];
  const answers: (() => void)[] = [];
  const transport = new MockTransport({
    GetLogs: (req) =>
      new Promise<GetLogsResponse>((resolve) => {
        asked.push(req);
        answers.push(() => {
          const after = Number(req.after_seq ?? 0);
          const last = Math.min(stored(), after + pageSize);
          const lines = [];
          for (let s = after + 1; s <= last; s++) lines.push(line(s));
          resolve({ lines, complete: false });
        });
      }),
  });
  const answerNext = async () => {
    await expect.poll(() => answers.length).toBeGreaterThan(0);
    answers.shift()!();
    await Promise.resolve();
  };
  return { transport, asked, answerNext, pending: () => answers.length };
}

const seqs = (store: LogStore) => {
  store.flush();
  return store.lines.map((l) => l.seq);
};

const live = (transport: MockTransport, seq: number) =>
  transport.emit({ task_log: { task_id: 't1', line: line(seq) } });

describe('followTaskLogs: history, then live, with no gap and no duplicate', () => {
  it('holds live lines that arrive while history loads, and drops the ones history brought', async () => {
    let stored = 5;
    const server = pagedServer(() => stored);
    const store = new LogStore();
    const stop = followTaskLogs(server.transport.client(), 't1', store, () => {}, () => {});
    // Lines 6 and 7 are logged (and stored) while the first page is on its way.
    stored = 7;
    live(server.transport, 6);
    live(server.transport, 7);
    await server.answerNext(); // 1..3
    await server.answerNext(); // 4..6, and 7 is taken from the feed
    await server.answerNext(); // nothing after 7: history is loaded
    await expect.poll(() => seqs(store)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(server.asked.map((r) => r.after_seq)).toEqual(['0', '3', '7']);
    live(server.transport, 7); // a repeat (e.g. after a reconnect) is dropped
    live(server.transport, 8);
    expect(seqs(store)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    stop();
  });

  it('reads the stored lines again once the feed is open: a line stored between the first read and the feed is not lost', async () => {
    let stored = 0;
    const server = pagedServer(() => stored);
    const store = new LogStore();
    const stop = followTaskLogs(server.transport.client(), 't1', store, () => {}, () => {});
    await server.answerNext(); // nothing stored yet
    stored = 1; // the task logs its one line and ends before the feed is open: no live line comes
    server.transport.reopenFeed();
    await server.answerNext();
    await expect.poll(() => seqs(store)).toEqual([1]);
    stop();
  });

  it('fetches what a live line skipped over before taking it', async () => {
    let stored = 2;
    const server = pagedServer(() => stored, 100);
    const store = new LogStore();
    followTaskLogs(server.transport.client(), 't1', store, () => {}, () => {});
    await server.answerNext(); // 1..2
    await server.answerNext(); // nothing more: history loaded
    await expect.poll(() => seqs(store)).toEqual([1, 2]);
    // The feed dropped 3 and 4 (a reconnect gap); 5 arrives: 3..5 are fetched first, in order.
    stored = 5;
    live(server.transport, 5);
    expect(seqs(store)).toEqual([1, 2]);
    await server.answerNext();
    await expect.poll(() => seqs(store)).toEqual([1, 2, 3, 4, 5]);
    expect(server.asked.at(-1)).toEqual({ task_id: 't1', after_seq: '2' });
  });

  it('passes the task’s other events on, and stops fetching once unsubscribed', async () => {
    const server = pagedServer(() => 0);
    const store = new LogStore();
    const others: string[] = [];
    const stop = followTaskLogs(server.transport.client(), 't1', store, (e) => others.push(e.seq), () => {});
    server.transport.emit({ task_progress: { task_id: 't1', fraction: 0.5, message: 'half' } as never });
    expect(others).toHaveLength(1);
    stop();
    await server.answerNext();
    live(server.transport, 1);
    expect(seqs(store)).toEqual([]);
    expect(server.pending()).toBe(0);
  });
});
