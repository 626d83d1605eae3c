// A project made while the network was refused: a manager of this spec's own whose bootstrapper has
// no wheelhouse (as after a plain install), so installing the project's packages asks to connect to
// PyPI, and the person answers Deny in the dialog. The project is made, but its install, tests and
// dev server never ran: the page must not read as a success.
import { expect, test } from '@playwright/test'
import { colourOf, cssColour, online, shots, submit } from './helpers.ts'
import { managerFolder, startManager, stopManager, type Running } from './manager.ts'

let manager: Running
test.beforeAll(async () => {
  const { root, config, agents } = managerFolder('hyperagent-ui-offline-', { names: ['bootstrapper'] })
  manager = await startManager(root, config, agents)
})
test.afterAll(async () => {
  if (manager) await stopManager(manager.proc)
})

test('a project whose network was refused reads "completed, checks skipped" in its own colour, never a green Done, and lists what did not run and why', async ({ browser }) => {
  test.setTimeout(240_000)
  // A browser context of this manager's address, so the helpers' calls and relative URLs go to it.
  const context = await browser.newContext({ baseURL: new URL(manager.url).origin })
  const page = await context.newPage()
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(manager.url)
  await expect(page.getByTestId('status-line')).toBeVisible()
  await online(page, 'bootstrapper')
  const id = await submit(page, 'bootstrap.project', { template: 'fastapi', answers: { project_name: 'offline' } }, 'offline')
  await page.goto(`/#/tasks/${id}`)

  // The install asks to download from PyPI; the person refuses.
  const modal = page.getByRole('dialog', { name: 'Permission requested' })
  await expect(modal).toContainText('pypi.org')
  await modal.getByRole('button', { name: 'Deny' }).click()
  await expect(modal).toBeHidden()

  const state = page.getByTestId('task-page').getByTestId('task-state')
  await expect(state).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED', { timeout: 180_000 })
  await expect(state).toHaveText('completed, checks skipped')
  // Its own colour: the warning's, not success's.
  const colour = await colourOf(state)
  expect(colour).toBe(await cssColour(state, '--warn'))
  expect(colour).not.toBe(await cssColour(state, '--ok'))

  const result = page.getByTestId('task-result')
  await expect(result.getByRole('heading', { level: 2 })).toHaveText('Completed, checks skipped')
  await expect(result).not.toHaveClass(/\bok\b/)
  await expect(result).not.toContainText('Done')
  // Every check is listed, those that did not run with why.
  const rows = result.getByTestId('check-row')
  await expect(rows).toHaveCount(4)
  const status = (name: string) => rows.filter({ has: page.getByRole('cell', { name, exact: true }) })
  await expect(status('environment')).toContainText('passed')
  await expect(status('install')).toContainText(/skipped.*network access to pypi\.org:443 was refused/)
  await expect(status('tests')).toContainText(/skipped.*not run: install was skipped/)
  await expect(status('serve')).toContainText(/skipped.*not run: install was skipped/)
  const notRun = result.getByTestId('checks-not-run')
  await expect(notRun.getByRole('listitem')).toHaveText([
    /^install — network access to pypi\.org:443 was refused/,
    'tests — not run: install was skipped',
    'serve — not run: install was skipped',
  ])

  await shots(page, 'task-checks-skipped')

  // The list says the same, in the same colour.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click()
  const listed = page.locator(`[data-testid="task-row"][data-task-id="${id}"]`).getByTestId('task-state')
  await expect(listed).toHaveText('completed, checks skipped')
  expect(await colourOf(listed)).toBe(colour)
  await context.close()
})
