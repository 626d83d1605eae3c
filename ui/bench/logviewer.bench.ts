// The log viewer with the tail followed, against the raw SSE rate in the same run: one task logs
// LINES lines as fast as the echo agent can; the same page counts the feed's log events on an
// EventSource of its own (raw SSE: parse, count) while the task page renders them, and samples the
// viewer's line count every animation frame. Then the finished task's page is loaded again: the
// history (GetLogs pages) against fetching the same pages bare.
import { expect, test, type Page } from '@playwright/test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'

const LINES = Number(process.env.HYPERAGENT_BENCH_LINES ?? 100_000)

async function api<T = any>(page: Page, method: string, request: object = {}): Promise<T> {
  const r = await page.request.post(`/api/v1/${method}`, { data: request })
  expect(r.ok(), `${method}: ${await r.text()}`).toBeTruthy()
  return (await r.json()) as T
}

test('log viewer: lines/s rendered with the tail followed, against the raw SSE rate', async ({ page }) => {
  await page.addInitScript(() => localStorage.setItem('hyperagent.onboarded', '1'))
  await page.goto(process.env.HYPERAGENT_WEB_URL!)
  await expect(page.getByTestId('status-line')).toBeVisible()
  await expect
    .poll(async () => (await api(page, 'ListAgents')).agents.find((a: any) => a.id === 'echo')?.status)
    .toBe('AGENT_STATUS_ONLINE')

  // Held until the page and the counter are ready, so both see every line live.
  await api(page, 'SetPaused', { paused: true })
  const task = await api(page, 'SubmitTask', {
    task_type: 'echo.spam',
    payload_json: JSON.stringify({ lines: LINES, size: 80 }),
  })
  const id = task.task.id as string
  await page.goto(`/#/tasks/${id}`)
  await expect(page.getByTestId('log-follow')).toBeVisible()
  await page.evaluate(
    ({ id, lines }) => {
      const w = window as any
      w.__bench = { sse: { n: 0, first: 0, last: 0 }, view: { first: 0, done: 0, samples: 0 } }
      const es = new EventSource(`/api/v1/events?task_id=${encodeURIComponent(id)}`)
      es.onmessage = (m) => {
        const e = JSON.parse(m.data)
        if (!e.task_log) return
        const s = w.__bench.sse
        const now = performance.now()
        if (s.n === 0) s.first = now
        s.n++
        s.last = now
        if (s.n === lines) es.close()
      }
      const count = document.querySelector('[data-testid="log-count"]')!
      const tick = () => {
        const v = w.__bench.view
        const n = parseInt(count.textContent ?? '0', 10) || 0
        v.samples++
        if (n > 0 && v.first === 0) v.first = performance.now()
        if (n >= lines) {
          v.done = performance.now()
          return
        }
        requestAnimationFrame(tick)
      }
      requestAnimationFrame(tick)
    },
    { id, lines: LINES },
  )
  await api(page, 'SetPaused', { paused: false })
  await page.waitForFunction(() => (window as any).__bench.view.done > 0, null, { timeout: 600_000 })
  await page.waitForFunction((lines) => (window as any).__bench.sse.n >= lines, LINES, { timeout: 60_000 })
  // The tail is followed: the last line is on screen.
  await expect(page.getByTestId('log-line').last()).toContainText(`line ${LINES} `)
  const live = await page.evaluate(() => (window as any).__bench)
  const sseRate = (live.sse.n - 1) / ((live.sse.last - live.sse.first) / 1000)
  const viewRate = LINES / ((live.view.done - live.view.first) / 1000)

  // History: the finished task's page from scratch, against the same GetLogs pages fetched bare.
  await expect
    .poll(async () => (await api(page, 'GetTask', { task_id: id })).state)
    .toBe('TASK_STATE_COMPLETED')
  const bare = await page.evaluate(async (id) => {
    const t0 = performance.now()
    let n = 0
    let after = '0'
    for (;;) {
      const r = await fetch('/api/v1/GetLogs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task_id: id, after_seq: after }),
      })
      const body = await r.json()
      const lines = body.lines ?? []
      n += lines.length
      if (body.complete || lines.length === 0) break
      after = lines[lines.length - 1].seq
    }
    return { n, ms: performance.now() - t0 }
  }, id)
  const t0 = Date.now()
  await page.reload()
  await expect(page.getByTestId('log-count')).toHaveText(`${LINES} lines`, { timeout: 600_000 })
  const historyMs = Date.now() - t0
  await expect(page.getByTestId('log-line').last()).toContainText(`line ${LINES} `)

  const result = {
    lines: LINES,
    live: {
      raw_sse_lines_per_s: Math.round(sseRate),
      viewer_lines_per_s: Math.round(viewRate),
      viewer_done_after_last_sse_event_ms: Math.round(live.view.done - live.sse.last),
      frames_sampled: live.view.samples,
    },
    history: {
      bare_getlogs_lines: bare.n,
      bare_getlogs_ms: Math.round(bare.ms),
      page_reload_to_all_lines_shown_ms: historyMs,
    },
  }
  console.log(JSON.stringify(result, null, 2))
  const out = resolve(import.meta.dirname, '..', 'test-artifacts')
  mkdirSync(out, { recursive: true })
  writeFileSync(resolve(out, 'bench-logviewer.json'), JSON.stringify(result, null, 2))
  expect(bare.n).toBe(LINES)
})
