// Desktop notifications for permission requests that arrive while HyperAgent is in the
// background (the window hidden or not focused): the browser's Notification API, which the
// desktop app's webview has too. Asked for only from a person's gesture (Settings' toggle); the
// choice is kept in localStorage.

export const NOTIFY_KEY = 'hyperagent.notify';

export type NotifyState = 'unsupported' | 'off' | 'on' | 'blocked';

const api = (): typeof Notification | null => (typeof Notification === 'undefined' ? null : Notification);

function stored(): boolean {
  try {
    return window.localStorage.getItem(NOTIFY_KEY) === 'on';
  } catch {
    return false;
  }
}

function store(on: boolean) {
  try {
    if (on) window.localStorage.setItem(NOTIFY_KEY, 'on');
    else window.localStorage.removeItem(NOTIFY_KEY);
  } catch {
    // Not kept: off again next time.
  }
}

/** Whether notifications are on: asked for here, and allowed by the browser. */
export function notifyState(): NotifyState {
  const N = api();
  if (!N) return 'unsupported';
  if (N.permission === 'denied') return 'blocked';
  return stored() && N.permission === 'granted' ? 'on' : 'off';
}

/** Turns them on (asking the browser, so call it from a click) or off; the state after. */
export async function setNotify(on: boolean): Promise<NotifyState> {
  const N = api();
  if (!N) return 'unsupported';
  if (!on) {
    store(false);
    return notifyState();
  }
  const answer = N.permission === 'granted' ? 'granted' : await N.requestPermission();
  store(answer === 'granted');
  return notifyState();
}

/** HyperAgent is not in front of the person: its window hidden, or another one focused. */
const inBackground = () => document.hidden || !document.hasFocus();

/**
 * Shows `body` as a desktop notification when they are on and HyperAgent is in the background;
 * one per `tag` (a request's id). Clicking it brings the window forward. Whether one was shown.
 */
export function notify(title: string, body: string, tag: string): boolean {
  const N = api();
  if (!N || notifyState() !== 'on' || !inBackground()) return false;
  const n = new N(title, { body, tag });
  n.onclick = () => {
    window.focus();
    n.close();
  };
  return true;
}
