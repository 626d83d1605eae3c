import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useFeedEvents } from '../app/feed';
import { hrefOf } from '../app/router';
import { notify } from '../app/notify';
import { ApiError, useClient, type Question } from '../ipc';
import { formatTime } from '../lib/format';
import { ErrorNote } from './ErrorNote';
import { Untrusted } from './Untrusted';

const byCreated = (a: Question, b: Question) => (a.created_at ?? '').localeCompare(b.created_at ?? '');

/**
 * Questions tasks ask the person, whatever view is open: every pending one (listed at start, then
 * from the feed), oldest first, until it is answered here or elsewhere or given up. A question
 * with choices is answered with one of them; one without, with any text. A panel at the foot of
 * the window rather than a modal: a permission request, when one comes, is put first (its dialog
 * covers this), and the view stays usable while the person thinks. One that arrives while
 * HyperAgent is in the background is also a desktop notification, when those are on.
 */
export function QuestionPrompt() {
  const client = useClient();
  const [pending, setPending] = useState<Question[]>([]);
  const [text, setText] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [answering, setAnswering] = useState(false);
  const titleId = useId();
  const first = useRef<HTMLButtonElement & HTMLInputElement>(null);

  const upsert = useCallback((q: Question) => {
    setPending((list) => {
      const others = list.filter((x) => x.id !== q.id);
      return q.status === 'QUESTION_STATUS_PENDING' ? [...others, q].sort(byCreated) : others;
    });
  }, []);

  // What is waiting is read again when the feed returns: one held then and no longer listed was
  // answered (or given up) while the manager was away.
  const held = useRef<Question[]>([]);
  useEffect(() => {
    held.current = pending;
  });
  useEffect(() => {
    const before = new Set(held.current.map((q) => q.id));
    client.listQuestions().then(
      (r) => {
        const listed = new Set(r.questions.map((q) => q.id));
        setPending((list) => list.filter((q) => listed.has(q.id) || !before.has(q.id)));
        for (const q of r.questions) upsert(q);
      },
      (err: unknown) => setError(ApiError.from(err)),
    );
  }, [client, upsert]);

  const notified = useRef(new Set<string>());
  useFeedEvents((e) => {
    if (!e.question) return;
    upsert(e.question);
    const q = e.question;
    if (q.status === 'QUESTION_STATUS_PENDING' && !notified.current.has(q.id)) {
      notified.current.add(q.id);
      notify(`HyperAgent: ${q.agent_id || 'an agent'} asks you`, q.text, `question-${q.id}`);
    }
  });

  const current = pending[0];
  // Another question: a fresh answer box, and the focus on it (or on its first choice).
  const currentId = current?.id;
  const [shownId, setShownId] = useState(currentId);
  if (shownId !== currentId) {
    setShownId(currentId);
    setText('');
    setError(null);
  }
  useEffect(() => {
    if (currentId) first.current?.focus();
  }, [currentId]);

  if (!current) return null;

  const answer = async (value: string) => {
    setAnswering(true);
    setError(null);
    try {
      upsert(await client.answerQuestion(current.id, value));
    } catch (err) {
      const e = ApiError.from(err);
      // Answered elsewhere, or given up meanwhile: move on.
      if (e.code === 'failed_precondition') setPending((l) => l.filter((x) => x.id !== current.id));
      else setError(e);
    } finally {
      setAnswering(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (text.trim()) void answer(text);
  };

  return (
    <div
      className="panel question-prompt"
      role="dialog"
      aria-modal="false"
      aria-labelledby={titleId}
      data-testid="question-prompt"
      data-question-id={current.id}
    >
      <h2 id={titleId}>
        {current.agent_id ? <Untrusted text={current.agent_id} /> : 'An agent'} asks you
        {pending.length > 1 && <span className="help"> (1 of {pending.length})</span>}
      </h2>
      <p className="question-text" data-testid="question-text">
        <Untrusted text={current.text} />
      </p>
      {current.choices.length > 0 ? (
        <div className="actions" role="group" aria-label="Answers">
          {current.choices.map((c, i) => (
            <button
              key={c}
              ref={i === 0 ? first : undefined}
              type="button"
              disabled={answering}
              data-testid="question-choice"
              onClick={() => void answer(c)}
            >
              <Untrusted text={c} />
            </button>
          ))}
        </div>
      ) : (
        <form className="actions" onSubmit={submit}>
          <label htmlFor={`${titleId}-answer`}>Your answer</label>
          <input
            id={`${titleId}-answer`}
            ref={first}
            data-testid="question-answer"
            value={text}
            onChange={(e) => setText(e.target.value)}
            disabled={answering}
          />
          <button type="submit" disabled={answering || !text.trim()} data-testid="question-send">
            Answer
          </button>
        </form>
      )}
      <p className="help">
        For <a href={hrefOf.task(current.task_id)}>task {current.task_id.slice(0, 12)}</a>; unanswered by{' '}
        {formatTime(current.expires_at)}, the task is told no answer came.
      </p>
      {error && <ErrorNote error={error} what="The answer was not taken" />}
    </div>
  );
}
