// A manager restart under an open tab: a manager of this spec's own (no agents, a fixed port, so
// the tab's address stays the same), stopped and started again while the New Project form is open.
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

    manager = await startManager(root, config, agents) // the tab's next try (at most 15 s away) finds it
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
