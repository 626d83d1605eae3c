// A plan's steps as the UI reads them: what each waits for, their layers for the graph, and the
// edits the person's changes to a proposed plan make (only what they changed, as `AcceptPlan`
// takes them). Pure functions: no I/O, no React.
import type { Plan, PlannedStep, PlanState, PlanStep, StepEdit, StepState } from '../ipc';
import { enumLabel } from './format';

/** The manager's own "open in the editor" action: a step with no agent and no payload. */
export const OPEN_TASK = 'open';

export const planStateLabel = (s: PlanState) => enumLabel(s, 'PLAN_STATE_');
export const stepStateLabel = (s: StepState) => enumLabel(s, 'STEP_STATE_');

export type Tone = 'ok' | 'bad' | 'busy' | 'idle' | 'warn';

/** A CSS class per state family, for colour (the text says the state too). */
export function planTone(s: PlanState): Tone {
  switch (s) {
    case 'PLAN_STATE_SUCCEEDED':
      return 'ok';
    case 'PLAN_STATE_FAILED':
      return 'bad';
    case 'PLAN_STATE_RUNNING':
      return 'busy';
    case 'PLAN_STATE_PROPOSED':
      return 'warn';
    default:
      return 'idle';
  }
}

export function stepTone(s: StepState): Tone {
  switch (s) {
    case 'STEP_STATE_SUCCEEDED':
      return 'ok';
    case 'STEP_STATE_FAILED':
      return 'bad';
    case 'STEP_STATE_RUNNING':
      return 'busy';
    case 'STEP_STATE_CANCELED':
      return 'warn';
    default:
      return 'idle';
  }
}

/** N when a folder is "$N.path" (the project step N makes), else null. */
export function projectStepOf(workspace: string): number | null {
  const m = /^\$(\d+)\.path$/.exec(workspace.trim());
  return m ? Number(m[1]) : null;
}

/** The steps a step needs: those it waits for, and the one whose project is its folder. */
export function needsOf(step: PlanStep): number[] {
  const project = projectStepOf(step.workspace);
  const needs = [...step.after];
  if (project !== null && !needs.includes(project)) needs.push(project);
  return needs;
}

/** The steps still in the plan that need step `number`, in order. */
export function dependantsOf(steps: PlanStep[], number: number, removed: ReadonlySet<number>): number[] {
  return steps
    .filter((s) => s.number !== number && !removed.has(s.number) && needsOf(s).includes(number))
    .map((s) => s.number);
}

/**
 * Each step's layer: 0 for a step that waits for nothing, else one more than the deepest step it
 * waits for. A wait for a step not in the plan, or one that would go round in a circle, counts as
 * none (the manager never sends either; the graph must still draw).
 */
export function depths(steps: PlanStep[]): Map<number, number> {
  const byNumber = new Map(steps.map((s) => [s.number, s]));
  const depth = new Map<number, number>();
  const visiting = new Set<number>();
  const of = (n: number): number => {
    const known = depth.get(n);
    if (known !== undefined) return known;
    const step = byNumber.get(n);
    if (!step || visiting.has(n)) return -1;
    visiting.add(n);
    const d = Math.max(-1, ...step.after.map(of)) + 1;
    visiting.delete(n);
    depth.set(n, d);
    return d;
  };
  for (const s of steps) of(s.number);
  return depth;
}

/** The graph's geometry, in pixels (the nodes' CSS uses the same). */
export const GRAPH = { nodeWidth: 248, nodeHeight: 144, columnGap: 64, rowGap: 16 } as const;

export interface GraphNode {
  number: number;
  layer: number;
  x: number;
  y: number;
}

export interface GraphEdge {
  from: number;
  to: number;
  /** An SVG path from the right of `from` to the left of `to`. */
  d: string;
}

export interface GraphLayout {
  nodes: GraphNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
}

/** Steps in columns by layer (in step order within one), with a line per wait. */
export function layoutGraph(steps: PlanStep[]): GraphLayout {
  const { nodeWidth: w, nodeHeight: h, columnGap, rowGap } = GRAPH;
  const layer = depths(steps);
  const rows = new Map<number, number>();
  const nodes: GraphNode[] = [...steps]
    .sort((a, b) => a.number - b.number)
    .map((s) => {
      const l = layer.get(s.number) ?? 0;
      const row = rows.get(l) ?? 0;
      rows.set(l, row + 1);
      return { number: s.number, layer: l, x: l * (w + columnGap), y: row * (h + rowGap) };
    });
  const at = new Map(nodes.map((n) => [n.number, n]));
  const edges: GraphEdge[] = [];
  for (const s of steps) {
    const to = at.get(s.number);
    for (const n of s.after) {
      const from = at.get(n);
      if (!from || !to || from.layer >= to.layer) continue;
      const [x1, y1, x2, y2] = [from.x + w, from.y + h / 2, to.x, to.y + h / 2];
      const mid = (x1 + x2) / 2;
      edges.push({ from: n, to: s.number, d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` });
    }
  }
  const columns = Math.max(0, ...nodes.map((n) => n.layer + 1));
  const tallest = Math.max(0, ...rows.values());
  return {
    nodes,
    edges,
    width: Math.max(0, columns * w + (columns - 1) * columnGap),
    height: Math.max(0, tallest * h + (tallest - 1) * rowGap),
  };
}

/** JSON with object keys sorted, so two payloads that mean the same compare equal. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value));
}

/** A payload as typed: the JSON object, or what is wrong with it in words. */
export function parsePayload(text: string): { value: Record<string, unknown> } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { problem: `This is not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { problem: 'The payload must be a JSON object: { "name": value, ... }.' };
  }
  return { value: value as Record<string, unknown> };
}

/** A proposed step as the person left it. */
export interface StepDraft {
  removed: boolean;
  /** The folder as typed ("" keeps the planned one). */
  workspace: string;
  /** The new payload (a JSON object), or null while it is unchanged. */
  payloadJson: string | null;
  /** What is wrong with the payload as typed, or null. */
  payloadProblem: string | null;
}

export const untouched = (step: PlanStep): StepDraft => ({
  removed: false,
  workspace: step.workspace,
  payloadJson: null,
  payloadProblem: null,
});

/** The folder typed, when it differs from the planned one ("" and blanks keep it). */
function newFolder(step: PlanStep, draft: StepDraft): string | null {
  const folder = draft.workspace.trim();
  return folder && folder !== step.workspace ? folder : null;
}

/** Whether the person changed the step (removed it, or edited its payload or folder). */
export function isEdited(step: PlanStep, draft: StepDraft | undefined): boolean {
  return !!draft && (draft.removed || draft.payloadJson !== null || newFolder(step, draft) !== null);
}

/** The edits `AcceptPlan` takes: one per step the person changed, none for the others. */
export function editsOf(steps: PlanStep[], drafts: ReadonlyMap<number, StepDraft>): StepEdit[] {
  const edits: StepEdit[] = [];
  for (const step of steps) {
    const draft = drafts.get(step.number);
    if (!draft || !isEdited(step, draft)) continue;
    if (draft.removed) {
      edits.push({ number: step.number, remove: true, payload_json: '', workspace: '' });
      continue;
    }
    edits.push({
      number: step.number,
      remove: false,
      payload_json: draft.payloadJson ?? '',
      workspace: newFolder(step, draft) ?? '',
    });
  }
  return edits;
}

/**
 * Why the plan cannot run as the person left it, in words (empty when it can): a step with a
 * problem the person has neither edited nor removed (the manager checks an edited one again), a
 * payload that does not parse, a step that needs a removed one, or nothing left to run.
 */
export function blockersOf(planned: PlannedStep[], drafts: ReadonlyMap<number, StepDraft>): string[] {
  const steps = planned.flatMap((p) => (p.step ? [p.step] : []));
  const removed = new Set(steps.filter((s) => drafts.get(s.number)?.removed).map((s) => s.number));
  if (steps.length > 0 && removed.size === steps.length) return ['Every step is removed: nothing would run.'];
  const out: string[] = [];
  for (const p of planned) {
    const step = p.step;
    if (!step || removed.has(step.number)) continue;
    const draft = drafts.get(step.number);
    if (p.problem && !isEdited(step, draft)) {
      out.push(`Step ${step.number} cannot run as it stands: change its folder or payload, or remove it.`);
    }
    if (draft?.payloadProblem) out.push(`Step ${step.number}'s payload: ${draft.payloadProblem}`);
    for (const n of needsOf(step)) {
      if (removed.has(n)) out.push(`Step ${step.number} needs step ${n}, which is removed.`);
    }
  }
  return out;
}

/** Of two copies of one plan, the later (the feed and a GetPlan answer can cross). */
export function laterPlan(held: Plan | null, incoming: Plan): Plan {
  if (!held || held.id !== incoming.id) return incoming;
  const a = held.updated_at ? Date.parse(held.updated_at) : NaN;
  const b = incoming.updated_at ? Date.parse(incoming.updated_at) : NaN;
  return a > b ? held : incoming;
}

/** "2 of 3 steps done" for a plan's steps. */
export function stepsDone(plan: Plan): string {
  const done = plan.steps.filter((s) => s.state === 'STEP_STATE_SUCCEEDED').length;
  return `${done} of ${plan.steps.length} ${plan.steps.length === 1 ? 'step' : 'steps'} done`;
}

/** A plan's time budget in words: "90 s", "30 min", "2.5 h"; "—" for none. */
export function budgetText(secs: number): string {
  if (secs <= 0) return '—';
  if (secs < 120) return `${secs} s`;
  return secs < 7200 ? `${Math.round(secs / 60)} min` : `${Math.round(secs / 360) / 10} h`;
}
