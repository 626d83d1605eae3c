import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore, type KeyboardEvent } from 'react';
import { ApiError, type LogLevel, type LogLine } from '../ipc';
import { levelLabel, linesLabel } from '../lib/format';
import {
  LEVEL_RANK,
  LogFilter,
  LogStore,
  findIn,
  firstErrorIn,
  indexOfSeq,
  levelText,
  lineText,
  positionIn,
  rowsToDraw,
  wrappedRows,
} from '../lib/logStore';
import { Ansi } from './Ansi';
import { ErrorNote } from './ErrorNote';
import { Untrusted } from './Untrusted';

/**
 * Height of one text line in CSS pixels (lines do not wrap; long ones scroll sideways). A row is
 * as many text lines tall as its message has, so every row's place is known without measuring.
 */
export const ROW_HEIGHT = 20;
/** Rows drawn beyond each edge of the viewport. */
const OVERSCAN = 10;
/** Columns a wrapped line is taken to have before the viewer could measure its font. */
const WRAP_FALLBACK = 80;
/**
 * The tallest the scrolled content is made, in CSS pixels. Browsers cap an element's height
 * (Chromium at 2^24 px, about 16.7 million; Firefox a little higher), and rows placed below the
 * cap could never be scrolled to: a taller log is scrolled in proportion instead, so every row
 * is reachable.
 */
export const MAX_SCROLL_HEIGHT = 8_000_000;
/** How many earlier lines "Load earlier" reads back at a time. */
export const EARLIER_LINES = 10_000;

/** Reads the stored lines after `afterSeq`, at most `limit` of them, in seq order. */
export type ReadLogLines = (afterSeq: number, limit: number) => Promise<LogLine[]>;

const LEVELS: LogLevel[] = ['LOG_LEVEL_TRACE', 'LOG_LEVEL_DEBUG', 'LOG_LEVEL_INFO', 'LOG_LEVEL_WARN', 'LOG_LEVEL_ERROR'];

function clock(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/**
 * A task's log: only the rows in view are in the DOM; it follows the tail unless paused, filters
 * by level and attempt, and searches.
 *
 * While following, the rows drawn are those at the tail itself, worked out from the rows' heights
 * in the same render that adds lines, and the scroll position is set to match before the frame is
 * painted. (Drawing the rows for the last scroll position the browser reported, and scrolling
 * afterwards, left the viewport blank during a flood: each frame's rows were for a position the
 * new lines had already pushed out of view.)
 */
export function LogViewer({
  store,
  label = 'Log',
  fileName = 'log.txt',
  goTo = null,
  readLines,
}: {
  store: LogStore;
  label?: string;
  fileName?: string;
  /** Show this line (by seq), marked, with the focus on the log: a new object each time it is asked. */
  goTo?: { seq: number } | null;
  /** Reads lines the store no longer holds back from the manager (without it: only the count is shown). */
  readLines?: ReadLogLines;
}) {
  /** Earlier lines read back, shown instead of the live store until the reader goes back to the tail. */
  const [earlier, setEarlier] = useState<LogStore | null>(null);
  const [reading, setReading] = useState(false);
  const [readError, setReadError] = useState<ApiError | null>(null);
  /** The first line held when the manager had no line before it to give (its retention let them go). */
  const [noneBefore, setNoneBefore] = useState<number | null>(null);
  /** After lines were put above: the line to keep at the top of the viewport. */
  const [anchor, setAnchor] = useState<number | null>(null);
  const log = earlier ?? store;
  const version = useSyncExternalStore(log.subscribe, log.getVersion);
  // Reading earlier lines, the live store's lines still count (the later lines not shown).
  useSyncExternalStore(store.subscribe, store.getVersion);
  const [following, setFollowing] = useState(true);
  /** How many lines the view had when following stopped (the rest are "new lines"). */
  const [pausedAt, setPausedAt] = useState(0);
  const [find, setFind] = useState('');
  /** The current match, as an index into the matches. */
  const [findAt, setFindAt] = useState(0);
  /** A find typed with no match yet: its first match is brought into view when it arrives. */
  const [seeking, setSeeking] = useState(false);
  const [copied, setCopied] = useState<string | null>(null);
  const [wrap, setWrap] = useState(false);
  /** While wrapping: the columns of a message's text line (measured), each row as tall as its wrapped text. */
  const [wrapAt, setWrapAt] = useState(0);
  const [minLevel, setMinLevel] = useState<LogLevel | ''>('');
  const [query, setQuery] = useState('');
  const [attempt, setAttempt] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);
  /** Where this component last scrolled to (its own scroll events are not the reader's). */
  const written = useRef<number | null>(null);
  const ids = useId();

  const filter = useMemo(() => new LogFilter(log), [log]);
  const minRank = minLevel ? LEVEL_RANK[minLevel] : 0;
  const view = filter.indices(version, minRank, query.trim().toLowerCase(), attempt, wrap ? wrapAt || WRAP_FALLBACK : 0);
  /** The view's height, and (capped) the scrolled content's: positions in the view are scaled to it. */
  const total = view.totalRows * ROW_HEIGHT;
  const spacer = Math.min(total, MAX_SCROLL_HEIGHT);
  const scale = total > spacer && spacer > height ? (total - height) / (spacer - height) : 1;
  const toScroll = (at: number) => at / scale;
  const fromScroll = (at: number) => at * scale;
  const top = following ? Math.max(0, total - height) : scrollTop;
  const drawnAt = toScroll(top) - top; // added to a row's place in the view
  const [first, end] = rowsToDraw(view, top / ROW_HEIGHT, Math.max(height, ROW_HEIGHT) / ROW_HEIGHT, OVERSCAN);
  const needle = find.trim().toLowerCase();
  const found = useMemo(() => findIn(log, view, needle), [log, view, view.length, needle]); // eslint-disable-line react-hooks/exhaustive-deps
  const current = found.length > 0 ? found[Math.min(findAt, found.length - 1)] : undefined;
  const matchSet = useMemo(() => new Set(found), [found]);
  const newLines = following ? 0 : Math.max(0, view.length - pausedAt);
  const numberWidth = `${String(Math.max(log.lastSeq, store.lastSeq)).length + 1}ch`;
  /** Lines of the log before the first one held, and (reading earlier lines) after the last. */
  const before = log.firstSeq - 1;
  const after = earlier ? Math.max(0, store.lastSeq - earlier.lastSeq) : 0;

  const follow = () => {
    setSeeking(false);
    setEarlier(null);
    setFollowing(true);
  };
  /** Reads the lines before the first one held and shows them above it (the live store is left as it is). */
  const readEarlier = async (around?: number) => {
    if (!readLines || reading) return;
    // At most half the window at a time, so the line that was first is still held after.
    const chunk = Math.min(EARLIER_LINES, Math.ceil(store.capacity / 2));
    const first = log.firstSeq;
    const from = Math.max(0, around !== undefined ? around - 1 - Math.floor(chunk / 2) : first - 1 - chunk);
    setReading(true);
    setReadError(null);
    try {
      const lines = await readLines(from, around !== undefined ? chunk : first - 1 - from);
      if (around === undefined && !lines.some((l) => Number(l.seq) < first)) {
        setNoneBefore(first);
        return;
      }
      if (around !== undefined) {
        const held = new LogStore(store.capacity);
        held.append(lines);
        held.flush();
        setEarlier(held);
      } else {
        const held = earlier ?? LogStore.window(store.lines, store.capacity);
        held.prepend(lines);
        setEarlier(held);
        setAnchor(first);
      }
      if (following) setPausedAt(view.length);
      setFollowing(false);
    } catch (err) {
      setReadError(ApiError.from(err));
    } finally {
      setReading(false);
    }
  };
  const pause = () => {
    setSeeking(false);
    if (following && scroller.current) setScrollTop(fromScroll(scroller.current.scrollTop));
    if (following) setPausedAt(view.length);
    setFollowing(false);
  };
  /** Stops following and brings the row at `pos` of the view into the middle of the viewport. */
  /** The scroll position that puts the row at `pos` of the view in the middle of the viewport. */
  const centred = (pos: number) =>
    Math.max(0, Math.min((view.tops[pos] ?? 0) * ROW_HEIGHT - Math.max(0, height - ROW_HEIGHT) / 2, total - height));
  /** The scroll position that puts the row at `pos` of the view at the top of the viewport. */
  const atTop = (pos: number) => Math.max(0, Math.min((view.tops[pos] ?? 0) * ROW_HEIGHT, total - height));
  const jumpTo = (pos: number) => {
    const el = scroller.current;
    const to = centred(pos);
    if (following) setPausedAt(view.length);
    setFollowing(false);
    setScrollTop(to);
    if (el) {
      written.current = toScroll(to);
      el.scrollTo({ top: toScroll(to) });
    }
  };
  const step = (by: 1 | -1) => {
    setSeeking(false);
    if (found.length === 0) return;
    const next = (Math.min(findAt, found.length - 1) + by + found.length) % found.length;
    setFindAt(next);
    jumpTo(found[next] ?? 0);
  };
  const errorAt = firstErrorIn(log, view);
  const clearFilters = () => {
    setQuery('');
    setMinLevel('');
    setAttempt(0);
  };
  const text = () => {
    const out: string[] = [];
    for (let i = 0; i < view.length; i++) {
      const entry = log.lines[view.indices[i] ?? -1];
      if (entry) out.push(lineText(entry));
    }
    return `${out.join('\n')}\n`;
  };
  const copy = () => {
    const all = text();
    navigator.clipboard?.writeText(all).then(
      () => setCopied(`Copied ${linesLabel(view.length)}${before > 0 ? ` (not the ${before.toLocaleString('en')} earlier ones not shown)` : ''}.`),
      () => setCopied('The browser refused to copy; use Download.'),
    );
  };
  const download = () => {
    const url = URL.createObjectURL(new Blob([text()], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName;
    a.click();
    URL.revokeObjectURL(url);
  };

  // The viewport's height: read before the first paint, then on each resize (a horizontal
  // scrollbar appearing changes it too).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const read = () => setHeight(el.clientHeight);
    read();
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(read);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // Wrapping: how many characters of the monospace font fit in the message column (read from a
  // drawn row and a probe of ten characters, again on each resize), so each row's height is known.
  const haveRows = view.length > 0;
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!wrap || !el) return;
    const measure = () => {
      const probe = el.querySelector<HTMLElement>('.log-probe');
      const message = el.querySelector<HTMLElement>('.log-line .log-message');
      const ch = probe ? probe.getBoundingClientRect().width / 10 : 0;
      const width = message ? message.getBoundingClientRect().width : 0;
      setWrapAt(ch > 0 && width >= ch ? Math.floor(width / ch) : WRAP_FALLBACK);
    };
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [wrap, haveRows, numberWidth]); // the number column widens as the log grows

  // Following: the rows above are drawn for the tail; put the scroll position there before paint.
  useLayoutEffect(() => {
    const el = scroller.current;
    // Paused, a log taller than the cap is scrolled in proportion, and the proportion changes as it grows.
    if (!el || (!following && scale === 1)) return;
    const to = toScroll(top);
    if (Math.abs(el.scrollTop - to) >= 1) {
      written.current = to;
      el.scrollTo({ top: to });
    }
  }, [following, top, scale]); // eslint-disable-line react-hooks/exhaustive-deps -- toScroll is scale's

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const at = el.scrollTop;
    const ours = written.current !== null && Math.abs(at - written.current) < 1;
    written.current = null;
    // Dragging the scrollbar up while following means "let me read", as the wheel does (a
    // position the browser clamped, the viewport having grown, is not the reader's).
    const bottom = Math.min(toScroll(top), el.scrollHeight - el.clientHeight);
    const leaving = following && !ours && at < bottom - ROW_HEIGHT;
    if (!ours && (leaving || !following)) setSeeking(false);
    if (leaving) {
      setPausedAt(view.length);
      setFollowing(false);
    }
    // While following, the position is the tail's, not this one: no render for it.
    if (!following || leaving) setScrollTop(fromScroll(at));
  };

  // Scrolling up (wheel, keys) means "let me read": stop following the tail. Ctrl+F (⌘F) in the
  // log goes to its own find, as in a terminal; elsewhere it stays the browser's.
  const findInput = useRef<HTMLInputElement>(null);
  const onLogKeys = (e: KeyboardEvent) => {
    if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) pause();
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'f') {
      e.preventDefault();
      findInput.current?.focus();
    }
  };

  // "Show in log" from outside: the line is brought into view and marked once it is published;
  // a filter that hides it is cleared first.
  const target = goTo?.seq ?? null;
  // A line asked for is shown once it is published, a filter that hides it cleared first. Worked
  // out in render (the rows drawn next are the ones around it); the scroll and the focus follow
  // before paint.
  const [asked, setAsked] = useState(goTo);
  const [pending, setPending] = useState<number | null>(null);
  const [shown, setShown] = useState<{ to: number; focus: boolean } | null>(null);
  if (goTo !== asked) {
    setAsked(goTo);
    setPending(goTo ? goTo.seq : null);
  }
  const pendingIndex = pending !== null ? indexOfSeq(log, pending) : -1;
  if (pending !== null) {
    const index = pendingIndex;
    const pos = positionIn(view, index);
    if (index >= 0 && pos < 0) clearFilters();
    // Reading earlier lines, asked for one the live store holds: back to the live store.
    if (index < 0 && earlier && pending >= store.firstSeq) setEarlier(null);
    if (pos >= 0) {
      const to = centred(pos);
      if (following) setPausedAt(view.length);
      setFollowing(false);
      setScrollTop(to);
      setPending(null);
      setShown({ to, focus: true });
    }
  }
  // A find typed before its first match arrived (the log still loading, or a running task yet to
  // log it) brings that match into view when it comes, as if typed then — unless the reader moved
  // meanwhile (stepped, scrolled, paused or resumed following) or emptied the find.
  // A line asked for that the live store no longer holds (nor the earlier lines shown): the lines
  // around it are read back, once per line asked for.
  const lineBefore = pending !== null && pendingIndex < 0 && pending < store.firstSeq ? pending : null;
  const sought = useRef<number | null>(null);
  useEffect(() => {
    if (lineBefore === null || sought.current === lineBefore) return;
    sought.current = lineBefore;
    void readEarlier(lineBefore);
  }, [lineBefore]); // eslint-disable-line react-hooks/exhaustive-deps -- read once per line asked for
  // Earlier lines put above: the line that was first stays at the top of the viewport.
  if (anchor !== null) {
    const pos = positionIn(view, indexOfSeq(log, anchor));
    const to = pos >= 0 ? atTop(pos) : 0;
    setAnchor(null);
    setScrollTop(to);
    setShown({ to, focus: false });
  }
  const seekTo = seeking && needle ? found[0] : undefined;
  if (seekTo !== undefined) {
    const to = centred(seekTo);
    setSeeking(false);
    if (following) setPausedAt(view.length);
    setFollowing(false);
    setScrollTop(to);
    setShown({ to, focus: false }); // the focus stays in the find box
  }
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!shown || !el) return;
    written.current = toScroll(shown.to);
    el.scrollTo({ top: toScroll(shown.to) });
    if (!shown.focus) return;
    el.scrollIntoView?.({ block: 'nearest' });
    el.focus({ preventScroll: true });
  }, [shown]); // eslint-disable-line react-hooks/exhaustive-deps -- toScroll is this render's

  const rows: number[] = [];
  for (let i = first; i < end; i++) rows.push(i);

  return (
    <section className={`log-viewer${wrap ? ' wrap' : ''}`} aria-label={label}>
      <div className="log-toolbar" role="toolbar" aria-label={`${label} controls`}>
        <button
          type="button"
          data-testid="log-follow"
          aria-pressed={following}
          onClick={() => (following ? pause() : follow())}
        >
          {following ? 'Pause follow' : 'Follow tail'}
        </button>
        {newLines > 0 && (
          <button type="button" data-testid="log-new-lines" onClick={follow}>
            {newLines === 1 ? '1 new line' : `${newLines} new lines`} ↓
          </button>
        )}
        <button type="button" data-testid="log-wrap" aria-pressed={wrap} onClick={() => setWrap((w) => !w)}>
          Wrap lines
        </button>
        <button type="button" data-testid="log-first-error" disabled={errorAt < 0} onClick={() => jumpTo(errorAt)}>
          First error
        </button>
        <label htmlFor={`${ids}-level`}>Level</label>
        <select
          id={`${ids}-level`}
          data-testid="log-level"
          value={minLevel}
          onChange={(e) => setMinLevel(e.target.value as LogLevel | '')}
        >
          <option value="">all</option>
          {LEVELS.map((l) => (
            <option key={l} value={l}>
              {levelLabel(l)} and above
            </option>
          ))}
        </select>
        {log.attempts.length > 1 && (
          <>
            <label htmlFor={`${ids}-attempt`}>Attempt</label>
            <select
              id={`${ids}-attempt`}
              data-testid="log-attempt"
              value={attempt}
              onChange={(e) => setAttempt(Number(e.target.value))}
            >
              <option value={0}>all</option>
              {log.attempts.map((a) => (
                <option key={a} value={a}>
                  {a === 0 ? 'not recorded' : `attempt ${a}`}
                </option>
              ))}
            </select>
          </>
        )}
        <label htmlFor={`${ids}-search`}>Search</label>
        <input
          id={`${ids}-search`}
          data-testid="log-search"
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder="text in the log"
        />
        <span className="log-find" role="search" aria-label={`Find in the ${label.toLowerCase()}`}>
          <label htmlFor={`${ids}-find`}>Find</label>
          <input
            id={`${ids}-find`}
            data-testid="log-find"
            type="search"
            value={find}
            placeholder="Enter: next"
            aria-describedby={`${ids}-found`}
            onChange={(e) => {
              setFind(e.target.value);
              setFindAt(0);
              // As a terminal's find does: the first match comes into view as it is typed.
              const typed = e.target.value.trim().toLowerCase();
              const firstMatch = findIn(log, view, typed)[0];
              if (firstMatch !== undefined) jumpTo(firstMatch);
              setSeeking(firstMatch === undefined && typed !== '');
            }}
            ref={findInput}
            aria-keyshortcuts="Control+F Meta+F"
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                step(e.shiftKey ? -1 : 1);
              } else if (e.key === 'Escape' && find) {
                e.preventDefault();
                setFind('');
                setFindAt(0);
              }
            }}
          />
          <button type="button" data-testid="log-find-prev" aria-label="Previous match" disabled={found.length === 0} onClick={() => step(-1)}>
            ↑
          </button>
          <button type="button" data-testid="log-find-next" aria-label="Next match" disabled={found.length === 0} onClick={() => step(1)}>
            ↓
          </button>
          <span id={`${ids}-found`} className="log-found" data-testid="log-found" aria-live="polite">
            {needle ? (found.length === 0 ? 'no match' : `${Math.min(findAt, found.length - 1) + 1} of ${found.length}`) : ''}
          </span>
        </span>
        <button type="button" data-testid="log-copy" disabled={view.length === 0} onClick={copy}>
          Copy
        </button>
        <button type="button" data-testid="log-download" disabled={view.length === 0} onClick={download}>
          Download
        </button>
        {copied && (
          <span className="help" role="status" data-testid="log-copied">
            {copied}
          </span>
        )}
        <span className="log-count" data-testid="log-count" aria-live="polite">
          {view.length === log.lines.length
            ? linesLabel(log.lines.length)
            : `${view.length} of ${linesLabel(log.lines.length)}`}
        </span>
      </div>
      {(before > 0 || earlier) && (
        <div className="log-window" data-testid="log-window" role="status">
          {before > 0 && noneBefore === log.firstSeq && (
            <span data-testid="log-earlier">The manager no longer stores the lines before line {log.firstSeq}.</span>
          )}
          {before > 0 && noneBefore !== log.firstSeq && (
            <span data-testid="log-earlier">
              {before === 1 ? '1 earlier line is' : `${before.toLocaleString('en')} earlier lines are`} not shown
              {earlier ? '' : ` (the newest ${linesLabel(store.capacity)} are kept)`}.{' '}
              {readLines && (
                <button type="button" data-testid="log-load-earlier" disabled={reading} onClick={() => void readEarlier()}>
                  {reading ? 'Loading…' : 'Load earlier'}
                </button>
              )}
            </span>
          )}
          {earlier && (
            <span data-testid="log-later">
              Showing lines {earlier.firstSeq}–{earlier.lastSeq}
              {after > 0 ? `; ${after === 1 ? '1 later line' : `${after.toLocaleString('en')} later lines`} not shown` : ''}.{' '}
              <button type="button" data-testid="log-back-to-tail" onClick={follow}>
                Back to the live tail
              </button>
            </span>
          )}
        </div>
      )}
      {readError && <ErrorNote error={readError} what="The earlier lines could not be read" />}
      <div
        ref={scroller}
        className="log-scroller"
        data-testid="log-scroller"
        role="log"
        aria-live="off"
        aria-label={`${label} lines`}
        tabIndex={0}
        onScroll={onScroll}
        onWheel={(e) => {
          if (e.deltaY < 0) pause();
        }}
        onKeyDown={onLogKeys}
      >
        {view.length === 0 && (
          <p className="empty-note" data-testid="log-empty">
            {log.lines.length === 0 ? (
              'No log lines yet.'
            ) : (
              <>
                None of the {linesLabel(log.lines.length)} matches
                {query.trim() ? <> “<Untrusted text={query.trim()} />”</> : null}
                {minLevel ? ` at ${levelLabel(minLevel)} and above` : ''}
                {attempt ? ` in attempt ${attempt}` : ''}.{' '}
                <button
                  type="button"
                  className="link"
                  data-testid="log-clear-filters"
                  onClick={clearFilters}
                >
                  Show every line
                </button>
              </>
            )}
          </p>
        )}
        <span className="log-probe" aria-hidden="true">
          0000000000
        </span>
        <div className="log-spacer" data-testid="log-spacer" style={{ height: spacer }}>
          {rows.map((i) => {
            const entry = log.lines[view.indices[i] ?? -1];
            if (!entry) return null;
            const fields = Object.entries(entry.fields);
            const rowsTall = wrap ? wrappedRows(entry, wrapAt || WRAP_FALLBACK) : entry.rows;
            const fieldText = fields.map(([k, v]) => `${k}=${v}`).join(' ');
            return (
              <div
                key={entry.seq}
                className={`log-line level-${levelText(entry)}${i === current ? ' find-current' : matchSet.has(i) ? ' find-match' : ''}${entry.seq === target ? ' log-target' : ''}`}
                data-testid="log-line"
                data-seq={entry.seq}
                data-target={entry.seq === target ? 'true' : undefined}
                data-find={i === current ? 'current' : matchSet.has(i) ? 'match' : undefined}
                data-attempt={entry.attempt}
                style={{ transform: `translateY(${(view.tops[i] ?? 0) * ROW_HEIGHT + drawnAt}px)`, height: rowsTall * ROW_HEIGHT }}
              >
                {entry.attemptStart && (
                  <span className="log-attempt" data-testid="log-attempt-start">
                    attempt {entry.attempt}
                  </span>
                )}
                <span className="log-num" style={{ width: numberWidth }}>
                  {entry.seq}
                </span>
                <span className="log-time">{clock(entry.time)}</span>
                <span className="log-level">{levelText(entry)}</span>
                <span className="log-message">
                  <Ansi text={entry.message} multiline={entry.rows > 1} />
                  {wrap && fields.length > 0 && (
                    <span className="log-fields">
                      {' '}
                      <Untrusted text={fieldText} />
                    </span>
                  )}
                </span>
                {!wrap && fields.length > 0 && (
                  <span className="log-fields">
                    <Untrusted text={fieldText} />
                  </span>
                )}
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
