// The task page (with "Update from template" open), the consent modal, the New project form and
// the lists, at 800 px wide and at 200% zoom, in light and dark, against the real manager: nothing
// scrolls sideways, every action can be brought into view and pressed, and text stays readable.
import { expect, test, type Locator, type Page } from '@playwright/test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ARTIFACTS, contrast, ended, online, submit } from './helpers.ts'
import { V2, release, templateRepo } from './template.ts'

/** 800 px wide; 200% zoom of a 1280x800 window (a 640x400 CSS viewport at twice the density). */
const SIZES = [
  { name: '800 px', width: 800, height: 800 },
  { name: '200% zoom', width: 640, height: 400 },
] as const
const SCHEMES = ['light', 'dark'] as const

/** How far the page scrolls sideways (0: not at all). */
const sideways = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)

/** Each of `buttons` can be scrolled to and lies inside the window's width. */
async function reachable(page: Page, buttons: Locator, what: string) {
  const width = page.viewportSize()!.width
  const count = await buttons.count()
  expect(count, `${what}: buttons`).toBeGreaterThan(0)
  for (let i = 0; i < count; i++) {
    const b = buttons.nth(i)
    await b.scrollIntoViewIfNeeded()
    await expect(b, `${what}: ${await b.textContent()}`).toBeInViewport()
    const box = (await b.boundingBox())!
    expect(box.x, `${what}: ${await b.textContent()} starts inside`).toBeGreaterThanOrEqual(0)
    expect(box.x + box.width, `${what}: ${await b.textContent()} ends inside`).toBeLessThanOrEqual(width + 0.5)
  }
}

/**
 * Every visible element that holds text of its own, with a contrast below `min` against the
 * background it is drawn on ("tag.class 'text' 3.1"); disabled controls are left out (WCAG exempts them).
 */
async function lowContrast(page: Page, min: number): Promise<string[]> {
  const found = await page.evaluate(() => {
    const painted = (el: Element): string => {
      for (let at: Element | null = el; at; at = at.parentElement) {
        const c = getComputedStyle(at).backgroundColor
        if (c !== 'transparent' && !/^rgba\(.*, 0\)$/.test(c)) return c
      }
      return getComputedStyle(document.documentElement).backgroundColor
    }
    const out: { what: string; fg: string; bg: string }[] = []
    for (const el of document.querySelectorAll('main *, [role="dialog"] *, .status-line *')) {
      const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim())
      if (!own || el.closest('[disabled], [aria-disabled="true"]')) continue
      const r = el.getBoundingClientRect()
      const style = getComputedStyle(el)
      if (r.width === 0 || r.height === 0 || style.visibility === 'hidden' || Number(style.opacity) < 0.1) continue
      const text = (el.textContent ?? '').trim().slice(0, 30)
      out.push({ what: `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} '${text}'`, fg: style.color, bg: painted(el) })
    }
    return out
  })
  return found.map((f) => ({ ...f, ratio: contrast(f.fg, f.bg) })).filter((f) => f.ratio < min).map((f) => `${f.what} ${f.ratio.toFixed(2)}`)
}

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

test('task page with its update panel, form and lists: nothing sideways, every action reachable, readable', async ({ page }) => {
  test.setTimeout(300_000)
  await online(page, 'bootstrapper')
  const src = templateRepo()
  const made = await submit(page, 'bootstrap.project', { template: src, vcs_ref: 'v1.0.0', answers: { name: 'narrow' }, checks: false }, 'narrow')
  expect((await ended(page, made)).state).toBe('TASK_STATE_COMPLETED')
  release(src, 'v2.0.0', V2)

  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme })
    for (const size of SIZES) {
      await page.setViewportSize(size)
      const what = `${scheme}, ${size.name}`

      await page.goto(`/#/tasks/${made}`)
      await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_COMPLETED')
      // Keyboard only: the action opens the panel, Preview brings the focus to what came back.
      await page.getByRole('button', { name: 'Update from template' }).focus()
      await page.keyboard.press('Enter')
      const panel = page.getByTestId('update-panel')
      await panel.getByRole('button', { name: 'Preview' }).focus()
      await page.keyboard.press('Enter')
      await expect(panel.getByTestId('update-diff')).toBeVisible()
      await expect(panel.getByTestId('update-summary').getByRole('heading', { level: 3 })).toBeFocused()
      await expect(panel.getByTestId('update-summary').getByRole('heading', { level: 3 })).toBeInViewport()
      expect(await sideways(page), `task page, ${what}`).toBeLessThanOrEqual(0)
      await reachable(page, page.getByRole('group', { name: 'Task actions' }).getByRole('button'), `task actions, ${what}`)
      await reachable(page, panel.getByRole('button'), `update panel, ${what}`)
      expect(await lowContrast(page, 4.5), `task page, ${what}: text below 4.5:1`).toEqual([])
      await page.screenshot({ path: join(ARTIFACTS, `layout-update-${scheme}-${size.width}.png`), fullPage: true })

      await page.goto('/#/new')
      await page.getByTestId('template-option').filter({ hasText: 'fastapi' }).getByRole('radio').check()
      await page.getByLabel('project_name').fill('')
      await page.getByLabel('project_name').fill('My Shop')
      await expect(page.locator('[data-question="project_name"]').getByRole('alert')).toBeVisible()
      expect(await sideways(page), `new project, ${what}`).toBeLessThanOrEqual(0)
      await reachable(page, page.locator('form[aria-label="New project"] .actions button'), `new project, ${what}`)
      expect(await lowContrast(page, 4.5), `new project, ${what}: text below 4.5:1`).toEqual([])
      await page.screenshot({ path: join(ARTIFACTS, `layout-new-${scheme}-${size.width}.png`), fullPage: true })

      for (const route of ['tasks', 'plans', 'audit', 'agents']) {
        await page.goto(`/#/${route}`)
        await expect(page.locator('main h1').first()).toBeVisible()
        await expect(page.locator('main [role="status"]', { hasText: 'Loading' })).toHaveCount(0)
        expect(await sideways(page), `${route}, ${what}`).toBeLessThanOrEqual(0)
        expect(await lowContrast(page, 4.5), `${route}, ${what}: text below 4.5:1`).toEqual([])
      }
    }
  }
})

test('the consent modal for a request to replace files fits the window, its answers reachable, at 800 px and 200%, light and dark', async ({ page }) => {
  await online(page, 'bootstrapper')
  const folder = 'narrow-consent'
  const root = join(process.env.HYPERAGENT_E2E_ROOT!, 'data', 'workspaces', folder)
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, 'README.md'), '# my notes\n')
  await submit(page, 'bootstrap.project', { template: 'fastapi', answers: { project_name: 'narrow-consent' }, overwrite: true, checks: false }, folder)
  const modal = page.getByRole('dialog', { name: 'Permission requested' })
  await expect(modal).toBeVisible()
  for (const scheme of SCHEMES) {
    await page.emulateMedia({ colorScheme: scheme })
    for (const size of SIZES) {
      await page.setViewportSize(size)
      const what = `consent, ${scheme}, ${size.name}`
      const box = (await modal.boundingBox())!
      expect(box.x, what).toBeGreaterThanOrEqual(0)
      expect(box.x + box.width, what).toBeLessThanOrEqual(size.width + 0.5)
      await reachable(page, modal.getByRole('button'), what)
      await expect(modal.getByTestId('consent-files')).toContainText('README.md')
      expect(await lowContrast(page, 4.5), `${what}: text below 4.5:1`).toEqual([])
      await page.screenshot({ path: join(ARTIFACTS, `layout-consent-${scheme}-${size.width}.png`) })
    }
  }
  await modal.getByRole('button', { name: 'Deny' }).click()
  await expect(modal).toBeHidden()
})
