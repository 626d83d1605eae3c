import type { ApiError, Client, Event, LogLine, Unsubscribe } from '../ipc';
import type { LogStore } from './logStore';

/**
 * Fills `store` with a task's log: the stored lines (GetLogs, a page at a time), then the live
 * ones from the task's feed, with no gap and no duplicate. Live lines that arrive while history
 * loads wait; a live line that skips ahead makes it fetch what is missing first. Stored lines are
 * read again once the feed is open: a line stored after the first read and before the feed began
 * comes by neither way otherwise (a quick task's whole log, the page opened as it ran). Other
 * events of the task (state, progress, consent) go to `onEvent`.
 */
export function followTaskLogs(
  client: Client,
  taskId: string,
  store: LogStore,
  onEvent: (event: Event) => void,
  onError: (error: ApiError) => void,
  onOpen?: () => void,
): Unsubscribe {
  const waiting = new Map<number, LogLine>();
  let historyLoaded = false;
  let fetching = false;
  let stopped = false;
  /** Asked to read again while a read was under way. */
  let again = false;
  /** The first read has begun (a feed that opens before it needs no second one). */
  let started = false;

  const drain = () => {
    for (;;) {
      const next = waiting.get(store.lastSeq + 1);
      if (!next) break;
      waiting.delete(store.lastSeq + 1);
      store.append([next]);
    }
    for (const seq of waiting.keys()) if (seq <= store.lastSeq) waiting.delete(seq);
  };

  /** Fetches stored lines after the last one held until a page is empty or complete. */
  const fetchMissing = async () => {
    if (stopped) return;
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    started = true;
    try {
      do {
        again = false;
        for (;;) {
          const page = await client.getLogs({ task_id: taskId, after_seq: String(store.lastSeq) });
          if (stopped) return;
          store.append(page.lines);
          drain();
          const stillMissing = waiting.size > 0;
          if (page.complete || page.lines.length === 0 || (historyLoaded && !stillMissing)) break;
        }
      } while (again);
    } catch (err) {
      onError(err as ApiError);
    } finally {
      fetching = false;
    }
    if (stopped) return;
    historyLoaded = true;
    if (waiting.size > 0) {
      // The store has nothing more to give for the gap: take what the feed brought, in order.
      const rest = [...waiting.values()].sort((a, b) => Number(a.seq) - Number(b.seq));
      waiting.clear();
      store.append(rest);
    }
  };

  const unsubscribe = client.subscribe(
    { task_id: taskId },
    (event) => {
      const line = event.task_log?.line;
      if (!line) {
        onEvent(event);
        return;
      }
      const seq = Number(line.seq);
      if (seq <= store.lastSeq) return;
      if (historyLoaded && !fetching && seq === store.lastSeq + 1) {
        store.append([line]);
        return;
      }
      waiting.set(seq, line);
      if (historyLoaded) void fetchMissing();
    },
    onError,
    () => {
      if (started) void fetchMissing();
      onOpen?.();
    },
  );
  void fetchMissing();

  return () => {
    stopped = true;
    unsubscribe();
  };
}

/**
 * Reads a task's stored lines after `afterSeq`, at most `limit` of them, a page at a time (the
 * log viewer reads back lines its store no longer holds).
 */
export async function readLogLines(client: Client, taskId: string, afterSeq: number, limit: number): Promise<LogLine[]> {
  const out: LogLine[] = [];
  let after = afterSeq;
  while (out.length < limit) {
    const page = await client.getLogs({ task_id: taskId, after_seq: String(after), limit: limit - out.length });
    const last = page.lines.at(-1);
    if (!last) break;
    out.push(...page.lines.slice(0, limit - out.length));
    after = Number(last.seq);
    if (page.complete) break;
  }
  return out;
}
