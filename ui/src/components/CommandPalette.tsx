import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { hrefOf, navigate } from '../app/router';
import { useShowIntroduction } from '../app/onboarding';
import { ApiError, useClient, type Plan, type Task } from '../ipc';
import { count, taskStateLabel } from '../lib/format';
import { taskTitle } from '../lib/timeline';
import { revealHidden } from '../lib/untrusted';
import { dialogKeyDown, useFocusReturn } from './dialog';
import { ErrorNote } from './ErrorNote';

/** One thing the palette can do: its words, its group, and what choosing it does. */
interface Command {
  id: string;
  group: 'Go to' | 'Actions' | 'Recent tasks' | 'Recent plans' | 'Ask';
  label: string;
  /** Said after the label, smaller (a task's state). */
  hint?: string;
  run: () => void;
}

/** How many recent tasks and plans are offered. */
const RECENT = 15;

/** Whether every word typed is somewhere in the command's words (any order, any case). */
function matches(command: Pick<Command, 'label' | 'hint' | 'group'>, query: string): boolean {
  const hay = `${command.group} ${command.label} ${command.hint ?? ''}`.toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => hay.includes(word));
}

/**
 * The command palette (Ctrl+K / ⌘K from any view): go to a view, a recent task or plan by name,
 * run an action, or take the words typed to the prompt bar. A combobox over a listbox: the arrows
 * move the active option (`aria-activedescendant`), Enter runs it, Escape closes, and the focus
 * goes back where it was.
 */
export function CommandPalette({ onClose, onAsk }: { onClose: () => void; onAsk: (text: string) => void }) {
  const client = useClient();
  const showIntroduction = useShowIntroduction();
  const ids = useId();
  const dialog = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [plans, setPlans] = useState<Plan[]>([]);
  const [paused, setPaused] = useState<boolean | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useFocusReturn();
  useEffect(() => input.current?.focus(), []);
  // What is recent, read as it opens; what cannot be read is simply not offered.
  useEffect(() => {
    let live = true;
    client.listTasks({ limit: RECENT }).then((r) => live && setTasks(r.tasks), () => {});
    client.listPlans({ limit: RECENT }).then((r) => live && setPlans(r.plans), () => {});
    client.getStatus().then((s) => live && setPaused(s.paused), () => {});
    return () => {
      live = false;
    };
  }, [client]);

  const go = (href: string) => () => {
    onClose();
    navigate(href);
  };
  const commands = useMemo<Command[]>(() => {
    const list: Command[] = [
      { id: 'view-new', group: 'Go to', label: 'New project', run: go(hrefOf.newProject) },
      { id: 'view-plans', group: 'Go to', label: 'Plans', run: go(hrefOf.plans) },
      { id: 'view-tasks', group: 'Go to', label: 'Tasks', run: go(hrefOf.tasks) },
      { id: 'view-agents', group: 'Go to', label: 'Agents', run: go(hrefOf.agents) },
      { id: 'view-audit', group: 'Go to', label: 'Audit log', run: go(hrefOf.audit) },
      { id: 'view-settings', group: 'Go to', label: 'Settings', run: go(hrefOf.settings) },
      { id: 'view-chat', group: 'Go to', label: 'Chat (conversations)', run: go(hrefOf.chat()) },
      { id: 'act-new', group: 'Actions', label: 'Make a new project from a template', run: go(hrefOf.newProject) },
      {
        id: 'act-verify',
        group: 'Actions',
        label: 'Verify the audit log',
        run: () => {
          setNote(null);
          setError(null);
          client.verifyAudit().then(
            (r) =>
              setNote(
                r.intact
                  ? `The audit log verifies: ${count(Number(r.entries_checked), 'entry', 'entries')}, none changed.`
                  : `The audit log does not verify: ${revealHidden(r.problems.join('; '))}`,
              ),
            (err: unknown) => setError(ApiError.from(err)),
          );
        },
      },
    ];
    if (paused !== null) {
      list.push({
        id: 'act-pause',
        group: 'Actions',
        label: paused ? 'Resume handing out work' : 'Pause handing out work',
        run: () => {
          setError(null);
          client.setPaused(!paused).then(
            (s) => {
              setPaused(s.paused);
              setNote(s.paused ? 'Paused: no new work is handed out; running tasks go on.' : 'Resumed: work is handed out again.');
            },
            (err: unknown) => setError(ApiError.from(err)),
          );
        },
      });
    }
    list.push({
      id: 'act-intro',
      group: 'Actions',
      label: 'Show the introduction again',
      run: () => {
        onClose();
        showIntroduction();
      },
    });
    for (const t of tasks) {
      const { name, kind } = taskTitle(t);
      list.push({
        id: `task-${t.id}`,
        group: 'Recent tasks',
        label: revealHidden(name ? `${name} · ${kind}` : kind),
        hint: taskStateLabel(t),
        run: go(hrefOf.task(t.id)),
      });
    }
    for (const p of plans) {
      list.push({ id: `plan-${p.id}`, group: 'Recent plans', label: revealHidden(p.text), run: go(hrefOf.plan(p.id)) });
    }
    return list;
  }, [client, tasks, plans, paused, showIntroduction]); // eslint-disable-line react-hooks/exhaustive-deps

  const words = query.trim();
  const shown = commands.filter((c) => matches(c, words));
  // The words typed can always go to the prompt bar, last (first when nothing else matches).
  const askCommand: Command = {
    id: 'ask',
    group: 'Ask',
    label: words ? `Ask: “${words}”` : 'Ask in plain words…',
    run: () => onAsk(words),
  };
  shown.push(askCommand);
  const at = Math.min(active, shown.length - 1);
  const current = shown[at];
  const optionId = (c: Command) => `${ids}-${c.id}`;

  // The active option stays in view as the arrows move it.
  useEffect(() => {
    if (!current) return;
    document.getElementById(optionId(current))?.scrollIntoView?.({ block: 'nearest' });
  }, [current]); // eslint-disable-line react-hooks/exhaustive-deps

  const onKeys = (e: KeyboardEvent<HTMLInputElement>) => {
    const move = (to: number) => {
      e.preventDefault();
      setActive((to + shown.length) % shown.length);
    };
    if (e.key === 'ArrowDown') move(at + 1);
    else if (e.key === 'ArrowUp') move(at - 1);
    else if (e.key === 'Home' && e.ctrlKey) move(0);
    else if (e.key === 'End' && e.ctrlKey) move(shown.length - 1);
    else if (e.key === 'PageDown') move(Math.min(at + 5, shown.length - 1));
    else if (e.key === 'PageUp') move(Math.max(at - 5, 0));
    else if (e.key === 'Enter') {
      e.preventDefault();
      current?.run();
    }
  };

  // The options in their groups, each with its place in the whole list (the arrows' order).
  const groups: [string, { command: Command; index: number }[]][] = [];
  shown.forEach((command, index) => {
    const last = groups[groups.length - 1];
    if (last && last[0] === command.group) last[1].push({ command, index });
    else groups.push([command.group, [{ command, index }]]);
  });

  return (
    <div className="modal-backdrop palette-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={dialog}
        className="modal palette"
        role="dialog"
        aria-modal="true"
        aria-label="Command palette"
        data-palette=""
        data-testid="palette"
        onKeyDown={(e) => dialogKeyDown(e, dialog.current, onClose)}
      >
        <label htmlFor={`${ids}-input`} className="sr-only">
          Go to a view, a task or a plan, or run an action
        </label>
        <input
          ref={input}
          id={`${ids}-input`}
          data-testid="palette-input"
          type="text"
          role="combobox"
          aria-expanded="true"
          aria-controls={`${ids}-list`}
          aria-autocomplete="list"
          aria-activedescendant={current ? optionId(current) : undefined}
          aria-describedby={`${ids}-keys`}
          autoComplete="off"
          spellCheck={false}
          placeholder="Type a view, a task, a plan or an action…"
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={onKeys}
        />
        <p id={`${ids}-keys`} className="help palette-keys">
          ↑ ↓ to choose, Enter to run, Esc to close
        </p>
        <div id={`${ids}-list`} role="listbox" aria-label="Commands" className="palette-list" data-testid="palette-list">
          {groups.map(([group, items]) => (
            <ul key={group} role="group" aria-labelledby={`${ids}-group-${group}`}>
              <li role="presentation" id={`${ids}-group-${group}`} className="palette-group">
                {group}
              </li>
              {items.map(({ command: c, index: i }) => (
                <li
                  key={c.id}
                  id={optionId(c)}
                  role="option"
                  aria-selected={i === at}
                  data-testid="palette-option"
                  data-command={c.id}
                  className={i === at ? 'active' : undefined}
                  onMouseMove={() => i !== at && setActive(i)}
                  onClick={() => c.run()}
                >
                  <span className="palette-label">{c.label}</span>
                  {c.hint && <span className="palette-hint">{c.hint}</span>}
                </li>
              ))}
            </ul>
          ))}
        </div>
        <p className="sr-only" role="status" aria-live="polite">
          {count(shown.length, 'command')}
        </p>
        {note && (
          <p role="status" className="help" data-testid="palette-note">
            {note}
          </p>
        )}
        {error && <ErrorNote error={error} what="Not done" />}
      </div>
    </div>
  );
}
