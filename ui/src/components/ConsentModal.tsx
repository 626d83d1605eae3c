import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { useFeedEvents } from '../app/feed';
import { notify } from '../app/notify';
import { ApiError, useClient, type Consent, type ConsentAnswer } from '../ipc';
import { destructiveFiles, groupConsents, purposeOf } from '../lib/consents';
import { baseName, formatTime } from '../lib/format';
import { revealHidden } from '../lib/untrusted';
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

/** What each answer reaches, in one line, for `n` requests of `agent`. */
function scopeLine(answer: ConsentAnswer, agent: string, n: number): string {
  switch (answer) {
    case 'CONSENT_ANSWER_ONCE':
      return n > 1 ? `These ${n} requests only; the next one asks again.` : 'This request only; the next one asks again.';
    case 'CONSENT_ANSWER_TASK':
      return 'The same again, for the rest of this task; asked anew by the next task.';
    case 'CONSENT_ANSWER_AGENT':
      return `${agent || 'This agent'} may, in every task from now on (a rule; revoke it in Settings).`;
    case 'CONSENT_ANSWER_ALWAYS':
      return 'Every agent may, from now on (a rule; revoke it in Settings).';
    case 'CONSENT_ANSWER_DENY':
      return 'Refused: the agent goes on without it, or stops.';
    default:
      return '';
  }
}

/** A request as one line of plain text (a desktop notification's body): hidden characters shown by their code. */
function sentenceText(c: Consent): string {
  const s = consentSentence(c.kind, c.target);
  const agent = c.agent_id || 'An agent';
  return revealHidden(`${agent} asks to ${[s.words, s.quoted ?? s.target ?? ''].filter(Boolean).join(' ')}`);
}

function timeLeft(expiresAt: string | null | undefined, now: number): string {
  if (!expiresAt) return 'no time limit';
  const secs = Math.floor((new Date(expiresAt).getTime() - now) / 1000);
  if (Number.isNaN(secs)) return expiresAt;
  if (secs <= 0) return 'expired (it is denied)';
  const m = Math.floor(secs / 60);
  return `${m}:${String(secs % 60).padStart(2, '0')} left`;
}

/**
 * Permission requests, whatever view is open: every pending one (listed at start, then from the
 * feed) is put to the person, oldest first, until it is answered here or elsewhere. Waiting
 * requests with one purpose (agent, kind, reason) are one question, answered together; each
 * answer says in a line how far it reaches. One that arrives while HyperAgent is in the
 * background is also a desktop notification, when those are on (Settings).
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
      return c.status === 'CONSENT_STATUS_PENDING' ? [...others, c] : others;
    });
  }, []);

  // What is waiting is read again when the feed returns: one held then and no longer listed was
  // answered (or gave up) while the manager was away.
  const held = useRef<Consent[]>([]);
  useEffect(() => {
    held.current = pending;
  });
  useEffect(() => {
    const before = new Set(held.current.map((c) => c.id));
    client.listConsents().then(
      (r) => {
        const listed = new Set(r.consents.map((c) => c.id));
        setPending((list) => list.filter((c) => listed.has(c.id) || !before.has(c.id)));
        for (const c of r.consents) upsert(c);
      },
      (err: unknown) => setError(ApiError.from(err)),
    );
  }, [client, upsert]);

  // A new request from the feed, while HyperAgent is in the background: a desktop notification.
  const notified = useRef(new Set<string>());
  useFeedEvents((e) => {
    if (!e.consent) return;
    upsert(e.consent);
    const c = e.consent;
    if (c.status === 'CONSENT_STATUS_PENDING' && !notified.current.has(c.id)) {
      notified.current.add(c.id);
      notify('HyperAgent: permission requested', sentenceText(c), `consent-${c.id}`);
    }
  });

  const group = groupConsents(pending)[0];
  const current = group?.items[0];

  // The count of requests waiting, in the browser tab's title: seen from another tab too.
  const waiting = pending.length;
  useEffect(() => {
    const base = document.title.replace(/^\(\d+\) /, '');
    document.title = waiting > 0 ? `(${waiting}) ${base}` : base;
  }, [waiting]);

  // The task it is for, by what it does and where (its id stays in the tooltip).
  const taskId = current?.task_id;
  const [taskName, setTaskName] = useState<{ id: string; name: string; folder: string } | null>(null);
  useEffect(() => {
    if (!taskId) return;
    let live = true;
    client.getTask(taskId).then(
      (t) => {
        const folder = baseName(t.workspace);
        if (live) setTaskName({ id: taskId, name: folder ? `${t.task_type} · ${folder}` : t.task_type, folder: t.workspace });
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

  if (!current || !group) return null;
  const sentence = consentSentence(current.kind, current.target);
  const items = group.items;
  const purpose = purposeOf(group);
  const files = destructive ? destructiveFiles(current.reason, current.target) : null;
  // Files inside the task's folder are named from it (the folder is said once, above them).
  const folder = taskName?.id === current.task_id ? taskName.folder : '';
  const inFolder = (f: string) => (folder && f.startsWith(`${folder}/`) ? f.slice(folder.length + 1) : f);

  // Every request of the group gets the same answer, one after another.
  const answer = async (a: ConsentAnswer) => {
    setAnswering(true);
    setError(null);
    try {
      for (const c of items) {
        try {
          const answered = await client.answerConsent(c.id, a);
          upsert(answered.status === 'CONSENT_STATUS_PENDING' ? { ...answered, status: 'CONSENT_STATUS_GRANTED' } : answered);
        } catch (err) {
          const e = ApiError.from(err);
          // Already answered (elsewhere, or it timed out): move on.
          if (e.code === 'failed_precondition' || e.code === 'not_found') setPending((l) => l.filter((x) => x.id !== c.id));
          else throw e;
        }
      }
    } catch (err) {
      setError(ApiError.from(err));
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
        {destructive ? (
          <h3 className="consent-danger" data-testid="consent-purpose">
            Change or remove files
          </h3>
        ) : (
          purpose && (
            <h3 className="consent-purpose" data-testid="consent-purpose">
              <Untrusted text={purpose} />
            </h3>
          )
        )}
        <p className="consent-summary" data-testid="consent-summary">
          <strong data-testid="consent-agent-id">{current.agent_id ? <Untrusted text={current.agent_id} /> : 'An agent'}</strong>{' '}
          asks to {sentence.words && `${sentence.words} `}
          {sentence.quoted !== null && (
            <span data-testid="consent-target">
              <Untrusted text={sentence.quoted} />
            </span>
          )}
          {sentence.target !== null &&
            items.map((c, i) => (
              <span key={c.id}>
                {i > 0 && (i === items.length - 1 ? ' and ' : ', ')}
                <code data-testid="consent-target">
                  <Untrusted text={c.target} />
                </code>
              </span>
            ))}
        </p>
        {files && (
          <div className="consent-files">
            {folder && (
              <p className="help" data-testid="consent-files-folder">
                In <code><Untrusted text={folder} /></code>:
              </p>
            )}
            <ul data-testid="consent-files">
              {files.files.map((f, i) => (
                <li key={i}>
                  <code>
                    <Untrusted text={inFolder(f)} />
                  </code>
                </li>
              ))}
            </ul>
            <p className="help">
              <Untrusted text={files.note} />
            </p>
          </div>
        )}
        <dl className="facts">
          <dt>Kind</dt>
          <dd data-testid="consent-kind">
            <Untrusted text={current.kind} />
          </dd>
          {destructive && !files && (
            <>
              <dt>Files</dt>
              <dd data-testid="consent-reason">
                {current.reason ? <Untrusted text={destructivePaths(current.reason, current.target)} /> : '—'}
              </dd>
            </>
          )}
          {!destructive && !current.reason && (
            <>
              <dt>Reason</dt>
              <dd data-testid="consent-reason">—</dd>
            </>
          )}
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
        <ul className="consent-actions plain">
          {CONSENT_CHOICES.map((c, i) => (
            <li key={c.answer}>
              <button
                ref={i === 0 ? firstButton : c.answer === 'CONSENT_ANSWER_DENY' ? denyButton : undefined}
                type="button"
                className={c.answer === 'CONSENT_ANSWER_DENY' ? 'danger' : i === 0 && !destructive ? 'primary' : undefined}
                data-testid={c.testId}
                aria-describedby={`${titleId}-${c.testId}`}
                disabled={answering}
                onClick={() => void answer(c.answer)}
              >
                {c.label}
              </button>
              <span className="help" id={`${titleId}-${c.testId}`} data-testid="consent-scope">
                {scopeLine(c.answer, revealHidden(current.agent_id), items.length)}
              </span>
            </li>
          ))}
        </ul>
        {pending.length > items.length && (
          <p className="help" data-testid="consent-more">
            {pending.length - items.length} more waiting
          </p>
        )}
      </div>
    </div>
  );
}
