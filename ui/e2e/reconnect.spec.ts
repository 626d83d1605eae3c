// A manager restart under an open tab: a manager of this spec's own (no agents, a fixed port, so
// the tab's address stays the same), stopped and started again while the New Project form, the
// task list's filters or a task's log filters are open.
import { expect, test } from '@playwright/test'
import { createServer } from 'node:net'
import { managerFolder, startManager, stopManager } from './manager.ts'

/** A port free right now on loopback. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const { port } = server.address() as { port: number }
  await new Promise((ok) => server.close(ok))
  return port
}

test('a manager restart: the tab says when it tries again, comes back signed in, and keeps the answers typed', async ({ page }) => {
  const { root, config, agents } = managerFolder('hyperagent-ui-restart-', { address: `127.0.0.1:${await freePort()}` })
  let manager = await startManager(root, config, agents)
  try {
    await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
    await page.goto(manager.url)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New project' }).click()
    await page.getByTestId('template-option').filter({ hasText: 'fastapi' }).getByRole('radio').check()
    await page.getByLabel('project_name').fill('kept')
    await expect(page.getByTestId('status-manager')).toHaveText('Manager connected')

    await stopManager(manager.proc)
    await expect(page.getByTestId('status-manager')).toHaveText('Manager not reachable')
    await expect(page.getByTestId('status-reconnect')).toContainText(/Reconnecting( in \d+ s)? · Retry now/)
    await expect(page.getByTestId('signin-notice')).toHaveCount(0)

    manager = await startManager(root, config, agents) // the tab's next try (at most 4 s away) finds it
    await expect(page.getByTestId('status-manager')).toHaveText('Manager connected')
    await expect(page.getByTestId('status-reconnect')).toHaveCount(0)
    await expect(page.getByTestId('signin-notice')).toHaveCount(0)
    await expect(page.getByLabel('project_name')).toHaveValue('kept')

    await page.reload()
    await expect(page.getByLabel('project_name')).toHaveValue('kept')
    await expect(page.getByTestId('status-manager')).toHaveText('Manager connected')
  } finally {
    await stopManager(manager.proc)
  }
})

test('a manager restart keeps the filters typed in the task list and in a task log, and says since when it was away', async ({ page }) => {
  const { root, config, agents } = managerFolder('hyperagent-ui-restart-', { address: `127.0.0.1:${await freePort()}`, names: ['echo'] })
  let manager = await startManager(root, config, agents)
  try {
    await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
    await page.goto(manager.url)
    const origin = new URL(manager.url).origin
    const call = async (method: string, data: object) => {
      const r = await page.request.post(`${origin}/api/v1/${method}`, { data })
      expect(r.ok(), await r.text()).toBeTruthy()
      return (await r.json()) as any // eslint-disable-line @typescript-eslint/no-explicit-any
    }
    await expect
      .poll(async () => (await call('ListAgents', {})).agents.find((a: { id: string }) => a.id === 'echo')?.status)
      .toBe('AGENT_STATUS_ONLINE')
    // Handing out work paused: the task waits in the queue.
    await call('SetPaused', { paused: true })
    const id = (await call('SubmitTask', { task_type: 'echo.echo', payload_json: '{"message":"hi"}' })).task.id as string
    await page.goto(`${origin}/#/tasks/${id}`)
    await page.getByTestId('log-search').fill('needle')
    await page.getByTestId('log-level').selectOption('LOG_LEVEL_WARN')
    await page.getByTestId('log-find').fill('typed find')
    await expect(page.getByTestId('status-manager')).toHaveText('Manager connected')

    await stopManager(manager.proc)
    await expect(page.getByTestId('status-manager')).toHaveText('Manager not reachable')
    manager = await startManager(root, config, agents)
    await expect(page.getByTestId('status-manager')).toHaveText('Manager connected')
    await expect(page.getByTestId('log-search')).toHaveValue('needle')
    await expect(page.getByTestId('log-level')).toHaveValue('LOG_LEVEL_WARN')
    await expect(page.getByTestId('log-find')).toHaveValue('typed find')

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click()
    await expect(page.getByTestId('task-row')).toHaveCount(1)
    await page.getByLabel('Search').fill('echo')
    await expect(page.getByTestId('task-row')).toHaveCount(1)
    await page.getByTestId('tasks-state').selectOption('active')
    await stopManager(manager.proc)
    await expect(page.getByTestId('status-manager')).toHaveText('Manager not reachable')
    await expect(page.getByTestId('status-stale')).toHaveText(/^since \d\d:\d\d:\d\d: what is shown may be out of date/)
    manager = await startManager(root, config, agents)
    await expect(page.getByTestId('status-manager')).toHaveText('Manager connected')
    await expect(page.getByTestId('status-stale')).toHaveCount(0)
    await expect(page.getByLabel('Search')).toHaveValue('echo')
    await expect(page.getByTestId('tasks-state')).toHaveValue('active')
  } finally {
    await stopManager(manager.proc)
  }
})
