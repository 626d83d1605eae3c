// The web UI in Debian's Chromium against the real manager and real agents (e2e/manager.ts).
// Screenshots of each view go to test-artifacts/ (kept by CI; to docs/screenshots/ by `npm run docs`).
import { expect, test } from '@playwright/test'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { api, artifact, ARTIFACTS, colourOf, contrast, cssColour, online, shot, shots, submit } from './helpers.ts'

test.beforeEach(async ({ page }, info) => {
  // The first-run introduction is its own test; the others start as a returning person.
  if (!info.title.includes('introduction')) {
    await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  }
  // Opening the URL the manager printed sets the token cookie, then drops the token from the URL.
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page).not.toHaveURL(/token=/)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

test('bootstrap a FastAPI project from the form: logs arrive live and the task completes', async ({ page }) => {
  await online(page, 'bootstrapper')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New project' }).click()
  await page.getByTestId('template-option').filter({ hasText: 'fastapi' }).getByRole('radio').check()
  await page.getByLabel('project_name').fill('shopui')
  await expect(page.getByTestId('field-workspace')).toHaveValue('shopui')
  await artifact(page, 'new-project')
  await page.getByRole('button', { name: 'Preview' }).click()
  await expect(page.getByTestId('preview-files')).toContainText('shopui/main.py')
  await page.getByRole('button', { name: 'Create' }).click()
  await expect(page.getByTestId('task-page')).toBeVisible()
  // Log lines arrive while the task still runs (the post-check takes seconds).
  await expect(page.getByTestId('log-line').first()).toBeVisible()
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_RUNNING')
  await shots(page, 'task-running')
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute(
    'data-state',
    'TASK_STATE_COMPLETED',
    { timeout: 150_000 },
  )
  await expect(page.getByTestId('result-checks')).toContainText('serve')
  await expect(page.getByTestId('check-row')).toHaveCount(4)
  for (const row of await page.getByTestId('check-row').all()) await expect(row).toContainText('passed')
  // uv's output is its stderr: shown as stderr, not as warnings, without a `stream=` field.
  await page.getByTestId('log-search').fill('Installed')
  const installed = page.getByTestId('log-line').filter({ hasText: /Installed \d+ packages?/ })
  // Two installs (the dependencies, then the project's own build, narrowed): each line's level is stderr.
  await expect(installed.first().locator('.log-level')).toHaveText(/^stderr$/i)
  for (const level of await installed.locator('.log-level').all()) await expect(level).toHaveText(/^stderr$/i)
  await expect(page.getByTestId('log-scroller')).not.toContainText('stream=')
  await page.getByTestId('log-search').fill('')
  await shots(page, 'task-completed')
})

test("the form checks answers with the template's own validators and offers a valid name", async ({ page }) => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New project' }).click()
  await page.getByTestId('template-option').filter({ hasText: 'fastapi' }).getByRole('radio').check()
  await page.getByLabel('project_name').fill('My Shop')
  const question = page.locator('[data-question="project_name"]')
  await expect(question.getByRole('alert')).toHaveText('project_name may only contain lowercase letters, digits and hyphens.')
  await expect(page.getByTestId('create')).toHaveAttribute('aria-disabled', 'true')
  await expect(page.getByTestId('suggest-workspace')).toHaveCount(0) // the folder follows the name
  await expect(page.getByTestId('suggest-project_name')).toHaveText('Use “my-shop”')
  await page.getByTestId('suggest-project_name').press('Enter')
  await expect(page.getByLabel('project_name')).toHaveValue('my-shop')
  await expect(question.getByRole('alert')).toHaveCount(0)
  await expect(page.getByTestId('field-workspace')).toHaveValue('my-shop')
  await expect(page.getByTestId('create')).not.toHaveAttribute('aria-disabled')
})

test('a test run and a review of that project read as tables: filter, open at a line, rerun what failed', async ({ page }) => {
  // The project the test above made (one worker, in file order), changed as a developer would.
  test.setTimeout(400_000) // three tasks, each given the time a slow machine needs
  await online(page, 'testrunner', 'codereview')
  const root = process.env.HYPERAGENT_E2E_ROOT!
  const project = join(root, 'data', 'workspaces', 'shopui')
  writeFileSync(
    join(project, 'tests', 'test_planted.py'),
    'def test_adds_up():\n    assert 1 + 1 == 3, "planted failure"\n',
  )
  const run = await submit(page, 'tests.run', {}, 'shopui')
  await page.goto(`/#/tasks/${run}`)
  const state = page.getByTestId('task-page').getByTestId('task-state')
  await expect(state).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED', { timeout: 150_000 })
  const rows = page.getByTestId('test-row')
  // Failing tests first (and only them), then every test on asking.
  await expect(rows).toHaveCount(1)
  await expect(rows.first()).toHaveAttribute('data-outcome', 'failed')
  await page.getByTestId('filter-all').click()
  await expect(rows.filter({ hasText: 'test_planted.py' })).toHaveCount(1)
  expect(await rows.count()).toBeGreaterThan(1)
  await page.getByTestId('filter-failing').click()
  await rows.first().getByText('tests/test_planted.py::test_adds_up').click()
  await expect(page.getByTestId('test-traceback')).toContainText('assert 1 + 1 == 3')
  await shots(page, 'task-tests')
  // Rerun failed: a new task for the same folder that runs the failed test alone.
  await page.getByTestId('rerun-failed').click()
  await expect(page).not.toHaveURL(new RegExp(run))
  await expect(state).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED', { timeout: 150_000 })
  await page.getByTestId('filter-all').click()
  await expect(rows).toHaveCount(1)

  // A review of an unused import: the finding opens in the editor at its line, via the manager.
  writeFileSync(join(project, 'shopui', 'extra.py'), 'import os\n')
  const review = await submit(page, 'code.review', {}, 'shopui')
  await page.goto(`/#/tasks/${review}`)
  await expect(state).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED', { timeout: 150_000 })
  const finding = page.getByTestId('finding-row').filter({ hasText: 'F401' })
  await expect(finding).toHaveCount(1)
  await finding.getByTestId('open-at').click()
  await expect(finding.getByTestId('open-at-result')).toBeVisible()
  const calls = readFileSync(join(root, 'code-calls.log'), 'utf8').trim().split('\n')
  expect(calls.at(-1)).toMatch(/\/shopui --goto .*\/shopui\/shopui\/extra\.py:1:8$/)
  await shots(page, 'task-findings')
})

test('cancel a running task', async ({ page }) => {
  await online(page, 'echo')
  const id = await submit(page, 'echo.sleep', { seconds: 600 })
  await page.goto(`/#/tasks/${id}`)
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_RUNNING')
  await expect(page.getByTestId('status-running')).toHaveText('1 task running')
  await page.getByRole('button', { name: 'Cancel task' }).click()
  await page.getByRole('button', { name: 'Yes, cancel' }).click()
  const state = page.getByTestId('task-page').getByTestId('task-state')
  await expect(state).toHaveAttribute('data-state', 'TASK_STATE_CANCELED')
  // The person cancelled it: said so, not as a failure or as the manager's doing.
  await expect(state).toHaveText('cancelled by you')
  await expect(page.getByTestId('task-result').getByRole('heading')).toHaveText('Cancelled by you')
  // In the neutral colour of a person's cancel, not a failure's red.
  expect(await colourOf(state)).toBe(await cssColour(state, '--cancelled'))
  expect(await colourOf(state)).not.toBe(await cssColour(state, '--bad'))
  await expect(page.getByTestId('task-result')).not.toHaveClass(/\bbad\b/)
  await expect(page.getByTestId('task-page')).not.toContainText('stopped by the manager')
  await expect(page.getByTestId('task-page')).not.toContainText('canceled')
  await expect(page.getByTestId('task-progress')).toHaveCount(0)
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click()
  const row = page.locator(`[data-testid="task-row"][data-task-id="${id}"]`)
  await expect(row.getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_CANCELED')
  await expect(row.getByTestId('task-state')).toHaveText('cancelled by you')
  expect(await colourOf(row.getByTestId('task-state'))).toBe(await cssColour(row, '--cancelled'))
  // One spelling in the list too: the state filter's and the badge's words.
  await expect(page.getByTestId('tasks-state').getByRole('option', { name: 'cancelled' })).toHaveCount(1)
  await expect(page.locator('main')).not.toContainText('canceled')
  await expect(row.getByTestId('task-progress')).toHaveCount(0)
  // The project's preview (the first test) made nothing: not listed among the tasks unless asked.
  const rows = page.getByTestId('task-row')
  const listed = await rows.count()
  await page.getByTestId('show-previews').check()
  await expect(rows).toHaveCount(listed + 1)
  await page.getByTestId('show-previews').uncheck()
  await artifact(page, 'tasks')
})

test('without the access token: the sign-in notice once, and no introduction over it', async ({ browser }) => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(new URL(process.env.HYPERAGENT_WEB_URL!).origin + '/#/tasks')
  await expect(page.getByTestId('signin-notice')).toBeVisible()
  await expect(page.getByText('Open the address the manager printed')).toHaveCount(1)
  await expect(page.getByTestId('error')).toHaveCount(0)
  await expect(page.getByRole('dialog')).toHaveCount(0)
  await context.close()
})

test('answer consent requests: grant, then deny', async ({ page }) => {
  const root = join(process.env.HYPERAGENT_E2E_ROOT!, 'data', 'workspaces')
  for (const [folder, answer, end] of [
    ['granted', 'Allow once', 'TASK_STATE_COMPLETED'],
    ['denied', 'Deny', 'TASK_STATE_FAILED'],
  ] as const) {
    mkdirSync(join(root, folder), { recursive: true })
    writeFileSync(join(root, folder, 'README.md'), '# my notes\n')
    const id = await submit(
      page,
      'bootstrap.project',
      { template: 'fastapi', answers: { project_name: folder }, overwrite: true, checks: false },
      folder,
    )
    await page.goto(`/#/tasks/${id}`)
    const modal = page.getByRole('dialog', { name: 'Permission requested' })
    await expect(modal).toBeVisible()
    await expect(modal.getByTestId('consent-kind')).toContainText('destructive')
    await expect(modal.getByTestId('consent-agent-id')).toContainText('bootstrapper')
    // A request to replace files: the focus starts on Deny, and Tab never leaves the dialog.
    await expect(modal.getByRole('button', { name: 'Deny' })).toBeFocused()
    for (let i = 0; i < 7; i++) {
      await page.keyboard.press(i % 3 === 2 ? 'Shift+Tab' : 'Tab')
      await expect(modal.locator(':focus')).toHaveCount(1)
    }
    if (folder === 'granted') await artifact(page, 'consent')
    await modal.getByRole('button', { name: answer }).click()
    await expect(modal).toBeHidden()
    await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', end)
  }
})

test('an agent whose process is killed shows as offline', async ({ page }) => {
  await online(page, 'echo')
  const { agents } = await api(page, 'ListAgents')
  const echo = agents.find((a: any) => a.id === 'echo')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' }).click()
  const status = page.locator('[data-testid="agent-row"][data-agent-id="echo"] [data-testid="agent-status"]')
  await expect(status).toHaveText(/online/i)
  process.kill(Number(echo.pid), 'SIGKILL')
  await expect(status).toHaveText(/offline/i)
  await artifact(page, 'agents')
})

test('reloading mid-task continues the log with no gap and no duplicate', async ({ page }) => {
  await online(page, 'echo') // restarted by the supervisor after the test above killed it
  const id = await submit(page, 'echo.sleep', { seconds: 6, steps: 12 })
  await page.goto(`/#/tasks/${id}`)
  const lines = page.getByTestId('log-line')
  await expect(lines.filter({ hasText: 'slept step 3/12' })).toHaveCount(1)
  await page.reload()
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
  await expect(lines.filter({ hasText: 'slept step 12/12' })).toHaveCount(1)
  const steps = (await lines.allTextContents()).filter((t) => t.includes('slept step'))
  expect(steps.map((t) => t.match(/slept step (\d+)\/12/)?.[1])).toEqual(
    Array.from({ length: 12 }, (_, i) => String(i + 1)),
  )
})

test('the audit log lists what happened and verifies', async ({ page }) => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click()
  await expect(page.getByTestId('audit-row').first()).toBeVisible()
  await expect(page.getByTestId('audit-verify')).toContainText('Intact')
  await artifact(page, 'audit')
})

test('the first-run introduction, then settings with rules, secrets and scheduling', async ({ page }) => {
  const intro = page.getByTestId('onboarding')
  await expect(intro).toBeVisible()
  await shots(page, 'onboarding')
  await page.getByTestId('onboarding-skip').click()
  await expect(intro).toBeHidden()
  await page.reload()
  await expect(page.getByTestId('status-line')).toBeVisible()
  await expect(intro).toBeHidden()

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click()
  await expect(page.getByTestId('status-version')).toBeVisible()
  await expect(page.getByTestId('rule-row').first()).toBeVisible() // the wheelhouse read rule
  await page.getByTestId('pause-toggle').click()
  await expect(page.getByTestId('status-paused')).toHaveAttribute('data-paused', 'true')
  await page.getByTestId('pause-toggle').click()
  await expect(page.getByTestId('status-paused')).toHaveAttribute('data-paused', 'false')
  await artifact(page, 'settings')
})

const VIEWS = [
  ['new', 'new-project'],
  ['tasks', 'tasks'],
  ['agents', 'agents'],
  ['audit', 'audit'],
  ['settings', 'settings'],
] as const

test('every view follows the system theme, stays readable at 200% zoom, and is keyboard reachable', async ({ page }) => {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    for (const zoom of [1, 2]) {
      // 200% zoom of a 1280x800 window: a 640x400 CSS viewport at twice the pixel density.
      await page.setViewportSize({ width: 1280 / zoom, height: 800 / zoom })
      for (const [route, name] of VIEWS) {
        await page.goto(`/#/${route}`)
        await expect(page.locator('main h1').first()).toBeVisible()
        const look = await page.evaluate(() => {
          const root = getComputedStyle(document.documentElement)
          const h1 = getComputedStyle(document.querySelector('main h1')!)
          return {
            bg: root.backgroundColor,
            fg: h1.color,
            overflow: document.documentElement.scrollWidth - window.innerWidth,
          }
        })
        expect(look.bg, `${name} ${scheme}`).toBe(scheme === 'dark' ? 'rgb(22, 24, 28)' : 'rgb(255, 255, 255)')
        expect(contrast(look.fg, look.bg), `${name} ${scheme}: text contrast`).toBeGreaterThanOrEqual(7)
        expect(look.overflow, `${name} ${scheme} at ${zoom * 100}%: no sideways scrolling`).toBeLessThanOrEqual(0)
        if (scheme === 'dark' && zoom === 2) {
          mkdirSync(ARTIFACTS, { recursive: true })
          await page.screenshot({ path: join(ARTIFACTS, `${name}-dark-200.png`), fullPage: true })
        }
      }
    }
  }
  await shot(page, 'tasks-dark-zoom')

  // Keyboard only: the skip link first, then the main navigation, Enter follows a link.
  await page.setViewportSize({ width: 1280, height: 800 })
  await page.goto('/#/new')
  await expect(page.locator('main h1').first()).toBeVisible()
  await page.keyboard.press('Tab')
  await expect(page.locator('.skip-link')).toBeFocused()
  const agents = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agents' })
  for (let i = 0; i < 10 && !(await agents.evaluate((a) => a === document.activeElement)); i++) {
    await page.keyboard.press('Tab')
  }
  await expect(agents).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(page).toHaveURL(/#\/agents$/)
})
