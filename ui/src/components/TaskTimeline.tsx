import type { Attempt } from '../ipc';
import { duration, formatTime, span } from '../lib/format';
import type { LogEntry } from '../lib/logStore';
import type { StepStatus, TimelineStep } from '../lib/timeline';
import { Untrusted } from './Untrusted';

/** A step's status in words and its colour (the words say it too; the colour is never alone). */
const STATUS: Record<StepStatus, { words: string; tone: string; mark: string }> = {
  passed: { words: 'passed', tone: 'ok', mark: '✓' },
  done: { words: 'done', tone: 'ok', mark: '✓' },
  running: { words: 'running', tone: 'busy', mark: '●' },
  failed: { words: 'failed', tone: 'bad', mark: '✕' },
  skipped: { words: 'not run', tone: 'warn', mark: '–' },
  stopped: { words: 'stopped here', tone: 'cancelled', mark: '■' },
};

function clock(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString(undefined, { hour12: false });
}

const seconds = (s: number | null): string => (s === null ? '' : span(s * 1000));

/**
 * The steps of a task's last attempt, in order, each with how it went, when it began and how long
 * it took, and a way to its line in the log.
 */
export function StepTimeline({ steps, onShow }: { steps: TimelineStep[]; onShow: (seq: number) => void }) {
  if (steps.length === 0) return null;
  return (
    <section className="panel timeline" aria-labelledby="timeline-heading" data-testid="timeline">
      <h2 id="timeline-heading">Steps</h2>
      <ol className="steps">
        {steps.map((s) => {
          const st = STATUS[s.status];
          return (
            <li key={s.key} className={`step ${st.tone}`} data-testid="step" data-step={s.key} data-status={s.status}>
              <span className="step-mark" aria-hidden="true">
                {st.mark}
              </span>
              <span className="step-name">{s.label}</span>
              <span className={`badge ${st.tone}`}>{st.words}</span>
              {s.started && (
                <time className="step-time" dateTime={s.started} title={formatTime(s.started)}>
                  {clock(s.started)}
                </time>
              )}
              {s.seconds !== null && s.status !== 'skipped' && (
                <span className="step-took" data-testid="step-took">
                  {s.status === 'running' ? `for ${seconds(s.seconds)}` : seconds(s.seconds)}
                </span>
              )}
              {s.seq !== null && (
                <button type="button" className="link" onClick={() => onShow(s.seq ?? 0)} aria-label={`Show ${s.label} in the log`}>
                  Show in log
                </button>
              )}
              {s.detail && (
                <span className="step-detail">
                  <Untrusted text={s.detail} />
                </span>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

/** Every attempt with its agent, its times and the error it ended with; shown once there is more than one or one failed. */
export function AttemptList({ attempts, max }: { attempts: Attempt[]; max: number }) {
  if (attempts.length < 2 && !attempts.some((a) => a.error)) return null;
  return (
    <section className="panel attempts" aria-labelledby="attempts-heading" data-testid="attempts">
      <h2 id="attempts-heading">
        Attempts <span className="help">({attempts.length} of {max || '—'})</span>
      </h2>
      <ol className="plain">
        {attempts.map((a) => (
          <li key={a.number} data-testid="attempt">
            <strong>Attempt {a.number}</strong> on <Untrusted text={a.agent_id} />, {formatTime(a.started_at)}
            {a.ended_at ? `, ${duration(a.started_at, a.ended_at)}` : ', running'}
            {a.error && (
              <div className="field-error" data-testid="attempt-error">
                <Untrusted text={a.error} multiline />
              </div>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** The task's error in its own words and the log's error line, with a way to it in the log. */
export function ErrorBox({
  error,
  line,
  onShow,
  dead = false,
}: {
  error: string;
  line: LogEntry | null;
  onShow: (seq: number) => void;
  /** Every attempt failed (its own colour). */
  dead?: boolean;
}) {
  if (!error && !line) return null;
  return (
    <section className={`error-box${dead ? ' dead' : ''}`} aria-labelledby="error-heading" data-testid="error-box">
      <h2 id="error-heading">What went wrong</h2>
      {error && (
        <p data-testid="task-error">
          <Untrusted text={error} multiline />
        </p>
      )}
      {line && (
        <p className="error-line">
          <span className="help">In the log:</span>{' '}
          <code data-testid="error-line">
            <Untrusted text={line.message} />
          </code>{' '}
          <button type="button" data-testid="jump-to-error" onClick={() => onShow(line.seq)}>
            Jump to line
          </button>
        </p>
      )}
    </section>
  );
}
