// The command palette against the real manager, keyboard only: every view, a recent task by its
// name, an action, in light and dark at 800 px.
import { expect, test } from '@playwright/test'
import { api, online, shot, submit } from './helpers.ts'

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page).not.toHaveURL(/token=/)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

test('Ctrl+K from any view goes anywhere with the keyboard alone, in light and dark at 800 px', async ({ page }) => {
  await page.setViewportSize({ width: 800, height: 700 })
  await online(page, 'echo')
  const id = await submit(page, 'echo.sleep', { seconds: 0 }, 'palette-nap')
  await expect.poll(async () => (await api(page, 'GetTask', { task_id: id })).state).toBe('TASK_STATE_COMPLETED')
  const palette = page.getByRole('dialog', { name: 'Command palette' })
  const field = palette.getByRole('combobox')

  // Every view, from the one before it, by typing its name.
  const views: [string, RegExp][] = [
    ['plans', /#\/plans$/],
    ['tasks', /#\/tasks$/],
    ['agents', /#\/agents$/],
    ['audit log', /#\/audit$/],
    ['settings', /#\/settings$/],
    ['go to new project', /#\/new$/],
  ]
  for (const [words, url] of views) {
    await page.keyboard.press('Control+K')
    await expect(field).toBeFocused()
    await page.keyboard.type(words)
    await page.keyboard.press('Enter')
    await expect(palette).toBeHidden()
    await expect(page).toHaveURL(url)
  }

  // A recent task by the name of its folder; the active option is the one aria-activedescendant names.
  await page.keyboard.press('Control+K')
  await page.keyboard.type('palette-nap')
  const activeId = await field.getAttribute('aria-activedescendant')
  await expect(palette.locator(`[id="${activeId}"]`)).toHaveAttribute('aria-selected', 'true')
  await expect(palette.locator(`[id="${activeId}"]`)).toContainText('palette-nap · echo.sleep')
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow, scheme).toBeLessThanOrEqual(0)
    await shot(page, `palette-${scheme}`)
  }
  await page.emulateMedia({ colorScheme: 'light' })
  await page.keyboard.press('Enter')
  await expect(page).toHaveURL(new RegExp(`#/tasks/${id}$`))
  await expect(page.getByTestId('task-title')).toHaveText('palette-nap · echo.sleep')

  // An action in place: verify the audit log, its answer in the palette.
  await page.keyboard.press('Control+K')
  await page.keyboard.type('verify')
  await page.keyboard.press('ArrowDown')
  await page.keyboard.press('ArrowUp')
  await page.keyboard.press('Enter')
  await expect(palette.getByTestId('palette-note')).toHaveText(/^The audit log verifies: \d+ entries, none changed\.$/)
  // Escape closes it; Ctrl+K again while it is open closes it too.
  await page.keyboard.press('Escape')
  await expect(palette).toBeHidden()
  await page.keyboard.press('Control+K')
  await expect(palette).toBeVisible()
  await page.keyboard.press('Control+K')
  await expect(palette).toBeHidden()
})
