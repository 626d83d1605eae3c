// A task's page as a timeline against the real manager and the real bootstrapper: the steps it
// reported, each with its status and time; a failure's error line one press from the log; retry.
import { expect, test, type Page } from '@playwright/test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { api, online, shot, shots, submit } from './helpers.ts'

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page).not.toHaveURL(/token=/)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

const state = (page: Page) => page.getByTestId('task-page').getByTestId('task-state')

test('a project made from the FastAPI template reads as its steps, each passed with its time, in light and dark at 800 px', async ({ page }) => {
  await online(page, 'bootstrapper')
  await page.setViewportSize({ width: 800, height: 900 })
  const id = await submit(page, 'bootstrap.project', { template: 'fastapi', answers: { project_name: 'timeline' } }, 'timeline')
  await page.goto(`/#/tasks/${id}`)
  await expect(page.getByTestId('task-title')).toHaveText('timeline · FastAPI service')
  await expect(state(page)).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED', { timeout: 150_000 })
  const steps = page.getByTestId('step')
  await expect(steps).toHaveCount(8)
  const seen = await steps.evaluateAll((rows) => rows.map((r) => `${(r as HTMLElement).dataset.step}:${(r as HTMLElement).dataset.status}`))
  expect(seen).toEqual([
    'validate:done',
    'render:done',
    'place:done',
    'commit:done',
    'environment:passed',
    'install:passed',
    'start:passed',
    'tests:passed',
  ])
  for (const row of await steps.all()) await expect(row.getByTestId('step-took')).toHaveText(/^\d+(\.\d)? s$|min/)
  await expect(page.getByTestId('task-took')).toHaveText(/^took /)
  await expect(page.getByTestId('copy-start')).toBeVisible()
  await expect(page.getByTestId('retry-task')).toHaveCount(0)
  // Nothing sideways at 800 px, in either scheme.
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow, scheme).toBeLessThanOrEqual(0)
    await page.getByTestId('timeline').scrollIntoViewIfNeeded()
    await shot(page, `task-timeline-${scheme}`)
  }
  await page.emulateMedia({ colorScheme: 'light' })
  // Keyboard only: a step's "Show in log" puts the focus on the log at its line.
  const show = page.getByRole('button', { name: 'Show Tests in the log' })
  await show.focus()
  await page.keyboard.press('Enter')
  await expect(page.getByTestId('log-scroller')).toBeFocused()
  const target = page.locator('[data-testid="log-line"][data-target="true"]')
  await expect(target).toContainText("running the project's tests")
  await expect(target).toBeInViewport()
})

test("a failed install: the error line is one press from the log, the steps after it read 'not run', and Retry sends it again", async ({ page }) => {
  await online(page, 'bootstrapper')
  // A template whose post-check installs a package the offline wheelhouse does not have.
  const dir = join(process.env.HYPERAGENT_E2E_ROOT!, 'broken-install')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'copier.yml'), 'project_name:\n  type: str\n')
  writeFileSync(join(dir, 'README.md.jinja'), '# {{ project_name }}\n')
  writeFileSync(join(dir, 'hyperagent.yml'), 'install: ["hyperagent-no-such-package"]\ntest: ["python", "-c", "print(1)"]\n')
  await api(page, 'AddPolicyRule', { agent: 'bootstrapper', kind: 'read', target: dir, decision: 'POLICY_DECISION_ALLOW' })
  const payload = { template: dir, answers: { project_name: 'brokeninstall' } }
  const id = await submit(page, 'bootstrap.project', payload, 'brokeninstall')
  await page.goto(`/#/tasks/${id}`)
  await expect(state(page)).toHaveAttribute('data-state', 'TASK_STATE_FAILED', { timeout: 150_000 })
  await expect(state(page)).toHaveClass(/\bbad\b/)
  const install = page.locator('[data-testid="step"][data-step="install"]')
  await expect(install).toHaveAttribute('data-status', 'failed')
  await expect(page.locator('[data-testid="step"][data-step="tests"]')).toHaveAttribute('data-status', 'skipped')
  const box = page.getByTestId('error-box')
  await expect(box.getByTestId('task-error')).toContainText('post-check failed')
  await expect(box.getByTestId('error-line')).toContainText('install failed')
  await shots(page, 'task-failed')
  await box.getByTestId('jump-to-error').click()
  const target = page.locator('[data-testid="log-line"][data-target="true"]')
  await expect(target).toContainText('install failed')
  await expect(target).toBeInViewport()
  await expect(page.getByTestId('log-scroller')).toBeFocused()
  // Retry: the same task again, as a new task with its own page.
  await page.getByTestId('retry-task').click()
  await expect(page).not.toHaveURL(new RegExp(`#/tasks/${id}$`))
  const again = decodeURIComponent(page.url().split('#/tasks/')[1] ?? '')
  const task = await api(page, 'GetTask', { task_id: again })
  expect(JSON.parse(task.payload_json)).toEqual(payload)
  expect(task.task_type).toBe('bootstrap.project')
  await expect(state(page)).toHaveAttribute('data-state', 'TASK_STATE_FAILED', { timeout: 150_000 })
})
