// Many tabs of one browser on one manager. A browser shares six HTTP/1.1 connections to a host
// among all its tabs: with a Server-Sent Events stream per tab (two on a task's page) the seventh
// tab could not even load, and every API call behind it waited. The feed now comes over a
// WebSocket, which is not counted there.
import { expect, test } from '@playwright/test'
import { online, submit } from './helpers.ts'

test('eight tabs of one browser, half on a task page, each load and follow the feed live', async ({ context, page }) => {
  await context.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page).not.toHaveURL(/token=/)
  await online(page, 'echo')
  const first = await submit(page, 'echo.echo', { message: 'a task page to follow' })
  const tabs = [page]
  while (tabs.length < 8) tabs.push(await context.newPage())
  for (const [i, tab] of tabs.entries()) {
    await tab.goto(i % 2 ? `/#/tasks/${first}` : '/#/tasks')
    await expect(tab.getByTestId('status-manager')).toHaveText('Manager connected')
  }
  const id = await submit(page, 'echo.echo', { message: 'seen by every tab' })
  for (const [i, tab] of tabs.entries()) {
    if (i % 2) continue
    await expect(tab.locator(`[data-testid="task-row"][data-task-id="${id}"]`)).toHaveCount(1)
  }
  // Every tab can still call the manager.
  for (const tab of tabs) {
    await tab.goto('/#/agents')
    await expect(tab.locator('[data-testid="agent-row"][data-agent-id="echo"]')).toHaveCount(1)
  }
})
