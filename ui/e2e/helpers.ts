// What the browser specs share: screenshots kept for CI (and, when asked, for the docs), calls to
// the real manager's web API, and waiting for an agent to be online or a task to end.
import { expect, type Locator, type Page } from '@playwright/test'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const ARTIFACTS = resolve(import.meta.dirname, '..', 'test-artifacts')
/** Where the README's pictures and recording live. */
export const DOCS = resolve(import.meta.dirname, '..', '..', 'docs')

/**
 * Whether this run makes the docs' screenshots and recording again (`npm run docs`, which sets
 * HYPERAGENT_DOCS=1). A test run never does: it would rewrite files the repository tracks.
 */
export const WRITE_DOCS = process.env.HYPERAGENT_DOCS === '1'

/** A screenshot in test-artifacts/ (kept by CI), copied to docs/screenshots/ when making the docs. */
export async function shot(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path })
  if (WRITE_DOCS) {
    mkdirSync(join(DOCS, 'screenshots'), { recursive: true })
    copyFileSync(path, join(DOCS, 'screenshots', `${name}.png`))
  }
}

/** A screenshot in test-artifacts/ only: a view the docs already show (kept for CI's record). */
export async function artifact(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) })
}

/** `shot` in light and in dark (`<name>-light`, `<name>-dark`); the page is left in light. */
export async function shots(page: Page, name: string) {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    await shot(page, `${name}-${scheme}`)
  }
  await page.emulateMedia({ colorScheme: 'light' })
}

export async function api<T = any>(page: Page, method: string, request: object = {}): Promise<T> {
  const r = await page.request.post(`/api/v1/${method}`, { data: request })
  expect(r.ok(), `${method}: ${await r.text()}`).toBeTruthy()
  return (await r.json()) as T
}

/** Submits a task through the web API; its id. */
export async function submit(page: Page, task_type: string, payload: object, workspace = ''): Promise<string> {
  const r = await api(page, 'SubmitTask', { task_type, payload_json: JSON.stringify(payload), workspace })
  return r.task.id as string
}

export async function online(page: Page, ...names: string[]) {
  for (const name of names) {
    await expect
      .poll(async () => (await api(page, 'ListAgents')).agents.find((a: any) => a.id === name)?.status, {
        message: `agent ${name} online`,
      })
      .toBe('AGENT_STATUS_ONLINE')
  }
}

const ENDED = ['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_DEAD_LETTERED']

/** Waits until the task has ended; its record. */
export async function ended(page: Page, id: string): Promise<any> {
  let task: any
  await expect
    .poll(async () => {
      task = await api(page, 'GetTask', { task_id: id })
      return ENDED.includes(task.state)
    }, { message: `task ${id} ended` })
    .toBe(true)
  return task
}

/** WCAG's contrast ratio of two CSS rgb() colours. */
export function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => {
      const s = Number(v) / 255
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
    })
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!
  }
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x)
  return (hi! + 0.05) / (lo! + 0.05)
}

/** The colour the CSS variable `name` (`--warn`) resolves to where `at` is, as a computed rgb(). */
export function cssColour(at: Locator, name: string): Promise<string> {
  return at.evaluate((el, v) => {
    const probe = document.createElement('span')
    probe.style.color = `var(${v})`
    el.appendChild(probe)
    const colour = getComputedStyle(probe).color
    probe.remove()
    return colour
  }, name)
}

/** The text colour `at` is drawn in. */
export const colourOf = (at: Locator): Promise<string> => at.evaluate((el) => getComputedStyle(el).color)

/** The text of the log rows inside the log's scrolled box. */
export function rowsInView(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const box = document.querySelector('[data-testid="log-scroller"]')!.getBoundingClientRect()
    return [...document.querySelectorAll('[data-testid="log-line"]')]
      .filter((row) => {
        const r = row.getBoundingClientRect()
        return r.height > 0 && r.bottom > box.top + 1 && r.top < box.bottom - 1
      })
      .map((row) => row.textContent ?? '')
  })
}
