import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useFeedEvents } from '../app/feed';
import { ErrorNote } from '../components/ErrorNote';
import { TableScroll } from '../components/TableScroll';
import { Untrusted } from '../components/Untrusted';
import { ApiError, useClient, type AuditEntry, type VerifyAuditResponse } from '../ipc';
import { hrefOf } from '../app/router';
import { ACTION_FAMILIES, actorWords, auditSentence } from '../lib/auditWords';
import { formatTime } from '../lib/format';
import { revealHidden } from '../lib/untrusted';

const PAGE = 200;
/**
 * The most entries drawn at once: paging further back lets the newest go (and "Newer entries"
 * brings them back), so the table stays this size however far the person reads.
 */
export const AUDIT_SHOWN = 600;
/**
 * New entries are looked for after each event of the feed, and this often besides (a rule or a
 * secret changed makes no event).
 */
const POLL_MS = 5_000;

/** An entry's raw action and number, its details folded under them (pretty-printed when opened). */
function Entry({ entry }: { entry: AuditEntry }) {
  const head = (
    <>
      <code>
        <Untrusted text={entry.action} />
      </code>{' '}
      <span className="help">#{entry.id}</span>
    </>
  );
  const json = entry.detail_json;
  if (!json || json === '{}') return head;
  let pretty = json;
  try {
    pretty = JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    // not JSON: shown as it is
  }
  return (
    <details data-testid="audit-detail-folded">
      <summary>{head}</summary>
      <pre>
        <Untrusted text={pretty} />
      </pre>
    </details>
  );
}

/** Who may have done something: the person, the manager, a rule, each agent known. */
function useActors(): { value: string; label: string }[] {
  const client = useClient();
  const [agents, setAgents] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    client.listAgents().then(
      (r) => live && setAgents(r.agents.map((x) => x.id)),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [client]);
  return [
    { value: 'client', label: 'You' },
    { value: 'manager', label: 'HyperAgent' },
    { value: 'policy', label: 'A permission rule' },
    ...agents.map((id) => ({ value: id, label: revealHidden(id) })),
  ];
}

interface Filters {
  task: string;
  actor: string;
  action: string;
}

/** The entries drawn: a window of the log, newest first. */
interface Window {
  entries: AuditEntry[];
  /** Older entries than the last one drawn exist. */
  older: boolean;
  /** Newer entries than the first one drawn exist (the person paged back past the window). */
  newer: boolean;
}

/** `entries` put before (newer) or after (older) the window, at most AUDIT_SHOWN kept from that side. */
function widen(w: Window, entries: AuditEntry[], side: 'newer' | 'older', more: boolean): Window {
  if (side === 'newer') {
    const all = [...entries, ...w.entries];
    return { entries: all.slice(0, AUDIT_SHOWN), older: w.older || all.length > AUDIT_SHOWN, newer: more };
  }
  const all = [...w.entries, ...entries];
  const cut = Math.max(0, all.length - AUDIT_SHOWN);
  return { entries: all.slice(cut), older: more, newer: w.newer || cut > 0 };
}

/**
 * The audit log, newest first, a page back at a time, each entry a sentence ("You allowed
 * bootstrapper to connect to pypi.org:443, for this task") with its raw action and details
 * folded beside it; filtered on the manager by who did it and by the kind of action; its hash
 * chain checked; exported as JSON Lines, oldest first. New entries come in at the top as they are
 * written (after each event of the feed, and every few seconds); at most AUDIT_SHOWN are drawn.
 */
export function Audit() {
  const client = useClient();
  const ids = useId();
  const actors = useActors();
  const [taskFilter, setTaskFilter] = useState('');
  const [filters, setFilters] = useState<Filters>({ task: '', actor: '', action: '' });
  const [shown, setShown] = useState<Window | null>(null);
  const entries = shown?.entries ?? null;
  const [error, setError] = useState<ApiError | null>(null);
  /** Counts the lists asked for (a new filter starts one): an answer to an older one is dropped. */
  const asked = useRef(0);
  const [busy, setBusy] = useState(false);
  const [verify, setVerify] = useState<VerifyAuditResponse | 'checking' | null>(null);
  const [exporting, setExporting] = useState(false);

  /** The newest page, in place of what is shown. */
  const load = useCallback(
    (f: Filters) => {
      const mine = ++asked.current;
      client.listAudit({ task_id: f.task, actor: f.actor, action: f.action, newest_first: true, limit: PAGE }).then(
        (r) => {
          if (mine !== asked.current) return;
          setShown({ entries: r.entries, older: r.more, newer: false });
          setError(null);
        },
        (err: unknown) => mine === asked.current && setError(ApiError.from(err)),
      );
    },
    [client],
  );
  useEffect(() => load(filters), [load, filters]);

  /** A page before (older) or after (newer) the window. */
  const page = (side: 'newer' | 'older') => {
    const w = shown;
    if (!w) return;
    const mine = asked.current;
    const f = filters;
    const request =
      side === 'older'
        ? { newest_first: true, before_id: w.entries.at(-1)?.id }
        : { newest_first: false, after_id: w.entries[0]?.id };
    setBusy(true);
    client
      .listAudit({ task_id: f.task, actor: f.actor, action: f.action, limit: PAGE, ...request })
      .then(
        (r) => {
          if (mine !== asked.current) return;
          const got = side === 'older' ? r.entries : [...r.entries].reverse();
          setShown((now) => (now ? widen(now, got, side, r.more) : now));
          setError(null);
        },
        (err: unknown) => mine === asked.current && setError(ApiError.from(err)),
      )
      .finally(() => setBusy(false));
  };

  // New entries: while the newest are shown, those written since come in at the top. One look at
  // a time; asked again meanwhile, it looks once more after.
  const looking = useRef(false);
  const lookAgain = useRef(false);
  const latest = useRef({ shown, filters });
  useEffect(() => {
    latest.current = { shown, filters };
  });
  const lookForNew = useCallback(async () => {
    if (looking.current) {
      lookAgain.current = true;
      return;
    }
    looking.current = true;
    try {
      do {
        lookAgain.current = false;
        const { shown: w, filters: f } = latest.current;
        if (!w || w.newer) return;
        const mine = asked.current;
        const r = await client.listAudit({ task_id: f.task, actor: f.actor, action: f.action, after_id: w.entries[0]?.id, limit: PAGE });
        if (mine !== asked.current) return;
        // More than a page written since: the newest page instead.
        if (r.more) return load(f);
        if (r.entries.length === 0) continue;
        const next = widen(w, [...r.entries].reverse(), 'newer', false);
        latest.current = { shown: next, filters: f };
        setShown((now) => (now === w ? next : now)); // not if the person paged meanwhile
      } while (lookAgain.current);
    } catch {
      // the status line says when the manager is away
    } finally {
      looking.current = false;
    }
  }, [client, load]);
  useFeedEvents(() => void lookForNew());
  useEffect(() => {
    const timer = setInterval(() => void lookForNew(), POLL_MS);
    return () => clearInterval(timer);
  }, [lookForNew]);

  const runVerify = () => {
    setVerify('checking');
    client.verifyAudit().then(setVerify, (err: unknown) => {
      setVerify(null);
      setError(ApiError.from(err));
    });
  };
  useEffect(runVerify, [client]); // eslint-disable-line react-hooks/exhaustive-deps

  const exportAll = async () => {
    setExporting(true);
    try {
      const lines: string[] = [];
      let after: string | undefined;
      for (;;) {
        const r = await client.listAudit({ task_id: filters.task, actor: filters.actor, action: filters.action, after_id: after, limit: PAGE });
        for (const e of r.entries) lines.push(JSON.stringify(e));
        const last = r.entries.at(-1);
        if (!last || !r.more) break;
        after = last.id;
      }
      const blob = new Blob(lines.map((l) => `${l}\n`), { type: 'application/jsonl' });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = filters.task ? `hyperagent-audit-${filters.task}.jsonl` : 'hyperagent-audit.jsonl';
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      setError(ApiError.from(err));
    } finally {
      setExporting(false);
    }
  };

  const filtered = filters.task !== '' || filters.actor !== '' || filters.action !== '';

  return (
    <div className="view">
      <h1>Audit log</h1>
      <div className="verify" data-testid="audit-verify" aria-live="polite">
        {verify === 'checking' && <span>Checking the hash chain…</span>}
        {verify && verify !== 'checking' && (
          <span className={`badge ${verify.intact ? 'ok' : 'bad'}`} data-intact={String(verify.intact)}>
            {verify.intact
              ? `Intact: ${verify.entries_checked} entries checked`
              : `Tampered: ${verify.problems.length} problems in ${verify.entries_checked} entries`}
          </span>
        )}
        {verify && verify !== 'checking' && !verify.intact && (
          <ul className="problems">
            {verify.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
        <button type="button" onClick={runVerify} disabled={verify === 'checking'}>
          Verify again
        </button>
      </div>
      <form
        className="filters"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          setFilters((f) => ({ ...f, task: taskFilter.trim() }));
        }}
      >
        <label htmlFor={`${ids}-actor`}>Who</label>
        <select
          id={`${ids}-actor`}
          data-testid="audit-actor"
          value={filters.actor}
          onChange={(e) => setFilters((f) => ({ ...f, actor: e.target.value }))}
        >
          <option value="">anyone</option>
          {actors.map((a) => (
            <option key={a.value} value={a.value}>
              {a.label}
            </option>
          ))}
        </select>
        <label htmlFor={`${ids}-action`}>What</label>
        <select
          id={`${ids}-action`}
          data-testid="audit-action"
          value={filters.action}
          onChange={(e) => setFilters((f) => ({ ...f, action: e.target.value }))}
        >
          <option value="">everything</option>
          {ACTION_FAMILIES.map((a) => (
            <option key={a.prefix} value={a.prefix}>
              {a.label}
            </option>
          ))}
        </select>
        <label htmlFor={`${ids}-task`}>Task id</label>
        <input id={`${ids}-task`} value={taskFilter} onChange={(e) => setTaskFilter(e.target.value)} spellCheck={false} />
        <button type="submit">Apply</button>
        <button type="button" onClick={() => void exportAll()} disabled={exporting} data-testid="audit-export">
          {exporting ? 'Exporting…' : 'Export as JSON Lines'}
        </button>
      </form>
      {error && <ErrorNote error={error} what="The audit log could not be read" />}
      {entries && entries.length === 0 && (
        <p className="empty-note" data-testid="audit-empty">
          {filtered ? (
            'No entry matches these filters.'
          ) : (
            <>
              Nothing recorded yet: each task submitted, permission answered and rule changed is written here.{' '}
              <a href={hrefOf.newProject}>Start a new project</a>.
            </>
          )}{' '}
          {filtered && (
            <button
              type="button"
              className="link"
              data-testid="audit-clear-filters"
              onClick={() => {
                setTaskFilter('');
                setFilters({ task: '', actor: '', action: '' });
              }}
            >
              Clear the filters
            </button>
          )}
        </p>
      )}
      {shown?.newer && (
        <p className="help" data-testid="audit-window">
          Newer entries are not drawn (at most {AUDIT_SHOWN} at a time).{' '}
          <button type="button" data-testid="audit-newer" disabled={busy} onClick={() => page('newer')}>
            Newer entries
          </button>{' '}
          <button type="button" data-testid="audit-newest" onClick={() => load(filters)}>
            Back to the newest
          </button>
        </p>
      )}
      {entries && entries.length > 0 && (
        <TableScroll label="Audit entries">
          <table className="table audit" data-testid="audit-table">
            <caption className="sr-only">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What happened</th>
                <th scope="col">Task</th>
                <th scope="col">Entry</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => {
                const sentence = auditSentence(e);
                return (
                  <tr key={e.id} data-testid="audit-row" data-action={e.action} data-entry-id={e.id}>
                    <td className="when">{formatTime(e.time)}</td>
                    <td data-testid="audit-sentence">
                      {sentence !== null ? (
                        <Untrusted text={sentence} />
                      ) : (
                        <>
                          <Untrusted text={actorWords(e.actor)} />:{' '}
                          <code>
                            <Untrusted text={e.action} />
                          </code>
                        </>
                      )}
                    </td>
                    <td>
                      {e.task_id ? (
                        <a href={hrefOf.task(e.task_id)} title={e.task_id} data-testid="audit-task-link">
                          <code>{e.task_id.slice(0, 12)}</code>
                        </a>
                      ) : (
                        ''
                      )}
                    </td>
                    <td className="detail">
                      <Entry entry={e} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableScroll>
      )}
      {shown?.older && (
        <button type="button" data-testid="audit-older" disabled={busy} onClick={() => page('older')}>
          Load older entries
        </button>
      )}
    </div>
  );
}
