// Plans for component tests, shaped as the manager sends them (proto3 JSON, every field present):
// a step with sensible defaults, and a plan of such steps.
import type { Candidate, Plan, PlannedStep, PlanStep } from '../ipc';

export function candidate(agent_id: string, score: number, more: Partial<Candidate> = {}): Candidate {
  return { agent_id, reputation: 0.5, price: 0, load: 0, score, online: true, ...more };
}

export function plannedStep(step: Partial<PlanStep> & { number: number }, more: Partial<PlannedStep> = {}): PlannedStep {
  return {
    step: {
      task_type: 'echo.say',
      payload_json: '{}',
      workspace: '',
      after: [],
      confidence: 0.9,
      why: 'its phrasings match your words',
      ...step,
    },
    state: 'STEP_STATE_WAITING',
    reason: '',
    task_ids: [],
    agent_id: '',
    decisions: [],
    touches: '',
    asks: [],
    candidates: [],
    summary: '',
    problem: '',
    ...more,
  };
}

export function plan(id: string, steps: PlannedStep[], more: Partial<Plan> = {}): Plan {
  return {
    id,
    text: 'make a fastapi project called shop, then open it',
    state: 'PLAN_STATE_PROPOSED',
    steps,
    summary: '',
    summary_by: '',
    money_budget: 0,
    money_spent: 0,
    reason: '',
    budget_secs: 1800,
    created_at: '2026-12-04T10:00:00Z',
    updated_at: '2026-12-04T10:00:00Z',
    router: 'offline',
    ...more,
  };
}

/** The bootstrap step then "open" in its project: the plan of "make ... shop, then open it". */
export function shopPlan(id = 'plan-1', more: Partial<Plan> = {}): Plan {
  return plan(
    id,
    [
      plannedStep(
        {
          number: 1,
          task_type: 'bootstrap.project',
          payload_json: JSON.stringify({ template: 'fastapi', answers: { project_name: 'shop' } }),
          confidence: 0.82,
          why: 'bootstrap a FastAPI project called shop',
        },
        {
          touches: '/home/me/HyperAgent/shop (made for it)',
          asks: ['to write over the folder if it is not empty'],
          candidates: [candidate('bootstrapper', 0.71), candidate('bootstrapper-2', 0.4, { online: false })],
        },
      ),
      plannedStep(
        { number: 2, task_type: 'open', workspace: '$1.path', after: [1], why: 'open it in the editor' },
        { touches: 'the project step 1 makes' },
      ),
    ],
    more,
  );
}
