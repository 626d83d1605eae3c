import { useVirtualizer } from '@tanstack/react-virtual';
import { useId, useLayoutEffect, useRef, useState, useSyncExternalStore, type KeyboardEvent } from 'react';
import type { LogLevel } from '../ipc';
import { levelLabel } from '../lib/format';
import { LEVEL_RANK, LogFilter, type LogStore } from '../lib/logStore';
import { Untrusted } from './Untrusted';

/** Height of one row in CSS pixels (rows do not wrap; long lines scroll sideways). */
export const ROW_HEIGHT = 20;

const LEVELS: LogLevel[] = ['LOG_LEVEL_TRACE', 'LOG_LEVEL_DEBUG', 'LOG_LEVEL_INFO', 'LOG_LEVEL_WARN', 'LOG_LEVEL_ERROR'];

function clock(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** A task's log: virtualized rows, following the tail unless paused, filter by level, search. */
export function LogViewer({ store, label = 'Log' }: { store: LogStore; label?: string }) {
  const version = useSyncExternalStore(store.subscribe, store.getVersion);
  const [following, setFollowing] = useState(true);
  const [minLevel, setMinLevel] = useState<LogLevel | ''>('');
  const [query, setQuery] = useState('');
  const [attempt, setAttempt] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);
  const ids = useId();

  const [filter] = useState(() => new LogFilter(store));
  const minRank = minLevel ? LEVEL_RANK[minLevel] : 0;
  const view = filter.indices(version, minRank, query.trim().toLowerCase(), attempt);

  const virtualizer = useVirtualizer({
    count: view.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
    // Re-render in React's normal batches rather than synchronously inside each scroll event.
    useFlushSync: false,
  });

  // Follow the tail: after each published frame, scroll to the end of the rows.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!following || !el || view.length === 0) return;
    const bottom = Math.max(0, view.length * ROW_HEIGHT - el.clientHeight);
    if (el.scrollTop !== bottom) el.scrollTo({ top: bottom });
  }, [following, view]);

  // Scrolling up (wheel, keys) means "let me read": stop following the tail.
  const pauseOnKeys = (e: KeyboardEvent) => {
    if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) setFollowing(false);
  };

  return (
    <section className="log-viewer" aria-label={label}>
      <div className="log-toolbar" role="toolbar" aria-label={`${label} controls`}>
        <button
          type="button"
          data-testid="log-follow"
          aria-pressed={following}
          onClick={() => setFollowing((f) => !f)}
        >
          {following ? 'Pause follow' : 'Follow tail'}
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
        {store.attempts.length > 1 && (
          <>
            <label htmlFor={`${ids}-attempt`}>Attempt</label>
            <select
              id={`${ids}-attempt`}
              data-testid="log-attempt"
              value={attempt}
              onChange={(e) => setAttempt(Number(e.target.value))}
            >
              <option value={0}>all</option>
              {store.attempts.map((a) => (
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
        <span className="log-count" data-testid="log-count" aria-live="polite">
          {view.length === store.lines.length
            ? `${store.lines.length} lines`
            : `${view.length} of ${store.lines.length} lines`}
        </span>
      </div>
      <div
        ref={scroller}
        className="log-scroller"
        data-testid="log-scroller"
        role="log"
        aria-live="off"
        aria-label={`${label} lines`}
        tabIndex={0}
        onWheel={(e) => {
          if (e.deltaY < 0) setFollowing(false);
        }}
        onKeyDown={pauseOnKeys}
      >
        <div className="log-spacer" style={{ height: virtualizer.getTotalSize() }}>
          {virtualizer.getVirtualItems().map((row) => {
            const entry = store.lines[view[row.index] ?? -1];
            if (!entry) return null;
            const fields = Object.entries(entry.fields);
            return (
              <div
                key={entry.seq}
                className={`log-line level-${levelLabel(entry.level)}`}
                data-testid="log-line"
                data-seq={entry.seq}
                data-attempt={entry.attempt}
                style={{ transform: `translateY(${row.start}px)`, height: ROW_HEIGHT }}
              >
                {entry.attemptStart && (
                  <span className="log-attempt" data-testid="log-attempt-start">
                    attempt {entry.attempt}
                  </span>
                )}
                <span className="log-time">{clock(entry.time)}</span>
                <span className="log-level">{levelLabel(entry.level)}</span>
                <span className="log-message">
                  <Untrusted text={entry.message} />
                </span>
                {fields.length > 0 && (
                  <span className="log-fields">
                    <Untrusted text={fields.map(([k, v]) => `${k}=${v}`).join(' ')} />
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
