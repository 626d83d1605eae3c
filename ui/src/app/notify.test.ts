import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeNotifications } from '../testing/notifications';
import { NOTIFY_KEY, notify, notifyState, setNotify } from './notify';

describe('desktop notifications', () => {
  beforeEach(() => window.localStorage.clear());
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it('asks the browser only when switched on, and keeps the choice', async () => {
    const { api } = fakeNotifications('default', 'granted');
    expect(notifyState()).toBe('off');
    expect(api.requestPermission).not.toHaveBeenCalled();
    expect(await setNotify(true)).toBe('on');
    expect(api.requestPermission).toHaveBeenCalledTimes(1);
    expect(window.localStorage.getItem(NOTIFY_KEY)).toBe('on');
    expect(await setNotify(false)).toBe('off');
    expect(window.localStorage.getItem(NOTIFY_KEY)).toBeNull();
  });

  it('says when the browser refuses, or has no notifications', async () => {
    fakeNotifications('default', 'denied');
    expect(await setNotify(true)).toBe('blocked');
    expect(window.localStorage.getItem(NOTIFY_KEY)).toBeNull();
    vi.unstubAllGlobals();
    vi.stubGlobal('Notification', undefined);
    expect(notifyState()).toBe('unsupported');
    expect(await setNotify(true)).toBe('unsupported');
  });

  it('shows one only while HyperAgent is in the background, and a click brings the window forward', async () => {
    const { shown } = fakeNotifications('granted');
    expect(notify('t', 'b', 'x')).toBe(false); // not switched on here
    await setNotify(true);
    const focus = vi.spyOn(document, 'hasFocus').mockReturnValue(true);
    expect(notify('t', 'b', 'x')).toBe(false);
    focus.mockReturnValue(false);
    const raise = vi.spyOn(window, 'focus').mockImplementation(() => {});
    expect(notify('HyperAgent: permission requested', 'bootstrapper asks to connect to pypi.org:443', 'consent-c1')).toBe(true);
    expect(shown).toEqual([expect.objectContaining({ title: 'HyperAgent: permission requested', tag: 'consent-c1' })]);
    shown[0]?.onclick?.();
    expect(raise).toHaveBeenCalled();
  });
});
