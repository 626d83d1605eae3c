import { describe, expect, it } from 'vitest';
import { plannedStep, shopPlan } from '../testing/plans';
import {
  blockersOf,
  canonicalJson,
  dependantsOf,
  depths,
  editsOf,
  GRAPH,
  laterPlan,
  layoutGraph,
  parsePayload,
  untouched,
  type StepDraft,
} from './plan';
import type { PlanStep } from '../ipc';

const step = (number: number, after: number[] = [], workspace = ''): PlanStep => ({
  number,
  task_type: 'echo.say',
  payload_json: '{}',
  workspace,
  after,
  confidence: 1,
  why: '',
});

describe('plan layers', () => {
  it('puts each step one layer right of the deepest step it waits for', () => {
    // 1 -> 2 -> 4, 1 -> 3, 3 -> 4: step 4 is two layers in.
    const steps = [step(1), step(2, [1]), step(3, [1]), step(4, [2, 3]), step(5)];
    expect(Object.fromEntries(depths(steps))).toEqual({ 1: 0, 2: 1, 3: 1, 4: 2, 5: 0 });
  });

  it('draws a wait for a missing step, or a circle, without hanging', () => {
    const d = depths([step(1, [9]), step(2, [3]), step(3, [2])]);
    expect(d.get(1)).toBe(0);
    expect(d.has(2) && d.has(3)).toBe(true);
  });

  it('lays nodes out in columns by layer, rows in step order, with a line per wait', () => {
    const layout = layoutGraph([step(1), step(2, [1]), step(3, [1])]);
    const { nodeWidth: w, nodeHeight: h, columnGap: g, rowGap: r } = GRAPH;
    expect(layout.nodes).toEqual([
      { number: 1, layer: 0, x: 0, y: 0 },
      { number: 2, layer: 1, x: w + g, y: 0 },
      { number: 3, layer: 1, x: w + g, y: h + r },
    ]);
    expect(layout.edges.map((e) => [e.from, e.to])).toEqual([
      [1, 2],
      [1, 3],
    ]);
    expect(layout.edges[0]?.d).toMatch(new RegExp(`^M${w},${h / 2} `));
    expect(layout.width).toBe(2 * w + g);
    expect(layout.height).toBe(2 * h + r);
  });
});

describe('removing steps', () => {
  it('a step is needed by those that wait for it and those working in its project', () => {
    const steps = [step(1), step(2, [], '$1.path'), step(3, [2])];
    expect(dependantsOf(steps, 1, new Set())).toEqual([2]);
    expect(dependantsOf(steps, 2, new Set())).toEqual([3]);
    expect(dependantsOf(steps, 2, new Set([3]))).toEqual([]);
  });
});

describe('edits', () => {
  const steps = shopPlan().steps.map((p) => p.step!);
  const drafts = (entries: [number, Partial<StepDraft>][]) =>
    new Map(entries.map(([n, d]) => [n, { ...untouched(steps[n - 1]!), ...d }]));

  it('are only the steps the person changed', () => {
    expect(editsOf(steps, new Map())).toEqual([]);
    // A folder typed back to what was planned, or blank, changes nothing.
    expect(editsOf(steps, drafts([[1, { workspace: '  ' }], [2, { workspace: '$1.path' }]]))).toEqual([]);
  });

  it('carry a new folder and a new payload, and a removal alone', () => {
    const payload = JSON.stringify({ template: 'fastapi', answers: { project_name: 'shop2' } });
    expect(editsOf(steps, drafts([[1, { workspace: ' shop2 ', payloadJson: payload }]]))).toEqual([
      { number: 1, remove: false, payload_json: payload, workspace: 'shop2' },
    ]);
    expect(editsOf(steps, drafts([[2, { removed: true, workspace: 'ignored' }]]))).toEqual([
      { number: 2, remove: true, payload_json: '', workspace: '' },
    ]);
  });
});

describe('what blocks Run', () => {
  const planned = [
    plannedStep({ number: 1 }, { problem: 'its folder /etc is outside the workspace root' }),
    plannedStep({ number: 2, after: [1] }),
  ];
  const stepOf = (n: number) => planned[n - 1]!.step!;

  it('a step with a problem, until it is edited or removed', () => {
    expect(blockersOf(planned, new Map())).toEqual([
      'Step 1 cannot run as it stands: change its folder or payload, or remove it.',
    ]);
    const edited = new Map([[1, { ...untouched(stepOf(1)), workspace: 'shop' }]]);
    expect(blockersOf(planned, edited)).toEqual([]);
  });

  it('a payload that does not parse, a removed step another needs, an empty plan', () => {
    const bad = new Map([[2, { ...untouched(stepOf(2)), payloadProblem: 'This is not JSON' }]]);
    expect(blockersOf([planned[1]!], bad)).toEqual(["Step 2's payload: This is not JSON"]);
    const gone = new Map([[1, { ...untouched(stepOf(1)), removed: true }]]);
    expect(blockersOf(planned, gone)).toEqual(['Step 2 needs step 1, which is removed.']);
    gone.set(2, { ...untouched(stepOf(2)), removed: true });
    expect(blockersOf(planned, gone)).toEqual(['Every step is removed: nothing would run.']);
  });
});

describe('helpers', () => {
  it('compares payloads by meaning, not key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 1, e: 2 }], c: 0 } })).toBe(
      canonicalJson({ a: { c: 0, d: [1, { e: 2, f: 1 }] }, b: 1 }),
    );
  });

  it('says why a payload is not one', () => {
    expect(parsePayload('{"a": 1}')).toEqual({ value: { a: 1 } });
    expect(parsePayload('{"a": ')).toEqual({ problem: expect.stringMatching(/^This is not JSON: /) });
    expect(parsePayload('[1]')).toEqual({ problem: expect.stringMatching(/must be a JSON object/) });
  });

  it('keeps the later of two copies of a plan', () => {
    const older = shopPlan('p', { updated_at: '2026-12-04T10:00:01Z', state: 'PLAN_STATE_RUNNING' });
    const newer = shopPlan('p', { updated_at: '2026-12-04T10:00:02Z', state: 'PLAN_STATE_SUCCEEDED' });
    expect(laterPlan(newer, older).state).toBe('PLAN_STATE_SUCCEEDED');
    expect(laterPlan(older, newer).state).toBe('PLAN_STATE_SUCCEEDED');
    expect(laterPlan(null, older)).toBe(older);
  });
});
