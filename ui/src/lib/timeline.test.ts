import { describe, expect, it } from 'vitest';
import type { LogLevel, LogLine, Task } from '../ipc';
import { task } from '../testing/tasks';
import { LogStore } from './logStore';
import { KNOWN_STEPS, errorLineOf, taskTitle, templateWords, timelineOf } from './timeline';
// The bootstrapper's own source, to hold the table of its steps to it.
import agent from '../../../agents/bootstrapper/src/hyperagent_bootstrapper/agent.py?raw';
import postcheck from '../../../agents/bootstrapper/src/hyperagent_bootstrapper/postcheck.py?raw';

const at = (s: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, s)).toISOString();

/** A log as the store holds it: [second, level, message, fields?, attempt?] per line. */
function log(...lines: [number, LogLevel, string, Record<string, string>?, number?][]) {
  const store = new LogStore();
  store.append(
    lines.map(([s, level, message, fields, attempt], i): LogLine => ({
      seq: String(i + 1),
      time: at(s),
      level,
      message,
      fields: fields ?? {},
      attempt: attempt ?? 1,
      attempt_seq: String(i + 1),
    })),
  );
  store.flush();
  return store.lines;
}

const bootstrap = (over: Partial<Task> = {}) =>
  task('t1', {
    task_type: 'bootstrap.project',
    attempts: [{ number: 1, agent_id: 'bootstrapper', started_at: at(0), ended_at: at(60), error: '' }],
    updated_at: at(60),
    ...over,
  });

const INFO = 'LOG_LEVEL_INFO';

describe('timelineOf', () => {
  it("reads the steps from the lines the bootstrapper logs as each begins, with the checks' own outcomes and times", () => {
    const lines = log(
      [0, INFO, 'validating'],
      [1, INFO, 'rendering'],
      [1, INFO, 'rendered', { files: '23' }],
      [2, INFO, 'moving into place'],
      [3, INFO, 'committing'],
      [5, INFO, 'creating the environment'],
      [6, INFO, 'installing packages'],
      [6, 'LOG_LEVEL_WARN', 'Resolved 30 packages', { stream: 'stderr' }],
      [20, INFO, 'asking the dev server for its health URL'],
      [21, INFO, "running the project's tests"],
    );
    const checks = [
      { name: 'environment', status: 'passed', detail: '.venv created with uv', seconds: 0.8 },
      { name: 'install', status: 'passed', detail: 'installed from the package index', seconds: 13.5 },
      { name: 'tests', status: 'passed', detail: '3 passed in 0.4s', seconds: 19 },
      { name: 'serve', status: 'passed', detail: 'GET http://127.0.0.1:8000/health answered 200', seconds: 1.2 },
    ];
    const steps = timelineOf(bootstrap({ state: 'TASK_STATE_COMPLETED' }), lines, checks, Date.parse(at(99)));
    expect(steps.map((s) => [s.key, s.status])).toEqual([
      ['validate', 'done'],
      ['render', 'done'],
      ['place', 'done'],
      ['commit', 'done'],
      ['environment', 'passed'],
      ['install', 'passed'],
      ['start', 'passed'],
      ['tests', 'passed'],
    ]);
    // A step without a check lasts until the next one began; a check says its own time.
    expect(steps[0]).toMatchObject({ started: at(0), seconds: 1, seq: 1 });
    expect(steps[3]).toMatchObject({ seconds: 2 });
    expect(steps[5]).toMatchObject({ seconds: 13.5, detail: 'installed from the package index', seq: 7 });
  });

  it('shows a check that never began as not run, with why, and nothing for a step the task never reported', () => {
    const lines = log([0, INFO, 'validating'], [1, INFO, 'rendering'], [2, INFO, 'moving into place'], [3, INFO, 'installing packages']);
    const checks = [
      { name: 'install', status: 'skipped', detail: 'network access to pypi.org:443 was refused (denied)', seconds: 0.1 },
      { name: 'tests', status: 'skipped', detail: 'not run: install was skipped', seconds: 0 },
    ];
    const steps = timelineOf(bootstrap({ state: 'TASK_STATE_COMPLETED' }), lines, checks, 0);
    expect(steps.map((s) => s.key)).toEqual(['validate', 'render', 'place', 'install', 'tests']);
    expect(steps[4]).toMatchObject({ status: 'skipped', started: null, detail: 'not run: install was skipped', seq: null });
    // No commit line, no commit step (the person asked for no git); no environment check, none shown.
    expect(steps.find((s) => s.key === 'commit')).toBeUndefined();
  });

  it('marks the step a running task is in as running, counted up to now', () => {
    const lines = log([0, INFO, 'validating'], [1, INFO, 'rendering']);
    const steps = timelineOf(bootstrap({ state: 'TASK_STATE_RUNNING', attempts: [{ number: 1, agent_id: 'b', started_at: at(0), error: '' }] }), lines, null, Date.parse(at(4)));
    expect(steps.map((s) => s.status)).toEqual(['done', 'running']);
    expect(steps[1]?.seconds).toBe(3);
  });

  it('marks where a failed task stopped as failed, and where a cancelled one stopped as stopped', () => {
    const lines = log([0, INFO, 'validating'], [1, INFO, 'rendering']);
    expect(timelineOf(bootstrap({ state: 'TASK_STATE_FAILED' }), lines, null, 0).map((s) => s.status)).toEqual(['done', 'failed']);
    expect(timelineOf(bootstrap({ state: 'TASK_STATE_CANCELED' }), lines, null, 0).map((s) => s.status)).toEqual(['done', 'stopped']);
  });

  it("points a failed check at its error line, and reads only the last attempt's lines", () => {
    const lines = log(
      [0, INFO, 'validating', {}, 1],
      [1, INFO, 'installing packages', {}, 1],
      [10, INFO, 'validating', {}, 2],
      [11, INFO, 'installing packages', {}, 2],
      [12, 'LOG_LEVEL_ERROR', 'install failed: No solution found', { check: 'install' }, 2],
    );
    const t = bootstrap({
      state: 'TASK_STATE_FAILED',
      attempts: [
        { number: 1, agent_id: 'b', started_at: at(0), ended_at: at(2), error: 'agent lost' },
        { number: 2, agent_id: 'b', started_at: at(10), ended_at: at(13), error: '' },
      ],
    });
    const steps = timelineOf(t, lines, [{ name: 'install', status: 'failed', detail: 'No solution found', seconds: 1 }], 0);
    expect(steps.map((s) => [s.key, s.started, s.status, s.seq])).toEqual([
      ['validate', at(10), 'done', 3],
      ['install', at(11), 'failed', 5],
    ]);
    expect(errorLineOf(t, lines)?.message).toBe('install failed: No solution found');
  });

  it('adds a check the table does not know after the rest, and makes up no steps for a task type it does not know', () => {
    const lines = log([0, INFO, 'validating']);
    const steps = timelineOf(bootstrap({ state: 'TASK_STATE_COMPLETED' }), lines, [{ name: 'lint', status: 'passed', seconds: 2 }], 0);
    expect(steps.map((s) => [s.key, s.label, s.status])).toEqual([
      ['validate', 'Validate', 'done'],
      ['check-lint', 'lint', 'passed'],
    ]);
    expect(timelineOf(task('t2', { state: 'TASK_STATE_COMPLETED' }), log([0, INFO, 'validating']), null, 0)).toEqual([]);
  });

  it('knows only steps the bootstrapper really logs, in its words, and only checks it really reports', () => {
    expect(Object.keys(KNOWN_STEPS)).toEqual(['bootstrap.project', 'project.update', 'project.check']);
    for (const step of Object.values(KNOWN_STEPS).flat()) {
      const said = JSON.stringify(step.message);
      // Each is logged as it begins: `step("...")` in agent.py, `self.progress("...")` in postcheck.py.
      expect(agent.includes(`step(${said})`) || postcheck.includes(`self.progress(${said})`), step.message).toBe(true);
      if (step.check) expect(postcheck, step.check).toMatch(new RegExp(`"${step.check}"`));
    }
  });
});

describe('errorLineOf', () => {
  it('is the first line at ERROR of the last attempt, or none', () => {
    const lines = log([0, 'LOG_LEVEL_ERROR', 'first try broke', {}, 1], [1, INFO, 'ok', {}, 2]);
    const two = bootstrap({
      attempts: [
        { number: 1, agent_id: 'b', started_at: at(0), error: 'x' },
        { number: 2, agent_id: 'b', started_at: at(1), error: '' },
      ],
    });
    expect(errorLineOf(two, lines)).toBeNull();
    expect(errorLineOf(bootstrap(), lines)?.message).toBe('first try broke');
  });
});

describe('taskTitle', () => {
  it("names what was made from the answers and the template's own words", () => {
    const t = task('t1', {
      task_type: 'bootstrap.project',
      payload_json: JSON.stringify({ template: 'fastapi', answers: { project_name: 'shop' } }),
      workspace: '/home/me/src/shop-2',
    });
    expect(taskTitle(t, 'FastAPI service')).toEqual({ name: 'shop', kind: 'FastAPI service' });
    expect(taskTitle(t)).toEqual({ name: 'shop', kind: 'fastapi project' });
    expect(taskTitle(task('t2', { workspace: '/w/notes', payload_json: 'not json' }))).toEqual({ name: 'notes', kind: 'echo.sleep' });
  });

  it('names an update or a check of a project by its folder, and says when an update was only a preview', () => {
    const update = (preview: boolean) =>
      task('u1', { task_type: 'project.update', payload_json: JSON.stringify({ conflict: 'inline', preview }), workspace: '/home/me/src/shop' });
    expect(taskTitle(update(false))).toEqual({ name: 'shop', kind: 'update from template' });
    expect(taskTitle(update(true))).toEqual({ name: 'shop', kind: 'update from template, previewed' });
    expect(taskTitle(task('c1', { task_type: 'project.check', payload_json: '{}', workspace: '/home/me/src/shop' }))).toEqual({ name: 'shop', kind: 'checks run again' });
  });

  it("takes a template's words from the start of its description, or none", () => {
    expect(templateWords('A FastAPI service: settings, health checks, pytest, Docker.')).toBe('FastAPI service');
    expect(templateWords('A Django 5.2 project: split settings, one app')).toBe('Django 5.2 project');
    expect(templateWords('Makes things')).toBe('');
    expect(templateWords('')).toBe('');
  });
});
