import type { LogLevel, LogLine } from '../ipc';

/** A log line as the viewer keeps it. */
export interface LogEntry {
  seq: number;
  time: string | null | undefined;
  level: LogLevel;
  message: string;
  fields: Record<string, string>;
  /** The attempt that wrote it (0: not recorded). */
  attempt: number;
  /** The first line of a retry (its attempt differs from the line before, or is past the first). */
  attemptStart: boolean;
}

export const LEVEL_RANK: Record<LogLevel, number> = {
  LOG_LEVEL_UNSPECIFIED: 0,
  LOG_LEVEL_TRACE: 1,
  LOG_LEVEL_DEBUG: 2,
  LOG_LEVEL_INFO: 3,
  LOG_LEVEL_WARN: 4,
  LOG_LEVEL_ERROR: 5,
};

const nextFrame: (fn: () => void) => void =
  typeof requestAnimationFrame === 'function' ? (fn) => requestAnimationFrame(fn) : (fn) => setTimeout(fn, 16);

/**
 * The lines of one task's log, outside React: appends are queued and published at most once per
 * animation frame (one re-render per frame, however many lines arrived), and a line at or before
 * the last one held is dropped, so history and the live feed can overlap without duplicates.
 */
export class LogStore {
  /** Published lines, in seq order. Grows only; rows are read by index. */
  readonly lines: LogEntry[] = [];
  private pending: LogEntry[] = [];
  private scheduled = false;
  private version = 0;
  private last = 0;
  private lastAttempt = 0;
  /** The attempts seen, in order. */
  readonly attempts: number[] = [];
  private readonly listeners = new Set<() => void>();

  /** The seq of the last line taken (published or queued); 0 when none. */
  get lastSeq(): number {
    return this.last;
  }

  /** Queues lines (in seq order); returns how many were new. */
  append(lines: readonly LogLine[]): number {
    let added = 0;
    for (const line of lines) {
      const seq = Number(line.seq);
      if (!(seq > this.last)) continue;
      const attempt = Number(line.attempt ?? 0);
      const attemptStart = attempt !== this.lastAttempt && (this.last > 0 || attempt > 1);
      this.last = seq;
      if (attempt !== this.lastAttempt && !this.attempts.includes(attempt)) this.attempts.push(attempt);
      this.lastAttempt = attempt;
      this.pending.push({
        seq,
        time: line.time,
        level: line.level,
        message: line.message,
        fields: line.fields ?? {},
        attempt,
        attemptStart,
      });
      added++;
    }
    if (added > 0 && !this.scheduled) {
      this.scheduled = true;
      nextFrame(() => this.flush());
    }
    return added;
  }

  /** Publishes what is queued now (the frame callback does this; tests may too). */
  flush() {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    for (const entry of this.pending) this.lines.push(entry);
    this.pending = [];
    this.version++;
    for (const l of this.listeners) l();
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  getVersion = () => this.version;
}

function matches(entry: LogEntry, minRank: number, needle: string, attempt: number): boolean {
  if (attempt && entry.attempt !== attempt) return false;
  if (LEVEL_RANK[entry.level] < minRank) return false;
  if (!needle) return true;
  if (entry.message.toLowerCase().includes(needle)) return true;
  for (const [k, v] of Object.entries(entry.fields)) {
    if (`${k}=${v}`.toLowerCase().includes(needle)) return true;
  }
  return false;
}

/**
 * The indices of a store's lines that pass a filter (attempt, lowest level, text), kept up to date
 * incrementally: a new frame scans only the lines it added; a new filter rescans once. The result
 * is a new array per (version, filter), so React sees each change.
 */
export class LogFilter {
  private readonly store: LogStore;
  private key = '';
  private scanned = 0;
  private matched: number[] = [];
  private version = -1;
  private view: number[] = [];

  constructor(store: LogStore) {
    this.store = store;
  }

  /** `attempt` 0 means every attempt. */
  indices(version: number, minRank: number, needle: string, attempt = 0): number[] {
    const key = `${minRank}\u0000${needle}\u0000${attempt}`;
    if (key !== this.key) {
      this.key = key;
      this.scanned = 0;
      this.matched = [];
      this.version = -1;
    }
    if (version !== this.version) {
      const lines = this.store.lines;
      const all = minRank === 0 && !needle && !attempt;
      for (let i = this.scanned; i < lines.length; i++) {
        const entry = lines[i];
        if (entry && (all || matches(entry, minRank, needle, attempt))) this.matched.push(i);
      }
      this.scanned = lines.length;
      this.version = version;
      this.view = this.matched.slice();
    }
    return this.view;
  }
}
