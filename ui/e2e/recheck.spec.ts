// "Re-run checks" against the real manager and the real bootstrapper: a template of the person's
// own (a git repository made here with real git) whose post-check runs offline; a project made
// from it whose tests fail, fixed by hand, then checked again from its task page.
import { expect, test } from '@playwright/test'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { api, ended, online, submit } from './helpers.ts'
import { git, release } from './template.ts'

/** A template whose post-check installs from the offline wheelhouse, passes its test once the person made `fixed.txt`, and serves with Python's own web server. */
const FILES = {
  'copier.yml': 'name:\n  type: str\n  default: demo\n',
  '{{_copier_conf.answers_file}}.jinja': '{{ _copier_answers|to_nice_yaml }}',
  'check_fixed.py': "import pathlib, sys\n\nimport iniconfig\n\nsys.exit(0 if pathlib.Path('fixed.txt').is_file() else 'not fixed yet')\n",
  'hyperagent.yml':
    'install: ["iniconfig"]\ntest: ["python", "check_fixed.py"]\nserve: ["python", "-m", "http.server", "--bind", "127.0.0.1", "{port}"]\nhealth: /\n',
}

test('a project whose checks failed is fixed by hand and checked again from its task page', async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page.getByTestId('status-line')).toBeVisible()
  await online(page, 'bootstrapper')
  const src = join(mkdtempSync(join(tmpdir(), 'hyperagent-template-')), 'checkable')
  mkdirSync(src)
  git(src, 'init', '-q', '-b', 'main')
  release(src, 'v1.0.0', FILES)
  await api(page, 'AddPolicyRule', { agent: 'bootstrapper', kind: 'read', target: src, decision: 'POLICY_DECISION_ALLOW' })

  // Made, but its tests fail: the project stays, with the checks that failed.
  const made = await submit(page, 'bootstrap.project', { template: src, answers: { name: 'svc' } }, 'rechecked')
  const bootstrap = await ended(page, made)
  expect(bootstrap.state, bootstrap.status_reason).toBe('TASK_STATE_FAILED')
  const project = JSON.parse(bootstrap.result.output_json).path as string
  await page.goto(`/#/tasks/${made}`)
  const recheck = page.getByRole('button', { name: 'Re-run checks' })
  await expect(page.locator('[data-testid="step"][data-step="tests"]')).toHaveAttribute('data-status', 'failed')

  // Fixed by hand, then checked again: a new task of its own, on its own page.
  writeFileSync(join(project, 'fixed.txt'), 'fixed by hand\n')
  await recheck.click()
  await expect(page).not.toHaveURL(new RegExp(`#/tasks/${made}$`))
  const state = page.getByTestId('task-page').getByTestId('task-state')
  await expect(state).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
  await expect(page.getByTestId('task-title')).toHaveText('rechecked · checks run again')
  const steps = await page.getByTestId('step').evaluateAll((rows) => rows.map((r) => `${(r as HTMLElement).dataset.step}:${(r as HTMLElement).dataset.status}`))
  expect(steps).toEqual(['read:done', 'checkout:done', 'environment:passed', 'install:passed', 'start:passed', 'tests:passed'])
  const result = page.getByTestId('task-result')
  await expect(result).toHaveAttribute('data-outcome', 'checked')
  await expect(result.getByTestId('result-path')).toHaveText(project)
  await expect(result.getByTestId('check-row')).toHaveCount(4)
  const id = decodeURIComponent(page.url().split('#/tasks/')[1] ?? '')
  const task = await api(page, 'GetTask', { task_id: id })
  expect([task.task_type, task.workspace, task.payload_json]).toEqual(['project.check', bootstrap.workspace, '{}'])
  // Checked again from the check's own page too; nothing was committed by either.
  await expect(page.getByRole('button', { name: 'Re-run checks' })).toBeVisible()
  expect(git(project, 'log', '--format=%s').trim().split('\n')).toHaveLength(1)
})
