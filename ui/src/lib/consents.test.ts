import { describe, expect, it } from 'vitest';
import { consent } from '../testing/consents';
import { destructiveFiles, groupConsents, purposeOf } from './consents';

describe('groupConsents', () => {
  it('puts requests with one agent, kind and reason together, oldest group first; a request to change files alone', () => {
    const groups = groupConsents([
      consent('c3', { target: 'files.pythonhosted.org:443' }),
      consent('c1'),
      consent('c2', { agent_id: 'testrunner' }),
      consent('c4', { kind: 'destructive', reason: 'x' }),
      consent('c5', { kind: 'destructive', reason: 'x' }),
    ]);
    expect(groups.map((g) => g.items.map((c) => c.id))).toEqual([['c1', 'c3'], ['c2'], ['c4'], ['c5']]);
    expect(purposeOf(groups[0]!)).toBe('Install the project (2 hosts)');
    expect(purposeOf(groups[1]!)).toBe('Install the project');
    expect(purposeOf(groups[2]!)).toBe('');
    expect(purposeOf({ key: 'k', items: [consent('c6', { reason: '' })] })).toBe('');
    expect(purposeOf({ key: 'k', items: [consent('c7', { kind: 'read' }), consent('c8', { kind: 'read' })] })).toBe('Install the project (2 paths)');
  });
});

describe('destructiveFiles', () => {
  it("reads the files and the note out of the manager's reason", () => {
    expect(destructiveFiles('replace: /w/a, /w/b, and 3 more (5 path(s); what exists there now is snapshotted first, so it can be rolled back)', 'replace')).toEqual({
      files: ['/w/a', '/w/b', 'and 3 more'],
      note: '5 paths; what exists there now is snapshotted first, so it can be rolled back',
    });
    expect(destructiveFiles('replace: /w/a (1 path(s))', 'replace')).toEqual({ files: ['/w/a'], note: '1 path' });
    // Not in that form: shown as it is, never guessed at.
    expect(destructiveFiles('replace everything', 'replace')).toBeNull();
  });
});
