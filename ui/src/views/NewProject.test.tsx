import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { FeedProvider } from '../app/feed';
import { ApiError, ClientProvider, type Task, type Template } from '../ipc';
import { MockTransport } from '../testing/mockTransport';
import { NewProject } from './NewProject';

// Shaped as the manager's catalogue makes it for templates/fastapi (properties deliberately out of
// order: x-order is what counts).
const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'shop answers',
  type: 'object',
  properties: {
    docker: { type: 'boolean', description: 'Add a Dockerfile?', default: false },
    project_name: {
      type: 'string',
      description: 'Project name',
      examples: ['my-service'],
      pattern: '^[a-z][a-z0-9-]*$',
      maxLength: 40,
    },
    package_name: { type: 'string', description: 'Python package name', 'x-default-template': "{{ project_name|replace('-', '_') }}" },
    workers: { type: 'integer', description: 'Worker processes', default: 2, minimum: 1, maximum: 16 },
    database: {
      type: 'string',
      description: 'Database',
      oneOf: [
        { const: 'none', title: 'No database' },
        { const: 'sqlite', title: 'SQLite' },
        { const: 'postgres', title: 'PostgreSQL' },
      ],
      default: 'none',
    },
    postgres_version: {
      type: 'string',
      description: 'PostgreSQL version',
      enum: ['15', '16', '17'],
      default: '17',
      'x-when': "{{ database == 'postgres' and docker }}",
    },
  },
  required: ['project_name'],
  additionalProperties: false,
  'x-order': ['project_name', 'package_name', 'workers', 'database', 'docker', 'postgres_version'],
};

const templates: Template[] = [
  {
    name: 'fastapi',
    dir: '/t/fastapi',
    description: 'A FastAPI service',
    status: 'TEMPLATE_STATUS_OK',
    error: '',
    warnings: [],
    answers_schema_json: JSON.stringify(schema),
  },
  {
    name: 'wonky',
    dir: '/t/wonky',
    description: '',
    status: 'TEMPLATE_STATUS_BROKEN',
    error: 'copier.yml:3: unknown type `strng`',
    warnings: [],
    answers_schema_json: '',
  },
];

function fakeTask(id: string): Task {
  return {
    id,
    task_type: 'bootstrap.project',
    payload_json: '{}',
    state: 'TASK_STATE_QUEUED',
    agent_id: '',
    pin_agent: '',
    idempotency_key: '',
    attempts: [],
    max_attempts: 3,
    timeout_secs: 0,
    status_reason: '',
    workspace: '/ws/shop',
    created_at: '2026-11-26T10:00:00Z',
    updated_at: '2026-11-26T10:00:00Z',
    cancel_requested: false,
  };
}

// As the manager serves templates/fastapi: its rules are the template's own Jinja validators.
const PROJECT_RULE =
  "{%- if project_name|length == 0 -%} project_name is required {%- elif (project_name | regex_search('^[a-z0-9-]+$')) is none -%} project_name may only contain lowercase letters, digits and hyphens {%- elif project_name[:1] not in 'abcdefghijklmnopqrstuvwxyz' -%} project_name must start with a lowercase letter {%- elif project_name[-1:] == '-' or '--' in project_name -%} project_name must not end with a hyphen or contain two hyphens in a row {%- endif -%}";
const PACKAGE_RULE =
  "{%- if package_name|length == 0 -%} package_name is required {%- elif (package_name | regex_search('^[a-z0-9_]+$')) is none -%} package_name may only contain lowercase letters, digits and underscores {%- elif package_name in ['and', 'class', 'def'] -%} package_name must not be a Python keyword {%- endif -%}";
const validated: Template = {
  ...templates[0]!,
  answers_schema_json: JSON.stringify({
    ...schema,
    properties: {
      ...schema.properties,
      project_name: { type: 'string', description: 'Project name', 'x-validator': PROJECT_RULE },
      package_name: { ...schema.properties.package_name, 'x-validator': PACKAGE_RULE },
    },
  }),
};

function setup(listed: Template[] = templates): { transport: MockTransport; user: ReturnType<typeof userEvent.setup>; unmount: () => void } {
  const transport = new MockTransport({
    ListTemplates: () => ({ templates: listed }),
    SubmitTask: () => ({ task: fakeTask('t-1'), created: true }),
  });
  const user = userEvent.setup();
  const { unmount } = render(
    <ClientProvider client={transport.client()}>
      <FeedProvider>
        <NewProject />
      </FeedProvider>
    </ClientProvider>,
  );
  return { transport, user, unmount };
}

const questionOrder = () =>
  Array.from(document.querySelectorAll<HTMLElement>('[data-question]')).map((el) => el.dataset.question);

describe('New project form', () => {
  beforeEach(() => {
    window.location.hash = '#/new';
    window.sessionStorage.clear();
  });

  it('lists templates, broken ones with their error and not selectable', async () => {
    setup();
    const broken = await screen.findByRole('radio', { name: /wonky/ });
    expect(broken).toBeDisabled();
    expect(screen.getByTestId('template-error')).toHaveTextContent('copier.yml:3: unknown type `strng`');
    // The only usable template is chosen for you.
    await waitFor(() => expect(screen.getByRole('radio', { name: /fastapi/ })).toBeChecked());
  });

  it('draws the questions in x-order with their defaults and help', async () => {
    setup();
    await screen.findByLabelText(/project_name/);
    expect(questionOrder()).toEqual(['project_name', 'package_name', 'workers', 'database', 'docker']);
    expect(screen.getByLabelText(/project_name/)).toHaveValue('');
    expect(screen.getByLabelText(/project_name/)).toHaveAttribute('placeholder', 'my-service');
    expect(screen.getByLabelText(/workers/)).toHaveValue(2);
    expect(screen.getByLabelText(/database/)).toHaveDisplayValue('No database');
    expect(screen.getByLabelText(/docker/)).not.toBeChecked();
    expect(screen.getByText('Worker processes')).toBeInTheDocument();
  });

  it('asks a conditional question only when its x-when holds', async () => {
    const { user } = setup();
    await screen.findByLabelText(/project_name/);
    expect(screen.queryByLabelText(/postgres_version/)).not.toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText(/database/), 'PostgreSQL');
    expect(screen.queryByLabelText(/postgres_version/)).not.toBeInTheDocument();
    await user.click(screen.getByLabelText(/docker/));
    expect(screen.getByLabelText(/postgres_version/)).toHaveDisplayValue('17');
  });

  it('shows inline errors for a missing required answer, a bad pattern and a bad number, and does not submit', async () => {
    const { transport, user } = setup();
    await screen.findByLabelText(/project_name/);

    await user.click(screen.getByRole('button', { name: 'Create' }));
    expect(await screen.findByText('Project name is required.')).toBeInTheDocument();
    expect(screen.getByLabelText(/project_name/)).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText(/project_name/)).toHaveFocus();

    await user.type(screen.getByLabelText(/project_name/), 'My Shop');
    expect(screen.getByText('Project name must match ^[a-z][a-z0-9-]*$.')).toBeInTheDocument();

    await user.clear(screen.getByLabelText(/project_name/));
    await user.type(screen.getByLabelText(/project_name/), 'shop');
    await user.clear(screen.getByLabelText(/workers/));
    await user.type(screen.getByLabelText(/workers/), '99');
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    expect(screen.getByText('Worker processes must be at most 16.')).toBeInTheDocument();

    expect(transport.requests('SubmitTask')).toHaveLength(0);
  });

  it('submits the typed answers, the folder (defaulting to the project name) and goes to the task', async () => {
    const { transport, user } = setup();
    await screen.findByLabelText(/project_name/);
    await user.type(screen.getByLabelText(/project_name/), 'my-shop');
    expect(screen.getByLabelText('Folder')).toHaveValue('my-shop');
    expect(screen.getByLabelText(/package_name/)).toHaveAttribute('placeholder', 'my_shop');
    await user.clear(screen.getByLabelText(/workers/));
    await user.type(screen.getByLabelText(/workers/), '4');
    await user.selectOptions(screen.getByLabelText(/database/), 'SQLite');
    await user.click(screen.getByLabelText(/docker/));
    await user.click(screen.getByRole('button', { name: 'Create' }));

    await waitFor(() => expect(transport.requests('SubmitTask')).toHaveLength(1));
    const req = transport.requests('SubmitTask')[0]!;
    expect(req.task_type).toBe('bootstrap.project');
    expect(req.workspace).toBe('my-shop');
    expect(JSON.parse(req.payload_json ?? '')).toEqual({
      template: 'fastapi',
      answers: { project_name: 'my-shop', workers: 4, database: 'sqlite', docker: true },
      dry_run: false,
      checks: true,
      git: true,
      overwrite: false,
    });
    await waitFor(() => expect(window.location.hash).toBe('#/tasks/t-1'));
  });

  it('previews once the task’s feed says it ended: the files the dry run would write', async () => {
    const { transport, user } = setup();
    const done = {
      ...fakeTask('t-1'),
      state: 'TASK_STATE_COMPLETED' as const,
      result: {
        status: 'RESULT_STATUS_SUCCEEDED' as const,
        output_json: JSON.stringify({ path: '/ws/shop', files: [{ path: 'shop/main.py', state: 'new' }], diff: '' }),
        error: '',
      },
    } as Task;
    transport.handlers.GetTask = () => done;
    await screen.findByLabelText(/project_name/);
    await user.type(screen.getByLabelText(/project_name/), 'shop');
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    await waitFor(() => expect(transport.subscribers.size).toBeGreaterThan(0));
    const sub = [...transport.subscribers].find((x) => x.query.task_id === 't-1')!;
    expect(sub.query).toEqual({ task_id: 't-1', after_seq: '0', exclude_logs: true });
    expect(transport.requests('GetTask')).toHaveLength(0); // no polling while it runs
    transport.emit({
      task_state: { task_id: 't-1', from: 'TASK_STATE_RUNNING', to: 'TASK_STATE_COMPLETED', reason: '', agent_id: 'bootstrapper', attempt: 1 },
    } as never);
    expect(await screen.findByTestId('preview-files')).toHaveTextContent('shop/main.py');
    expect(transport.requests('GetTask')).toEqual([{ task_id: 't-1' }]);
  });

  it('shows the server error message inline', async () => {
    const { transport, user } = setup();
    transport.handlers.SubmitTask = () => {
      throw new ApiError('invalid_argument', 'answers: project_name may only contain lowercase letters');
    };
    await screen.findByLabelText(/project_name/);
    await user.type(screen.getByLabelText(/project_name/), 'shop');
    await user.click(screen.getByRole('button', { name: 'Create' }));
    const note = await screen.findByTestId('form-error');
    expect(note).toHaveAttribute('data-code', 'invalid_argument');
    expect(note).toHaveTextContent('project_name may only contain lowercase letters');
    const question = document.querySelector('[data-question="project_name"]') as HTMLElement;
    expect(within(question).getByRole('alert')).toHaveTextContent('may only contain lowercase letters');
  });

  it('keeps the answers typed in this tab across leaving the page and a reload', async () => {
    const first = setup();
    await screen.findByLabelText(/project_name/);
    await first.user.type(screen.getByLabelText(/project_name/), 'shop');
    await first.user.clear(screen.getByLabelText(/workers/));
    await first.user.type(screen.getByLabelText(/workers/), '4');
    await first.user.click(screen.getByLabelText(/docker/));
    await first.user.clear(screen.getByLabelText('Folder'));
    await first.user.type(screen.getByLabelText('Folder'), 'src/shop');
    await first.user.click(screen.getByLabelText(/Allow a folder that is not empty/));
    first.unmount();

    setup();
    expect(await screen.findByLabelText(/project_name/)).toHaveValue('shop');
    expect(screen.getByLabelText(/workers/)).toHaveValue(4);
    expect(screen.getByLabelText(/docker/)).toBeChecked();
    expect(screen.getByLabelText('Folder')).toHaveValue('src/shop');
    expect(screen.getByLabelText(/Allow a folder that is not empty/)).toBeChecked();
  });

  it("checks answers as they are typed with the template's own validators, and offers a valid name", async () => {
    const { transport, user } = setup([validated]);
    const name = await screen.findByLabelText(/project_name/);
    const create = screen.getByRole('button', { name: 'Create' });
    expect(create).toHaveAttribute('aria-disabled', 'true');
    expect(screen.getByTestId('form-blocked')).toHaveTextContent('First answer or fix: project_name');

    await user.type(name, 'My Shop');
    const question = () => document.querySelector('[data-question="project_name"]') as HTMLElement;
    expect(within(question()).getByRole('alert')).toHaveTextContent(
      /^project_name may only contain lowercase letters, digits and hyphens\.$/,
    );
    await user.click(screen.getByRole('button', { name: 'Use “my-shop”' }));
    expect(name).toHaveValue('my-shop');
    expect(within(question()).queryByRole('alert')).not.toBeInTheDocument();
    expect(create).not.toHaveAttribute('aria-disabled');

    await user.clear(name);
    await user.type(name, 'Shop');
    expect(screen.getByRole('button', { name: 'Use “shop”' })).toBeInTheDocument();
    await user.click(create);
    expect(transport.requests('SubmitTask')).toHaveLength(0);
    expect(name).toHaveFocus();
  });

  it("checks a blank answer's computed default as the bootstrapper would, at its own question", async () => {
    const { user } = setup([validated]);
    await user.type(await screen.findByLabelText(/project_name/), 'class');
    const pkg = document.querySelector('[data-question="package_name"]') as HTMLElement;
    expect(within(pkg).getByRole('alert')).toHaveTextContent(
      'package_name must not be a Python keyword (its default, made from the other answers, is “class”).',
    );
    expect(screen.getByTestId('form-blocked')).toHaveTextContent('First answer or fix: package_name');
  });

  it('refuses spaces in the folder and offers the folder without them', async () => {
    const { user } = setup();
    await user.type(await screen.findByLabelText(/project_name/), 'shop');
    await user.clear(screen.getByLabelText('Folder'));
    await user.type(screen.getByLabelText('Folder'), 'my shop');
    expect(screen.getByText('The folder cannot have spaces in its name.')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Create' })).toHaveAttribute('aria-disabled', 'true');
    await user.click(screen.getByRole('button', { name: 'Use “my-shop”' }));
    expect(screen.getByLabelText('Folder')).toHaveValue('my-shop');
    expect(screen.getByRole('button', { name: 'Create' })).not.toHaveAttribute('aria-disabled');
  });

  it('shows a failed preview’s error at the question it names, until that answer changes', async () => {
    const { transport, user } = setup();
    const failed = {
      ...fakeTask('t-1'),
      state: 'TASK_STATE_FAILED' as const,
      result: {
        status: 'RESULT_STATUS_FAILED' as const,
        output_json: '',
        error: "answers for template 'fastapi' are not valid: database 'sqlite' cannot be used here",
      },
    } as Task;
    transport.handlers.SubmitTask = () => ({ task: failed, created: true });
    await user.type(await screen.findByLabelText(/project_name/), 'shop');
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    const database = () => document.querySelector('[data-question="database"]') as HTMLElement;
    expect(await within(database()).findByRole('alert')).toHaveTextContent("database 'sqlite' cannot be used here");
    expect(screen.getByRole('button', { name: 'Create' })).toHaveAttribute('aria-disabled', 'true');
    await user.selectOptions(screen.getByLabelText(/database/), 'PostgreSQL');
    expect(within(database()).queryByRole('alert')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Create' })).not.toHaveAttribute('aria-disabled');
  });
});
