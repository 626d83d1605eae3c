import type { Consent } from '../ipc';

/**
 * Permission requests as the consent dialog puts them: waiting requests that serve one purpose
 * (the same agent, kind and reason: "download the new project's Python packages" for two hosts)
 * are one question, answered together; a request to change or remove files is always its own.
 */
export interface ConsentGroup {
  key: string;
  /** Oldest first; the first is the group's face (its id, its task). */
  items: Consent[];
}

const byCreated = (a: Consent, b: Consent) => (a.created_at ?? '').localeCompare(b.created_at ?? '');

export function groupConsents(pending: readonly Consent[]): ConsentGroup[] {
  const groups = new Map<string, Consent[]>();
  for (const c of [...pending].sort(byCreated)) {
    const key = c.kind === 'destructive' ? `id\u0000${c.id}` : `${c.agent_id}\u0000${c.kind}\u0000${c.reason}`;
    const list = groups.get(key);
    if (list) list.push(c);
    else groups.set(key, [c]);
  }
  return [...groups].map(([key, items]) => ({ key, items }));
}

/** What N targets of a kind are called: "2 hosts", "3 folders". */
const TARGET_WORDS: Record<string, [string, string]> = {
  connect: ['host', 'hosts'],
  read: ['path', 'paths'],
  write: ['path', 'paths'],
  open: ['path', 'paths'],
  secret: ['secret', 'secrets'],
};

/**
 * The purpose of a group in a line: its reason with a capital, and how many targets when more
 * than one ("Download the new project's Python packages (2 hosts)"); '' when the agent gave none.
 */
export function purposeOf(group: ConsentGroup): string {
  const first = group.items[0];
  if (!first || !first.reason || first.kind === 'destructive') return '';
  const reason = first.reason.charAt(0).toUpperCase() + first.reason.slice(1);
  const n = group.items.length;
  if (n < 2) return reason;
  const [one, many] = TARGET_WORDS[first.kind] ?? ['request', 'requests'];
  return `${reason} (${n} ${n === 1 ? one : many})`;
}

/**
 * The files of a request to change or remove them, read from the reason the manager writes
 * ("<description>: a, b, and 3 more (5 path(s); what exists there now is snapshotted first, so it
 * can be rolled back)"); null when the reason is not in that form (it is shown as it is).
 */
export function destructiveFiles(reason: string, description: string): { files: string[]; note: string } | null {
  const body = reason.startsWith(`${description}: `) ? reason.slice(description.length + 2) : reason;
  const m = /^([\s\S]*) \((\d+) path\(s\)(?:; ([\s\S]*))?\)$/.exec(body);
  if (!m || !m[1]) return null;
  const n = Number(m[2]);
  const note = `${n} ${n === 1 ? 'path' : 'paths'}${m[3] ? `; ${m[3]}` : ''}`;
  return { files: m[1].split(', '), note };
}
