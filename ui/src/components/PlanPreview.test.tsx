import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError, ClientProvider, type Plan } from '../ipc';
import { MockTransport, type Handlers } from '../testing/mockTransport';
import { candidate, plan, plannedStep, shopPlan } from '../testing/plans';
import { PlanPreview } from './PlanPreview';

// As the bootstrapper declares it (agents/bootstrapper: BOOTSTRAP_SCHEMA).
const bootstrapSchema = {
  type: 'object',
  properties: {
    template: { type: 'string', minLength: 1 },
    answers: { type: 'object', default: {} },
    dry_run: { type: 'boolean', default: false },
    overwrite: { type: 'boolean', default: false },
    checks: { type: 'boolean', default: true },
    git: { type: 'boolean', default: true },
  },
  required: ['template'],
};

const withSchemas: Handlers = {
  ListTaskTypes: () => ({
    task_types: [
      {
        task_type: {
          name: 'bootstrap.project',
          description: 'Make a project from a template',
          payload_schema_json: JSON.stringify(bootstrapSchema),
          examples: [],
          folder: 'FOLDER_USE_CREATES',
        },
        agent_ids: ['bootstrapper'],
        available: true,
      },
    ],
  }),
};
const withoutSchemas: Handlers = {
  ListTaskTypes: () => {
    throw new ApiError('unavailable', 'not now');
  },
};

function setup(shown: Plan, handlers: Handlers = withSchemas) {
  const transport = new MockTransport({
    AcceptPlan: (req) => ({ ...shown, state: 'PLAN_STATE_RUNNING', id: req.plan_id ?? '' }),
    ...handlers,
  });
  const onAccepted = vi.fn();
  const user = userEvent.setup();
  render(
    <ClientProvider client={transport.client()}>
      <PlanPreview plan={shown} onAccepted={onAccepted} onRejected={() => {}} />
    </ClientProvider>,
  );
  return { transport, user, onAccepted };
}

const stepCard = (n: number) => screen.getAllByTestId('plan-step').find((el) => el.dataset.step === String(n))!;
const run = () => screen.getByRole('button', { name: 'Run' });

describe('The plan preview', () => {
  it('shows each step: its number, type, why and how sure, the agents, what it touches and asks, what it waits for', async () => {
    setup(shopPlan());
    const first = stepCard(1);
    expect(within(first).getByRole('heading', { level: 3 })).toHaveTextContent('Step 1: bootstrap.project');
    expect(first).toHaveTextContent('bootstrap a FastAPI project called shop (82% sure)');
    expect(within(first).getByTestId('top-candidate')).toHaveTextContent('bootstrapper (score 0.71)');
    expect(within(first).getAllByTestId('candidate-row').map((r) => r.textContent)).toEqual([
      expect.stringMatching(/^bootstrapper0\.71/),
      expect.stringMatching(/^bootstrapper-20\.40.*no$/),
    ]);
    expect(within(first).getByTestId('step-touches')).toHaveTextContent('/home/me/HyperAgent/shop (made for it)');
    expect(within(first).getByTestId('step-asks')).toHaveTextContent('to write over the folder if it is not empty');
    expect(within(first).getByTestId('step-after')).toHaveTextContent('nothing: it starts first');
    expect(within(first).getByTestId('payload-values')).toHaveTextContent('template: fastapi');

    const second = stepCard(2);
    expect(within(second).getByRole('heading', { level: 3 })).toHaveTextContent('Step 2: open (open in the editor)');
    expect(within(second).getByTestId('step-after')).toHaveTextContent('step 1');
    expect(second).toHaveTextContent('HyperAgent itself (no agent)');
    expect(within(second).getByLabelText('Folder of step 2')).toHaveValue('$1.path');
    expect(second).toHaveTextContent('"$1.path" is the folder of the project step 1 makes.');
    expect(run()).toBeEnabled();
  });

  it('shows what agents and words put in a step as text, hidden characters by their code', () => {
    const shown = plan('p', [
      plannedStep({ number: 1, task_type: 'echo\u2066.say', why: 'say hi \u202Eevil' }, { touches: 'shop\u200B' }),
    ]);
    setup(shown);
    expect(within(stepCard(1)).getAllByTestId('untrusted-mark').map((m) => m.textContent)).toEqual([
      'U+2066',
      'U+202E',
      'U+200B',
    ]);
  });

  it('sends a payload edited in its form and a new folder as one edit of that step', async () => {
    const { transport, user, onAccepted } = setup(shopPlan());
    const first = stepCard(1);
    await user.click(within(first).getByText('Edit the payload'));
    // The form of the task type's schema, filled from the plan's payload and the defaults.
    const checks = await within(first).findByLabelText(/checks/);
    expect(checks).toBeChecked();
    expect(within(first).getByLabelText(/template/)).toHaveValue('fastapi');
    await user.click(checks);
    const answers = within(first).getByLabelText(/answers/);
    await user.clear(answers);
    await user.click(answers);
    await user.paste('{"project_name": "shop2"}');
    await user.type(within(first).getByLabelText('Folder of step 1'), 'shop2');

    await user.click(run());
    await waitFor(() => expect(onAccepted).toHaveBeenCalledTimes(1));
    const [req] = transport.requests('AcceptPlan');
    expect(req?.plan_id).toBe('plan-1');
    expect(req?.edits).toHaveLength(1);
    const edit = req!.edits![0]!;
    expect({ ...edit, payload_json: '' }).toEqual({ number: 1, remove: false, payload_json: '', workspace: 'shop2' });
    expect(JSON.parse(edit.payload_json)).toEqual({
      template: 'fastapi',
      answers: { project_name: 'shop2' },
      dry_run: false,
      overwrite: false,
      checks: false,
      git: true,
    });
  });

  it('edits a payload as JSON when its schema is not known, with a clear parse error that blocks Run', async () => {
    const { transport, user } = setup(shopPlan(), withoutSchemas);
    const first = stepCard(1);
    await user.click(within(first).getByText('Edit the payload'));
    const json = within(first).getByLabelText('Payload of step 1 (JSON)');
    expect(JSON.parse((json as HTMLTextAreaElement).value)).toEqual({ template: 'fastapi', answers: { project_name: 'shop' } });

    await user.clear(json);
    await user.paste('{"template": "fastapi", "answers": ');
    expect(within(first).getByTestId('payload-error')).toHaveTextContent(/^This is not JSON: /);
    expect(json).toHaveAttribute('aria-invalid', 'true');
    expect(run()).toBeDisabled();
    expect(screen.getByTestId('plan-blockers')).toHaveTextContent("Step 1's payload: This is not JSON");

    await user.paste('{"project_name": "bazaar"}, "checks": false}');
    expect(within(first).queryByTestId('payload-error')).not.toBeInTheDocument();
    await user.click(run());
    await waitFor(() => expect(transport.requests('AcceptPlan')).toHaveLength(1));
    expect(transport.requests('AcceptPlan')[0]?.edits).toEqual([
      {
        number: 1,
        remove: false,
        payload_json: '{"template":"fastapi","answers":{"project_name":"bazaar"},"checks":false}',
        workspace: '',
      },
    ]);
  });

  it('removes a step nothing needs; refuses, saying why, to remove one another step needs', async () => {
    const { transport, user } = setup(shopPlan());
    await user.click(within(stepCard(1)).getByRole('button', { name: 'Remove step 1' }));
    expect(within(stepCard(1)).getByTestId('step-remove-refused')).toHaveTextContent(
      'Step 1 cannot be removed alone: step 2 needs it. Remove that step first.',
    );
    expect(within(stepCard(1)).getByRole('button', { name: 'Remove step 1' })).toBeInTheDocument();

    await user.click(within(stepCard(2)).getByRole('button', { name: 'Remove step 2' }));
    expect(stepCard(2)).toHaveTextContent('removed');
    expect(within(stepCard(2)).getByLabelText('Folder of step 2')).not.toBeVisible();
    await user.click(run());
    await waitFor(() => expect(transport.requests('AcceptPlan')).toHaveLength(1));
    expect(transport.requests('AcceptPlan')[0]?.edits).toEqual([{ number: 2, remove: true, payload_json: '', workspace: '' }]);
  });

  it('blocks Run while a step has a problem, until that step is removed', async () => {
    const shown = plan('p-2', [
      plannedStep({ number: 1 }, { candidates: [candidate('echo', 0.5)] }),
      plannedStep(
        { number: 2, task_type: 'tests.run', workspace: '/etc' },
        { problem: 'its folder /etc is outside the workspace root' },
      ),
    ]);
    const { transport, user } = setup(shown);
    expect(within(stepCard(2)).getByTestId('step-problem')).toHaveTextContent(
      'Cannot run as it stands: its folder /etc is outside the workspace root',
    );
    expect(run()).toBeDisabled();
    expect(screen.getByTestId('plan-blockers')).toHaveTextContent('Step 2 cannot run as it stands');
    await user.click(run());
    expect(transport.requests('AcceptPlan')).toHaveLength(0);

    await user.click(within(stepCard(2)).getByRole('button', { name: 'Remove step 2' }));
    expect(screen.queryByTestId('plan-blockers')).not.toBeInTheDocument();
    expect(within(stepCard(2)).queryByTestId('step-problem')).not.toBeInTheDocument();
    await user.click(run());
    await waitFor(() => expect(transport.requests('AcceptPlan')).toHaveLength(1));
    expect(transport.requests('AcceptPlan')[0]?.edits).toEqual([{ number: 2, remove: true, payload_json: '', workspace: '' }]);
  });

  it('shows why the manager would not run it', async () => {
    const { user, onAccepted } = setup(shopPlan(), {
      ...withSchemas,
      AcceptPlan: () => {
        throw new ApiError('failed_precondition', 'the plan is not proposed any more (rejected)');
      },
    });
    await user.click(run());
    expect(await screen.findByTestId('plan-error')).toHaveTextContent('the plan is not proposed any more (rejected)');
    expect(onAccepted).not.toHaveBeenCalled();
    expect(run()).toBeEnabled();
  });
});
