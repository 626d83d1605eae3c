import { useCallback, useState } from 'react';
import { FeedProvider, ReadAgainOnReturn, useFeedStatus } from './app/feed';
import { OnboardingProvider } from './app/onboarding';
import { hrefOf, useRoute, type Route } from './app/router';
import { PALETTE_SHORTCUTS, PROMPT_SHORTCUTS, paletteShortcutLabel, useShortcuts } from './app/shortcuts';
import { CommandPalette } from './components/CommandPalette';
import { ConsentModal } from './components/ConsentModal';
import { QuestionPrompt } from './components/QuestionPrompt';
import { PromptBar } from './components/PromptBar';
import { StatusLine } from './components/StatusLine';
import { ClientProvider, type Client } from './ipc';
import { Agents } from './views/Agents';
import { Audit } from './views/Audit';
import { Chat } from './views/Chat';
import { NewProject } from './views/NewProject';
import { PlanPage } from './views/PlanPage';
import { Plans } from './views/Plans';
import { Settings } from './views/Settings';
import { TaskPage } from './views/TaskPage';
import { Tasks } from './views/Tasks';

const NAV: { href: string; label: string; active: (r: Route) => boolean }[] = [
  { href: hrefOf.newProject, label: 'New project', active: (r) => r.view === 'new' },
  { href: hrefOf.chat(), label: 'Chat', active: (r) => r.view === 'chat' },
  { href: hrefOf.plans, label: 'Plans', active: (r) => r.view === 'plans' || r.view === 'plan' },
  { href: hrefOf.tasks, label: 'Tasks', active: (r) => r.view === 'tasks' || r.view === 'task' },
  { href: hrefOf.agents, label: 'Agents', active: (r) => r.view === 'agents' },
  { href: hrefOf.audit, label: 'Audit', active: (r) => r.view === 'audit' },
  { href: hrefOf.settings, label: 'Settings', active: (r) => r.view === 'settings' },
];

function View({ route, onAsk }: { route: Route; onAsk: () => void }) {
  switch (route.view) {
    case 'new':
      return <NewProject />;
    case 'tasks':
      return <Tasks />;
    case 'task':
      return <TaskPage key={route.taskId} taskId={route.taskId} />;
    case 'plans':
      return <Plans onAsk={onAsk} />;
    case 'plan':
      return <PlanPage key={route.planId} planId={route.planId} />;
    case 'chat':
      return <Chat conversationId={route.conversationId} />;
    case 'agents':
      return <Agents />;
    case 'audit':
      return <Audit />;
    case 'settings':
      return <Settings section={route.section} />;
    default:
      return (
        <div className="view">
          <h1>Not found</h1>
          <p>
            Nothing at <code>{route.path}</code>. <a href={hrefOf.newProject}>Start a new project</a>.
          </p>
        </div>
      );
  }
}

/**
 * Shown instead of the view when the browser has no access to the manager yet: once, rather than
 * beside each of the view's own failed calls.
 */
function SignInNotice() {
  return (
    <div className="signin-notice" role="alert" data-testid="signin-notice">
      <h2>Open the address the manager printed</h2>
      <p>
        This browser has no access to HyperAgent yet. When <code>hyperagent serve --web</code> started, it printed
        an address with <code>?token=</code> in it: open that address once here, and this page works.
      </p>
    </div>
  );
}

function Shell() {
  const route = useRoute();
  // 0 while the prompt bar is closed; each request to open it (button or shortcut) counts up, so
  // one made while it is open puts the focus back in it. The palette and the bar give way to
  // each other: one dialog at a time.
  const [asking, setAsking] = useState(0);
  const [askText, setAskText] = useState('');
  const [palette, setPalette] = useState(false);
  const ask = useCallback(() => {
    setPalette(false);
    setAskText('');
    setAsking((n) => n + 1);
  }, []);
  const openPalette = useCallback(() => {
    setAsking(0);
    setPalette((open) => !open);
  }, []);
  const askFromPalette = useCallback((text: string) => {
    setPalette(false);
    setAskText(text);
    setAsking((n) => n + 1);
  }, []);
  useShortcuts(openPalette, ask);
  const feed = useFeedStatus();
  // Only the manager's 401 is a sign-out; a refused connection or a 5xx is the manager away, and
  // the view stays as the person left it (read again, with the consents, when the feed returns).
  const signedOut = feed.error?.code === 'unauthenticated';
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">HyperAgent</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.href}>
                <a href={n.href} aria-current={n.active(route) ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="top-buttons">
          <button
            type="button"
            className="ask-button"
            data-testid="open-palette"
            aria-keyshortcuts={PALETTE_SHORTCUTS}
            aria-haspopup="dialog"
            onClick={openPalette}
          >
            Go to… <kbd aria-hidden="true">{paletteShortcutLabel()}</kbd>
          </button>
          <button
            type="button"
            className="ask-button"
            data-testid="open-prompt-bar"
            aria-keyshortcuts={PROMPT_SHORTCUTS}
            aria-haspopup="dialog"
            onClick={ask}
          >
            Ask… <kbd aria-hidden="true">/</kbd>
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {signedOut ? (
          <SignInNotice />
        ) : (
          <ReadAgainOnReturn>
            <View route={route} onAsk={ask} />
          </ReadAgainOnReturn>
        )}
      </main>
      <StatusLine />
      {palette && <CommandPalette onClose={() => setPalette(false)} onAsk={askFromPalette} />}
      {asking > 0 && <PromptBar focusRequest={asking} initialText={askText} onClose={() => setAsking(0)} />}
      <ReadAgainOnReturn>
        <QuestionPrompt />
        <ConsentModal />
      </ReadAgainOnReturn>
    </div>
  );
}

export default function App({ client }: { client: Client }) {
  return (
    <ClientProvider client={client}>
      <FeedProvider>
        <OnboardingProvider>
          <Shell />
        </OnboardingProvider>
      </FeedProvider>
    </ClientProvider>
  );
}
