import type { ReactNode } from 'react';

/**
 * A wide table scrolls sideways inside this region (at 200% zoom, say), never the whole page. The
 * region is named and focusable, so it can be found and scrolled with the keyboard.
 */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-scroll" role="region" aria-label={`${label} (scrolls sideways)`} tabIndex={0}>
      {children}
    </div>
  );
}
