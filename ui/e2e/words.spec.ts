// What the lists and the task page say must be true, against the real manager and echo agent:
// counts in the singular for one, progress only while a task runs and its step said once, and a
// filter that matches nothing says so with the way back. The manager is shared by every spec:
// each test looks only at its own tasks.
import { expect, test } from '@playwright/test'
import { api, ended, online, submit } from './helpers.ts'

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page).not.toHaveURL(/token=/)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

test('a log of one line counts "1 line"', async ({ page }) => {
  await online(page, 'echo')
  const id = await submit(page, 'echo.echo', { message: 'only line' })
  await page.goto(`/#/tasks/${id}`)
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
  await expect(page.getByTestId('log-line')).toHaveCount(1)
  await expect(page.getByTestId('log-count')).toHaveText(/^1 line\b/)
})

test('a running task says its step once; a finished one keeps no progress bar, on its page or in the list', async ({ page }) => {
  await online(page, 'echo')
  // Running: the step is in the progress bar, and nowhere else in the page's head.
  const long = await submit(page, 'echo.sleep', { seconds: 600, steps: 600 })
  await page.goto(`/#/tasks/${long}`)
  const head = page.getByTestId('task-page').locator('.task-head')
  await expect(head.getByTestId('task-progress')).toContainText(/sleep \d+\/600/)
  const step = ((await head.getByTestId('task-progress').textContent()) ?? '').match(/sleep \d+\/600/)![0]
  const said = (await head.textContent())!.split('sleep ').length - 1
  expect(said, `"${step}" in the page's head`).toBe(1)
  await api(page, 'CancelTask', { task_id: long })

  // Finished: it reported progress to the end, and shows no bar.
  const short = await submit(page, 'echo.sleep', { seconds: 1, steps: 2 })
  const done = await ended(page, short)
  expect(done.state).toBe('TASK_STATE_COMPLETED')
  expect(done.progress?.step).toBe('sleep 2/2') // the record still holds it
  await page.goto(`/#/tasks/${short}`)
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
  await expect(page.getByTestId('task-page').getByTestId('task-progress')).toHaveCount(0)
  await page.goto('/#/tasks')
  const row = page.locator(`[data-testid="task-row"][data-task-id="${short}"]`)
  await expect(row.getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
  await expect(row.getByTestId('task-progress')).toHaveCount(0)
})

test('a filter that matches nothing says so, with the way back: tasks, a log, the audit log', async ({ page }) => {
  await online(page, 'echo')
  const id = await submit(page, 'echo.echo', { message: 'findable words' })
  expect((await ended(page, id)).state).toBe('TASK_STATE_COMPLETED')

  // Tasks: searched for what no task has.
  await page.goto('/#/tasks')
  const mine = page.locator(`[data-testid="task-row"][data-task-id="${id}"]`)
  await expect(mine).toBeVisible()
  await page.getByTestId('tasks-search').fill('no task is called this')
  await expect(page.getByTestId('task-row')).toHaveCount(0)
  await expect(page.getByTestId('tasks-empty')).toHaveText(/^No task matches these filters/)
  await page.getByTestId('tasks-empty').getByRole('button', { name: 'Clear the filters' }).click()
  await expect(page.getByTestId('tasks-search')).toHaveValue('')
  await expect(mine).toBeVisible()

  // A log: found nothing in its lines.
  await page.goto(`/#/tasks/${id}`)
  await expect(page.getByTestId('log-line').filter({ hasText: 'findable words' })).toHaveCount(1)
  await page.getByTestId('log-search').fill('words no line has')
  await expect(page.getByTestId('log-line')).toHaveCount(0)
  await expect(page.getByTestId('log-empty')).toHaveText(/^None of the 1 line matches “words no line has”\./)
  await page.getByTestId('log-empty').getByRole('button', { name: 'Show every line' }).click()
  await expect(page.getByTestId('log-search')).toHaveValue('')
  await expect(page.getByTestId('log-line').filter({ hasText: 'findable words' })).toHaveCount(1)

  // The audit log: entries of a task there is no such task.
  await page.goto('/#/audit')
  await expect(page.getByTestId('audit-row').first()).toBeVisible()
  await page.getByLabel('Task id').fill('no-such-task')
  await page.getByRole('button', { name: 'Apply' }).click()
  await expect(page.getByTestId('audit-row')).toHaveCount(0)
  await expect(page.getByTestId('audit-empty')).toHaveText(/^No entry matches these filters\./)
  await page.getByTestId('audit-empty').getByRole('button', { name: 'Clear the filters' }).click()
  await expect(page.getByLabel('Task id')).toHaveValue('')
  await expect(page.getByTestId('audit-row').first()).toBeVisible()
})
