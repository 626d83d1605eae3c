import { useMemo, useState } from 'react';
import { navigate, hrefOf } from '../../app/router';
import { ErrorNote } from '../../components/ErrorNote';
import { TableScroll } from '../../components/TableScroll';
import { Untrusted } from '../../components/Untrusted';
import { ApiError, useClient, type Task } from '../../ipc';
import { OpenAt } from './OpenAt';
import { OUTCOME_ORDER, rank, tone, type TestsResult } from './shapes';

/** The payload keys that choose tests: a rerun replaces them with the failed tests' ids. */
const SELECTION_KEYS = ['k', 'markers', 'node_ids'];
/** Most node ids one task takes (the test runner's schema says so). */
const MAX_RERUN = 1000;

/**
 * A test run: counts, a table of every test (filter by outcome; a failure's message and
 * traceback open below its row) and "Rerun failed", which submits the same task type for the
 * same folder with only the failed tests selected.
 */
export function TestsView({ task, result }: { task: Task; result: TestsResult }) {
  const outcomes = useMemo(
    () => [...new Set(result.tests.map((t) => t.outcome))].sort((a, b) => rank(OUTCOME_ORDER, a) - rank(OUTCOME_ORDER, b)),
    [result.tests],
  );
  const failed = result.tests.filter((t) => t.outcome === 'failed' || t.outcome === 'error');
  const [shown, setShown] = useState<string>(failed.length > 0 ? 'failing' : 'all');
  const rows = result.tests
    .filter((t) =>
      shown === 'all' ? true : shown === 'failing' ? t.outcome === 'failed' || t.outcome === 'error' : t.outcome === shown,
    )
    .sort((a, b) => rank(OUTCOME_ORDER, a.outcome) - rank(OUTCOME_ORDER, b.outcome) || a.id.localeCompare(b.id));
  const count = (o: string) => result.tests.filter((t) => t.outcome === o).length;
  // Only pytest's node ids ("tests/test_x.py::test_y") select a test; unittest's dotted names do not.
  const rerun = failed.map((t) => t.id).filter((id) => id.includes('::')).slice(0, MAX_RERUN);

  return (
    <section aria-label="Tests" data-testid="tests-view">
      <h3>Tests</h3>
      <p className="help">
        {[result.framework, result.python && `Python ${result.python}`].filter(Boolean).join(', ')}
        {result.omitted > 0 && ` — ${result.omitted} more tests are counted but not listed.`}
      </p>
      <div className="filters" role="group" aria-label="Show tests">
        {failed.length > 0 && (
          <FilterButton value="failing" shown={shown} setShown={setShown} label={`Failing (${failed.length})`} />
        )}
        <FilterButton value="all" shown={shown} setShown={setShown} label={`All (${result.tests.length})`} />
        {outcomes.map((o) => (
          <FilterButton key={o} value={o} shown={shown} setShown={setShown} label={`${o} (${count(o)})`} />
        ))}
        <span className="spacer" />
        {rerun.length > 0 && <RerunButton task={task} ids={rerun} />}
      </div>
      <TableScroll label="Tests">
        <table className="table tests" data-testid="tests-table">
          <thead>
            <tr>
              <th scope="col">Outcome</th>
              <th scope="col">Test</th>
              <th scope="col">Where</th>
              <th scope="col">Time</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.id} data-testid="test-row" data-outcome={t.outcome}>
                <td>
                  <span className={`badge ${tone(t.outcome)}`}>
                    <Untrusted text={t.outcome} />
                  </span>
                </td>
                <td className="detail">
                  {t.message || t.traceback ? (
                    <details data-testid="test-details">
                      <summary>
                        <code>
                          <Untrusted text={t.id} />
                        </code>
                      </summary>
                      {t.message && (
                        <p className="field-error">
                          <Untrusted text={t.message} multiline />
                        </p>
                      )}
                      {t.traceback && (
                        <pre className="hint" data-testid="test-traceback">
                          <Untrusted text={t.traceback} multiline />
                        </pre>
                      )}
                    </details>
                  ) : (
                    <code>
                      <Untrusted text={t.id} />
                    </code>
                  )}
                </td>
                <td>
                  <OpenAt taskId={task.id} file={t.file} line={t.line} />
                </td>
                <td>{t.seconds !== null ? `${t.seconds.toFixed(2)} s` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {rows.length === 0 && <p className="help">No tests here.</p>}
    </section>
  );
}

function FilterButton({
  value,
  shown,
  setShown,
  label,
}: {
  value: string;
  shown: string;
  setShown: (v: string) => void;
  label: string;
}) {
  return (
    <button type="button" aria-pressed={shown === value} data-testid={`filter-${value}`} onClick={() => setShown(value)}>
      <Untrusted text={label} />
    </button>
  );
}

function RerunButton({ task, ids }: { task: Task; ids: string[] }) {
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <>
      <button
        type="button"
        data-testid="rerun-failed"
        disabled={busy}
        onClick={() => {
          let payload: Record<string, unknown> = {};
          try {
            const p: unknown = JSON.parse(task.payload_json || '{}');
            if (p && typeof p === 'object' && !Array.isArray(p)) payload = p as Record<string, unknown>;
          } catch {
            // The rerun needs only the folder and the test ids.
          }
          for (const k of SELECTION_KEYS) delete payload[k];
          setBusy(true);
          setError(null);
          client
            .submitTask({
              task_type: task.task_type,
              payload_json: JSON.stringify({ ...payload, node_ids: ids }),
              workspace: task.workspace,
            })
            .then(
              (r) => navigate(hrefOf.task(r.task?.id ?? '')),
              (err: unknown) => {
                setBusy(false);
                setError(ApiError.from(err));
              },
            );
        }}
      >
        Rerun failed ({ids.length})
      </button>
      {error && <ErrorNote error={error} what="Not rerun" testId="rerun-error" />}
    </>
  );
}
