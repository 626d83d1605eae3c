import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LogLevel, LogLine } from '../ipc';
import { LogStore, wrappedRows } from '../lib/logStore';
import { LogViewer, MAX_SCROLL_HEIGHT, ROW_HEIGHT, type ReadLogLines } from './LogViewer';

const VIEWPORT = 400; // 20 rows of ROW_HEIGHT

/** jsdom does no layout: give the scroller a height, and make scrolling move and announce itself. */
function fakeLayout() {
  const restore: (() => void)[] = [];
  const define = (name: string, descriptor: PropertyDescriptor) => {
    const before = Object.getOwnPropertyDescriptor(HTMLElement.prototype, name);
    Object.defineProperty(HTMLElement.prototype, name, { configurable: true, ...descriptor });
    restore.push(() => {
      if (before) Object.defineProperty(HTMLElement.prototype, name, before);
      else delete (HTMLElement.prototype as unknown as Record<string, unknown>)[name];
    });
  };
  define('clientHeight', {
    get(this: HTMLElement) {
      return this.dataset.testid === 'log-scroller' ? VIEWPORT : 0;
    },
  });
  define('clientWidth', { get: () => 800 });
  define('scrollTo', {
    value(this: HTMLElement, opts: ScrollToOptions) {
      this.scrollTop = opts.top ?? 0;
      this.dispatchEvent(new Event('scroll'));
    },
  });
  return () => restore.forEach((r) => r());
}

function line(seq: number, level: LogLevel, message: string, attempt = 1, attemptSeq = seq): LogLine {
  return {
    seq: String(seq),
    time: '2026-11-26T10:00:00.000Z',
    level,
    message,
    fields: {},
    attempt,
    attempt_seq: String(attemptSeq),
  };
}

/** Appends `count` lines in batches of `batch`, publishing each batch as a frame would. */
function appendLines(store: LogStore, from: number, count: number, batch = 500) {
  act(() => {
    for (let start = from; start < from + count; start += batch) {
      const lines: LogLine[] = [];
      for (let seq = start; seq < Math.min(start + batch, from + count); seq++) {
        const level: LogLevel = seq % 100 === 0 ? 'LOG_LEVEL_ERROR' : seq % 10 === 0 ? 'LOG_LEVEL_WARN' : 'LOG_LEVEL_INFO';
        lines.push(line(seq, level, seq % 1000 === 7 ? `needle found at ${seq}` : `step ${seq} done`));
      }
      store.append(lines);
      store.flush();
    }
  });
}

const seqsShown = () => screen.getAllByTestId('log-line').map((el) => Number(el.dataset.seq));

describe('LogViewer', () => {
  let restoreLayout: () => void;
  beforeEach(() => {
    restoreLayout = fakeLayout();
  });
  afterEach(() => restoreLayout());

  it('shows the tail of 10,000 lines while following, with only a window of rows in the DOM', () => {
    const store = new LogStore();
    render(<LogViewer store={store} />);
    appendLines(store, 1, 10_000);

    expect(screen.getByTestId('log-count')).toHaveTextContent('10000 lines');
    const shown = seqsShown();
    expect(shown).toContain(10_000);
    expect(shown).not.toContain(1);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(60);
    const scroller = screen.getByTestId('log-scroller');
    expect(scroller.scrollTop).toBe(10_000 * ROW_HEIGHT - VIEWPORT);
  });

  it("marks where each retry's lines begin and shows one attempt at a time", async () => {
    const store = new LogStore();
    render(<LogViewer store={store} />);
    expect(screen.queryByTestId('log-attempt')).toBeNull();
    act(() => {
      store.append([line(1, 'LOG_LEVEL_INFO', 'first try 1'), line(2, 'LOG_LEVEL_INFO', 'first try 2')]);
      // Attempt 2 numbers its own lines from 1 again; the task-wide seq goes on.
      store.append([1, 2, 3].map((n) => line(2 + n, 'LOG_LEVEL_INFO', `second try ${n}`, 2, n)));
      store.flush();
    });
    const starts = screen.getAllByTestId('log-attempt-start');
    expect(starts).toHaveLength(1);
    expect(starts[0]).toHaveTextContent('attempt 2');
    expect(starts[0]?.closest('[data-testid="log-line"]')).toHaveAttribute('data-seq', '3');
    expect(screen.getByTestId('log-count')).toHaveTextContent('5 lines');

    await userEvent.selectOptions(screen.getByTestId('log-attempt'), '2');
    expect(seqsShown()).toEqual([3, 4, 5]);
    expect(screen.getByTestId('log-count')).toHaveTextContent('3 of 5 lines');
    await userEvent.selectOptions(screen.getByTestId('log-attempt'), '1');
    expect(seqsShown()).toEqual([1, 2]);
  });

  it('drops lines it already holds (history and feed overlapping)', () => {
    const store = new LogStore();
    render(<LogViewer store={store} />);
    appendLines(store, 1, 50);
    appendLines(store, 40, 20); // 40..59: 40..50 repeat
    expect(store.lines.map((l) => l.seq)).toEqual(Array.from({ length: 59 }, (_, i) => i + 1));
  });

  it('keeps its place when following is paused, and jumps to the tail on resume', async () => {
    const user = userEvent.setup();
    const store = new LogStore();
    render(<LogViewer store={store} />);
    appendLines(store, 1, 5_000);

    await user.click(screen.getByRole('button', { name: 'Pause follow' }));
    const scroller = screen.getByTestId('log-scroller');
    act(() => {
      scroller.scrollTo({ top: 1_000 * ROW_HEIGHT });
    });
    const before = seqsShown();
    expect(before).toContain(1_001);

    appendLines(store, 5_001, 5_000);
    expect(scroller.scrollTop).toBe(1_000 * ROW_HEIGHT);
    expect(seqsShown()).toEqual(before);
    expect(seqsShown()).not.toContain(10_000);

    await user.click(screen.getByRole('button', { name: 'Follow tail' }));
    expect(seqsShown()).toContain(10_000);
  });

  it('stops following when the reader scrolls up', () => {
    const store = new LogStore();
    render(<LogViewer store={store} />);
    appendLines(store, 1, 1_000);
    const scroller = screen.getByTestId('log-scroller');
    act(() => {
      scroller.dispatchEvent(new WheelEvent('wheel', { deltaY: -100, bubbles: true }));
    });
    expect(screen.getByRole('button', { name: 'Follow tail' })).toHaveAttribute('aria-pressed', 'false');
  });

  it('narrows the lines by level and by search text', async () => {
    const user = userEvent.setup();
    const store = new LogStore();
    render(<LogViewer store={store} />);
    appendLines(store, 1, 10_000);

    await user.selectOptions(screen.getByLabelText('Level'), 'LOG_LEVEL_ERROR');
    expect(screen.getByTestId('log-count')).toHaveTextContent('100 of 10000 lines');
    for (const row of screen.getAllByTestId('log-line')) {
      expect(within(row).getByText('error')).toBeInTheDocument();
      expect(Number(row.dataset.seq) % 100).toBe(0);
    }

    await user.selectOptions(screen.getByLabelText('Level'), '');
    await user.type(screen.getByLabelText('Search'), 'NEEDLE');
    expect(screen.getByTestId('log-count')).toHaveTextContent('10 of 10000 lines');
    expect(seqsShown()).toEqual([7, 1007, 2007, 3007, 4007, 5007, 6007, 7007, 8007, 9007]);

    // New lines that match the filter show up; others do not.
    appendLines(store, 10_001, 10);
    expect(screen.getByTestId('log-count')).toHaveTextContent('11 of 10010 lines');
    expect(seqsShown()).toContain(10_007);
  });

  it('shows hidden characters in a line and its fields by their code', () => {
    const store = new LogStore();
    render(<LogViewer store={store} />);
    act(() => {
      store.append([
        { ...line(1, 'LOG_LEVEL_INFO', 'wrote report\u202Etxt.exe'), fields: { path: '/tmp/\u2067x', color: '\x1b[31m' } },
        line(2, 'LOG_LEVEL_INFO', 'plain line'),
      ]);
      store.flush();
    });
    const [first, second] = screen.getAllByTestId('log-line');
    expect(first).toHaveTextContent('wrote reportU+202Etxt.exe');
    expect(first).toHaveTextContent('path=/tmp/U+2067x color=\\x1b[31m');
    expect(first?.textContent).not.toMatch(/[\u202E\u2067\x1b]/);
    expect(within(first!).getAllByTestId('untrusted-mark').map((m) => m.textContent)).toEqual(['U+202E', 'U+2067', '\\x1b']);
    // A plain line is its bare text: no marks, no extra elements.
    expect(second?.querySelector('.log-message')?.innerHTML).toBe('plain line');
  });

  it('publishes queued lines once per animation frame, not per line', () => {
    const frames: FrameRequestCallback[] = [];
    vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) => frames.push(cb));
    try {
      const store = new LogStore();
      const seen = vi.fn();
      store.subscribe(seen);
      for (let i = 1; i <= 1000; i++) store.append([line(i, 'LOG_LEVEL_INFO', `l${i}`)]);
      expect(store.lines).toHaveLength(0);
      expect(seen).not.toHaveBeenCalled();
      store.flush();
      expect(seen).toHaveBeenCalledTimes(1);
      expect(store.lines).toHaveLength(1000);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('gives a multi-line message (a traceback) a row as tall as its lines, the next row below it', () => {
    const store = new LogStore();
    render(<LogViewer store={store} />);
    act(() => {
      store.append([
        line(1, 'LOG_LEVEL_ERROR', 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\nValueError: boom\n'),
        line(2, 'LOG_LEVEL_INFO', 'next line'),
      ]);
      store.flush();
    });
    const [traceback, next] = screen.getAllByTestId('log-line');
    expect(traceback).toHaveStyle({ height: `${3 * ROW_HEIGHT}px` });
    expect(traceback?.querySelector('.log-message')?.textContent).toBe(
      'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\nValueError: boom',
    );
    expect(next?.style.transform).toBe(`translateY(${3 * ROW_HEIGHT}px)`);
    expect(screen.getByTestId('log-count')).toHaveTextContent('2 lines');
  });

  it('shows ANSI colours as colours, not as escape codes', () => {
    const store = new LogStore();
    render(<LogViewer store={store} />);
    act(() => {
      store.append([line(1, 'LOG_LEVEL_INFO', '\x1b[1;31mFAILED\x1b[0m tests/test_x.py \x1b[38;2;0;128;255mblue\x1b[m')]);
      store.flush();
    });
    const row = screen.getByTestId('log-line');
    expect(row.querySelector('.log-message')?.textContent).toBe('FAILED tests/test_x.py blue');
    expect(within(row).queryAllByTestId('untrusted-mark')).toHaveLength(0);
    const [failed, blue] = within(row).getAllByTestId('ansi-run');
    expect(failed).toHaveTextContent('FAILED');
    expect(failed).toHaveClass('ansi-fg-1', 'ansi-bold');
    expect(blue).toHaveTextContent('blue');
    expect(blue).toHaveStyle({ color: 'rgb(0, 128, 255)' });
    expect(screen.getByTestId('log-count')).toHaveTextContent(/^1 line$/);
  });

  it('says so when a filter matches nothing, with the way back to every line', async () => {
    const user = userEvent.setup();
    const store = new LogStore();
    render(<LogViewer store={store} />);
    expect(screen.getByTestId('log-empty')).toHaveTextContent('No log lines yet.');
    appendLines(store, 1, 50);
    expect(screen.queryByTestId('log-empty')).not.toBeInTheDocument();
    await user.type(screen.getByLabelText('Search'), 'no such words');
    expect(screen.getByTestId('log-empty')).toHaveTextContent('None of the 50 lines matches “no such words”.');
    await user.click(screen.getByRole('button', { name: 'Show every line' }));
    expect(screen.getByLabelText('Search')).toHaveValue('');
    expect(seqsShown()).toContain(50);
  });

  it("shows a command's stderr as stderr, not as a warning, and keeps it out of 'warn and above'", async () => {
    const user = userEvent.setup();
    const store = new LogStore();
    render(<LogViewer store={store} />);
    act(() => {
      store.append([
        { ...line(1, 'LOG_LEVEL_WARN', 'Resolved 12 packages in 80ms'), fields: { stream: 'stderr' } },
        { ...line(2, 'LOG_LEVEL_INFO', 'collected 3 items'), fields: { stream: 'stdout' } },
        line(3, 'LOG_LEVEL_WARN', 'template fastapi: a real warning'),
        { ...line(4, 'LOG_LEVEL_ERROR', 'install failed: invalid peer certificate'), fields: { check: 'install' } },
      ]);
      store.flush();
    });
    const [stderr, stdout] = screen.getAllByTestId('log-line');
    expect(stderr?.querySelector('.log-level')).toHaveTextContent(/^stderr$/);
    expect(stdout?.querySelector('.log-level')).toHaveTextContent(/^info$/);
    expect(screen.getByTestId('log-scroller')).not.toHaveTextContent('stream=');
    await user.selectOptions(screen.getByLabelText('Level'), 'LOG_LEVEL_WARN');
    expect(seqsShown()).toEqual([3, 4]);
    await user.selectOptions(screen.getByLabelText('Level'), 'LOG_LEVEL_ERROR');
    expect(seqsShown()).toEqual([4]);
  });

  it('numbers each line by its place in the log, whatever the filter', async () => {
    const user = userEvent.setup();
    const store = new LogStore();
    render(<LogViewer store={store} />);
    appendLines(store, 1, 2_000);
    await user.type(screen.getByLabelText('Search'), 'needle');
    expect(screen.getAllByTestId('log-line').map((row) => row.querySelector('.log-num')?.textContent)).toEqual(['7', '1007']);
  });

  it('finds text without hiding lines: a count, next and previous (Enter, Shift+Enter), each match brought into view', async () => {
    const user = userEvent.setup();
    const store = new LogStore();
    render(<LogViewer store={store} />);
    appendLines(store, 1, 10_000);
    const current = () => screen.getAllByTestId('log-line').find((row) => row.dataset.find === 'current');

    await user.type(screen.getByLabelText('Find'), 'needle');
    expect(screen.getByTestId('log-found')).toHaveTextContent('1 of 10');
    expect(current()).toHaveAttribute('data-seq', '7');
    expect(screen.getByTestId('log-count')).toHaveTextContent('10000 lines'); // nothing hidden
    await user.keyboard('{Enter}');
    expect(screen.getByTestId('log-found')).toHaveTextContent('2 of 10');
    expect(current()).toHaveAttribute('data-seq', '1007');
    expect(screen.getByRole('button', { name: 'Follow tail' })).toHaveAttribute('aria-pressed', 'false');
    await user.click(screen.getByRole('button', { name: 'Next match' }));
    expect(current()).toHaveAttribute('data-seq', '2007');
    await user.click(screen.getByLabelText('Find'));
    await user.keyboard('{Shift>}{Enter}{/Shift}');
    expect(screen.getByTestId('log-found')).toHaveTextContent('2 of 10');
    expect(current()).toHaveAttribute('data-seq', '1007');
    await user.click(screen.getByRole('button', { name: 'Previous match' }));
    await user.click(screen.getByRole('button', { name: 'Previous match' }));
    expect(screen.getByTestId('log-found')).toHaveTextContent('10 of 10'); // wraps around
    expect(current()).toHaveAttribute('data-seq', '9007');

    // From the log itself, Ctrl+F goes to its find; Escape there empties it.
    screen.getByTestId('log-scroller').focus();
    await user.keyboard('{Control>}f{/Control}');
    expect(screen.getByLabelText('Find')).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(screen.getByLabelText('Find')).toHaveValue('');
    expect(screen.getByTestId('log-found')).toBeEmptyDOMElement();
    await user.type(screen.getByLabelText('Find'), 'nowhere');
    expect(screen.getByTestId('log-found')).toHaveTextContent('no match');
    expect(screen.getByRole('button', { name: 'Next match' })).toBeDisabled();
  });

  it('a find typed before its match arrived brings the match into view when it comes, unless the reader moved', async () => {
    const user = userEvent.setup();
    const store = new LogStore();
    render(<LogViewer store={store} />);
    appendLines(store, 1, 6); // no needle yet
    await user.click(screen.getByLabelText('Find'));
    await user.paste('needle found at 1007'); // at once, as Playwright's fill: no prefix matches 'done'
    expect(screen.getByTestId('log-found')).toHaveTextContent('no match');
    expect(screen.getByRole('button', { name: 'Pause follow' })).toHaveAttribute('aria-pressed', 'true');
    appendLines(store, 7, 5_000); // the log goes on loading past it
    expect(screen.getByTestId('log-found')).toHaveTextContent('1 of 1');
    expect(screen.getByRole('button', { name: 'Follow tail' })).toHaveAttribute('aria-pressed', 'false');
    expect(seqsShown()).toContain(1007);

    // Paused by the reader first: a match that arrives later leaves the view where the reader put it.
    await user.clear(screen.getByLabelText('Find'));
    await user.click(screen.getByRole('button', { name: 'Follow tail' }));
    await user.click(screen.getByLabelText('Find'));
    await user.paste('needle found at 9007');
    await user.click(screen.getByRole('button', { name: 'Pause follow' }));
    const before = seqsShown();
    appendLines(store, 5_007, 5_000);
    expect(screen.getByTestId('log-found')).toHaveTextContent('1 of 1');
    expect(seqsShown()[0]).toBe(before[0]); // the rows below fill in as they arrive; the view stays
    expect(seqsShown()).not.toContain(9007);
  });

  it('jumps to the first error, and offers it only when there is one', async () => {
    const user = userEvent.setup();
    const store = new LogStore();
    render(<LogViewer store={store} />);
    appendLines(store, 1, 99);
    expect(screen.getByRole('button', { name: 'First error' })).toBeDisabled();
    appendLines(store, 100, 5_000);
    await user.click(screen.getByRole('button', { name: 'First error' }));
    const row = screen.getAllByTestId('log-line').find((r) => r.dataset.seq === '100');
    expect(row).toBeDefined();
    const top = screen.getByTestId('log-scroller').scrollTop;
    expect(99 * ROW_HEIGHT).toBeGreaterThanOrEqual(top);
    expect(100 * ROW_HEIGHT).toBeLessThanOrEqual(top + VIEWPORT);
  });

  it('counts the lines that came while following was paused, and follows again from that button', async () => {
    const user = userEvent.setup();
    const store = new LogStore();
    render(<LogViewer store={store} />);
    appendLines(store, 1, 100);
    expect(screen.queryByTestId('log-new-lines')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Pause follow' }));
    appendLines(store, 101, 1);
    expect(screen.getByTestId('log-new-lines')).toHaveTextContent('1 new line');
    appendLines(store, 102, 24);
    await user.click(screen.getByRole('button', { name: /^25 new lines/ }));
    expect(screen.getByRole('button', { name: 'Pause follow' })).toHaveAttribute('aria-pressed', 'true');
    expect(seqsShown()).toContain(125);
    expect(screen.queryByTestId('log-new-lines')).toBeNull();
  });

  it('copies and downloads the lines shown as text', async () => {
    const user = userEvent.setup();
    const writeText = vi.fn(async () => {});
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } });
    const blobs: Blob[] = [];
    const createObjectURL = vi.fn((b: Blob) => {
      blobs.push(b);
      return 'blob:log';
    });
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() }));
    const clicked: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    try {
      const store = new LogStore();
      render(<LogViewer store={store} fileName="task-1.log" />);
      act(() => {
        store.append([
          { ...line(1, 'LOG_LEVEL_INFO', 'resolved'), fields: { packages: '12' } },
          { ...line(2, 'LOG_LEVEL_WARN', 'Installed 12 packages'), fields: { stream: 'stderr' } },
        ]);
        store.flush();
      });
      const expected =
        '2026-11-26T10:00:00.000Z info resolved packages=12\n2026-11-26T10:00:00.000Z stderr Installed 12 packages\n';
      await user.click(screen.getByRole('button', { name: 'Copy' }));
      expect(writeText).toHaveBeenCalledWith(expected);
      expect(await screen.findByTestId('log-copied')).toHaveTextContent('Copied 2 lines.');
      await user.click(screen.getByRole('button', { name: 'Download' }));
      expect(clicked).toEqual(['task-1.log']);
      expect(await blobs[0]?.text()).toBe(expected);
    } finally {
      click.mockRestore();
      vi.unstubAllGlobals();
    }
  });

  it('wraps long lines on request, each row as tall as its wrapped text', async () => {
    const user = userEvent.setup();
    const store = new LogStore();
    render(<LogViewer store={store} />);
    act(() => {
      store.append([line(1, 'LOG_LEVEL_INFO', 'x'.repeat(200)), line(2, 'LOG_LEVEL_INFO', 'short')]);
      store.flush();
    });
    const rows = () => screen.getAllByTestId('log-line');
    expect(rows()[0]).toHaveStyle({ height: `${ROW_HEIGHT}px` });
    await user.click(screen.getByRole('button', { name: 'Wrap lines' }));
    expect(screen.getByRole('button', { name: 'Wrap lines' })).toHaveAttribute('aria-pressed', 'true');
    // jsdom measures no font: 80 columns are assumed, so 200 characters take 3 text lines.
    expect(rows()[0]).toHaveStyle({ height: `${3 * ROW_HEIGHT}px` });
    expect(rows()[1]).toHaveStyle({ transform: `translateY(${3 * ROW_HEIGHT}px)` });
  });
});

describe('LogViewer under load', () => {
  let restoreLayout: () => void;
  beforeEach(() => {
    restoreLayout = fakeLayout();
  });
  afterEach(() => restoreLayout());

  /** A stand-in for the manager's stored log of `count` lines: reads as GetLogs pages would. */
  function storedLog(count: number): ReadLogLines & { asked: [number, number][] } {
    const asked: [number, number][] = [];
    const read = (afterSeq: number, limit: number) => {
      asked.push([afterSeq, limit]);
      const out: LogLine[] = [];
      for (let seq = afterSeq + 1; seq <= Math.min(count, afterSeq + limit); seq++) out.push(line(seq, 'LOG_LEVEL_INFO', `step ${seq} done`));
      return Promise.resolve(out);
    };
    return Object.assign(read, { asked });
  }

  it('keeps only the newest lines in memory, says how many earlier ones are not shown, and reads them back on request', async () => {
    const user = userEvent.setup();
    const store = new LogStore(1_000);
    const read = storedLog(5_000);
    render(<LogViewer store={store} readLines={read} />);
    appendLines(store, 1, 5_000);

    expect(store.lines).toHaveLength(1_000);
    expect(store.lines[0]?.seq).toBe(4_001);
    expect(screen.getByTestId('log-count')).toHaveTextContent('1000 lines');
    expect(screen.getByTestId('log-earlier')).toHaveTextContent('4,000 earlier lines are not shown (the newest 1000 lines are kept).');
    expect(seqsShown()).toContain(5_000);
    // Row numbers are the lines' own, not their place in what is kept.
    expect(screen.getAllByTestId('log-line').at(-1)).toHaveTextContent(/^5000/);
    const writeText = vi.spyOn(navigator.clipboard, 'writeText').mockResolvedValue();
    await user.click(screen.getByRole('button', { name: 'Copy' }));
    expect(writeText.mock.calls[0]?.[0].split('\n')).toHaveLength(1_001);
    expect(await screen.findByTestId('log-copied')).toHaveTextContent('Copied 1000 lines (not the 4,000 earlier ones not shown).');

    await user.click(screen.getByRole('button', { name: 'Load earlier' }));
    expect(read.asked).toEqual([[3_500, 500]]);
    // Half a window back: the line that was first stays at the top of the viewport.
    expect(await screen.findByTestId('log-later')).toHaveTextContent('Showing lines 3501–4500; 500 later lines not shown.');
    expect(seqsShown()).toContain(4_001);
    expect(screen.getByRole('button', { name: 'Follow tail' })).toHaveAttribute('aria-pressed', 'false');
    expect(screen.getByTestId('log-earlier')).toHaveTextContent('3,500 earlier lines are not shown.');
    // The live store goes on as it was, as bounded.
    appendLines(store, 5_001, 100);
    expect(store.lines).toHaveLength(1_000);
    expect(screen.getByTestId('log-later')).toHaveTextContent('600 later lines not shown');

    await user.click(screen.getByRole('button', { name: 'Back to the live tail' }));
    expect(screen.queryByTestId('log-later')).toBeNull();
    expect(seqsShown()).toContain(5_100);
    expect(screen.getByRole('button', { name: 'Pause follow' })).toHaveAttribute('aria-pressed', 'true');
  });

  it('keeps the search typed and its matches while old lines are dropped', async () => {
    const user = userEvent.setup();
    const store = new LogStore(2_000);
    render(<LogViewer store={store} />);
    appendLines(store, 1, 2_000);
    await user.type(screen.getByLabelText('Search'), 'needle');
    expect(seqsShown()).toEqual([7, 1007]);
    appendLines(store, 2_001, 1_500); // 1..1500 go
    expect(screen.getByLabelText('Search')).toHaveValue('needle');
    expect(seqsShown()).toEqual([2007, 3007]);
    expect(screen.getByTestId('log-count')).toHaveTextContent('2 of 2000 lines');
    await user.clear(screen.getByLabelText('Search'));
    expect(seqsShown()).toContain(3_500);
  });

  it('reads back the lines around one asked for that is no longer held', async () => {
    const store = new LogStore(1_000);
    const read = storedLog(5_000);
    const { rerender } = render(<LogViewer store={store} readLines={read} />);
    appendLines(store, 1, 5_000);
    rerender(<LogViewer store={store} readLines={read} goTo={{ seq: 42 }} />);
    expect(await screen.findByTestId('log-later')).toHaveTextContent('Showing lines 1–500');
    expect(screen.getAllByTestId('log-line').find((el) => el.dataset.seq === '42')).toHaveAttribute('data-target', 'true');
  });

  it('says why earlier lines could not be read, and keeps what it shows', async () => {
    const user = userEvent.setup();
    const store = new LogStore(1_000);
    render(<LogViewer store={store} readLines={() => Promise.reject(new Error('manager away'))} />);
    appendLines(store, 1, 3_000);
    await user.click(screen.getByRole('button', { name: 'Load earlier' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The earlier lines could not be read');
    expect(seqsShown()).toContain(3_000);
  });

  it('says so when the manager no longer stores the earlier lines', async () => {
    const user = userEvent.setup();
    const store = new LogStore(1_000);
    render(<LogViewer store={store} readLines={() => Promise.resolve([])} />);
    appendLines(store, 1, 3_000);
    await user.click(screen.getByRole('button', { name: 'Load earlier' }));
    expect(await screen.findByText('The manager no longer stores the lines before line 2001.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Load earlier' })).toBeNull();
    expect(seqsShown()).toContain(3_000);
  });

  it('reaches every row of a log taller than a browser lets an element be', () => {
    const store = new LogStore();
    render(<LogViewer store={store} />);
    // 1,000 tracebacks of 1,000 lines: 20 million pixels of rows.
    const traceback = Array.from({ length: 1_000 }, (_, i) => `  frame ${i}`).join('\n');
    act(() => {
      store.append(Array.from({ length: 1_000 }, (_, i) => line(i + 1, 'LOG_LEVEL_ERROR', `${i + 1}: ${traceback}`)));
      store.flush();
    });
    const spacer = screen.getByTestId('log-spacer');
    const height = parseFloat(spacer.style.height);
    expect(height).toBeLessThan(16_777_216); // Chromium's cap on an element's height
    expect(height).toBeLessThanOrEqual(MAX_SCROLL_HEIGHT);
    // Following: the last row is drawn at the bottom of the scrolled content.
    expect(seqsShown()).toContain(1_000);
    const scroller = screen.getByTestId('log-scroller');
    expect(scroller.scrollTop).toBeCloseTo(height - VIEWPORT, 0);
    // Scrolled by hand to the middle and to the very top, rows from there are drawn in view.
    act(() => {
      scroller.dispatchEvent(new WheelEvent('wheel', { deltaY: -100, bubbles: true }));
    });
    act(() => scroller.scrollTo({ top: (height - VIEWPORT) / 2 }));
    expect(seqsShown()).toContain(500);
    const drawn = screen.getAllByTestId('log-line').find((el) => el.dataset.seq === '500')!;
    const y = parseFloat(drawn.style.transform.replace('translateY(', ''));
    expect(y).toBeGreaterThan(scroller.scrollTop - drawn.offsetHeight - 1_000 * ROW_HEIGHT);
    expect(y).toBeLessThan(scroller.scrollTop + VIEWPORT);
    act(() => scroller.scrollTo({ top: 0 }));
    expect(seqsShown()).toContain(1);
  });
});

describe('wrappedRows', () => {
  it('counts the text as drawn: colour codes take no room, wide characters two columns, fields follow the message', () => {
    expect(wrappedRows({ message: 'x'.repeat(80), fields: {} }, 80)).toBe(1);
    expect(wrappedRows({ message: 'x'.repeat(81), fields: {} }, 80)).toBe(2);
    expect(wrappedRows({ message: `\x1b[31m${'x'.repeat(80)}\x1b[0m`, fields: {} }, 80)).toBe(1);
    expect(wrappedRows({ message: '漢'.repeat(41), fields: {} }, 80)).toBe(2);
    expect(wrappedRows({ message: 'x'.repeat(76), fields: { n: '12' } }, 80)).toBe(2);
    expect(wrappedRows({ message: 'a\n\nb', fields: {} }, 80)).toBe(3);
  });
});
