import { vi } from 'vitest';

/**
 * The browser's Notification API for tests: what a page was shown, and the person's answer when
 * the page asks (`answer`). Installed with `vi.stubGlobal`; undo with `vi.unstubAllGlobals()`.
 */
export function fakeNotifications(permission: NotificationPermission = 'default', answer: NotificationPermission = 'granted') {
  const shown: { title: string; body?: string; tag?: string; onclick: (() => void) | null }[] = [];
  class FakeNotification {
    static permission: NotificationPermission = permission;
    static requestPermission = vi.fn(async () => {
      FakeNotification.permission = answer;
      return answer;
    });
    onclick: (() => void) | null = null;
    close = vi.fn();
    constructor(title: string, options: NotificationOptions = {}) {
      shown.push(Object.assign(this, { title, body: options.body, tag: options.tag }));
    }
  }
  vi.stubGlobal('Notification', FakeNotification);
  return { shown, api: FakeNotification };
}
