import { describe, expect, it } from 'vitest';
import { auditSentence } from './auditWords';

const say = (actor: string, action: string, detail: object | string) =>
  auditSentence({ actor, action, detail_json: typeof detail === 'string' ? detail : JSON.stringify(detail) });

// Details as the manager writes them (read from a real manager's audit log).
const permission = { kind: 'connect', target: 'pypi.org:443' };
const consent = { id: 'c1', task_id: 't1', agent_id: 'bootstrapper', permission, reason: 'download packages', status: 'granted', scope: 'task', answered_by: 'client', answer_reason: '' };

describe('auditSentence', () => {
  it('writes what happened as a sentence from the action and its details', () => {
    expect(say('client', 'task.submitted', { agent_id: '', attempt: 0, reason: 'submitted', task_type: 'bootstrap.project' })).toBe(
      'You submitted the bootstrap.project task',
    );
    expect(say('bootstrapper', 'task.started', { agent_id: 'bootstrapper', attempt: 2, task_type: 'bootstrap.project' })).toBe(
      'bootstrapper started the bootstrap.project task (attempt 2)',
    );
    expect(say('sender', 'message.sent', { message: 'm1', to: 'worker', kind: 'handoff', idempotency_key: 'k' })).toBe('sender sent worker a message (handoff)');
    expect(say('worker', 'message.acked', { message: 'm1', from: 'sender', deliveries: 2 })).toBe('worker handled a message from sender (delivery 2)');
    expect(say('manager', 'message.dead_lettered', { message: 'm1', from: 'a', to: 'b', reason: 'not acknowledged by agent `b` after 5 deliveries' })).toBe(
      'A message from a to b was given up: not acknowledged by agent `b` after 5 deliveries',
    );
    expect(say('manager', 'task.drift', { drift: 'silent', evidence: 'nothing logged or reported for 10m', action: 'warned' })).toBe(
      'HyperAgent found the task silent: nothing logged or reported for 10m',
    );
    expect(say('manager', 'task.drift', { drift: 'repeating', evidence: 'the same log line 50 times in a row: "retry"', action: 'cancelled' })).toBe(
      'HyperAgent found the task repeating itself and cancelled it: the same log line 50 times in a row: "retry"',
    );
    expect(say('bootstrapper', 'consent.requested', { ...consent, status: 'pending' })).toBe('bootstrapper asked to connect to pypi.org:443');
    expect(say('client', 'consent.answered', consent)).toBe('You allowed bootstrapper to connect to pypi.org:443, for this task');
    expect(say('client', 'consent.answered', { ...consent, status: 'denied' })).toBe('You did not allow bootstrapper to connect to pypi.org:443');
    expect(say('manager', 'consent.answered', { ...consent, status: 'denied', answered_by: 'timeout' })).toBe(
      'Nobody answered in time: bootstrapper was not allowed to connect to pypi.org:443',
    );
    expect(say('policy', 'consent.decided', { ...consent, scope: 'agent' })).toBe('A permission rule allowed bootstrapper to connect to pypi.org:443, from now on');
    expect(
      say('client', 'consent.answered', {
        ...consent,
        permission: { kind: 'destructive', target: "write the fastapi template's 23 files into /home/me/src/shop, replacing 1 file already there" },
        scope: 'once',
      }),
    ).toBe("You allowed bootstrapper to write the fastapi template's 23 files into /home/me/src/shop, replacing 1 file already there, once");
    expect(say('bootstrapper', 'action.snapshotted', { action: 'a1', description: 'write 23 files into /w/shop', files: 1, bytes: 11, paths: [] })).toBe(
      'bootstrapper kept a copy of 1 file first, then could write 23 files into /w/shop',
    );
    expect(say('client', 'policy.rule_added', { agent: 'bootstrapper', permission: { kind: 'read', target: '/var/cache/wheels' }, decision: 'allow' })).toBe(
      'You added a rule: allow bootstrapper to read /var/cache/wheels',
    );
    expect(say('client', 'policy.rule_added', { agent: null, permission, decision: 'deny' })).toBe('You added a rule: do not allow every agent to connect to pypi.org:443');
    expect(say('manager', 'net.closed', { host: 'pypi.org', port: 443, agent: 'bootstrapper', bytes_sent: 1, bytes_received: 2048 })).toBe(
      "bootstrapper's connection to pypi.org:443 closed (1 byte sent, 2048 bytes received)",
    );
    expect(say('client', 'editor.opened', { path: '/w/shop', file: '/w/shop/a.py', line: 3, opener: 'code (/usr/bin/code)' })).toBe(
      'You opened /w/shop/a.py at line 3 with code',
    );
    expect(say('client', 'scheduling.paused', { paused: true })).toBe('You paused handing out work');
    expect(say('manager', 'task.dead_lettered', { task_type: 'echo.sleep' })).toBe('The echo.sleep task was given up: every attempt failed');
  });

  it('says an action audited before it began, and how it failed', () => {
    expect(say('client', 'secret.set_started', { name: 'GITHUB_TOKEN' })).toBe('You began to store the secret GITHUB_TOKEN');
    expect(say('client', 'secret.set_failed', { name: 'GITHUB_TOKEN', error: 'no keychain' })).toBe(
      'You could not store the secret GITHUB_TOKEN: no keychain',
    );
    expect(say('client', 'action.rollback_failed', { description: 'rewrite the notes', error: 'disk full' })).toBe(
      'You could not put back what was there before (rewrite the notes): disk full',
    );
  });

  it('gives none for an action it does not know, or details without what the sentence needs', () => {
    expect(say('client', 'task.teleported', {})).toBeNull();
    expect(say('bootstrapper', 'consent.requested', { permission: {} })).toBeNull();
    expect(say('client', 'secret.set', 'not json')).toBeNull();
    expect(say('client', 'toString', {})).toBeNull();
  });
});
