// A permission request against the real manager and bootstrapper: a desktop notification while
// HyperAgent's tab is in the background (switched on in Settings), then the dialog: a request to
// replace files under a red header with its files listed, each answer explained in a line.
import { expect, test } from '@playwright/test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { online, shot, submit } from './helpers.ts'

test('a request to replace files notifies a tab in the background, and lists its files under a red header', async ({ page, context }) => {
  await context.grantPermissions(['notifications'])
  // What the page shows as notifications, recorded (headless Chromium draws none).
  await page.addInitScript(() => {
    localStorage.setItem('hyperagent.onboarded', '1')
    const Real = window.Notification
    const shown: { title: string; body?: string; tag?: string }[] = []
    ;(window as any).__notifications = shown
    class Recorded extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options)
        shown.push({ title, body: options?.body, tag: options?.tag })
      }
    }
    Object.defineProperty(window, 'Notification', { value: Recorded, configurable: true })
  })
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page.getByTestId('status-line')).toBeVisible()
  await online(page, 'bootstrapper')

  // Switched on in Settings, where the browser is asked.
  await page.goto('/#/settings')
  const toggle = page.getByRole('checkbox', { name: /Notify me of permission requests/ })
  await toggle.check()
  await expect(page.getByTestId('notify-state')).toHaveText(/^On:/)

  // HyperAgent's window goes to the background. Headless Chromium has no window focus to lose (its
  // pages stay visible and focused), so the page is told it has none, as a window behind another
  // would be; then a task asks to replace files.
  await page.evaluate(() => {
    document.hasFocus = () => false
  })
  const folder = 'notified'
  const root = join(process.env.HYPERAGENT_E2E_ROOT!, 'data', 'workspaces', folder)
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, 'README.md'), '# my notes\n')
  await submit(page, 'bootstrap.project', { template: 'fastapi', answers: { project_name: folder }, overwrite: true, checks: false }, folder)
  await expect
    .poll(() => page.evaluate(() => (window as any).__notifications as { title: string; body: string }[]))
    .toEqual([expect.objectContaining({ title: 'HyperAgent: permission requested', body: expect.stringMatching(/^bootstrapper asks to write the fastapi template's \d+ files into /) })])

  // Back in front: the dialog, Deny first, the files listed under the red header.
  const modal = page.getByRole('dialog', { name: 'Permission requested' })
  await expect(modal).toBeVisible()
  await expect(modal.getByTestId('consent-purpose')).toHaveText('Change or remove files')
  const header = await modal.getByTestId('consent-purpose').evaluate((h) => getComputedStyle(h).backgroundColor)
  expect(header).toBe('rgb(198, 40, 40)')
  await expect(modal.getByTestId('consent-files').getByRole('listitem').first()).toBeVisible()
  await expect(modal.getByTestId('consent-files')).toContainText('README.md')
  await expect(modal.getByRole('button', { name: 'Deny' })).toBeFocused()
  await expect(modal.getByRole('button', { name: 'Allow once' })).toHaveAccessibleDescription('This request only; the next one asks again.')
  await page.setViewportSize({ width: 800, height: 800 })
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    await shot(page, `consent-destructive-${scheme}`)
  }
  await page.keyboard.press('Enter') // Deny, by keyboard
  await expect(modal).toBeHidden()
})
