import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { ClientProvider, type Action, type SubmitTaskRequest, type Task } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { task } from '../testing/tasks';
import { RollbackAction, UpdatePanel } from './UpdateFromTemplate';

const PROJECT = '/home/me/src/shop';

/** An update task as it ended: completed with `output`, or failed with `error`. */
function ended(req: SubmitTaskRequest, end: { output?: object; error?: string }): Task {
  return task('u1', {
    task_type: req.task_type ?? '',
    payload_json: req.payload_json ?? '',
    workspace: req.workspace ?? '',
    state: end.error ? 'TASK_STATE_FAILED' : 'TASK_STATE_COMPLETED',
    result: {
      status: end.error ? 'RESULT_STATUS_FAILED' : 'RESULT_STATUS_SUCCEEDED',
      exit_code: 0,
      summary: '',
      artifacts: [],
      output_json: end.output ? JSON.stringify(end.output) : '',
      error: end.error ?? '',
    },
  });
}

const OUTPUT = {
  path: PROJECT,
  template: '/home/me/templates/service',
  old_commit: 'v1.0.0',
  new_commit: 'v2.0.0',
  changed: ['README.md'],
  added: ['new.txt'],
  removed: ['old.txt'],
  conflicts: ['README.md'],
  conflict: 'inline',
  answers: { name: 'shop' },
  warnings: ['migration 2.0.0 not run: ./migrate.sh'],
  message: '',
  preview: true,
  diff: '--- a/README.md\n+++ b/README.md\n@@ -1,2 +1,2 @@\n # shop\n-end v1\n+end v2\n',
};

function setup(end: (req: SubmitTaskRequest) => { output?: object; error?: string }) {
  const transport = new MockTransport({
    SubmitTask: (req) => {
      const payload = JSON.parse(req.payload_json ?? '{}') as { preview?: boolean };
      // The real update is only submitted: it opens on its own page.
      return { task: payload.preview ? ended(req, end(req)) : task('u2', { task_type: req.task_type ?? '' }), created: true };
    },
  });
  render(
    <ClientProvider client={transport.client()}>
      <UpdatePanel path={PROJECT} onClose={() => {}} />
    </ClientProvider>,
  );
  return transport;
}

describe('UpdatePanel', () => {
  it("previews the update of the project's folder: the versions, every file, the conflicts it would leave and the diff", async () => {
    const user = userEvent.setup();
    const transport = setup(() => ({ output: OUTPUT }));
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    const summary = await screen.findByTestId('update-summary');
    expect(within(summary).getByRole('heading', { level: 3 })).toHaveTextContent('Preview: v1.0.0 → v2.0.0');
    // The focus goes to what came back, so keyboard and screen reader users are taken to it.
    expect(within(summary).getByRole('heading', { level: 3 })).toHaveFocus();
    expect(summary).toHaveTextContent('1 changed, 1 added, 1 removed, 1 conflict. Nothing was written.');
    const files = within(screen.getByTestId('update-files')).getAllByRole('listitem').map((li) => li.textContent);
    expect(files).toEqual(['changed README.md', 'added new.txt', 'removed old.txt']);
    expect(screen.getByTestId('update-conflicts')).toHaveTextContent('Conflicts it would leave (1)');
    expect(screen.getByTestId('update-conflicts')).toHaveTextContent('<<<<<<< before updating');
    expect(screen.getByTestId('update-warnings')).toHaveTextContent('migration 2.0.0 not run');
    const diff = screen.getByTestId('update-diff');
    expect(diff.querySelector('.add')).toHaveTextContent('+end v2');
    expect(diff.querySelector('.del')).toHaveTextContent('-end v1');
    const [req] = transport.requests('SubmitTask');
    expect(req?.task_type).toBe('project.update');
    expect(req?.workspace).toBe(PROJECT);
    // No version given: none sent (the latest release); conflicts inline by default.
    expect(JSON.parse(req?.payload_json ?? '')).toEqual({ conflict: 'inline', preview: true });
  });

  it('sends the version and conflict mode chosen; a .rej conflict is named by its .rej file', async () => {
    const user = userEvent.setup();
    const transport = setup(() => ({ output: { ...OUTPUT, conflict: 'rej' } }));
    await user.type(screen.getByLabelText('Version'), ' v2.0.0 ');
    await user.click(screen.getByLabelText(/in a \.rej file beside it/));
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    expect(await screen.findByTestId('update-conflicts')).toHaveTextContent('README.md.rej');
    expect(JSON.parse(transport.requests('SubmitTask')[0]?.payload_json ?? '')).toEqual({
      conflict: 'rej',
      preview: true,
      vcs_ref: 'v2.0.0',
    });
    // A changed choice puts the preview of the old one away.
    await user.click(screen.getByLabelText(/Marked in the file/));
    expect(screen.queryByTestId('update-summary')).not.toBeInTheDocument();
  });

  it('says plainly at the version when there is nothing newer to update to', async () => {
    const user = userEvent.setup();
    const transport = setup(() => ({ output: { ...OUTPUT, old_commit: 'v2.0.0', changed: [], added: [], removed: [], conflicts: [], diff: '' } }));
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    const note = await screen.findByTestId('update-latest');
    expect(note).toHaveTextContent("Nothing to update: the project is already at v2.0.0, the template's latest release.");
    expect(screen.getByLabelText('Version')).toHaveAccessibleDescription(/Nothing to update/);
    expect(screen.queryByTestId('update-summary')).not.toBeInTheDocument();
    // Nothing to update with these choices: Update says why and submits nothing.
    const update = screen.getByRole('button', { name: 'Update' });
    expect(update).toHaveAttribute('aria-disabled', 'true');
    expect(update).toHaveAccessibleDescription(/Nothing to update/);
    await user.click(update);
    expect(transport.requests('SubmitTask')).toHaveLength(1);
  });

  it('shows a version the template does not have at the version field, in plain words and its own', async () => {
    const user = userEvent.setup();
    setup(() => ({
      error: `${PROJECT} was not updated: the template /t cannot be checked out: the template /t has no ref 'v9' (give a tag, branch or commit)`,
    }));
    await user.type(screen.getByLabelText('Version'), 'v9');
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    const error = await screen.findByTestId('update-version-error');
    expect(error).toHaveTextContent('The template has no version “v9”');
    expect(error).toHaveTextContent("has no ref 'v9'");
    const version = screen.getByLabelText('Version');
    expect(version).toHaveAttribute('aria-invalid', 'true');
    expect(version).toHaveAccessibleDescription(/no version “v9”/);
    expect(version).toHaveFocus();
    expect(screen.queryByTestId('update-error')).not.toBeInTheDocument();
    // Typing another version clears it.
    await user.type(version, '0');
    expect(screen.queryByTestId('update-version-error')).not.toBeInTheDocument();
  });

  it('says a folder that was not made from a template cannot be updated', async () => {
    const user = userEvent.setup();
    setup(() => ({
      error: `${PROJECT} was not updated: ${PROJECT} was not made from a template: it has no answers file (.copier-answers.yml, or the template's own \`_answers_file\`: give its path as answers_file)`,
    }));
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    const error = await screen.findByTestId('update-error');
    expect(error).toHaveTextContent('This folder was not made from a copier template');
    expect(error).toHaveTextContent('it has no answers file');
    expect(screen.getByLabelText('Version')).not.toHaveAttribute('aria-invalid');
  });

  it('submits the real update (not a preview) and opens its task page', async () => {
    const user = userEvent.setup();
    window.location.hash = '#/tasks/t1';
    const transport = setup(() => ({ output: OUTPUT }));
    await user.click(screen.getByRole('button', { name: 'Update' }));
    await waitFor(() => expect(window.location.hash).toBe('#/tasks/u2'));
    expect(JSON.parse(transport.requests('SubmitTask')[0]?.payload_json ?? '')).toEqual({ conflict: 'inline', preview: false });
  });
});

describe('RollbackAction', () => {
  const action = (over: Partial<Action> = {}): Action => ({
    id: 'a1',
    task_id: 'u1',
    agent_id: 'bootstrapper',
    description: 'update shop',
    paths: [
      { path: `${PROJECT}/README.md`, existed: true },
      { path: `${PROJECT}/new.txt`, existed: false },
    ],
    files: '2',
    bytes: '10',
    ...over,
  });

  it("offers to put back the task's files, asks once more, and says when it was done", async () => {
    const user = userEvent.setup();
    const transport = new MockTransport({
      ListActions: () => ({ actions: [action({ id: 'other', task_id: 'x' }), action()] }),
      RollbackAction: (req) => action({ id: req.id ?? '', rolled_back_at: '2026-11-26T10:05:00Z' }),
    });
    render(
      <ClientProvider client={transport.client()}>
        <RollbackAction taskId="u1" />
      </ClientProvider>,
    );
    await user.click(await screen.findByRole('button', { name: 'Roll back' }));
    expect(screen.getByRole('group', { name: 'Confirm: Roll back' })).toHaveTextContent(
      'Put the 2 files this task changed back as they were before it?',
    );
    await user.click(screen.getByRole('button', { name: 'Yes, roll back' }));
    expect(await screen.findByTestId('rolled-back')).toHaveTextContent('the files are as they were before this task');
    expect(transport.requests('RollbackAction')).toEqual([{ id: 'a1' }]);
  });

  it('offers nothing for a task that changed no files the person allowed', async () => {
    const transport = new MockTransport({ ListActions: () => ({ actions: [action({ task_id: 'x' })] }) });
    render(
      <ClientProvider client={transport.client()}>
        <RollbackAction taskId="u1" />
      </ClientProvider>,
    );
    await waitFor(() => expect(transport.requests('ListActions')).toHaveLength(1));
    expect(screen.queryByRole('button', { name: 'Roll back' })).not.toBeInTheDocument();
  });
});
