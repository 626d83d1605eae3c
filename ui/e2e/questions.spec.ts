// A task's question to the person against the real manager and the echo agent: the question
// panel shows it over any view, takes one of its choices (or free text), and the task goes on
// with the answer; the task's page says it waits for the person meanwhile.
import { expect, test } from '@playwright/test'
import { ended, online, submit } from './helpers.ts'

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

test('a question waits in its panel over any view; a choice answers it and the task goes on', async ({ page }) => {
  await online(page, 'echo')
  const id = await submit(page, 'echo.ask', { question: 'Which name: shop or shop2?', choices: ['shop', 'shop2'] })
  const panel = page.getByTestId('question-prompt')
  await expect(panel).toBeVisible()
  await expect(page.getByTestId('question-text')).toHaveText('Which name: shop or shop2?')
  await expect(page.getByRole('button', { name: 'shop', exact: true })).toBeFocused()
  // The task waits for the person; its page says so, and the panel stays over it.
  await page.goto(`/#/tasks/${id}`)
  await expect(page.getByTestId('task-page').getByTestId('task-state')).toHaveAttribute('data-state', 'TASK_STATE_AWAITING_CONSENT')
  await expect(panel).toBeVisible()
  await panel.getByRole('button', { name: 'shop2' }).click()
  await expect(panel).toBeHidden()
  const done = await ended(page, id)
  expect(done.state).toBe('TASK_STATE_COMPLETED')
  expect(JSON.parse(done.result.output_json).answer).toBe('shop2')
})

test('a question without choices takes free text', async ({ page }) => {
  await online(page, 'echo')
  const id = await submit(page, 'echo.ask', { question: 'What should the new folder be called?' })
  const box = page.getByLabel('Your answer')
  await expect(box).toBeFocused()
  await expect(page.getByRole('button', { name: 'Answer' })).toBeDisabled()
  await box.fill('inventory-2')
  await box.press('Enter')
  await expect(page.getByTestId('question-prompt')).toBeHidden()
  const done = await ended(page, id)
  expect(JSON.parse(done.result.output_json).answer).toBe('inventory-2')
})
