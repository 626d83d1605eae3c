import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { hrefOf, navigate } from '../app/router';
import { ApiError, useClient, type AskResponse, type Plan } from '../ipc';
import { ErrorNote } from './ErrorNote';
import { dialogKeyDown, useFocusReturn } from './dialog';
import { PlanPreview } from './PlanPreview';
import { Untrusted } from './Untrusted';

/**
 * The prompt bar, over whatever view is open: the person says what they want in plain words, and
 * the manager answers with a proposed plan (shown editable, to run or reject), one question (its
 * choices as buttons), or a refusal with what it can do instead. Running a plan opens its page.
 * Escape closes it; the focus goes back where it was.
 */
export function PromptBar({
  onClose,
  focusRequest = 0,
  initialText = '',
}: {
  onClose: () => void;
  focusRequest?: number;
  /** Words brought from the command palette: asked as it opens. */
  initialText?: string;
}) {
  const client = useClient();
  const ids = useId();
  const dialog = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [text, setText] = useState(initialText);
  const [busy, setBusy] = useState(() => initialText.trim() !== '');
  const [answer, setAnswer] = useState<AskResponse | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [note, setNote] = useState<string | null>(null);
  // Minutes the plan may take once run; empty: the manager's default (planner.budget_secs).
  const [budget, setBudget] = useState('');

  // Back where the person was when it closes.
  useFocusReturn();
  // Into the request on opening (and when the shortcut is pressed again while open).
  useEffect(() => input.current?.focus(), [focusRequest]);

  const ask = async (request: string) => {
    const words = request.trim();
    if (!words || busy) return;
    setBusy(true);
    setError(null);
    setNote(null);
    setAnswer(null);
    try {
      const minutes = Number(budget);
      setAnswer(await client.ask(words, budget && minutes > 0 ? Math.round(minutes * 60) : 0));
    } catch (err) {
      setError(ApiError.from(err));
    } finally {
      setBusy(false);
    }
  };

  // Words brought from the palette are asked at once (the person pressed Enter on them there),
  // with the manager's default budget.
  const [brought] = useState(initialText.trim());
  useEffect(() => {
    if (!brought) return;
    let live = true;
    client.ask(brought, 0).then(
      (a) => live && (setAnswer(a), setBusy(false)),
      (err: unknown) => live && (setError(ApiError.from(err)), setBusy(false)),
    );
    return () => {
      live = false;
    };
  }, [client, brought]);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void ask(text);
  };

  // The request again, with the task type the person chose added to their words.
  const choose = (choice: string) => {
    const request = `${text.trim()} (${choice})`;
    setText(request);
    void ask(request);
  };

  const accepted = (plan: Plan) => {
    onClose();
    navigate(hrefOf.plan(plan.id));
  };
  const rejected = () => {
    setAnswer(null);
    setNote('Plan rejected: nothing ran. Say it differently, or close this.');
    input.current?.focus();
  };

  return (
    <div className="modal-backdrop prompt-backdrop">
      <div
        ref={dialog}
        className="modal prompt-bar"
        role="dialog"
        aria-modal="true"
        aria-labelledby={`${ids}-title`}
        data-prompt-bar=""
        data-testid="prompt-bar"
        onKeyDown={(e) => dialogKeyDown(e, dialog.current, onClose)}
      >
        <div className="prompt-head">
          <h2 id={`${ids}-title`}>Ask HyperAgent</h2>
          <button type="button" className="link" onClick={onClose}>
            Close
          </button>
        </div>
        <form className="prompt-form" onSubmit={onSubmit} aria-label="Ask">
          <label htmlFor={`${ids}-text`} className="sr-only">
            What do you want done?
          </label>
          <input
            ref={input}
            id={`${ids}-text`}
            type="text"
            name="request"
            data-testid="prompt-input"
            autoComplete="off"
            placeholder="What do you want done? e.g. make a FastAPI project called shop with SQLite, then open it"
            aria-describedby={`${ids}-help`}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          <label className="prompt-budget">
            <span>Time budget</span>
            <input
              type="number"
              min="1"
              step="1"
              inputMode="numeric"
              name="budget"
              data-testid="prompt-budget"
              aria-label="Time budget in minutes (empty: the default)"
              placeholder="default"
              value={budget}
              onChange={(e) => setBudget(e.target.value)}
            />
            <span>min</span>
          </label>
          <button type="submit" className="primary" disabled={busy || !text.trim()}>
            {busy ? 'Asking…' : 'Ask'}
          </button>
        </form>
        <p id={`${ids}-help`} className="help">
          Enter asks; Escape closes. Nothing runs before you press Run on the plan. Once running, a plan stops
          when its time budget is spent.
        </p>
        <div aria-live="polite" className="prompt-answer" data-testid="prompt-answer">
          {busy && <p role="status">Asking…</p>}
          {note && <p data-testid="prompt-note">{note}</p>}
          {error && <ErrorNote error={error} what="Not asked" testId="prompt-error" />}
          {answer?.fallback && (
            <p className="help" data-testid="prompt-fallback">
              The offline router answered: <Untrusted text={answer.fallback} />
              {answer.model_task_id && (
                <>
                  {' '}
                  (<a href={hrefOf.task(answer.model_task_id)}>the model's task</a>)
                </>
              )}
            </p>
          )}
          {answer && <Answer answer={answer} busy={busy} onChoose={choose} onAccepted={accepted} onRejected={rejected} />}
        </div>
      </div>
    </div>
  );
}

function Answer(props: {
  answer: AskResponse;
  busy: boolean;
  onChoose: (choice: string) => void;
  onAccepted: (plan: Plan) => void;
  onRejected: (plan: Plan) => void;
}) {
  const { answer } = props;
  if (answer.plan) {
    return <PlanPreview key={answer.plan.id} plan={answer.plan} onAccepted={props.onAccepted} onRejected={props.onRejected} />;
  }
  if (answer.question) {
    return (
      <section className="prompt-question" data-testid="prompt-question" aria-label="A question">
        <p>
          <strong>
            <Untrusted text={answer.question} />
          </strong>
        </p>
        {answer.choices.length > 0 && (
          <div className="actions" role="group" aria-label="Choose one">
            {answer.choices.map((c) => (
              <button key={c} type="button" data-testid="prompt-choice" disabled={props.busy} onClick={() => props.onChoose(c)}>
                <Untrusted text={c} />
              </button>
            ))}
          </div>
        )}
        <p className="help">Choosing one asks again with it added to your words; or say it differently above.</p>
      </section>
    );
  }
  if (answer.refusal) {
    return (
      <section className="prompt-refusal" data-testid="prompt-refusal" aria-label="Nothing will run">
        <p>
          <strong>Nothing will run:</strong> <Untrusted text={answer.refusal} />
        </p>
        {answer.can_do.length > 0 && (
          <>
            <p>What can be done here:</p>
            <ul className="plain can-do" data-testid="prompt-can-do">
              {answer.can_do.map((c) => (
                <li key={c}>
                  <code>
                    <Untrusted text={c} />
                  </code>
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
    );
  }
  return <p>The manager answered with nothing to do. Say it differently?</p>;
}
