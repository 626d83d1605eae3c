// Every list with nothing in it, against a real manager of this spec's own that has no agent and
// has done nothing yet: each says what its emptiness means and offers one action that works.
import { expect, test, type Browser, type Page } from '@playwright/test'
import { api, shots } from './helpers.ts'
import { managerFolder, startManager, stopManager, type Running } from './manager.ts'

let manager: Running
test.beforeAll(async () => {
  const { root, config, agents } = managerFolder('hyperagent-ui-empty-')
  manager = await startManager(root, config, agents)
})
test.afterAll(async () => {
  if (manager) await stopManager(manager.proc)
})

/** A page signed in to this spec's manager; helpers' calls and relative URLs go to it. */
async function signedIn(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ baseURL: new URL(manager.url).origin })
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
  const page = await context.newPage()
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(manager.url)
  await expect(page.getByTestId('status-line')).toBeVisible()
  return page
}

test('no agent: says no task can start and copies the command that starts the manager with agents', async ({ browser }) => {
  const page = await signedIn(browser)
  expect((await api(page, 'ListAgents')).agents ?? []).toEqual([])
  await page.goto('/#/agents')
  const empty = page.getByTestId('agents-empty')
  await expect(empty).toContainText('No agent has registered, so no task can start.')
  await expect(page.getByTestId('agent-table')).toHaveCount(0)
  await empty.getByRole('button', { name: 'Copy the command' }).click()
  await expect(empty.getByRole('status')).toHaveText('Copied.')
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('hyperagent serve --web --agents-dir FOLDER')
  await shots(page, 'agents-empty')
  await page.context().close()
})

test('no task, plan, audit entry, rule or secret: each empty list says so and takes you to where one is made', async ({ browser }) => {
  const page = await signedIn(browser)
  // Nothing recorded yet: this manager has done nothing.
  await page.goto('/#/audit')
  const audit = page.getByTestId('audit-empty')
  await expect(audit).toHaveText(/^Nothing recorded yet: each task submitted, permission answered and rule changed is written here\./)
  await expect(audit.getByRole('link', { name: 'Start a new project' })).toHaveAttribute('href', '#/new')

  await page.goto('/#/tasks')
  const tasks = page.getByTestId('tasks-empty')
  await expect(tasks).toHaveText(/^No tasks yet\./)
  await tasks.getByRole('link', { name: 'Start a new project' }).click()
  await expect(page).toHaveURL(/#\/new$/)
  await expect(page.locator('main h1')).toHaveText('New project')

  await page.goto('/#/plans')
  const plans = page.getByTestId('plans-empty')
  await expect(plans).toHaveText(/^No plans yet\./)
  await plans.getByRole('button', { name: 'Ask for something' }).click()
  await expect(page.getByTestId('prompt-bar')).toBeVisible()
  await expect(page.getByTestId('prompt-input')).toBeFocused()
  await page.keyboard.press('Escape')
  await expect(page.getByTestId('prompt-bar')).toHaveCount(0)

  await page.goto('/#/settings')
  const rules = page.getByTestId('rules-empty')
  await expect(rules).toHaveText(/^No rules: agents ask before each access\./)
  await rules.getByRole('button', { name: 'Add a rule' }).click()
  await expect(page.getByTestId('rule-form').getByLabel('Target')).toBeFocused()
  const secrets = page.getByTestId('secrets-empty')
  await expect(secrets).toHaveText(/^No secrets stored\./)
  await secrets.getByRole('button', { name: 'Set a secret' }).click()
  await expect(page.getByTestId('secret-form').getByLabel('Name')).toBeFocused()
  await page.context().close()
})
