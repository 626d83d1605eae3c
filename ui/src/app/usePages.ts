import { useCallback, useEffect, useState } from 'react';
import { ApiError } from '../ipc';

export interface Page<T> {
  items: T[];
  /** The token of the page after it; '' at the end. */
  next: string;
}

/**
 * A list the manager hands out page by page (newest first): the first page on mount (and again
 * when `read` changes: wrap it in useCallback), the next on `more()`. `setItems` lets the feed
 * keep what is shown current.
 */
export function usePages<T>(read: (pageToken: string) => Promise<Page<T>>) {
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState('');
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(
    (pageToken: string) => {
      read(pageToken).then(
        (page) => {
          setItems((old) => (pageToken && old ? [...old, ...page.items] : page.items));
          setNext(page.next);
          setError(null);
        },
        (err: unknown) => setError(ApiError.from(err)),
      );
    },
    [read],
  );
  useEffect(() => load(''), [load]);

  return { items, setItems, next, error, more: () => load(next) };
}
