import { useEffect, useRef } from 'react';

// The app's keyboard shortcuts, whatever view is open: Ctrl+K (⌘K) anywhere and `/` outside text
// fields open the prompt bar, unless another dialog (a permission request, the introduction) is
// up: that one is answered first.

/** The shortcuts as `aria-keyshortcuts` names them. */
export const PROMPT_SHORTCUTS = 'Control+K Meta+K /';

/** Where typing a character types it: text inputs, text areas, selects, editable content. */
export function isTextEntry(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) {
    return true;
  }
  if (target instanceof HTMLInputElement) {
    return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file', 'image'].includes(target.type);
  }
  return false;
}

/** Whether a key press asks for the prompt bar. */
export function opensPromptBar(e: KeyboardEvent): boolean {
  if (e.defaultPrevented || e.isComposing || e.altKey) return false;
  if (e.key.toLowerCase() === 'k' && (e.ctrlKey || e.metaKey) && !e.shiftKey) return true;
  return e.key === '/' && !e.ctrlKey && !e.metaKey && !isTextEntry(e.target);
}

/** Another modal dialog than the prompt bar is open. */
const otherDialogOpen = () => document.querySelector('[aria-modal="true"]:not([data-prompt-bar])') !== null;

/** Calls `open` when the person presses a prompt bar shortcut. */
export function usePromptShortcut(open: () => void) {
  const latest = useRef(open);
  useEffect(() => {
    latest.current = open;
  });
  useEffect(() => {
    const onKeyDown = (e: KeyboardEvent) => {
      if (!opensPromptBar(e) || otherDialogOpen()) return;
      e.preventDefault();
      latest.current();
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, []);
}

/** How the main shortcut is written on this system. */
export const promptShortcutLabel = (): string =>
  /Mac|iPhone|iPad/.test(typeof navigator === 'undefined' ? '' : navigator.platform) ? '⌘K' : 'Ctrl K';
