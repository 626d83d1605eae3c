import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { useFeedEvents } from '../app/feed';
import { ApiError, useClient, type Consent, type ConsentAnswer } from '../ipc';
import { formatTime } from '../lib/format';
import { keepTabInside } from './dialog';
import { ErrorNote } from './ErrorNote';
import { Untrusted } from './Untrusted';

/** The answers offered, in the order shown; the last is the refusal. */
export const CONSENT_CHOICES: { answer: ConsentAnswer; label: string; testId: string }[] = [
  { answer: 'CONSENT_ANSWER_ONCE', label: 'Allow once', testId: 'consent-once' },
  { answer: 'CONSENT_ANSWER_TASK', label: 'Allow for this task', testId: 'consent-task' },
  { answer: 'CONSENT_ANSWER_AGENT', label: 'Allow for this agent', testId: 'consent-agent' },
  { answer: 'CONSENT_ANSWER_ALWAYS', label: 'Always allow', testId: 'consent-always' },
  { answer: 'CONSENT_ANSWER_DENY', label: 'Deny', testId: 'consent-deny' },
];

const KIND_WORDS: Record<string, string> = {
  read: 'read',
  write: 'write to',
  connect: 'connect to',
  open: 'open',
  secret: 'use the secret',
  destructive: 'change or remove',
};

function timeLeft(expiresAt: string | null | undefined, now: number): string {
  if (!expiresAt) return 'no time limit';
  const secs = Math.floor((new Date(expiresAt).getTime() - now) / 1000);
  if (Number.isNaN(secs)) return expiresAt;
  if (secs <= 0) return 'expired (it is denied)';
  const m = Math.floor(secs / 60);
  return `${m}:${String(secs % 60).padStart(2, '0')} left`;
}

const byCreated = (a: Consent, b: Consent) => (a.created_at ?? '').localeCompare(b.created_at ?? '');

/**
 * Permission requests, whatever view is open: every pending one (listed at start, then from the
 * feed) is put to the person, oldest first, until it is answered here or elsewhere.
 */
export function ConsentModal() {
  const client = useClient();
  const [pending, setPending] = useState<Consent[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [answering, setAnswering] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const titleId = useId();
  const firstButton = useRef<HTMLButtonElement>(null);
  const denyButton = useRef<HTMLButtonElement>(null);
  const box = useRef<HTMLDivElement>(null);

  const upsert = useCallback((c: Consent) => {
    setPending((list) => {
      const others = list.filter((x) => x.id !== c.id);
      return c.status === 'CONSENT_STATUS_PENDING' ? [...others, c].sort(byCreated) : others;
    });
  }, []);

  useEffect(() => {
    client.listConsents().then(
      (r) => {
        for (const c of r.consents) upsert(c);
      },
      (err: unknown) => setError(ApiError.from(err)),
    );
  }, [client, upsert]);

  useFeedEvents((e) => {
    if (e.consent) upsert(e.consent);
  });

  const current = pending[0];

  useEffect(() => {
    if (!current) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [current]);

  // A new request takes the focus, so a keyboard user answers it first: on "Deny" when it asks to
  // change or remove something (Enter must not destroy by reflex), else on the first choice.
  const currentId = current?.id;
  const destructive = current?.kind === 'destructive';
  useEffect(() => {
    if (currentId) {
      setError(null);
      (destructive ? denyButton : firstButton).current?.focus();
    }
  }, [currentId, destructive]);

  // Tab stays in the dialog while it is up, wherever the focus was (it sits over every view; there
  // is nothing to close with Escape: a request is answered, or denied when its time runs out).
  const shown = current !== undefined;
  useEffect(() => {
    if (!shown) return;
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === 'Tab' && box.current) keepTabInside(e, box.current);
    };
    document.addEventListener('keydown', onKey, true);
    return () => document.removeEventListener('keydown', onKey, true);
  }, [shown]);

  if (!current) return null;

  const answer = async (a: ConsentAnswer) => {
    setAnswering(true);
    setError(null);
    try {
      const answered = await client.answerConsent(current.id, a);
      upsert(answered.status === 'CONSENT_STATUS_PENDING' ? { ...answered, status: 'CONSENT_STATUS_GRANTED' } : answered);
    } catch (err) {
      const e = ApiError.from(err);
      // Already answered (elsewhere, or it timed out): move on.
      if (e.code === 'failed_precondition' || e.code === 'not_found') setPending((l) => l.filter((x) => x.id !== current.id));
      else setError(e);
    } finally {
      setAnswering(false);
    }
  };

  return (
    <div className="modal-backdrop">
      <div
        ref={box}
        className={`modal consent${destructive ? ' destructive' : ''}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid="consent-modal"
        data-consent-id={current.id}
      >
        <h2 id={titleId}>Permission requested</h2>
        <p className="consent-summary">
          <strong data-testid="consent-agent-id">{current.agent_id ? <Untrusted text={current.agent_id} /> : 'An agent'}</strong>{' '}
          asks to {Object.hasOwn(KIND_WORDS, current.kind) ? KIND_WORDS[current.kind] : <Untrusted text={current.kind} />}{' '}
          <code data-testid="consent-target">
            <Untrusted text={current.target} />
          </code>
        </p>
        <dl className="facts">
          <dt>Kind</dt>
          <dd data-testid="consent-kind">
            <Untrusted text={current.kind} />
          </dd>
          <dt>Reason</dt>
          <dd data-testid="consent-reason">{current.reason ? <Untrusted text={current.reason} /> : '—'}</dd>
          {current.task_id && (
            <>
              <dt>Task</dt>
              <dd>
                <code>
                  <Untrusted text={current.task_id} />
                </code>
              </dd>
            </>
          )}
          <dt>Asked</dt>
          <dd>{formatTime(current.created_at)}</dd>
          <dt>Time left</dt>
          <dd data-testid="consent-time-left" aria-live="off">
            {timeLeft(current.expires_at, now)}
          </dd>
        </dl>
        {error && <ErrorNote error={error} what="The answer was not taken" />}
        <div className="actions consent-actions">
          {CONSENT_CHOICES.map((c, i) => (
            <button
              key={c.answer}
              ref={i === 0 ? firstButton : c.answer === 'CONSENT_ANSWER_DENY' ? denyButton : undefined}
              type="button"
              className={c.answer === 'CONSENT_ANSWER_DENY' ? 'danger' : i === 0 && !destructive ? 'primary' : undefined}
              data-testid={c.testId}
              disabled={answering}
              onClick={() => void answer(c.answer)}
            >
              {c.label}
            </button>
          ))}
        </div>
        {pending.length > 1 && (
          <p className="help" data-testid="consent-more">
            {pending.length - 1} more waiting
          </p>
        )}
      </div>
    </div>
  );
}
