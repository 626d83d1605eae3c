import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useFeedEvents } from '../app/feed';
import { hrefOf, navigate } from '../app/router';
import { ConfirmButton } from '../components/ConfirmButton';
import { ErrorNote } from '../components/ErrorNote';
import { PlanStateBadge, StepStateBadge } from '../components/PlanBits';
import { PlanPreview } from '../components/PlanPreview';
import { Untrusted } from '../components/Untrusted';
import {
  ApiError,
  useClient,
  type Conversation,
  type ConversationMode,
  type ConversationTurn,
  type ConversationView,
  type Plan,
} from '../ipc';
import { formatTime } from '../lib/format';
import { laterPlan } from '../lib/plan';

/** A conversation read again, keeping any of its plans the feed already moved further on. */
function merged(held: ConversationView | null, incoming: ConversationView): ConversationView {
  const plans = incoming.plans.map((p) => laterPlan(held?.plans.find((x) => x.id === p.id) ?? null, p));
  return { ...incoming, plans };
}

const LISTED = 50;

/**
 * Conversations: requests asked one after another, each knowing what came before it ("make a
 * FastAPI project called shop", then "now run its tests"). The saved ones on the left, the open
 * one's turns on the right — each request, the manager's answer, its plan (to run or reject while
 * proposed, then its steps live and its summary) — and the next request at the bottom. Saved as
 * it goes; the mode (preview each plan, or run at once), the budget and the title change here.
 */
export function Chat({ conversationId }: { conversationId?: string }) {
  const client = useClient();
  const [list, setList] = useState<{ conversations: Conversation[]; turns: number[] } | null>(null);
  const [listError, setListError] = useState<ApiError | null>(null);

  const readList = useCallback(() => {
    client.listConversations({ limit: LISTED }).then(
      (r) => (setList({ conversations: r.conversations, turns: r.turn_counts }), setListError(null)),
      (err: unknown) => setListError(ApiError.from(err)),
    );
  }, [client]);
  useEffect(readList, [readList]);
  useFeedEvents((e) => {
    if (e.conversation) readList();
  });

  return (
    <div className="view chat-view">
      <h1>Conversations</h1>
      <div className="chat-layout">
        <nav className="chat-sessions" aria-label="Conversations">
          <a className="chat-new" href={hrefOf.chat()} data-testid="chat-new" aria-current={conversationId ? undefined : 'page'}>
            New conversation
          </a>
          {listError && <ErrorNote error={listError} what="The conversations could not be listed" />}
          {list === null && !listError && <p role="status">Loading…</p>}
          {list && list.conversations.length === 0 && <p className="help">None saved yet.</p>}
          <ul data-testid="chat-sessions">
            {list?.conversations.map((c, i) => (
              <li key={c.id}>
                <a
                  href={hrefOf.chat(c.id)}
                  aria-current={c.id === conversationId ? 'page' : undefined}
                  data-testid="chat-session"
                >
                  <Untrusted text={c.title || 'Untitled'} />
                </a>
                <span className="help">
                  {' '}
                  {list.turns[i] ?? 0} turns · {formatTime(c.updated_at)}
                </span>
              </li>
            ))}
          </ul>
        </nav>
        <Session key={conversationId ?? 'new'} conversationId={conversationId} />
      </div>
    </div>
  );
}

function Session({ conversationId }: { conversationId?: string }) {
  const client = useClient();
  const ids = useId();
  const input = useRef<HTMLTextAreaElement>(null);
  const [view, setView] = useState<ConversationView | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  // The mode a new conversation starts in.
  const [newMode, setNewMode] = useState<ConversationMode>('CONVERSATION_MODE_PREVIEW');

  const read = useCallback(() => {
    if (!conversationId) return;
    client.getConversation(conversationId).then(
      (v) => (setView((held) => merged(held, v)), setError(null)),
      (err: unknown) => setError(ApiError.from(err)),
    );
  }, [client, conversationId]);
  useEffect(read, [read]);
  useEffect(() => input.current?.focus(), []);

  useFeedEvents((e) => {
    if (e.conversation?.conversation_id === conversationId) read();
    const p = e.plan?.plan;
    // Decided on the state as it is when the update applies, not as this render saw it: an
    // event may come before the handler of the latest render is in place.
    if (p) {
      setView((v) =>
        v && v.plans.some((x) => x.id === p.id) ? { ...v, plans: v.plans.map((x) => laterPlan(x, p)) } : v,
      );
    }
  });

  const conversation = view?.conversation;
  // The mode chosen shows at once; it goes back if the manager refuses the change.
  const [chosenMode, setChosenMode] = useState<ConversationMode | null>(null);
  const mode = chosenMode ?? conversation?.mode ?? newMode;

  const send = async (e: FormEvent) => {
    e.preventDefault();
    await ask(text);
  };

  const ask = async (said: string) => {
    const words = said.trim();
    if (!words || busy) return;
    setBusy(true);
    setError(null);
    try {
      let id = conversationId;
      if (!id) {
        id = (await client.startConversation({ mode: newMode })).id;
      }
      const answer = await client.ask(words, 0, id);
      setText('');
      const { conversation: now, plan } = answer;
      if (now) {
        setView((held) => {
          const plans = held?.plans ?? [];
          return merged(held, {
            conversation: now,
            plans: plan ? [...plans.filter((p) => p.id !== plan.id), plan] : plans,
            totals: held?.totals,
          });
        });
      }
      if (id !== conversationId) navigate(hrefOf.chat(id));
      else read();
    } catch (err) {
      setError(ApiError.from(err));
    } finally {
      setBusy(false);
      input.current?.focus();
    }
  };

  const setMode = async (m: ConversationMode) => {
    if (!conversationId) return setNewMode(m);
    setChosenMode(m);
    try {
      await client.updateConversation({ conversation_id: conversationId, mode: m });
      read();
    } catch (err) {
      setChosenMode(null);
      setError(ApiError.from(err));
    }
  };

  const exportIt = async () => {
    if (!conversationId) return;
    try {
      const { markdown } = await client.exportConversation(conversationId);
      const url = URL.createObjectURL(new Blob([markdown], { type: 'text/markdown' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `conversation-${conversationId}.md`;
      a.click();
      URL.revokeObjectURL(url);
    } catch (err) {
      setError(ApiError.from(err));
    }
  };

  const last = conversation?.turns.length ?? 0;
  return (
    <section className="chat-session" aria-labelledby={`${ids}-title`} data-testid="chat-session-view">
      <div className="chat-head">
        <h2 id={`${ids}-title`} data-testid="chat-title">
          {conversation ? <Untrusted text={conversation.title || 'Untitled'} /> : 'A new conversation'}
        </h2>
        <fieldset className="chat-mode">
          <legend className="sr-only">How plans run</legend>
          <label>
            <input
              type="radio"
              name={`${ids}-mode`}
              checked={mode !== 'CONVERSATION_MODE_AUTO'}
              onChange={() => void setMode('CONVERSATION_MODE_PREVIEW')}
            />{' '}
            Show each plan first
          </label>
          <label>
            <input
              type="radio"
              name={`${ids}-mode`}
              data-testid="chat-mode-auto"
              checked={mode === 'CONVERSATION_MODE_AUTO'}
              onChange={() => void setMode('CONVERSATION_MODE_AUTO')}
            />{' '}
            Run plans at once
          </label>
        </fieldset>
        {conversationId && (
          <button type="button" onClick={() => void exportIt()} data-testid="chat-export">
            Export (Markdown)
          </button>
        )}
        {conversationId && (
          <ConfirmButton
            label="Delete"
            question="Delete this conversation? Its plans and their tasks stay."
            yes="Yes, delete"
            no="Keep it"
            failed="Not deleted"
            testId="chat-delete"
            confirmTestId="chat-delete-confirm"
            action={async () => {
              await client.deleteConversation(conversationId);
              navigate(hrefOf.chat());
            }}
          />
        )}
      </div>
      {view?.totals && (
        <p className="help" data-testid="chat-totals">
          {view.totals.plans} plans · {view.totals.tasks} tasks · {view.totals.tokens} model tokens
          {conversation?.folder && (
            <>
              {' '}
              · about <code>{conversation.folder}</code>
            </>
          )}
        </p>
      )}
      {conversation && <Details key={conversation.id} conversation={conversation} onSaved={read} />}
      {error && <ErrorNote error={error} what="Not done" testId="chat-error" />}
      <ol className="chat-turns" data-testid="chat-turns" aria-live="polite">
        {conversation?.turns.map((t, i) => (
          <Turn
            key={`${i}-${t.time}`}
            turn={t}
            plan={view?.plans.find((p) => p.id === t.plan_id)}
            latest={i === last - 1}
            busy={busy}
            onChanged={read}
            onChoose={(choice) => void ask(choice)}
          />
        ))}
      </ol>
      {!conversation && !conversationId && (
        <p className="help">
          Ask for something in plain words. Later requests know what came before: after “make a FastAPI project called
          shop”, “now run its tests” works on shop.
        </p>
      )}
      <form className="chat-form" onSubmit={(e) => void send(e)} aria-label="Ask in this conversation">
        <label htmlFor={`${ids}-text`} className="sr-only">
          Your request
        </label>
        <textarea
          ref={input}
          id={`${ids}-text`}
          data-testid="chat-input"
          rows={2}
          value={text}
          placeholder="What do you want done?"
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              e.currentTarget.form?.requestSubmit();
            }
          }}
        />
        <button type="submit" className="primary" disabled={busy || !text.trim()} data-testid="chat-send">
          {busy ? 'Asking…' : 'Send'}
        </button>
      </form>
    </section>
  );
}

/** The conversation's title and budget, changed here. */
function Details({ conversation, onSaved }: { conversation: Conversation; onSaved: () => void }) {
  const client = useClient();
  const ids = useId();
  const [title, setTitle] = useState(conversation.title);
  const [money, setMoney] = useState(String(conversation.money_budget));
  const [tokens, setTokens] = useState(conversation.token_budget);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const moneyOk = money.trim() !== '' && Number.isFinite(Number(money)) && Number(money) >= 0;
  const tokensOk = /^\d+$/.test(tokens.trim());

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!moneyOk || !tokensOk) return;
    setBusy(true);
    setError(null);
    try {
      await client.updateConversation({
        conversation_id: conversation.id,
        title,
        money_budget: Number(money),
        token_budget: tokens.trim(),
      });
      onSaved();
    } catch (err) {
      setError(ApiError.from(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <details className="chat-details" data-testid="chat-details">
      <summary>Title and budget</summary>
      <form className="chat-details-form" onSubmit={(e) => void save(e)} aria-label="Title and budget">
        <label htmlFor={`${ids}-title`}>Title</label>
        <input id={`${ids}-title`} value={title} maxLength={120} onChange={(e) => setTitle(e.target.value)} />
        <label htmlFor={`${ids}-money`}>Most its model calls may cost (0: no limit)</label>
        <input
          id={`${ids}-money`}
          inputMode="decimal"
          value={money}
          aria-invalid={!moneyOk}
          onChange={(e) => setMoney(e.target.value)}
        />
        <label htmlFor={`${ids}-tokens`}>Most model tokens its tasks may use (0: no limit)</label>
        <input
          id={`${ids}-tokens`}
          inputMode="numeric"
          value={tokens}
          aria-invalid={!tokensOk}
          onChange={(e) => setTokens(e.target.value)}
        />
        {(!moneyOk || !tokensOk) && (
          <p className="field-error" role="alert">
            {!moneyOk ? 'The money budget is a number, 0 or more.' : 'The token budget is a whole number, 0 or more.'}
          </p>
        )}
        <button type="submit" disabled={busy || !moneyOk || !tokensOk} data-testid="chat-details-save">
          {busy ? 'Saving…' : 'Save'}
        </button>
        {error && <ErrorNote error={error} what="Not saved" />}
      </form>
    </details>
  );
}

function Turn({
  turn,
  plan,
  latest,
  busy,
  onChanged,
  onChoose,
}: {
  turn: ConversationTurn;
  plan?: Plan;
  latest: boolean;
  busy: boolean;
  onChanged: () => void;
  onChoose: (choice: string) => void;
}) {
  return (
    <li className="chat-turn" data-testid="chat-turn">
      <p className="chat-you">
        <strong>You:</strong> <Untrusted text={turn.request} />
      </p>
      {turn.routed_as && (
        <p className="help" data-testid="chat-routed-as">
          Asked as: <Untrusted text={turn.routed_as} />
        </p>
      )}
      <p className="chat-reply" data-testid="chat-reply">
        <strong>HyperAgent:</strong> <Untrusted text={turn.reply} />
      </p>
      {latest && turn.choices.length > 0 && (
        <div className="actions" role="group" aria-label="Answer with one">
          {turn.choices.map((c) => (
            <button key={c} type="button" data-testid="chat-choice" disabled={busy} onClick={() => onChoose(c)}>
              <Untrusted text={c} />
            </button>
          ))}
        </div>
      )}
      {plan && plan.state === 'PLAN_STATE_PROPOSED' && latest && (
        <PlanPreview plan={plan} onAccepted={onChanged} onRejected={onChanged} />
      )}
      {plan && (plan.state !== 'PLAN_STATE_PROPOSED' || !latest) && (
        <div className="chat-plan" data-testid="chat-plan">
          <p>
            <a href={hrefOf.plan(plan.id)}>The plan</a> <PlanStateBadge state={plan.state} />
          </p>
          <ul>
            {plan.steps.map((s) => (
              <li key={s.step?.number}>
                {s.step?.number}. <code>{s.step?.task_type}</code> <StepStateBadge state={s.state} />
                {s.task_ids.length > 0 && (
                  <>
                    {' '}
                    <a href={hrefOf.task(s.task_ids[s.task_ids.length - 1] ?? '')}>its task</a>
                  </>
                )}
              </li>
            ))}
          </ul>
          {plan.summary && (
            <p className="summary-text chat-summary" data-testid="chat-summary">
              <Untrusted text={plan.summary} multiline />
            </p>
          )}
        </div>
      )}
    </li>
  );
}
