import type { Consent } from '../ipc';

/** A pending permission request as the manager sends it, two minutes from expiring. */
export function consent(id: string, over: Partial<Consent> = {}): Consent {
  return {
    id,
    task_id: 'task-1',
    agent_id: 'bootstrapper',
    kind: 'connect',
    target: 'pypi.org:443',
    reason: 'install the project',
    created_at: `2026-11-26T10:00:0${id.slice(-1)}Z`,
    expires_at: new Date(Date.now() + 125_000).toISOString(),
    status: 'CONSENT_STATUS_PENDING',
    answer: 'CONSENT_ANSWER_UNSPECIFIED',
    answered_by: '',
    answer_reason: '',
    ...over,
  };
}
