import { useSyncExternalStore } from 'react';

// Hash routes (#/tasks/ID): the manager serves one index.html, and links work without server help.

export type Route =
  | { view: 'new' }
  | { view: 'tasks' }
  | { view: 'task'; taskId: string }
  | { view: 'plans' }
  | { view: 'plan'; planId: string }
  | { view: 'chat'; conversationId?: string }
  | { view: 'agents' }
  | { view: 'audit' }
  | { view: 'settings'; section?: string }
  | { view: 'missing'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/new';
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case 'new':
      return { view: 'new' };
    case 'tasks':
      return parts[1] ? { view: 'task', taskId: parts[1] } : { view: 'tasks' };
    case 'plans':
      return parts[1] ? { view: 'plan', planId: parts[1] } : { view: 'plans' };
    case 'chat':
      return parts[1] ? { view: 'chat', conversationId: parts[1] } : { view: 'chat' };
    case 'agents':
      return { view: 'agents' };
    case 'audit':
      return { view: 'audit' };
    case 'settings':
      return parts[1] ? { view: 'settings', section: parts[1] } : { view: 'settings' };
    default:
      return { view: 'missing', path };
  }
}

export const hrefOf = {
  newProject: '#/new',
  tasks: '#/tasks',
  task: (id: string) => `#/tasks/${encodeURIComponent(id)}`,
  plans: '#/plans',
  plan: (id: string) => `#/plans/${encodeURIComponent(id)}`,
  /** A conversation, or (no id) a new one. */
  chat: (id?: string) => (id ? `#/chat/${encodeURIComponent(id)}` : '#/chat'),
  agents: '#/agents',
  audit: '#/audit',
  settings: '#/settings',
  /** A section of Settings, scrolled to and focused (`editor`, `policy-rules`, ...). */
  settingsSection: (id: string) => `#/settings/${encodeURIComponent(id)}`,
};

export function navigate(href: string) {
  window.location.hash = href.replace(/^#/, '');
}

const subscribe = (onChange: () => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseRoute(hash);
}
