import { useMemo, useState } from 'react';
import { Diff } from '../../components/Diff';
import { TableScroll } from '../../components/TableScroll';
import { Untrusted } from '../../components/Untrusted';
import type { Task } from '../../ipc';
import { OpenAt } from './OpenAt';
import { SEVERITY_ORDER, rank, tone, type FindingsResult } from './shapes';

/**
 * Findings (code review, security audit): severity, where (a `file:line` that opens the file at
 * that line in the editor, or a package@version / commit), rule, message and the fix the tool
 * offers. Filter by severity and kind, or by words in the file, rule or message.
 */
export function FindingsView({ task, result }: { task: Task; result: FindingsResult }) {
  const severities = useMemo(
    () => [...new Set(result.findings.map((f) => f.severity))].sort((a, b) => rank(SEVERITY_ORDER, a) - rank(SEVERITY_ORDER, b)),
    [result.findings],
  );
  const kinds = useMemo(() => [...new Set(result.findings.map((f) => f.kind).filter(Boolean))].sort(), [result.findings]);
  const [severity, setSeverity] = useState('');
  const [kind, setKind] = useState('');
  const [words, setWords] = useState('');
  const needle = words.trim().toLowerCase();
  const rows = result.findings
    .filter((f) => (!severity || f.severity === severity) && (!kind || f.kind === kind))
    .filter(
      (f) =>
        !needle ||
        [f.file, f.location, f.rule, f.message, f.tool].some((s) => s.toLowerCase().includes(needle)),
    )
    .sort(
      (a, b) =>
        rank(SEVERITY_ORDER, a.severity) - rank(SEVERITY_ORDER, b.severity) ||
        (a.file || a.location).localeCompare(b.file || b.location) ||
        a.line - b.line,
    );

  return (
    <section aria-label="Findings" data-testid="findings-view">
      <h3>Findings</h3>
      {result.findings.length === 0 ? (
        <p data-testid="no-findings">Nothing found.</p>
      ) : (
        <>
          <div className="filters" role="group" aria-label="Filter findings">
            <label>
              Severity{' '}
              <select value={severity} onChange={(e) => setSeverity(e.target.value)} data-testid="severity-filter">
                <option value="">all ({result.findings.length})</option>
                {severities.map((s) => (
                  <option key={s} value={s}>
                    {s} ({result.findings.filter((f) => f.severity === s).length})
                  </option>
                ))}
              </select>
            </label>
            {kinds.length > 1 && (
              <label>
                Kind{' '}
                <select value={kind} onChange={(e) => setKind(e.target.value)} data-testid="kind-filter">
                  <option value="">all</option>
                  {kinds.map((k) => (
                    <option key={k} value={k}>
                      {k} ({result.findings.filter((f) => f.kind === k).length})
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label>
              Search <input type="search" value={words} onChange={(e) => setWords(e.target.value)} placeholder="file, rule or words" />
            </label>
          </div>
          <TableScroll label="Findings">
            <table className="table findings" data-testid="findings-table">
              <thead>
                <tr>
                  <th scope="col">Severity</th>
                  <th scope="col">Where</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Message</th>
                  <th scope="col">Fix</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((f, i) => (
                  <tr key={`${f.file}:${f.line}:${f.column}:${f.rule}:${f.location}:${i}`} data-testid="finding-row" data-severity={f.severity}>
                    <td>
                      <span className={`badge ${tone(f.severity)}`}>
                        <Untrusted text={f.severity} />
                      </span>
                    </td>
                    <td>
                      {f.location && f.location !== `${f.file}:${f.line}` && (
                        <code className="location">
                          <Untrusted text={f.location} />
                        </code>
                      )}{' '}
                      {f.file && f.line > 0 && <OpenAt taskId={task.id} file={f.file} line={f.line} column={f.column} />}
                    </td>
                    <td>
                      <code>
                        <Untrusted text={f.rule} />
                      </code>
                      {f.tool && (
                        <span className="help">
                          {' '}
                          (<Untrusted text={f.tool} />)
                        </span>
                      )}
                    </td>
                    <td className="detail">
                      <Untrusted text={f.message} multiline />
                    </td>
                    <td className="detail">
                      {f.fixDiff ? (
                        <details>
                          <summary>
                            <Untrusted text={f.fix || 'the change'} />
                          </summary>
                          <Diff text={f.fixDiff} />
                        </details>
                      ) : (
                        <Untrusted text={f.fix} multiline />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          {rows.length === 0 && (
            <p className="empty-note" data-testid="findings-empty">
              No finding matches these filters.{' '}
              <button
                type="button"
                className="link"
                onClick={() => {
                  setSeverity('');
                  setKind('');
                  setWords('');
                }}
              >
                Clear the filters
              </button>
            </p>
          )}
        </>
      )}
      {result.truncated && (
        <p className="help" data-testid="findings-truncated">
          <Untrusted text={result.truncated} />
        </p>
      )}
    </section>
  );
}
