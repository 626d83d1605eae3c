import { useEffect, useRef } from 'react';

// The app's keyboard shortcuts, whatever view is open: Ctrl+K (⌘K) anywhere opens the command
// palette, `/` outside text fields the prompt bar, unless another dialog (a permission request,
// the introduction) is up: that one is answered first.

/** The shortcuts as `aria-keyshortcuts` names them. */
export const PALETTE_SHORTCUTS = 'Control+K Meta+K';
export const PROMPT_SHORTCUTS = '/';

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

/** What a key press asks for: the command palette, the prompt bar, or nothing. */
export function shortcutOf(e: KeyboardEvent): 'palette' | 'prompt' | null {
  if (e.defaultPrevented || e.isComposing || e.altKey) return null;
  if (e.key.toLowerCase() === 'k' && (e.ctrlKey || e.metaKey) && !e.shiftKey) return 'palette';
  return e.key === '/' && !e.ctrlKey && !e.metaKey && !isTextEntry(e.target) ? 'prompt' : null;
}

/** Another modal dialog than the palette and the prompt bar (which give way to each other) is open. */
const otherDialogOpen = () =>
  document.querySelector('[aria-modal="true"]:not([data-prompt-bar]):not([data-palette])') !== null;

/** Calls `palette` or `ask` when the person presses their shortcut. */
export function useShortcuts(palette: () => void, ask: () => void) {
  const latest = useRef({ palette, ask });
  useEffect(() => {
    latest.current = { palette, ask };
  });
  useEffect(() => {
    const onKeyDown = (e: KeyboardEvent) => {
      const which = shortcutOf(e);
      if (!which || otherDialogOpen()) return;
      // "/" typed in the palette's own field is a character, not a shortcut.
      if (which === 'prompt' && document.querySelector('[data-palette]')) return;
      e.preventDefault();
      if (which === 'palette') latest.current.palette();
      else latest.current.ask();
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, []);
}

/** How the palette's shortcut is written on this system. */
export const paletteShortcutLabel = (): string =>
  /Mac|iPhone|iPad/.test(typeof navigator === 'undefined' ? '' : navigator.platform) ? '⌘K' : 'Ctrl K';
