import type { ManagerStatus } from '../ipc';

/** The manager's status as GetStatus answers it: nothing running, unless `over` says otherwise. */
export function managerStatus(over: Partial<ManagerStatus> = {}): ManagerStatus {
  return {
    version: '0',
    pid: 1,
    paused: false,
    agents_online: 1,
    agents_known: 1,
    tasks_queued: 0,
    tasks_running: 0,
    tasks_awaiting_consent: 0,
    workspace_root: '/home/me/src',
    workspace_root_source: 'default',
    editor: '',
    ...over,
  } as ManagerStatus;
}
