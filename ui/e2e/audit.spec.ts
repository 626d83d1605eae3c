// The audit view against the real manager: newest first, each entry a sentence, filtered on the
// manager by who did it and by the kind of action; light and dark at 800 px.
import { expect, test } from '@playwright/test'
import { api, online, shot, submit } from './helpers.ts'

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page).not.toHaveURL(/token=/)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

test('the audit log reads newest first as sentences, filtered by who and by what', async ({ page }) => {
  await online(page, 'echo')
  const id = await submit(page, 'echo.echo', { message: 'audited' })
  await expect.poll(async () => (await api(page, 'GetTask', { task_id: id })).state).toBe('TASK_STATE_COMPLETED')
  await api(page, 'SetPaused', { paused: true })
  await api(page, 'SetPaused', { paused: false })
  await page.setViewportSize({ width: 800, height: 900 })
  await page.goto('/#/audit')
  const rows = page.getByTestId('audit-row')
  await expect(rows.first()).toBeVisible()
  // Newest first: the resume just made is on top, in words.
  const ids = (await rows.evaluateAll((r) => r.map((x) => Number((x as HTMLElement).dataset.entryId)))).slice(0, 20)
  expect(ids).toEqual([...ids].sort((a, b) => b - a))
  await expect(rows.first().getByTestId('audit-sentence')).toHaveText('You resumed handing out work')
  const echoRows = rows.filter({ has: page.locator(`a[href="#/tasks/${id}"]`) })
  await expect(echoRows.filter({ hasText: 'You submitted the echo.echo task' })).toHaveCount(1)
  await expect(echoRows.filter({ hasText: 'echo completed the echo.echo task' })).toHaveCount(1)

  // Who: the agent echo only; what: tasks only. The manager does the filtering.
  await page.getByLabel('Who').selectOption('echo')
  await expect(rows.first().getByTestId('audit-sentence')).toHaveText(/^echo /)
  for (const s of await rows.getByTestId('audit-sentence').allTextContents()) expect(s).toMatch(/^echo /)
  await page.getByLabel('Who').selectOption('')
  await page.getByLabel('What').selectOption('task.')
  await expect(rows.first()).toHaveAttribute('data-action', /^task\./)
  for (const a of await rows.evaluateAll((r) => r.map((x) => (x as HTMLElement).dataset.action))) expect(a).toMatch(/^task\./)
  await page.getByLabel('What').selectOption('')
  await expect(rows.first()).toHaveAttribute('data-action', 'scheduling.resumed')
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow, scheme).toBeLessThanOrEqual(0)
    await shot(page, `audit-${scheme}`)
  }
})

test('new entries come in at the top while the view is open, under the filter chosen', async ({ page }) => {
  await online(page, 'echo')
  await page.goto('/#/audit')
  const rows = page.getByTestId('audit-row')
  await expect(rows.first()).toBeVisible()
  await page.getByLabel('What').selectOption('task.')
  await expect(rows.first()).toHaveAttribute('data-action', /^task\./)
  const id = await submit(page, 'echo.echo', { message: 'live' })
  // No reload: the entries of the new task come in at the top, and only task entries.
  const live = rows.filter({ has: page.locator(`a[href="#/tasks/${id}"]`) })
  await expect(live.filter({ hasText: 'echo completed the echo.echo task' })).toHaveCount(1)
  await expect(rows.first()).toHaveAttribute('data-action', /^task\./)
  await expect(rows.first().locator(`a[href="#/tasks/${id}"]`)).toHaveCount(1)
  await expect(page.getByLabel('What')).toHaveValue('task.')
  // A rule added makes no event: it comes in all the same, once the filter lets it.
  await page.getByLabel('What').selectOption('')
  const rule = await api(page, 'AddPolicyRule', { kind: 'connect', target: 'example.org:443', decision: 'POLICY_DECISION_DENY' })
  try {
    await expect(rows.first()).toHaveAttribute('data-action', /^policy\./)
  } finally {
    await api(page, 'RevokePolicyRule', { id: rule.id })
  }
})
