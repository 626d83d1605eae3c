import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { NOTIFY_KEY } from '../app/notify';
import { fakeNotifications } from '../testing/notifications';
import { FeedProvider } from '../app/feed';
import { ClientProvider, type Consent, type ConsentAnswer } from '../ipc';
import { consent } from '../testing/consents';
import { task } from '../testing/tasks';
import { MockTransport } from '../testing/mockTransport';
import { CONSENT_CHOICES, ConsentModal } from './ConsentModal';

function setup(pending: Consent[]) {
  const transport = new MockTransport({
    ListConsents: () => ({ consents: pending }),
    GetTask: (req) => task(req.task_id ?? '', { task_type: 'bootstrap.project', workspace: '/home/me/src/shop' }),
    AnswerConsent: (req) => ({
      ...consent(req.id ?? ''),
      status: req.answer === 'CONSENT_ANSWER_DENY' ? 'CONSENT_STATUS_DENIED' : 'CONSENT_STATUS_GRANTED',
      answer: req.answer ?? 'CONSENT_ANSWER_UNSPECIFIED',
      answered_by: 'client',
    }),
  });
  const user = userEvent.setup();
  render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <ConsentModal />
      </FeedProvider>
    </ClientProvider>,
  );
  return { transport, user };
}

describe('ConsentModal', () => {
  it('shows nothing while nothing is pending', async () => {
    const { transport } = setup([]);
    await waitFor(() => expect(transport.requests('ListConsents')).toHaveLength(1));
    expect(screen.queryByTestId('consent-modal')).not.toBeInTheDocument();
  });

  it('shows a pending request with agent, kind, target, reason and time left', async () => {
    setup([consent('c1')]);
    const modal = await screen.findByRole('dialog', { name: 'Permission requested' });
    expect(modal).toHaveAttribute('data-consent-id', 'c1');
    expect(screen.getByTestId('consent-agent-id')).toHaveTextContent('bootstrapper');
    expect(screen.getByTestId('consent-kind')).toHaveTextContent('connect');
    expect(screen.getByTestId('consent-target')).toHaveTextContent('pypi.org:443');
    // The agent's reason is the request's purpose, as its heading.
    expect(screen.getByTestId('consent-purpose')).toHaveTextContent('Install the project');
    // Expires 125 s after the request was made: about two minutes left (slow machines: a few s less).
    const left = /^(\d+):(\d\d) left$/.exec(screen.getByTestId('consent-time-left').textContent ?? '');
    expect(left).not.toBeNull();
    const secs = Number(left![1]) * 60 + Number(left![2]);
    expect(secs).toBeGreaterThan(110);
    expect(secs).toBeLessThanOrEqual(125);
    // The dialog moves focus to its first choice once it is shown (an effect after render).
    await waitFor(() => expect(screen.getByRole('button', { name: 'Allow once' })).toHaveFocus());
  });

  it('names the task by what it does and where, and counts the requests in the tab title', async () => {
    document.title = 'HyperAgent';
    setup([consent('c1'), consent('c2')]);
    await waitFor(() => expect(screen.getByTestId('consent-for-task')).toHaveTextContent('bootstrap.project · shop'));
    expect(screen.getByTestId('consent-for-task')).toHaveAttribute('title', 'task-1');
    expect(document.title).toBe('(2) HyperAgent');
  });

  it.each([
    ['read', '/home/me/notes', 'bootstrapper asks to read /home/me/notes'],
    ['write', '/home/me/out', 'bootstrapper asks to write to /home/me/out'],
    ['connect', 'pypi.org:443', 'bootstrapper asks to connect to pypi.org:443'],
    ['open', '/home/me/shop', 'bootstrapper asks to open /home/me/shop'],
    ['secret', 'PYPI_TOKEN', 'bootstrapper asks to use the secret PYPI_TOKEN'],
    [
      'destructive',
      "write the fastapi template's 23 files into /home/me/shop, replacing all 23 already there",
      "bootstrapper asks to write the fastapi template's 23 files into /home/me/shop, replacing all 23 already there",
    ],
    ['destructive', 'Overwrite everything', 'bootstrapper asks to change or remove files: “Overwrite everything”'],
    ['telepathy', 'you', 'bootstrapper asks to do “telepathy” on you'],
  ])('a %s request reads as one sentence', async (kind, target, sentence) => {
    setup([consent('c1', { kind, target, reason: `${target}: /home/me/src/shop/a, /home/me/src/shop/b (2 path(s))` })]);
    const summary = await screen.findByTestId('consent-summary');
    expect(summary.textContent?.replace(/\s+/g, ' ').trim()).toBe(sentence);
    if (kind === 'destructive') {
      // Its files listed one by one under a red header.
      expect(screen.getByTestId('consent-purpose')).toHaveTextContent('Change or remove files');
      expect(screen.getByTestId('consent-purpose')).toHaveClass('consent-danger');
      // Named from the task's folder, said once above them.
      await waitFor(() => expect(screen.getByTestId('consent-files-folder')).toHaveTextContent('In /home/me/src/shop:'));
      expect(within(screen.getByTestId('consent-files')).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['a', 'b']);
    }
  });

  it('shows a bidi override in the path as its code, not as the character', async () => {
    // Shown raw, U+202E makes "/home/me/report\u202Etxt.exe" read "/home/me/reportexe.txt".
    setup([
      consent('c1', {
        kind: 'write',
        target: '/home/me/report\u202Etxt.exe',
        reason: 'save the \u2066report\u2069',
        agent_id: 'boot\u200Bstrapper',
      }),
    ]);
    const target = await screen.findByTestId('consent-target');
    expect(target).toHaveTextContent('/home/me/reportU+202Etxt.exe');
    expect(target.textContent).not.toContain('\u202E');
    const mark = within(target).getByText('U+202E');
    expect(mark).toHaveClass('untrusted-mark');
    expect(mark).toHaveAttribute('title', expect.stringMatching(/^Hidden control character from the agent: right-to-left override/));
    expect(screen.getByTestId('consent-purpose')).toHaveTextContent('Save the U+2066reportU+2069');
    expect(screen.getByTestId('consent-agent-id')).toHaveTextContent('bootU+200Bstrapper');
    expect(screen.getByTestId('consent-modal').textContent).not.toMatch(/[\u200B\u202E\u2066\u2069]/);
  });

  it.each(CONSENT_CHOICES.map((c) => [c.label, c.answer] as [string, ConsentAnswer]))(
    '"%s" answers %s',
    async (label, answer) => {
      const { transport, user } = setup([consent('c1')]);
      await user.click(await screen.findByRole('button', { name: label }));
      await waitFor(() => expect(transport.requests('AnswerConsent')).toEqual([{ id: 'c1', answer }]));
      await waitFor(() => expect(screen.queryByTestId('consent-modal')).not.toBeInTheDocument());
    },
  );

  it('moves to the next pending request after an answer, and takes new ones from the feed', async () => {
    const { transport, user } = setup([consent('c2', { reason: 'publish the package' }), consent('c1')]);
    expect(await screen.findByTestId('consent-modal')).toHaveAttribute('data-consent-id', 'c1');
    expect(screen.getByTestId('consent-more')).toHaveTextContent('1 more waiting');

    await user.click(screen.getByRole('button', { name: 'Deny' }));
    await waitFor(() => expect(screen.getByTestId('consent-modal')).toHaveAttribute('data-consent-id', 'c2'));
    expect(transport.requests('AnswerConsent')).toEqual([{ id: 'c1', answer: 'CONSENT_ANSWER_DENY' }]);

    act(() => transport.emit({ consent: consent('c3', { kind: 'write', target: '/home/me/.cache' }) }));
    expect(screen.getByTestId('consent-more')).toHaveTextContent('1 more waiting');

    await user.click(screen.getByRole('button', { name: 'Allow for this agent' }));
    await waitFor(() => expect(screen.getByTestId('consent-modal')).toHaveAttribute('data-consent-id', 'c3'));
    expect(screen.getByTestId('consent-target')).toHaveTextContent('/home/me/.cache');
    expect(transport.requests('AnswerConsent').at(-1)).toEqual({ id: 'c2', answer: 'CONSENT_ANSWER_AGENT' });
  });

  it('drops a request answered elsewhere (its answered event on the feed)', async () => {
    const { transport } = setup([consent('c1')]);
    await screen.findByTestId('consent-modal');
    act(() => transport.emit({ consent: consent('c1', { status: 'CONSENT_STATUS_DENIED', answered_by: 'timeout' }) }));
    expect(screen.queryByTestId('consent-modal')).not.toBeInTheDocument();
  });

  it('keeps Tab inside the dialog, from the page behind it too', async () => {
    const { user } = setup([consent('c1')]);
    await screen.findByRole('dialog', { name: 'Permission requested' });
    // Controls of the page behind, before and after the dialog in the document.
    const before = document.createElement('button');
    const after = document.createElement('button');
    document.body.prepend(before);
    document.body.append(after);
    try {
      const first = screen.getByRole('button', { name: 'Allow once' });
      const deny = screen.getByRole('button', { name: 'Deny' });
      await waitFor(() => expect(first).toHaveFocus());
      for (let i = 0; i < CONSENT_CHOICES.length - 1; i++) await user.tab();
      expect(deny).toHaveFocus();
      await user.tab();
      expect(first).toHaveFocus();
      await user.tab({ shift: true });
      expect(deny).toHaveFocus();
      // Focus on the page behind (a click there): Tab comes back to the dialog.
      after.focus();
      await user.tab();
      expect(first).toHaveFocus();
    } finally {
      before.remove();
      after.remove();
    }
  });

  it('puts the focus on Deny when the request would change or remove files', async () => {
    setup([consent('c1', { kind: 'destructive', target: '/home/me/shop' })]);
    const modal = await screen.findByRole('dialog', { name: 'Permission requested' });
    await waitFor(() => expect(within(modal).getByRole('button', { name: 'Deny' })).toHaveFocus());
    expect(modal).toHaveClass('destructive');
  });

  it('puts waiting requests with one purpose as one question, answered together, each answer saying how far it reaches', async () => {
    const pypi = (id: string, target: string) =>
      consent(id, { target, reason: "download the new project's Python packages", created_at: `2026-11-26T10:00:0${id.slice(-1)}Z` });
    const { transport, user } = setup([pypi('c2', 'files.pythonhosted.org:443'), consent('c3', { reason: 'other' }), pypi('c1', 'pypi.org:443')]);
    const modal = await screen.findByRole('dialog', { name: 'Permission requested' });
    expect(within(modal).getByTestId('consent-purpose')).toHaveTextContent("Download the new project's Python packages (2 hosts)");
    expect(within(modal).getByTestId('consent-summary').textContent?.replace(/\s+/g, ' ').trim()).toBe(
      'bootstrapper asks to connect to pypi.org:443 and files.pythonhosted.org:443',
    );
    expect(within(modal).getByTestId('consent-more')).toHaveTextContent('1 more waiting');
    // Each answer is explained in a line, tied to its button.
    const once = within(modal).getByRole('button', { name: 'Allow once' });
    expect(once).toHaveAccessibleDescription('These 2 requests only; the next one asks again.');
    expect(within(modal).getByRole('button', { name: 'Allow for this agent' })).toHaveAccessibleDescription(
      'bootstrapper may, in every task from now on (a rule; revoke it in Settings).',
    );
    expect(within(modal).getAllByTestId('consent-scope')).toHaveLength(5);
    await user.click(within(modal).getByRole('button', { name: 'Allow for this task' }));
    await waitFor(() => expect(screen.getByTestId('consent-modal')).toHaveAttribute('data-consent-id', 'c3'));
    expect(transport.requests('AnswerConsent')).toEqual([
      { id: 'c1', answer: 'CONSENT_ANSWER_TASK' },
      { id: 'c2', answer: 'CONSENT_ANSWER_TASK' },
    ]);
  });

  it('never groups requests to change or remove files', async () => {
    const wipe = (id: string) => consent(id, { kind: 'destructive', target: 'replace 2 files', reason: 'replace 2 files: /w/a, /w/b (2 path(s))' });
    setup([wipe('c1'), wipe('c2')]);
    const modal = await screen.findByRole('dialog', { name: 'Permission requested' });
    expect(modal).toHaveAttribute('data-consent-id', 'c1');
    expect(within(modal).getByTestId('consent-more')).toHaveTextContent('1 more waiting');
    expect(within(modal).getByRole('button', { name: 'Allow once' })).toHaveAccessibleDescription('This request only; the next one asks again.');
  });

  it('is a desktop notification too when it arrives while HyperAgent is in the background and they are on', async () => {
    const { shown } = fakeNotifications('granted');
    window.localStorage.setItem(NOTIFY_KEY, 'on');
    const focus = vi.spyOn(document, 'hasFocus').mockReturnValue(false);
    try {
      // Listed at start: already there when the page opened, not news.
      const { transport } = setup([consent('c1')]);
      await screen.findByTestId('consent-modal');
      expect(shown).toHaveLength(0);
      act(() => transport.emit({ consent: consent('c2', { target: 'files.pythonhosted.org:443', agent_id: 'boot\u202Estrapper' }) }));
      expect(shown).toEqual([
        expect.objectContaining({ body: 'bootU+202Estrapper asks to connect to files.pythonhosted.org:443', tag: 'consent-c2' }),
      ]);
      // The same request again (an update), or one while the window has the focus: no more.
      act(() => transport.emit({ consent: consent('c2', { target: 'files.pythonhosted.org:443' }) }));
      focus.mockReturnValue(true);
      act(() => transport.emit({ consent: consent('c3', { target: 'example.org:443' }) }));
      expect(shown).toHaveLength(1);
      // Switched off in Settings: none.
      focus.mockReturnValue(false);
      window.localStorage.removeItem(NOTIFY_KEY);
      act(() => transport.emit({ consent: consent('c4', { target: 'example.com:443' }) }));
      expect(shown).toHaveLength(1);
    } finally {
      vi.unstubAllGlobals();
      vi.restoreAllMocks();
      window.localStorage.removeItem(NOTIFY_KEY);
    }
  });
});
