// What every modal dialog of the app does with the keyboard and the focus: Escape closes it, Tab
// stays inside it, and the focus goes back where it was when it closes.
import { useEffect, type KeyboardEvent } from 'react';

const FOCUSABLE =
  'button:not([disabled]), a[href], input:not([disabled]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';

/**
 * Keeps Tab inside a modal dialog: from its last control to its first, and (Shift+Tab) from its
 * first, or from something not in its tab order (its heading, say), to its last; Tab from outside
 * it (the page behind) goes to its first.
 */
export function keepTabInside(e: Pick<KeyboardEvent, 'shiftKey' | 'preventDefault'>, box: HTMLElement) {
  const items = Array.from(box.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => !el.closest('[hidden]'));
  const first = items[0];
  const last = items.at(-1);
  if (!first || !last) return;
  const active = document.activeElement;
  if (e.shiftKey && (active === first || !(active instanceof HTMLElement) || !items.includes(active))) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (active === last || !(active instanceof HTMLElement) || !box.contains(active))) {
    e.preventDefault();
    first.focus();
  }
}

/** A dialog's `onKeyDown`: Escape calls `close`, Tab keeps to the dialog `box`. */
export function dialogKeyDown(e: KeyboardEvent, box: HTMLElement | null, close: () => void) {
  if (e.key === 'Escape') {
    e.preventDefault();
    close();
  } else if (e.key === 'Tab' && box) {
    keepTabInside(e, box);
  }
}

/** Puts the focus back on what had it when the calling dialog opened, once it closes. */
export function useFocusReturn() {
  useEffect(() => {
    const before = document.activeElement;
    return () => {
      if (before instanceof HTMLElement) before.focus();
    };
  }, []);
}
