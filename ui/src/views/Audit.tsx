import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { TableScroll } from '../components/TableScroll';
import { Untrusted } from '../components/Untrusted';
import { ApiError, useClient, type AuditEntry, type VerifyAuditResponse } from '../ipc';
import { hrefOf } from '../app/router';
import { formatTime } from '../lib/format';

const PAGE = 200;

/** Details longer than this are folded, their first part shown as the summary. */
const FOLD_AT = 120;

/** An entry's details: short ones as they are, long ones folded and, open, pretty-printed. */
function Detail({ json }: { json: string }) {
  if (json.length <= FOLD_AT) {
    return (
      <code>
        <Untrusted text={json} />
      </code>
    );
  }
  let pretty = json;
  try {
    pretty = JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    // not JSON: shown as it is
  }
  return (
    <details data-testid="audit-detail-folded">
      <summary>
        <code>
          <Untrusted text={`${json.slice(0, FOLD_AT)}…`} />
        </code>
      </summary>
      <pre>
        <Untrusted text={pretty} />
      </pre>
    </details>
  );
}

/** The audit log, oldest first, a page at a time; its hash chain checked; exported as JSON Lines. */
export function Audit() {
  const client = useClient();
  const ids = useId();
  const [taskFilter, setTaskFilter] = useState('');
  const [appliedTask, setAppliedTask] = useState('');
  const [actionFilter, setActionFilter] = useState('');
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [verify, setVerify] = useState<VerifyAuditResponse | 'checking' | null>(null);
  const [exporting, setExporting] = useState(false);

  const load = useCallback(
    (taskId: string, after?: string) => {
      client.listAudit({ task_id: taskId, after_id: after, limit: PAGE }).then(
        (r) => {
          setEntries((old) => (after && old ? [...old, ...r.entries] : r.entries));
          setMore(r.entries.length === PAGE);
          setError(null);
        },
        (err: unknown) => setError(ApiError.from(err)),
      );
    },
    [client],
  );
  useEffect(() => load(appliedTask), [load, appliedTask]);

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
        const r = await client.listAudit({ task_id: appliedTask, after_id: after, limit: PAGE });
        for (const e of r.entries) lines.push(JSON.stringify(e));
        const last = r.entries.at(-1);
        if (!last || r.entries.length < PAGE) break;
        after = last.id;
      }
      const blob = new Blob(lines.map((l) => `${l}\n`), { type: 'application/jsonl' });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = appliedTask ? `hyperagent-audit-${appliedTask}.jsonl` : 'hyperagent-audit.jsonl';
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

  const needle = actionFilter.trim().toLowerCase();
  const shown = entries?.filter((e) => !needle || e.action.toLowerCase().includes(needle) || e.actor.toLowerCase().includes(needle)) ?? null;

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
          setAppliedTask(taskFilter.trim());
        }}
      >
        <label htmlFor={`${ids}-task`}>Task id</label>
        <input id={`${ids}-task`} value={taskFilter} onChange={(e) => setTaskFilter(e.target.value)} spellCheck={false} />
        <button type="submit">Apply</button>
        <label htmlFor={`${ids}-action`}>Action contains</label>
        <input id={`${ids}-action`} type="search" value={actionFilter} onChange={(e) => setActionFilter(e.target.value)} />
        <button type="button" onClick={() => void exportAll()} disabled={exporting} data-testid="audit-export">
          {exporting ? 'Exporting…' : 'Export as JSON Lines'}
        </button>
      </form>
      {error && <ErrorNote error={error} what="The audit log could not be read" />}
      {shown && shown.length === 0 && entries && (
        <p className="empty-note" data-testid="audit-empty">
          {entries.length === 0
            ? appliedTask
              ? 'No entry for this task.'
              : 'Nothing recorded yet.'
            : `None of the ${entries.length} entries read has an action or actor containing “${actionFilter.trim()}”.`}{' '}
          {(appliedTask || needle) && (
            <button
              type="button"
              className="link"
              data-testid="audit-clear-filters"
              onClick={() => {
                setTaskFilter('');
                setActionFilter('');
                setAppliedTask('');
              }}
            >
              Clear the filters
            </button>
          )}
        </p>
      )}
      {shown && shown.length > 0 && (
        <TableScroll label="Audit entries">
          <table className="table" data-testid="audit-table">
            <caption className="sr-only">Audit entries, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Task</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.id} data-testid="audit-row">
                  <td>{e.id}</td>
                  <td>{formatTime(e.time)}</td>
                  <td>
                    <Untrusted text={e.actor} />
                  </td>
                  <td>
                    <code>
                      <Untrusted text={e.action} />
                    </code>
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
                    <Detail json={e.detail_json} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {entries && more && (
        <button type="button" onClick={() => load(appliedTask, entries.at(-1)?.id)}>
          Load more
        </button>
      )}
    </div>
  );
}
