// A task's page against the real manager: what it shows must be true while the task runs, however
// many lines it logs, and after it ended.
import { expect, test } from '@playwright/test'
import { rmSync } from 'node:fs'
import { api, ended, online, rowsInView, submit } from './helpers.ts'

/** The number at the start of the log's counter ("12,345 lines" -> 12345). */
function countOf(text: string | null): number {
  return Number((text ?? '').split(' ')[0]?.replace(/[^0-9]/g, '') || 0)
}

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page).not.toHaveURL(/token=/)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

// 100,000 lines once for every check of the flood (CI time is budgeted).
test('a flood of 100,000 log lines: rows stay on screen while the count climbs, and the end state does not wait behind the lines', async ({ page }) => {
  const LINES = 100_000
  await online(page, 'echo')
  // Held until the page watches, so it sees the whole flood live.
  await api(page, 'SetPaused', { paused: true })
  let id: string
  try {
    id = await submit(page, 'echo.spam', { lines: LINES, size: 80 })
    await page.goto(`/#/tasks/${id}`)
    // A slower machine's main thread (the page then reads the flood slower than the agent writes
    // it, as on a busy laptop): the end state must still not wait for the lines before it.
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 2 })
    await expect(page.getByTestId('log-follow')).toHaveAttribute('aria-pressed', 'true')
    await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_QUEUED')
    await page.evaluate((lines) => {
      const w = window as any
      const scroller = document.querySelector('[data-testid="log-scroller"]')!
      const count = document.querySelector('[data-testid="log-count"]')!
      const n = () => Number((count.textContent ?? '').split(' ')[0]?.replace(/[^0-9]/g, '') || 0)
      w.__flood = { climbing: 0, blank: 0, endedAtLine: -1, cancelAtEnd: null }
      // Every frame, what is about to be painted: while the count climbs, some row is in view.
      const frame = () => {
        const f = w.__flood
        const seen = n()
        if (seen > 0 && seen < lines) {
          f.climbing++
          const box = scroller.getBoundingClientRect()
          const shown = [...scroller.querySelectorAll('[data-testid="log-line"]')].some((row) => {
            const r = row.getBoundingClientRect()
            return r.height > 0 && r.bottom > box.top + 1 && r.top < box.bottom - 1
          })
          if (!shown) f.blank++
        }
        if (seen < lines) requestAnimationFrame(frame)
      }
      requestAnimationFrame(frame)
      // The moment the page first shows the task ended: how many lines it had drawn by then.
      const observer = new MutationObserver(() => {
        const state = document.querySelector('[data-testid="task-page"] [data-testid="task-state"]')
        if (state?.getAttribute('data-state') !== 'TASK_STATE_COMPLETED') return
        w.__flood.endedAtLine = n()
        w.__flood.cancelAtEnd = document.querySelector('[data-testid="cancel-task"]') !== null
        observer.disconnect()
      })
      observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] })
    }, LINES)
  } finally {
    await api(page, 'SetPaused', { paused: false })
  }
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
  await expect.poll(async () => countOf(await page.getByTestId('log-count').textContent()), { timeout: 120_000 }).toBe(LINES)
  // The tail is followed to the end: the last line is on screen.
  await expect.poll(async () => (await rowsInView(page)).some((t) => t.includes(`line ${LINES} `))).toBe(true)
  const flood = await page.evaluate(() => (window as any).__flood)
  expect(flood.climbing, 'frames sampled while the lines arrived').toBeGreaterThan(0)
  expect(flood.blank, `frames with no row in view, of ${flood.climbing}`).toBe(0)
  // The end state came first; the lines were still being drawn, and Cancel was gone.
  expect(flood.endedAtLine).toBeGreaterThanOrEqual(0)
  expect(flood.endedAtLine).toBeLessThan(LINES)
  expect(flood.cancelAtEnd).toBe(false)
})

test('a traceback gets a row as tall as its lines, and ANSI colours show as colours in light and dark', async ({ page }) => {
  await online(page, 'echo')
  const message = 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n\x1b[1;31mValueError\x1b[0m: boom'
  const id = await submit(page, 'echo.echo', { message })
  await page.goto(`/#/tasks/${id}`)
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
  const row = page.getByTestId('log-line').filter({ hasText: 'Traceback' })
  await expect(row.locator('.log-message')).toHaveText(
    'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\nValueError: boom',
  )
  await expect(row.getByTestId('untrusted-mark')).toHaveCount(0)
  // Its three text lines fit in the row, and the row below starts under it.
  // Its three text lines fit in the row and the row below starts under it, at 1280 px, 800 px and
  // 200% zoom (a 640x400 CSS viewport), with no sideways scrolling of the page.
  for (const [width, height] of [[1280, 800], [800, 800], [640, 400]] as const) {
    await page.setViewportSize({ width, height })
    const fit = await row.evaluate((el) => {
      const text = el.querySelector('.log-message')!.getBoundingClientRect()
      const box = el.getBoundingClientRect()
      const next = el.parentElement!.querySelector(`[data-seq="${Number(el.getAttribute('data-seq')) + 1}"]`)
      return {
        textFits: text.bottom <= box.bottom + 0.5,
        textLines: Math.round(text.height / 20),
        nextBelow: next ? next.getBoundingClientRect().top >= box.bottom - 0.5 : true,
        pageOverflow: document.documentElement.scrollWidth - window.innerWidth > 0,
      }
    })
    expect(fit, `${width}x${height}`).toEqual({ textFits: true, textLines: 3, nextBelow: true, pageOverflow: false })
  }
  await page.setViewportSize({ width: 1280, height: 800 })
  // Keyboard: in the log, ArrowUp stops following the tail; the button (Enter) follows again.
  await page.getByTestId('log-scroller').focus()
  await page.keyboard.press('ArrowUp')
  await expect(page.getByTestId('log-follow')).toHaveAttribute('aria-pressed', 'false')
  await page.getByTestId('log-follow').focus()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('log-follow')).toHaveAttribute('aria-pressed', 'true')
  const red = row.getByTestId('ansi-run')
  await expect(red).toHaveText('ValueError')
  const color = () => red.evaluate((el) => getComputedStyle(el).color)
  await page.emulateMedia({ colorScheme: 'light' })
  await expect.poll(color).toBe('rgb(200, 16, 46)')
  await page.emulateMedia({ colorScheme: 'dark' })
  await expect.poll(color).toBe('rgb(255, 123, 114)')
})

test('find in the log brings a match far from the tail into view, and "First error" jumps to the traceback', async ({ page }) => {
  await online(page, 'echo')
  const id = await submit(page, 'echo.spam', { lines: 3_000, size: 40 })
  await page.goto(`/#/tasks/${id}`)
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
  await expect(page.getByTestId('log-first-error')).toBeDisabled()
  await page.getByLabel('Find', { exact: true }).fill('line 1500 x')
  await expect(page.getByTestId('log-found')).toHaveText('1 of 1')
  await expect(page.getByTestId('log-follow')).toHaveAttribute('aria-pressed', 'false')
  await expect.poll(() => rowsInView(page)).toContainEqual(expect.stringContaining('line 1500 x'))
  await expect(page.locator('[data-find="current"] .log-num')).toHaveText(/^\d+$/)

  const failed = await submit(page, 'echo.fail', { message: 'planted failure' })
  await page.goto(`/#/tasks/${failed}`)
  await expect(page.getByTestId('log-line').filter({ hasText: 'planted failure' }).first()).toBeAttached()
  await page.getByTestId('log-first-error').press('Enter')
  await expect.poll(() => rowsInView(page)).toContainEqual(expect.stringContaining('RuntimeError: planted failure'))
})

test('wrapped, a long line grows its row to hold its text at 800 px', async ({ page }) => {
  await online(page, 'echo')
  const id = await submit(page, 'echo.echo', { message: `${'word '.repeat(150)}end` })
  await page.setViewportSize({ width: 800, height: 800 })
  await page.goto(`/#/tasks/${id}`)
  const row = page.getByTestId('log-line').filter({ hasText: 'word word' })
  await expect(row).toBeAttached()
  await page.getByTestId('log-wrap').press('Enter')
  await expect(page.getByTestId('log-wrap')).toHaveAttribute('aria-pressed', 'true')
  const fit = () =>
    row.evaluate((el) => {
      const text = el.querySelector('.log-message')!.getBoundingClientRect()
      const box = el.getBoundingClientRect()
      return {
        lines: Math.round(text.height / 20),
        rowLines: Math.round(box.height / 20),
        fits: text.bottom <= box.bottom + 0.5 && text.right <= box.right + 0.5,
      }
    })
  await expect.poll(async () => (await fit()).lines).toBeGreaterThan(1)
  const { lines, rowLines, fits } = await fit()
  expect({ fits, rowLines }).toEqual({ fits: true, rowLines: lines }) // no clipped text, no blank rows
})

test('a project folder deleted since its task ran is said to be gone, not offered to open', async ({ page }) => {
  await online(page, 'bootstrapper')
  const id = await submit(page, 'bootstrap.project', { template: 'fastapi', answers: { project_name: 'gone-later' }, checks: false }, 'gone-later')
  const done = await ended(page, id)
  expect(done.state).toBe('TASK_STATE_COMPLETED')
  await page.goto(`/#/tasks/${id}`)
  // The manager checked the folder and names the editor it would use (the stand-in `code`).
  await expect(page.getByTestId('open-vscode')).toHaveText('Open in VS Code')
  rmSync(JSON.parse(done.result.output_json).path as string, { recursive: true })
  // A fact to show, not a failed request: nothing in the browser's console says otherwise.
  const errors: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text())
  })
  await page.reload()
  await expect(page.getByTestId('open-unavailable')).toContainText("the task's folder")
  await expect(page.getByTestId('open-unavailable')).toContainText('does not exist')
  await expect(page.getByTestId('open-vscode')).toHaveCount(0)
  expect(errors).toEqual([])
})
