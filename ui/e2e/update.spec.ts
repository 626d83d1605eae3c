// "Update from template" against the real manager and the real bootstrapper: a template of the
// person's own, a git repository with two release tags made here with real git; a project made
// from the first, changed and committed by the person; then, from its task page, a preview (a
// version the template lacks, the current version, the latest), the update with its permission
// request, what it changed on disk, and the rollback.
import { expect, test } from '@playwright/test'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ended, online, submit } from './helpers.ts'
import { V2, git, release, templateRepo } from './template.ts'

test('a project is previewed, updated with its permission asked, and rolled back, from its task page', async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page.getByTestId('status-line')).toBeVisible()
  await online(page, 'bootstrapper')

  // The person's template, release v1.0.0.
  const src = templateRepo()
  const made = await submit(page, 'bootstrap.project', { template: src, vcs_ref: 'v1.0.0', answers: { name: 'svc' }, checks: false }, 'updatable')
  const bootstrap = await ended(page, made)
  expect(bootstrap.state, bootstrap.status_reason).toBe('TASK_STATE_COMPLETED')
  const project = JSON.parse(bootstrap.result.output_json).path as string

  // Release v2.0.0: the README's last line, a new file, and the setting the person changes too.
  release(src, 'v2.0.0', V2)
  // The person's own changes, committed: one apart from the template's, one on the same line.
  const readme = join(project, 'README.md')
  const settings = join(project, 'settings.txt')
  const mine = readFileSync(readme, 'utf8').replace('\n\na\n', '\n\nmy notes\n\na\n')
  writeFileSync(readme, mine)
  writeFileSync(settings, 'level = 5\n')
  git(project, 'commit', '-q', '-am', 'my notes')

  await page.goto(`/#/tasks/${made}`)
  await page.getByRole('button', { name: 'Update from template' }).click()
  const panel = page.getByTestId('update-panel')
  const version = panel.getByLabel('Version', { exact: true })

  // A version the template does not have: said at the version.
  await version.fill('v9')
  await panel.getByRole('button', { name: 'Preview' }).click()
  await expect(panel.getByTestId('update-version-error')).toContainText('The template has no version “v9”')
  await expect(version).toHaveAttribute('aria-invalid', 'true')
  await expect(version).toBeFocused()

  // The version it is at: nothing to update, said at the version.
  await version.fill('v1.0.0')
  await expect(panel.getByTestId('update-version-error')).toHaveCount(0)
  await panel.getByRole('button', { name: 'Preview' }).click()
  await expect(panel.getByTestId('update-latest')).toHaveText('Nothing to update: the project is already at v1.0.0.')
  await expect(panel.getByRole('button', { name: 'Update', exact: true })).toHaveAttribute('aria-disabled', 'true')

  // The latest: what would change, the conflict it would leave, the diff; nothing written.
  await version.fill('')
  await panel.getByRole('button', { name: 'Preview' }).click()
  const summary = panel.getByTestId('update-summary')
  await expect(summary.getByRole('heading', { level: 3 })).toHaveText('Preview: v1.0.0 → v2.0.0')
  await expect(summary.getByRole('heading', { level: 3 })).toBeFocused()
  await expect(summary.getByTestId('update-files')).toContainText('added new.txt')
  await expect(summary.getByTestId('update-files')).toContainText('changed README.md')
  await expect(summary.getByTestId('update-conflicts')).toContainText('settings.txt')
  await expect(summary.getByTestId('update-diff').locator('.add', { hasText: '+end v2' })).toHaveCount(1)
  await expect(summary.getByTestId('update-diff').locator('.del', { hasText: '-end v1' })).toHaveCount(1)
  expect(readFileSync(readme, 'utf8')).toBe(mine)
  expect(existsSync(join(project, 'new.txt'))).toBe(false)

  // The update: its own page, the person asked with the files named, then what it did.
  await panel.getByRole('button', { name: 'Update', exact: true }).click()
  await expect(page).not.toHaveURL(new RegExp(`#/tasks/${made}$`))
  const modal = page.getByRole('dialog', { name: 'Permission requested' })
  await expect(modal.getByTestId('consent-purpose')).toHaveText('Change or remove files')
  await expect(modal.getByTestId('consent-files')).toContainText('new.txt')
  await expect(modal.getByTestId('consent-files')).toContainText('README.md')
  await modal.getByRole('button', { name: 'Allow once' }).click()
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
  await expect(page.getByTestId('task-title')).toHaveText('updatable · update from template')
  const steps = await page.getByTestId('step').evaluateAll((rows) => rows.map((r) => `${(r as HTMLElement).dataset.step}:${(r as HTMLElement).dataset.status}`))
  expect(steps).toEqual(['read:done', 'checkout:done', 'write:done'])
  const done = page.getByTestId('update-summary')
  await expect(done.getByRole('heading', { level: 3 })).toHaveText('v1.0.0 → v2.0.0')
  await expect(done.getByTestId('update-conflicts')).toContainText('Conflicts to resolve (1)')
  const updated = readFileSync(readme, 'utf8')
  expect(updated).toContain('my notes')
  expect(updated.endsWith('end v2\n')).toBe(true)
  expect(readFileSync(join(project, 'new.txt'), 'utf8')).toBe('new\n')
  expect(readFileSync(settings, 'utf8')).toMatch(/<<<<<<< before updating[\s\S]*level = 5[\s\S]*level = 2[\s\S]*>>>>>>> after updating/)
  // The conflict opens in the editor (the stand-in for VS Code's `code` records what it was given).
  await done.getByTestId('update-conflicts').getByRole('button', { name: 'settings.txt' }).click()
  await expect(done.getByTestId('open-at-result')).toContainText('Opened with')
  const calls = readFileSync(join(process.env.HYPERAGENT_E2E_ROOT!, 'code-calls.log'), 'utf8').trim().split('\n')
  expect(calls.at(-1)).toMatch(new RegExp(`^${project} --goto ${project}/settings\\.txt(:\\d+)*$`))

  // Rolled back from the same page: the project as the person left it.
  await page.getByRole('button', { name: 'Roll back' }).click()
  await page.getByRole('button', { name: 'Yes, roll back' }).click()
  await expect(page.getByTestId('rolled-back')).toContainText('the files are as they were before this task')
  expect(readFileSync(readme, 'utf8')).toBe(mine)
  expect(readFileSync(settings, 'utf8')).toBe('level = 5\n')
  expect(existsSync(join(project, 'new.txt'))).toBe(false)

  // Tasks, filtered on the manager by type: the update (its previews, which made nothing, hidden
  // until asked for), then searched by folder.
  // (Searched by this project's folder throughout: the manager is shared with other specs.)
  await page.goto('/#/tasks')
  await page.getByLabel('Search').fill('updatable')
  await page.getByLabel('Type').selectOption('project.update')
  const rows = page.getByTestId('task-row')
  await expect(rows).toHaveCount(1)
  await expect(rows.first().getByTestId('task-state')).toHaveText('completed')
  await page.getByTestId('show-previews').check()
  await expect(rows).toHaveCount(4)
  await page.getByLabel('Type').selectOption('')
  await page.getByTestId('show-previews').uncheck()
  await expect(rows).toHaveCount(2)
  expect(await rows.evaluateAll((r) => r.map((row) => row.children[1]?.textContent))).toEqual(['project.update', 'bootstrap.project'])
})
