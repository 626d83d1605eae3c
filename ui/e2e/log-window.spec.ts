// A task's log longer than the viewer keeps (LOG_LINES_KEPT, 100,000 lines) against the real
// manager: the newest are shown, the earlier ones counted and read back from the manager on
// request, and every line can be reached.
import { expect, test } from '@playwright/test'
import { ended, online, rowsInView, submit } from './helpers.ts'

const LINES = 120_000

/** A row's text for the spam task's line `n`: its number, time, level, then its message. */
const row = (n: number) => new RegExp(`^${n}\\d\\d:\\d\\d:\\d\\d\\.\\d{3}infoline ${n} `)

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page).not.toHaveURL(/token=/)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

test('a log of 120,000 lines: the newest 100,000 kept, the earlier read back on request, and back to the tail', async ({ page }) => {
  await online(page, 'echo')
  const id = await submit(page, 'echo.spam', { lines: LINES, size: 40 })
  await ended(page, id)
  await page.goto(`/#/tasks/${id}`)
  const log = page.getByTestId('log-scroller')
  await expect(page.getByTestId('log-count')).toHaveText('100000 lines')
  await expect(page.getByTestId('log-earlier')).toHaveText(
    /^20,000 earlier lines are not shown \(the newest 100000 lines are kept\)\. Load earlier$/,
  )
  await expect.poll(async () => (await rowsInView(page)).at(-1)).toMatch(row(120000))

  // The search typed stays through the reading back.
  await page.getByTestId('log-find').fill('line 20001 ')
  await expect(page.getByTestId('log-found')).toHaveText('1 of 1')
  await page.getByTestId('log-load-earlier').click()
  await expect(page.getByTestId('log-later')).toHaveText('Showing lines 10001–110000; 10,000 later lines not shown. Back to the live tail')
  await expect(page.getByTestId('log-follow')).toHaveAttribute('aria-pressed', 'false')
  await expect(page.getByTestId('log-find')).toHaveValue('line 20001 ')
  // The line that was first is still at the top; above it, the lines read back.
  await expect.poll(async () => (await rowsInView(page))[0]).toMatch(row(20001))
  await log.focus()
  await page.keyboard.press('Home')
  await expect.poll(async () => (await rowsInView(page))[0]).toMatch(row(10001))

  await page.getByTestId('log-load-earlier').click()
  await expect(page.getByTestId('log-later')).toHaveText(/^Showing lines 1–100000; 20,000 later lines not shown\./)
  await expect(page.getByTestId('log-earlier')).toHaveCount(0)
  await log.focus()
  await page.keyboard.press('Home')
  await expect.poll(async () => (await rowsInView(page))[0]).toMatch(row(1))
  // The end of this window can be scrolled to as well.
  await page.keyboard.press('End')
  await expect.poll(async () => (await rowsInView(page)).at(-1)).toMatch(row(100000))

  await page.getByTestId('log-back-to-tail').click()
  await expect(page.getByTestId('log-later')).toHaveCount(0)
  await expect(page.getByTestId('log-follow')).toHaveAttribute('aria-pressed', 'true')
  await expect.poll(async () => (await rowsInView(page)).at(-1)).toMatch(row(120000))
})
