import { describe, expect, it } from 'vitest';
import { count, duration, enumLabel, linesLabel, stateLabel, taskStateLabel } from './format';

describe('words for states and counts', () => {
  it('spells it "cancelled" everywhere, whatever the proto says', () => {
    expect(stateLabel('TASK_STATE_CANCELED')).toBe('cancelled');
    expect(enumLabel('RESULT_STATUS_CANCELED', 'RESULT_STATUS_')).toBe('cancelled');
    expect(enumLabel('PLAN_STATE_CANCELED', 'PLAN_STATE_')).toBe('cancelled');
    expect(stateLabel('TASK_STATE_AWAITING_CONSENT')).toBe('awaiting consent');
  });

  it('says a task the person cancelled was cancelled by them', () => {
    expect(taskStateLabel({ state: 'TASK_STATE_CANCELED', cancel_requested: true })).toBe('cancelled by you');
    expect(taskStateLabel({ state: 'TASK_STATE_CANCELED', cancel_requested: false })).toBe('cancelled');
    expect(taskStateLabel({ state: 'TASK_STATE_FAILED', cancel_requested: true })).toBe('failed');
  });

  it('counts in the singular for one', () => {
    expect(count(1, 'task')).toBe('1 task');
    expect(count(0, 'task')).toBe('0 tasks');
    expect(count(2, 'entry', 'entries')).toBe('2 entries');
    expect(linesLabel(1)).toBe('1 line');
    expect(linesLabel(100_000)).toBe('100000 lines');
  });
});

describe('duration', () => {
  it('says how long in the unit that reads best, and nothing for what cannot be known', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 10, 0, 0) + s * 1000).toISOString();
    expect(duration(at(0), at(0.42))).toBe('0.4 s');
    expect(duration(at(0), at(12))).toBe('12 s');
    expect(duration(at(0), at(185))).toBe('3 min 5 s');
    expect(duration(at(0), at(180))).toBe('3 min');
    expect(duration(at(0), at(7380))).toBe('2 h 3 min');
    expect(duration(at(10), at(0))).toBe('—');
    expect(duration(undefined, at(1))).toBe('—');
  });
});
