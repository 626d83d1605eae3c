import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { ClientProvider, type Task } from '../../ipc';
import { MockTransport } from '../../testing/mockTransport';
import { FilesView } from './FilesView';
import { FindingsView } from './FindingsView';
import { TestsView } from './TestsView';
import { filesOf, findingsOf, testsOf } from './shapes';

function task(over: Partial<Task> = {}): Task {
  return {
    id: 'task-1',
    task_type: 'tests.run',
    payload_json: '{"python": "3.11", "k": "api", "rerun_failures": 1}',
    state: 'TASK_STATE_COMPLETED',
    agent_id: 'testrunner',
    pin_agent: '',
    idempotency_key: '',
    attempts: [],
    max_attempts: 1,
    timeout_secs: 0,
    status_reason: '',
    workspace: '/home/me/hyperagent/shop',
    cancel_requested: false,
    ...over,
  };
}

const TESTS_OUTPUT = {
  framework: 'pytest',
  python: '3.11.2',
  counts: { passed: 2, failed: 1, errors: 1, flaky: 1, skipped: 0, total: 5 },
  tests: [
    { id: 'tests/test_a.py::test_ok', outcome: 'passed', file: 'tests/test_a.py', line: 3, seconds: 0.01 },
    { id: 'tests/test_a.py::test_ok2', outcome: 'passed', file: 'tests/test_a.py', line: 6, seconds: 0.02 },
    { id: 'tests/test_a.py::test_bad', outcome: 'failed', file: 'tests/test_a.py', line: 9, seconds: 0.03 },
    { id: 'tests/test_b.py::test_boom', outcome: 'error', file: 'tests/test_b.py', line: 2, seconds: 0.0 },
    { id: 'tests/test_b.py::test_shaky', outcome: 'flaky', file: 'tests/test_b.py', line: 5, seconds: 0.1 },
  ],
  failures: [
    {
      id: 'tests/test_a.py::test_bad',
      kind: 'failed',
      file: 'tests/test_a.py',
      line: 10,
      message: 'AssertionError: total is off by one',
      traceback: 'def test_bad():\n>   assert total([1, 2]) == 3',
    },
    { id: 'tests/test_b.py::test_boom', kind: 'error', file: 'tests/test_b.py', line: 2, message: 'fixture missing', traceback: '' },
  ],
  flaky: [{ id: 'tests/test_b.py::test_shaky', passed_on_attempt: 2, first_failure: 'first run fails' }],
  tests_omitted: 0,
};

function setup(ui: React.ReactNode) {
  const transport = new MockTransport({
    SubmitTask: (req) => ({ task: task({ id: 'task-2', payload_json: req.payload_json }), created: true }),
    OpenPath: (req) => ({ path: `${req.task_id}/${req.file}`, opener: 'code (/usr/bin/code)', warnings: [], cannot_open: '', refused: false }),
  });
  const user = userEvent.setup();
  render(<ClientProvider client={transport.client()}>{ui}</ClientProvider>);
  return { transport, user };
}

describe('the tests view', () => {
  it('shows the failing tests first, every test on asking, and a failure with its traceback', async () => {
    const result = testsOf(TESTS_OUTPUT)!;
    const { user } = setup(<TestsView task={task()} result={result} />);
    const rows = () => screen.getAllByTestId('test-row').map((r) => r.getAttribute('data-outcome'));
    expect(rows()).toEqual(['failed', 'error']);
    await user.click(screen.getByTestId('filter-all'));
    expect(rows()).toEqual(['failed', 'error', 'flaky', 'passed', 'passed']);
    await user.click(screen.getByTestId('filter-flaky'));
    expect(rows()).toEqual(['flaky']);
    expect(screen.getByText('first run fails')).toBeInTheDocument();
    await user.click(screen.getByTestId('filter-failing'));
    const bad = screen.getAllByTestId('test-row')[0]!;
    // The failure's line (where it failed) wins over where the test is defined.
    expect(within(bad).getByTestId('open-at')).toHaveTextContent('tests/test_a.py:10');
    await user.click(within(bad).getByText('tests/test_a.py::test_bad'));
    expect(within(bad).getByTestId('test-traceback')).toHaveTextContent('assert total([1, 2]) == 3');
  });

  it('reruns only the failed tests in the same folder, keeping the other options', async () => {
    const { transport, user } = setup(<TestsView task={task()} result={testsOf(TESTS_OUTPUT)!} />);
    await user.click(screen.getByTestId('rerun-failed'));
    await waitFor(() => expect(transport.requests('SubmitTask')).toHaveLength(1));
    const [req] = transport.requests('SubmitTask');
    expect(req!.task_type).toBe('tests.run');
    expect(req!.workspace).toBe('/home/me/hyperagent/shop');
    expect(JSON.parse(req!.payload_json!)).toEqual({
      python: '3.11',
      rerun_failures: 1,
      node_ids: ['tests/test_a.py::test_bad', 'tests/test_b.py::test_boom'],
    });
    await waitFor(() => expect(window.location.hash).toBe('#/tasks/task-2'));
  });

  it('offers no rerun for unittest names, which select nothing', () => {
    const out = {
      counts: { failed: 1, total: 1 },
      tests: [{ id: 'tests.test_x.TestX.test_y', outcome: 'failed', file: '', line: 0 }],
    };
    setup(<TestsView task={task()} result={testsOf(out)!} />);
    expect(screen.getAllByTestId('test-row')).toHaveLength(1);
    expect(screen.queryByTestId('rerun-failed')).not.toBeInTheDocument();
  });
});

describe('the findings view', () => {
  const output = {
    summary: '3 findings',
    findings: [
      { file: 'app/main.py', line: 4, column: 8, rule: 'F401', severity: 'warning', message: '`os` imported but unused', tool: 'ruff', fix: { message: 'Remove unused import', applicability: 'safe' } },
      { file: 'app/long.py', line: 1, column: 1, rule: 'long-function', severity: 'error', message: 'long_report is 72 lines long (at most 60)', tool: 'codereview', fix: null },
      { kind: 'dependency', severity: 'high', location: 'jinja2@3.1.2', file: 'pyproject.toml', line: 12, rule: 'GHSA-h5c8-rqwp-cp95', message: 'XSS in xmlattr', fixed_version: '3.1.3', fix: 'Upgrade jinja2 to 3.1.3', tool: 'pip-audit' },
    ],
    truncated: '',
  };

  it('lists the worst first, filters by severity, and opens a finding at its line', async () => {
    const { transport, user } = setup(<FindingsView task={task({ task_type: 'code.review' })} result={findingsOf(output)!} />);
    const severities = () => screen.getAllByTestId('finding-row').map((r) => r.getAttribute('data-severity'));
    expect(severities()).toEqual(['error', 'high', 'warning']);
    await user.selectOptions(screen.getByTestId('severity-filter'), 'warning');
    expect(severities()).toEqual(['warning']);
    expect(screen.getByText('Remove unused import')).toBeInTheDocument();
    await user.click(screen.getByTestId('open-at'));
    await waitFor(() => expect(transport.requests('OpenPath')).toHaveLength(1));
    expect(transport.requests('OpenPath')[0]).toEqual({ task_id: 'task-1', file: 'app/main.py', line: 4, column: 8 });
    expect(await screen.findByTestId('open-at-result')).toHaveTextContent('code (/usr/bin/code)');
  });

  it('shows a dependency by package@version, and the line that pins it', async () => {
    const { transport, user } = setup(<FindingsView task={task()} result={findingsOf(output)!} />);
    await user.selectOptions(screen.getByTestId('severity-filter'), 'high');
    const row = screen.getByTestId('finding-row');
    expect(row).toHaveTextContent('jinja2@3.1.2');
    expect(row).toHaveTextContent('Upgrade jinja2 to 3.1.3');
    await user.click(within(row).getByTestId('open-at'));
    await waitFor(() => expect(transport.requests('OpenPath')).toHaveLength(1));
    expect(transport.requests('OpenPath')[0]).toMatchObject({ file: 'pyproject.toml', line: 12 });
  });

  it('shows a secret found only in history by its commit, with nothing to open', () => {
    const out = {
      findings: [
        { kind: 'secret', severity: 'high', location: '3f2a9c1:shop/settings.py:4', rule: 'AWS Access Key', message: 'a secret in history', commit: '3f2a9c1' },
      ],
    };
    setup(<FindingsView task={task()} result={findingsOf(out)!} />);
    const row = screen.getByTestId('finding-row');
    expect(row).toHaveTextContent('3f2a9c1:shop/settings.py:4');
    expect(within(row).queryByTestId('open-at')).not.toBeInTheDocument();
  });

  it('says when a filter leaves no finding, and clears the filters on asking', async () => {
    const { user } = setup(<FindingsView task={task({ task_type: 'code.review' })} result={findingsOf(output)!} />);
    await user.selectOptions(screen.getByTestId('severity-filter'), 'warning');
    await user.type(screen.getByRole('searchbox'), 'no finding says this');
    expect(screen.queryByTestId('finding-row')).not.toBeInTheDocument();
    expect(screen.getByTestId('findings-empty')).toHaveTextContent('No finding matches these filters.');
    await user.click(screen.getByRole('button', { name: 'Clear the filters' }));
    expect(screen.getAllByTestId('finding-row')).toHaveLength(3);
    expect(screen.getByTestId('severity-filter')).toHaveValue('');
    expect(screen.getByRole('searchbox')).toHaveValue('');
    expect(screen.queryByTestId('findings-empty')).not.toBeInTheDocument();
  });

  it('says when nothing was found', () => {
    setup(<FindingsView task={task()} result={findingsOf({ findings: [] })!} />);
    expect(screen.getByTestId('no-findings')).toHaveTextContent('Nothing found.');
  });
});

describe('the files view', () => {
  it('shows each file with its state and its diff', () => {
    const files = filesOf({
      files: [
        { path: 'compose.yaml', state: 'changed', diff: '--- a/compose.yaml\n+++ b/compose.yaml\n@@ -1 +1 @@\n-old\n+new' },
        { path: '.devcontainer/devcontainer.json', replaced: false, content: '{}' },
      ],
    })!;
    setup(<FilesView task={task()} files={files} />);
    const rows = screen.getAllByTestId('file-row');
    expect(rows.map((r) => r.getAttribute('data-state'))).toEqual(['changed', 'new']);
    const diff = within(rows[0]!).getByTestId('file-diff');
    expect(diff.querySelector('.add')).toHaveTextContent('+new');
    expect(diff.querySelector('.del')).toHaveTextContent('-old');
  });
});

describe('reading an agent output', () => {
  it('drops what has the wrong type and never throws', () => {
    expect(testsOf({ counts: 'x', tests: [] })).toBeNull();
    const t = testsOf({ counts: { total: 'many' }, tests: [1, null, { id: 5 }, { id: 'a::b', outcome: 'passed', line: -3 }] })!;
    expect(t.tests).toEqual([{ id: 'a::b', outcome: 'passed', file: '', line: 0, seconds: null, message: '', traceback: '' }]);
    expect(t.counts).toEqual({ total: 0 });
    expect(findingsOf({ findings: [{ severity: 'high' }, 'x', { message: 'm', line: 'nine' }] })!.findings).toHaveLength(1);
    expect(filesOf({ files: ['README.md'] })).toBeNull();
    expect(findingsOf({ findings: 'none' })).toBeNull();
  });

  it('shows hidden characters in agent text instead of letting them act', () => {
    const out = { findings: [{ file: 'a.py', line: 1, message: 'evil \u202Etxt.exe', severity: 'note' }] };
    setup(<FindingsView task={task()} result={findingsOf(out)!} />);
    expect(screen.getByTestId('untrusted-mark')).toHaveTextContent('U+202E');
  });
});
