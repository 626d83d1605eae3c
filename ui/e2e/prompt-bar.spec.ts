// The prompt bar end to end, in Debian's Chromium against the real manager and real agents
// (e2e/manager.ts): plain words -> the proposed plan, edited in its preview -> run -> the plan's
// graph live until every step succeeded -> the summary; the project is on disk, and the editor
// (a stand-in that records its arguments) was asked to open it.
import { expect, test } from '@playwright/test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { online, shots } from './helpers.ts'

const REQUEST = 'create a FastAPI project called bazaar with SQLite, then open it in the editor'
/** The folder the person changes step 1 to in the preview (the words would give "bazaar"). */
const FOLDER = 'bazaar-plan'

const editorCalls = () => {
  try {
    return readFileSync(join(process.env.HYPERAGENT_E2E_ROOT!, 'code-calls.log'), 'utf8')
  } catch {
    return ''
  }
}

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page).not.toHaveURL(/token=/)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

test('ask in the prompt bar, edit the plan, run it, and follow its graph to the summary', async ({ page }) => {
  test.setTimeout(300_000)
  // The preview ranks the agents online and offers the bootstrapper's payload schema as a form.
  await online(page, 'bootstrapper')
  // What a step asks first is shown in the preview; should one ask while it runs, allow it once.
  await page.addLocatorHandler(page.getByRole('dialog', { name: 'Permission requested' }), async (modal) => {
    await modal.getByRole('button', { name: 'Allow once' }).click()
  })

  // From any view: the command palette's shortcut, the words typed there, and its last option
  // takes them to the prompt bar, which asks at once.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click()
  await expect(page.locator('main h1')).toHaveText('Tasks')
  await page.keyboard.press('Control+K')
  const palette = page.getByRole('dialog', { name: 'Command palette' })
  await expect(palette.getByRole('combobox')).toBeFocused()
  await page.keyboard.type(REQUEST)
  await page.keyboard.press('Control+End')
  await expect(palette.getByRole('option', { selected: true })).toHaveText(`Ask: “${REQUEST}”`)
  await page.keyboard.press('Enter')
  await expect(palette).toBeHidden()
  const bar = page.getByRole('dialog', { name: 'Ask HyperAgent' })
  await expect(bar).toBeVisible()
  const input = bar.getByRole('textbox', { name: 'What do you want done?' })
  await expect(input).toHaveValue(REQUEST)

  // The proposed plan: a bootstrap step, then the editor opening what it made.
  const preview = bar.getByTestId('plan-preview')
  await expect(preview).toBeVisible()
  const steps = preview.getByTestId('plan-step')
  const first = steps.first()
  await expect(first.getByRole('heading', { level: 3 })).toContainText('bootstrap.project')
  await expect(first.getByTestId('top-candidate')).toContainText('bootstrapper')
  const types = await steps.locator('h3 code').allTextContents()
  expect(types, 'the words make a bootstrap step and an "open" step').toContain('open')
  // Anything else the words were read as is the router's business, not this test's: left out
  // (the last first, so no step is removed while a later one still needs it).
  for (let i = types.length - 1; i >= 1; i--) {
    if (types[i] !== 'open') await steps.nth(i).getByTestId('step-remove').click()
  }
  const kept = types.filter((t, i) => i === 0 || t === 'open').length

  // Edit step 1: its payload in the task type's form (no checks: quicker; the project as asked),
  // and its folder.
  await first.getByText('Edit the payload').click()
  const form = first.getByTestId('schema-form')
  await expect(form).toBeVisible()
  await form.getByTestId('field-template').fill('fastapi')
  await form.getByTestId('field-answers').fill(JSON.stringify({ project_name: 'bazaar', database: 'sqlite' }))
  await form.getByTestId('field-checks').uncheck()
  await first.getByLabel('Folder of step 1').fill(FOLDER)
  // The "open" step works in step 1's project ("$1.path"); given a folder of its own only if the
  // plan could not tell which.
  const open = steps.filter({ has: page.locator('h3 code', { hasText: /^open$/ }) })
  if ((await open.getByTestId('step-problem').count()) > 0) await open.getByTestId('step-folder').fill(FOLDER)
  await expect(preview.getByTestId('plan-blockers')).toHaveCount(0)
  await shots(page, 'plan-preview')

  await preview.getByRole('button', { name: 'Run' }).click()

  // The plan's page: the graph, live from the feed, until every step succeeded.
  await expect(bar).toBeHidden()
  await expect(page).toHaveURL(/#\/plans\/[^/]+$/)
  const planPage = page.getByTestId('plan-page')
  await expect(planPage.getByTestId('plan-graph')).toBeVisible()
  const nodes = planPage.getByTestId('plan-node')
  await expect(nodes).toHaveCount(kept)
  await expect(planPage.getByTestId('plan-state')).toHaveAttribute('data-state', 'PLAN_STATE_SUCCEEDED', {
    timeout: 180_000,
  })
  for (const node of await nodes.all()) {
    await expect(node).toHaveAttribute('data-state', 'STEP_STATE_SUCCEEDED')
    await expect(node.getByTestId('step-state')).toHaveText('succeeded')
  }
  await expect(planPage.getByRole('button', { name: 'Cancel plan' })).toHaveCount(0)
  // The bootstrap step ran as a task, linked from its node.
  await expect(nodes.first().getByTestId('step-task-link').first()).toHaveAttribute('href', /^#\/tasks\/.+/)

  // The summary, and each step's result: the project is where the edit put it.
  await expect(planPage.getByTestId('plan-summary')).toBeVisible()
  await expect(planPage.getByTestId('plan-summary')).not.toBeEmpty()
  await expect(planPage.getByTestId('step-detail').first().getByTestId('step-summary')).toContainText(FOLDER)
  await shots(page, 'plan-done')
  const project = join(process.env.HYPERAGENT_E2E_ROOT!, 'data', 'workspaces', FOLDER)
  expect(existsSync(join(project, 'bazaar', 'main.py')), `${project}/bazaar/main.py`).toBe(true)
  await expect.poll(editorCalls, { message: 'the editor was asked to open the project' }).toContain(`/${FOLDER}`)

  // The plans list has it; at 200% zoom the graph scrolls in its own region, never the page.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plans' }).click()
  const row = page.getByTestId('plan-row').filter({ hasText: REQUEST })
  await expect(row.getByTestId('plan-state')).toHaveAttribute('data-state', 'PLAN_STATE_SUCCEEDED')
  await row.getByRole('link').click()
  await expect(page.getByTestId('plan-graph')).toBeVisible()
  await page.setViewportSize({ width: 640, height: 400 })
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  expect(overflow, 'no sideways scrolling of the plan page at 200%').toBeLessThanOrEqual(0)
})
