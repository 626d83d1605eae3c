/**
 * What a task's result (`output_json`, written by an agent, so untrusted) holds, read into the
 * shapes the task page has views for. A view is chosen by what the output holds, never by the task
 * type, so any agent that writes these shapes is shown the same way:
 * - tests: `counts` and `tests` and/or `failures` (the test runner);
 * - findings: `findings`, each with a `message` (code review, security audit);
 * - files: `files`, each an object with a `path` (dev environments, a bootstrap dry run).
 * Fields of the wrong type are dropped, never trusted; nothing here throws.
 */

export interface TestCase {
  id: string;
  outcome: string;
  file: string;
  line: number;
  seconds: number | null;
  message: string;
  traceback: string;
}

export interface TestsResult {
  counts: Record<string, number>;
  tests: TestCase[];
  omitted: number;
  flaky: { id: string; firstFailure: string; passedOnAttempt: number | null }[];
  python: string;
  framework: string;
}

export interface Finding {
  severity: string;
  kind: string;
  file: string;
  line: number;
  column: number;
  /** What a person reads for "where" when there is no file in the tree (`package@1.2`, a commit). */
  location: string;
  rule: string;
  message: string;
  tool: string;
  /** A fix in words, or a diff to apply. */
  fix: string;
  fixDiff: string;
  url: string;
}

export interface FindingsResult {
  summary: string;
  findings: Finding[];
  truncated: string;
}

export interface FileChange {
  path: string;
  state: string;
  diff: string;
  content: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.trunc(v)) : 0);
const objects = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

export function parseOutput(json: string | undefined): Json | null {
  if (!json) return null;
  try {
    const v: unknown = JSON.parse(json);
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/** The tests in an output, or null when it has none. Failures' details are merged into `tests`. */
export function testsOf(out: Json): TestsResult | null {
  if (!isObject(out.counts) || (!Array.isArray(out.tests) && !Array.isArray(out.failures))) return null;
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(out.counts)) counts[k] = int(v);
  const byId = new Map<string, TestCase>();
  for (const t of objects(out.tests)) {
    const id = str(t.id);
    if (!id) continue;
    const seconds = typeof t.seconds === 'number' && Number.isFinite(t.seconds) ? t.seconds : null;
    byId.set(id, { id, outcome: str(t.outcome), file: str(t.file), line: int(t.line), seconds, message: '', traceback: '' });
  }
  for (const f of objects(out.failures)) {
    const id = str(f.id);
    if (!id) continue;
    const known = byId.get(id);
    const outcome = str(f.kind) || 'failed';
    byId.set(id, {
      id,
      outcome: known?.outcome || outcome,
      file: str(f.file) || known?.file || '',
      line: int(f.line) || known?.line || 0,
      seconds: known?.seconds ?? null,
      message: str(f.message),
      traceback: str(f.traceback),
    });
  }
  const flaky = objects(out.flaky).map((f) => ({
    id: str(f.id),
    firstFailure: str(f.first_failure),
    passedOnAttempt: typeof f.passed_on_attempt === 'number' ? int(f.passed_on_attempt) : null,
  }));
  for (const f of flaky) {
    const t = byId.get(f.id);
    if (t && !t.message) t.message = f.firstFailure;
  }
  return {
    counts,
    tests: [...byId.values()],
    omitted: int(out.tests_omitted),
    flaky: flaky.filter((f) => f.id),
    python: str(out.python),
    framework: str(out.framework),
  };
}

/** The findings in an output, or null when it has none. */
export function findingsOf(out: Json): FindingsResult | null {
  if (!Array.isArray(out.findings)) return null;
  const findings = objects(out.findings)
    .filter((f) => str(f.message))
    .map((f): Finding => {
      const fix = f.fix;
      return {
        severity: str(f.severity) || 'note',
        kind: str(f.kind),
        file: str(f.file),
        line: int(f.line),
        column: int(f.column),
        location: str(f.location),
        rule: str(f.rule),
        message: str(f.message),
        tool: str(f.tool),
        fix: typeof fix === 'string' ? fix : isObject(fix) ? str(fix.message) : '',
        fixDiff: isObject(fix) ? str(fix.diff) : '',
        url: str(f.url),
      };
    });
  return { summary: str(out.summary), findings, truncated: str(out.truncated) };
}

/** The files in an output that say more than a name (a state, a diff), or null. */
export function filesOf(out: Json): FileChange[] | null {
  if (!Array.isArray(out.files)) return null;
  const files = objects(out.files)
    .filter((f) => str(f.path))
    .map((f) => ({
      path: str(f.path),
      state: str(f.state) || (f.replaced === true ? 'changed' : f.replaced === false ? 'new' : ''),
      diff: str(f.diff),
      content: str(f.content),
    }));
  return files.length > 0 ? files : null;
}

/** Severities and outcomes, worst first: the order filters and tables use. */
export const SEVERITY_ORDER = ['critical', 'error', 'high', 'warning', 'medium', 'note', 'low', 'info'];
export const OUTCOME_ORDER = ['failed', 'error', 'flaky', 'skipped', 'passed'];

export function rank(order: string[], value: string): number {
  const i = order.indexOf(value);
  return i < 0 ? order.length : i;
}

/** "badge" colour for a severity or outcome. */
export function tone(value: string): 'bad' | 'warn' | 'ok' | 'idle' {
  if (['critical', 'error', 'high', 'failed'].includes(value)) return 'bad';
  if (['warning', 'medium', 'flaky'].includes(value)) return 'warn';
  if (value === 'passed') return 'ok';
  return 'idle';
}

/** How far a made project was proven (the bootstrapper's `outcome`). */
export type ChecksOutcome = 'checked' | 'checks skipped' | 'not checked';

/**
 * The `outcome` of an output that has `checks` (a bootstrap), or null when it has none. An output
 * without `outcome` (an older bootstrapper) is read from its checks: a skipped one means not
 * everything was proven, which must never read as plain success.
 */
export function checksOutcomeOf(out: Json | null): ChecksOutcome | null {
  if (!out || !Array.isArray(out.checks)) return null;
  const said = str(out.outcome);
  if (said === 'checked' || said === 'checks skipped' || said === 'not checked') return said;
  const checks = objects(out.checks);
  if (checks.length === 0) return 'not checked';
  return checks.some((c) => str(c.status) !== 'passed') ? 'checks skipped' : 'checked';
}

/** The outcome of a finished task's result (see `checksOutcomeOf`). */
export function taskChecksOutcome(task: { result?: { output_json: string } | undefined }): ChecksOutcome | null {
  return checksOutcomeOf(parseOutput(task.result?.output_json));
}
