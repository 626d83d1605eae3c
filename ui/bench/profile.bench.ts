// Where the task page's main thread spends a live log flood (30,000 lines): Chrome's CPU profiler
// over the whole flood, self time per function, top 25. Run:
// `npx playwright test -c playwright.bench.config.ts profile` (names are of the minified build).
import { expect, test } from '@playwright/test'

test('profile the task page during a log flood', async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page.getByTestId('status-line')).toBeVisible()
  const post = async (m: string, b: object) => (await page.request.post(`/api/v1/${m}`, { data: b })).json()
  await expect.poll(async () => (await post('ListAgents', {})).agents.find((a: any) => a.id === 'echo')?.status).toBe('AGENT_STATUS_ONLINE')
  await post('SetPaused', { paused: true })
  const t = await post('SubmitTask', { task_type: 'echo.spam', payload_json: JSON.stringify({ lines: 30000, size: 80 }) })
  await page.goto(`/#/tasks/${t.task.id}`)
  await expect(page.getByTestId('log-follow')).toBeVisible()
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.start')
  await post('SetPaused', { paused: false })
  await expect(page.getByTestId('log-count')).toHaveText('30000 lines', { timeout: 120_000 })
  const { profile } = (await cdp.send('Profiler.stop')) as any
  const self = new Map<string, number>()
  const dt = profile.timeDeltas as number[]
  const byId = new Map<number, any>(profile.nodes.map((n: any) => [n.id, n]))
  profile.samples.forEach((id: number, i: number) => {
    const n = byId.get(id)
    const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`
    self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0))
  })
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)
  for (const [k, us] of top) console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
})
