import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { useFeedEvents } from '../app/feed';
import { ApiError, useClient, type Consent, type ConsentAnswer } from '../ipc';
import { baseName, formatTime } from '../lib/format';
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

/** The verb each kind of request completes "<agent> asks to ..." with; the target follows. */
const KIND_WORDS: Record<string, string> = {
  read: 'read',
  write: 'write to',
  connect: 'connect to',
  open: 'open',
  secret: 'use the secret',
  run: 'run',
};

/**
 * How a request reads as one sentence, "<agent> asks to <words> <target>": `words` before the
 * target (shown as code) or, for a request to change or remove files, the agent's own words of
 * what it will do (the SDK asks for a phrase that completes "asks to ..."; one that does not start
 * like a verb is quoted after "change or remove files:"). A kind the UI does not know is named.
 */
function consentSentence(kind: string, target: string): { words: string; target: string | null; quoted: string | null } {
  if (kind === 'destructive') {
    if (/^[a-z]/.test(target)) return { words: '', target: null, quoted: target };
    return { words: 'change or remove files:', target: null, quoted: `“${target}”` };
  }
  const words = Object.hasOwn(KIND_WORDS, kind) ? KIND_WORDS[kind] : undefined;
  if (words !== undefined) return { words, target, quoted: null };
  return { words: `do “${kind}” on`, target, quoted: null };
}

/** The paths of a request to change or remove files, without the description the manager puts first. */
function destructivePaths(reason: string, description: string): string {
  return reason.startsWith(`${description}: `) ? reason.slice(description.length + 2) : reason;
}

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

  // The count of requests waiting, in the browser tab's title: seen from another tab too.
  const waiting = pending.length;
  useEffect(() => {
    const base = document.title.replace(/^\(\d+\) /, '');
    document.title = waiting > 0 ? `(${waiting}) ${base}` : base;
  }, [waiting]);

  // The task it is for, by what it does and where (its id stays in the tooltip).
  const taskId = current?.task_id;
  const [taskName, setTaskName] = useState<{ id: string; name: string } | null>(null);
  useEffect(() => {
    if (!taskId) return;
    let live = true;
    client.getTask(taskId).then(
      (t) => {
        const folder = baseName(t.workspace);
        if (live) setTaskName({ id: taskId, name: folder ? `${t.task_type} · ${folder}` : t.task_type });
      },
      () => undefined, // the id is shown instead
    );
    return () => {
      live = false;
    };
  }, [client, taskId]);

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
  const sentence = consentSentence(current.kind, current.target);

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
        <p className="consent-summary" data-testid="consent-summary">
          <strong data-testid="consent-agent-id">{current.agent_id ? <Untrusted text={current.agent_id} /> : 'An agent'}</strong>{' '}
          asks to {sentence.words && `${sentence.words} `}
          {sentence.quoted !== null && (
            <span data-testid="consent-target">
              <Untrusted text={sentence.quoted} />
            </span>
          )}
          {sentence.target !== null && (
            <code data-testid="consent-target">
              <Untrusted text={sentence.target} />
            </code>
          )}
        </p>
        <dl className="facts">
          <dt>Kind</dt>
          <dd data-testid="consent-kind">
            <Untrusted text={current.kind} />
          </dd>
          <dt>{destructive ? 'Files' : 'Reason'}</dt>
          <dd data-testid="consent-reason">
            {current.reason ? <Untrusted text={destructive ? destructivePaths(current.reason, current.target) : current.reason} /> : '—'}
          </dd>
          {current.task_id && (
            <>
              <dt>Task</dt>
              <dd data-testid="consent-for-task" title={current.task_id}>
                {taskName?.id === current.task_id ? (
                  <Untrusted text={taskName.name} />
                ) : (
                  <code>
                    <Untrusted text={current.task_id} />
                  </code>
                )}
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
