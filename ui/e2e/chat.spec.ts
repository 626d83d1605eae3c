// The chat view against the real manager and the echo agent: a conversation started by its first
// request, its plan shown and run from the preview, a second request run at once in the auto
// mode, both plans' summaries in the turns, the conversation listed, there again after a reload,
// and exported as Markdown.
import { expect, test } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { api, online, shots } from './helpers.ts'

test.beforeEach(async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page.getByTestId('status-line')).toBeVisible()
})

test('a conversation: the first plan run from its preview, the next at once, saved and exported', async ({ page }) => {
  await online(page, 'echo')
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Chat' }).click()
  await expect(page.getByTestId('chat-title')).toHaveText('A new conversation')
  const input = page.getByTestId('chat-input')
  await expect(input).toBeFocused()

  await input.fill('echo hello world')
  await input.press('Enter')
  const turns = page.getByTestId('chat-turn')
  await expect(turns).toHaveCount(1)
  await expect(turns.first().getByTestId('chat-reply')).toContainText('A plan of 1 step: 1. echo.echo')
  await expect(page).toHaveURL(/#\/chat\/[0-9a-f-]{36}$/)
  const id = decodeURIComponent(page.url().split('/').pop()!)
  // Shown first (the preview mode): nothing runs until Run.
  const preview = turns.first().getByTestId('plan-preview')
  await expect(preview).toBeVisible()
  await preview.getByTestId('plan-run').click()
  await expect(turns.first().getByTestId('plan-state')).toHaveAttribute('data-state', 'PLAN_STATE_SUCCEEDED')
  await expect(turns.first().getByTestId('chat-summary')).not.toBeEmpty()

  // The auto mode runs the next plan at once.
  await page.getByTestId('chat-mode-auto').check()
  await input.fill("say 'ping' back to me")
  await input.press('Enter')
  await expect(turns).toHaveCount(2)
  await expect(turns.nth(1).getByTestId('plan-preview')).toHaveCount(0)
  await expect(turns.nth(1).getByTestId('plan-state')).toHaveAttribute('data-state', 'PLAN_STATE_SUCCEEDED')
  await expect(page.getByTestId('chat-totals')).toContainText('2 plans · 2 tasks')
  const session = page.getByTestId('chat-session').filter({ hasText: 'echo hello world' })
  await expect(session).toHaveAttribute('aria-current', 'page')
  await shots(page, 'chat')

  // Saved as it went: there after a reload, and the manager has it.
  await page.reload()
  await expect(page.getByTestId('chat-turn')).toHaveCount(2)
  const saved = await api(page, 'GetConversation', { conversation_id: id })
  expect(saved.conversation.mode).toBe('CONVERSATION_MODE_AUTO')
  expect(saved.conversation.turns.map((t: { request: string }) => t.request)).toEqual([
    'echo hello world',
    "say 'ping' back to me",
  ])

  const download = page.waitForEvent('download')
  await page.getByTestId('chat-export').click()
  const file = await (await download).path()
  const markdown = readFileSync(file, 'utf8')
  expect(markdown).toMatch(/^# echo hello world\n/)
  expect(markdown).toContain("## 2. say 'ping' back to me")
})
