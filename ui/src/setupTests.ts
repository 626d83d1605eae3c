import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

afterEach(() => {
  cleanup();
});

// jsdom lays nothing out and has no scrollIntoView; the views call it to bring a section into view.
const proto = Element.prototype as Partial<Pick<Element, 'scrollIntoView'>>;
proto.scrollIntoView ??= () => undefined;
