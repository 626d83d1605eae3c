// The docs' pictures, against the real manager and agents: every view in light and dark, and a
// short recording (Playwright's video) of a project made from the form up to "Open in VS Code".
// VS Code cannot run here: the manager's editor is the stand-in e2e/manager.ts writes, a `code`
// script that records what it was asked to open, so the recording shows what the person sees and
// the test checks what the editor was given. Made only by `npm run docs` (HYPERAGENT_DOCS=1),
// because it rewrites files the repository tracks; a test run skips it.
import { chromium, expect, test, type Page } from '@playwright/test'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DOCS, WRITE_DOCS, api, ended, online, shot, submit } from './helpers.ts'
import { V2, git, release, templateRepo } from './template.ts'

test.skip(!WRITE_DOCS, 'makes the screenshots and recording in docs/: npm run docs')

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

/** The recording may be at most this big (it is in the repository). */
const MAX_RECORDING = 3 * 1024 * 1024

const state = (page: Page) => page.getByTestId('task-page').getByTestId('task-state')

test('every view, in light and dark', async ({ page }) => {
  test.setTimeout(300_000)
  await online(page, 'bootstrapper')
  // A project made from a template of the person's own, which then has a newer release.
  const src = templateRepo()
  const made = await submit(page, 'bootstrap.project', { template: src, vcs_ref: 'v1.0.0', answers: { name: 'inventory' }, checks: false }, 'inventory')
  const bootstrap = await ended(page, made)
  expect(bootstrap.state).toBe('TASK_STATE_COMPLETED')
  release(src, 'v2.0.0', V2)
  // The person changed a line the new release changes too: the update's preview shows a conflict.
  const project = JSON.parse(bootstrap.result.output_json).path as string
  writeFileSync(join(project, 'settings.txt'), 'level = 5\n')
  git(project, 'commit', '-q', '-am', 'my level')
  // A plan proposed from plain words, for Plans and a plan's page.
  const asked = await api(page, 'Ask', { text: 'create a FastAPI project called bazaar with SQLite' })
  const planId = asked.plan.id as string

  const views: [string, string, () => Promise<void>][] = [
    [
      'new-project',
      '/#/new',
      async () => {
        await page.getByTestId('template-option').filter({ hasText: 'fastapi' }).getByRole('radio').check()
        await page.getByLabel('project_name').fill('inventory-api')
        await expect(page.getByTestId('field-workspace')).toHaveValue('inventory-api')
      },
    ],
    ['tasks', '/#/tasks', async () => expect(page.getByTestId('task-row').first()).toBeVisible()],
    ['task', `/#/tasks/${made}`, async () => expect(state(page)).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')],
    [
      'update',
      `/#/tasks/${made}`,
      async () => {
        await page.getByRole('button', { name: 'Update from template' }).click()
        const panel = page.getByTestId('update-panel')
        await panel.getByRole('button', { name: 'Preview' }).click()
        await expect(panel.getByTestId('update-summary').getByRole('heading', { level: 3 })).toHaveText('Preview: v1.0.0 → v2.0.0')
        await expect(panel.getByTestId('update-conflicts')).toContainText('settings.txt')
        await panel.evaluate((el) => el.scrollIntoView({ block: 'start' }))
      },
    ],
    ['plans', '/#/plans', async () => expect(page.getByRole('link', { name: /bazaar/ }).first()).toBeVisible()],
    ['plan', `/#/plans/${planId}`, async () => expect(page.getByTestId('plan-preview')).toBeVisible()],
    ['agents', '/#/agents', async () => expect(page.locator('main')).toContainText('bootstrapper')],
    ['settings', '/#/settings', async () => expect(page.locator('main h1')).toHaveText('Settings')],
  ]
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    for (const [name, route, ready] of views) {
      await page.goto(route)
      await ready()
      await shot(page, `${name}-${scheme}`)
    }
  }
})

test('a recording of a project made from the form up to "Open in VS Code"', async () => {
  test.setTimeout(300_000)
  // A browser of its own in Playwright's slow motion, so a viewer can follow each step, and a
  // context recorded (Playwright's video), signed in by the URL the manager printed.
  const browser = await chromium.launch({ ...test.info().project.use.launchOptions, slowMo: 700 })
  const size = { width: 960, height: 600 }
  const context = await browser.newContext({
    baseURL: test.info().project.use.baseURL,
    viewport: size,
    recordVideo: { dir: test.info().outputPath('video'), size },
  })
  await context.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  const page = await context.newPage()
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page.getByTestId('status-line')).toBeVisible()
  await online(page, 'bootstrapper')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New project' }).click()
  await page.getByTestId('template-option').filter({ hasText: 'fastapi' }).getByRole('radio').check()
  // Typed as a person types, for the viewer.
  await page.getByLabel('project_name').pressSequentially('orders', { delay: 90 })
  await expect(page.getByTestId('field-workspace')).toHaveValue('orders')
  // Its checks (install, tests, start) take a minute; the recording stays short without them.
  await page.getByLabel(/Check the project/).uncheck()
  await page.getByRole('button', { name: 'Preview' }).click()
  await expect(page.getByTestId('preview-files')).toContainText('orders/main.py')
  await page.getByTestId('preview').evaluate((el) => el.scrollIntoView({ block: 'start', behavior: 'smooth' }))
  await page.getByRole('button', { name: 'Create' }).click()
  await expect(state(page)).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
  const path = (await page.getByTestId('result-path').textContent()) ?? ''
  await page.getByRole('button', { name: 'Open in VS Code' }).click()
  await expect(page.getByTestId('open-result')).toContainText(`Opened ${path} with`)
  // What the stand-in for VS Code's `code` was asked to open: the project's folder.
  const calls = readFileSync(join(process.env.HYPERAGENT_E2E_ROOT!, 'code-calls.log'), 'utf8').trim().split('\n')
  expect(calls.at(-1)).toBe(path)

  const video = page.video()!
  await context.close()
  const file = join(DOCS, 'bootstrap.webm')
  await video.saveAs(file)
  await browser.close()
  expect(statSync(file).size).toBeLessThan(MAX_RECORDING)
})
