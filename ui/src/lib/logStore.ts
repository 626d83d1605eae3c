import type { LogLevel, LogLine } from '../ipc';
import { parseAnsi } from './ansi';
import { levelLabel } from './format';
import { revealHidden } from './untrusted';

/** A log line as the viewer keeps it. */
export interface LogEntry {
  seq: number;
  time: string | null | undefined;
  level: LogLevel;
  message: string;
  /** Its fields, without `stream` (a command's output is told by `stream`). */
  fields: Record<string, string>;
  /** The output stream of a command the task ran (the SDK's `stream` field), else ''. */
  stream: 'stdout' | 'stderr' | '';
  /**
   * Its rank for the level filter: its level's, except a command's stderr, which the SDK logs at
   * WARN only because it is stderr (tools print progress there): it ranks as INFO, so "warn and
   * above" and "error and above" find real warnings and errors.
   */
  rank: number;
  /** The attempt that wrote it (0: not recorded). */
  attempt: number;
  /** The first line of a retry (its attempt differs from the line before, or is past the first). */
  attemptStart: boolean;
  /** How many text lines its message has (a traceback has many): the row is this many tall. */
  rows: number;
}

/** A message as shown: without trailing line breaks, and how many text lines that is. */
export function shownMessage(message: string): { text: string; rows: number } {
  const text = message.replace(/[\r\n]+$/, '');
  let rows = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) rows++;
  return { text, rows };
}

// Characters a monospace font draws two columns wide (CJK, Hangul, full-width forms, emoji).
const WIDE = /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F300}-\u{1FAFF}\u{20000}-\u{3FFFD}]/u;

/** Columns one text line takes in a monospace font. */
function columns(line: string): number {
  let n = 0;
  for (const ch of line) n += WIDE.test(ch) ? 2 : 1;
  return n;
}

/**
 * How many text lines a row takes when wrapped at `cols` columns: its message as drawn (colour
 * codes gone, hidden characters shown by their code) with its fields after it, each of its lines
 * broken every `cols` columns (the viewer breaks anywhere, not at words, so this is exact for a
 * monospace font).
 */
export function wrappedRows(entry: Pick<LogEntry, 'message' | 'fields'>, cols: number): number {
  if (cols <= 0) return 1;
  const fields = Object.entries(entry.fields).map(([k, v]) => `${k}=${v}`);
  const shown = revealHidden(parseAnsi(entry.message).map((r) => r.text).join(''), true);
  const text = fields.length > 0 ? `${shown} ${revealHidden(fields.join(' '))}` : shown;
  let rows = 0;
  for (const line of text.split('\n')) rows += Math.max(1, Math.ceil(columns(line) / cols));
  return rows;
}

export const LEVEL_RANK: Record<LogLevel, number> = {
  LOG_LEVEL_UNSPECIFIED: 0,
  LOG_LEVEL_TRACE: 1,
  LOG_LEVEL_DEBUG: 2,
  LOG_LEVEL_INFO: 3,
  LOG_LEVEL_WARN: 4,
  LOG_LEVEL_ERROR: 5,
};

/** A line's stream (taken out of its fields) and its rank for the level filter. */
function streamOf(line: LogLine): Pick<LogEntry, 'fields' | 'stream' | 'rank'> {
  const fields = line.fields ?? {};
  const stream = fields.stream === 'stdout' || fields.stream === 'stderr' ? fields.stream : '';
  let rank = LEVEL_RANK[line.level] ?? 0;
  if (stream === 'stderr' && line.level === 'LOG_LEVEL_WARN') rank = LEVEL_RANK.LOG_LEVEL_INFO;
  if (!stream) return { fields, stream, rank };
  const rest = { ...fields };
  delete rest.stream;
  return { fields: rest, stream, rank };
}

/** What the level column says: a command's stderr is "stderr", not a warning. */
export function levelText(entry: Pick<LogEntry, 'level' | 'stream'>): string {
  return entry.stream === 'stderr' && entry.level === 'LOG_LEVEL_WARN' ? 'stderr' : levelLabel(entry.level);
}

const nextFrame: (fn: () => void) => void =
  typeof requestAnimationFrame === 'function' ? (fn) => requestAnimationFrame(fn) : (fn) => setTimeout(fn, 16);

/**
 * How many lines of a task's log the viewer keeps in memory: the newest, while older ones are
 * dropped as new ones come (the viewer reads them back from the manager when asked to).
 */
export const LOG_LINES_KEPT = 100_000;

/** A log line as the viewer keeps it, `attemptStart` worked out by the caller. */
function entryOf(line: LogLine, attempt: number, attemptStart: boolean): LogEntry {
  const { text, rows } = shownMessage(line.message ?? '');
  return { seq: Number(line.seq), time: line.time, level: line.level, message: text, ...streamOf(line), attempt, attemptStart, rows };
}

/**
 * A window of one task's log lines, outside React, never more than `capacity` of them. The live
 * store holds the newest: appends are queued and published at most once per animation frame (one
 * re-render per frame, however many lines arrived), the oldest dropped past the capacity, and a
 * line at or before the last one taken is dropped, so history and the live feed can overlap
 * without duplicates. An earlier window (`window`, then `prepend`) holds older lines read back.
 */
export class LogStore {
  /** Published lines, in seq order; read by index (indices move when lines are dropped: see `dropped`). */
  readonly lines: LogEntry[] = [];
  /** The most lines held; past it the oldest go (appends) or the newest (prepends). */
  readonly capacity: number;
  private pending: LogEntry[] = [];
  private scheduled = false;
  private version = 0;
  private last = 0;
  private lastAttempt = 0;
  /** The attempts seen, in order. */
  readonly attempts: number[] = [];
  /** The index in `lines` of the first line at ERROR, or -1 while there is none. */
  firstError = -1;
  /** How many lines were dropped from the front so far (views move their indices by it). */
  dropped = 0;
  /** Counts the times the lines were put together anew (a prepend): views read them again. */
  epoch = 0;
  private readonly listeners = new Set<() => void>();

  constructor(capacity = LOG_LINES_KEPT) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a log store keeps at least one line, not ${capacity}`);
    this.capacity = capacity;
  }

  /** A store holding a copy of `entries` (in seq order, at most `capacity` of them: the first). */
  static window(entries: readonly LogEntry[], capacity: number): LogStore {
    const store = new LogStore(capacity);
    store.put(entries.slice(0, capacity));
    return store;
  }

  /** The seq of the last line taken (published or queued); 0 when none. */
  get lastSeq(): number {
    return this.last;
  }

  /** The seq of the first line held, or of the next line to come while none is held. */
  get firstSeq(): number {
    return this.lines[0]?.seq ?? this.pending[0]?.seq ?? this.last + 1;
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
      this.pending.push(entryOf(line, attempt, attemptStart));
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
    for (const entry of this.pending) {
      if (this.firstError < 0 && entry.level === 'LOG_LEVEL_ERROR') this.firstError = this.lines.length;
      this.lines.push(entry);
    }
    this.pending = [];
    const over = this.lines.length - this.capacity;
    if (over > 0) {
      this.lines.splice(0, over);
      this.dropped += over;
      this.firstError = this.firstError >= over ? this.firstError - over : this.findError();
    }
    this.publish();
  }

  /**
   * Puts lines read back from before the first one held (others are ignored) in front; past the
   * capacity the newest go. For an earlier window, not the live store (its tail would go).
   */
  prepend(lines: readonly LogLine[]) {
    this.flush();
    const first = this.firstSeq;
    const before = lines.filter((l) => Number(l.seq) < first);
    if (before.length === 0) return;
    let prev = Number(before[0]?.attempt ?? 0);
    const entries = before.map((line, i) => {
      const attempt = Number(line.attempt ?? 0);
      const start = attempt !== prev && (i > 0 || Number(line.seq) > 1 || attempt > 1);
      prev = attempt;
      return entryOf(line, attempt, start);
    });
    this.put([...entries, ...this.lines].slice(0, this.capacity));
  }

  /** Holds `entries` instead of what it held (in seq order). */
  private put(entries: readonly LogEntry[]) {
    this.lines.length = 0;
    for (const e of entries) this.lines.push(e);
    const tail = this.lines.at(-1);
    this.last = tail?.seq ?? this.last;
    this.lastAttempt = tail?.attempt ?? this.lastAttempt;
    const attempts = new Set([...this.attempts, ...this.lines.map((l) => l.attempt)]);
    this.attempts.splice(0, this.attempts.length, ...[...attempts].sort((a, b) => a - b));
    this.firstError = this.findError();
    this.dropped = 0;
    this.epoch++;
    this.publish();
  }

  private findError(): number {
    return this.lines.findIndex((l) => l.level === 'LOG_LEVEL_ERROR');
  }

  private publish() {
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

/** Whether a line's message or one of its fields holds `needle` (lower case). */
export function hasText(entry: LogEntry, needle: string): boolean {
  if (entry.message.toLowerCase().includes(needle)) return true;
  for (const [k, v] of Object.entries(entry.fields)) {
    if (`${k}=${v}`.toLowerCase().includes(needle)) return true;
  }
  return false;
}

function matches(entry: LogEntry, minRank: number, needle: string, attempt: number): boolean {
  if (attempt && entry.attempt !== attempt) return false;
  if (entry.rank < minRank) return false;
  return !needle || hasText(entry, needle);
}

/** A line as plain text, as copied or downloaded: time, level, message, fields. */
export function lineText(entry: LogEntry): string {
  const fields = Object.entries(entry.fields).map(([k, v]) => `${k}=${v}`);
  return [entry.time ?? '', levelText(entry), entry.message, ...fields].filter((x) => x !== '').join(' ');
}

/** The position in a view of the first line at ERROR, or -1. */
export function firstErrorIn(store: LogStore, view: LogView): number {
  if (store.firstError < 0) return -1;
  // The view's indices are in order: find the store's first error, else the first error after it.
  let lo = 0;
  let hi = view.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((view.indices[mid] ?? 0) < store.firstError) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < view.length; i++) {
    if (store.lines[view.indices[i] ?? -1]?.level === 'LOG_LEVEL_ERROR') return i;
  }
  return -1;
}

/** The positions in a view of the lines that hold `needle` (lower case). */
export function findIn(store: LogStore, view: LogView, needle: string): number[] {
  const found: number[] = [];
  if (!needle) return found;
  for (let i = 0; i < view.length; i++) {
    const entry = store.lines[view.indices[i] ?? -1];
    if (entry && hasText(entry, needle)) found.push(i);
  }
  return found;
}

/**
 * The lines of a store that pass a filter, in order: `indices` into the store's lines, and the top
 * of each (in text lines from the start, since a row is as tall as its message), read up to
 * `length`. The arrays may be shared with later views of the same filter (they only grow), so a
 * view is a snapshot through its `length` and `totalRows`.
 */
export interface LogView {
  readonly indices: readonly number[];
  readonly tops: readonly number[];
  readonly length: number;
  /** The height of the whole view in text lines. */
  readonly totalRows: number;
}

/**
 * The view of a store through a filter (attempt, lowest level, text), kept up to date
 * incrementally: a new frame scans only the lines it added; a new filter rescans once. The result
 * is a new object per (version, filter), so React sees each change, without copying the arrays.
 */
export class LogFilter {
  private readonly store: LogStore;
  private key = '';
  private scanned = 0;
  private indicesOf: number[] = [];
  private topsOf: number[] = [];
  private totalRows = 0;
  private version = -1;
  private epoch = 0;
  private dropped = 0;
  private view: LogView = { indices: [], tops: [], length: 0, totalRows: 0 };

  constructor(store: LogStore) {
    this.store = store;
  }

  /** `attempt` 0 means every attempt; `wrapAt` 0 means no wrapping (else the columns of a line). */
  indices(version: number, minRank: number, needle: string, attempt = 0, wrapAt = 0): LogView {
    const key = `${minRank}\u0000${needle}\u0000${attempt}\u0000${wrapAt}`;
    if (key !== this.key || this.epoch !== this.store.epoch) {
      this.key = key;
      this.epoch = this.store.epoch;
      this.dropped = this.store.dropped;
      this.scanned = 0;
      this.indicesOf = [];
      this.topsOf = [];
      this.totalRows = 0;
      this.version = -1;
    }
    if (version !== this.version) {
      if (this.dropped !== this.store.dropped) this.forget(this.store.dropped - this.dropped);
      const lines = this.store.lines;
      const all = minRank === 0 && !needle && !attempt;
      for (let i = this.scanned; i < lines.length; i++) {
        const entry = lines[i];
        if (entry && (all || matches(entry, minRank, needle, attempt))) {
          this.indicesOf.push(i);
          this.topsOf.push(this.totalRows);
          this.totalRows += wrapAt > 0 ? wrappedRows(entry, wrapAt) : entry.rows;
        }
      }
      this.scanned = lines.length;
      this.version = version;
      this.view = { indices: this.indicesOf, tops: this.topsOf, length: this.indicesOf.length, totalRows: this.totalRows };
    }
    return this.view;
  }

  /**
   * The store dropped its first `n` lines: leaves them out and moves the rest up (new arrays, so
   * a view handed out earlier stays as it was).
   */
  private forget(n: number) {
    this.dropped += n;
    let gone = 0;
    while (gone < this.indicesOf.length && (this.indicesOf[gone] ?? 0) < n) gone++;
    const base = gone < this.topsOf.length ? (this.topsOf[gone] ?? 0) : this.totalRows;
    this.indicesOf = this.indicesOf.slice(gone).map((i) => i - n);
    this.topsOf = this.topsOf.slice(gone).map((t) => t - base);
    this.totalRows -= base;
    this.scanned = Math.max(0, this.scanned - n);
  }
}

/**
 * Which rows of a view to draw for a viewport from `top` to `top + height` (in text lines): the
 * rows it overlaps and `overscan` more on each side, as [first, end).
 */
export function rowsToDraw(view: LogView, top: number, height: number, overscan: number): [number, number] {
  const { tops, length } = view;
  if (length === 0) return [0, 0];
  // The last row that starts at or above `top` is the first one in view.
  let lo = 0;
  let hi = length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((tops[mid] ?? 0) <= top) lo = mid;
    else hi = mid - 1;
  }
  const first = lo;
  let end = first;
  while (end < length && (tops[end] ?? 0) < top + height) end++;
  return [Math.max(0, first - overscan), Math.min(length, Math.max(end, first + 1) + overscan)];
}

/** The index in a store's lines of the line with `seq`, or -1 while it has not been published. */
export function indexOfSeq(store: LogStore, seq: number): number {
  const lines = store.lines;
  let lo = 0;
  let hi = lines.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = lines[mid]?.seq ?? 0;
    if (at === seq) return mid;
    if (at < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** The position in a view of the store's line at `index`, or -1 when the view's filter hides it. */
export function positionIn(view: LogView, index: number): number {
  let lo = 0;
  let hi = view.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = view.indices[mid] ?? -1;
    if (at === index) return mid;
    if (at < index) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
