// The log viewer with the tail followed, against the raw SSE rate in the same run: one task logs
// LINES lines as fast as the echo agent can; the same page counts the feed's log events on an
// EventSource of its own (raw SSE: parse, count) while the task page renders them, and samples the
// viewer's line count every animation frame. The agent's own rate (its task's start to end) bounds
// both. Then the same events are replayed over SSE in a page with nothing else on it, and the
// finished task's page is loaded again: the history (GetLogs pages) against fetching the same
// pages bare.
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
  // The raw SSE counter in a page of its own (its own renderer, nothing else on its main thread).
  const counter = await page.context().newPage()
  await counter.goto('/api/v1/openapi.json')
  await counter.evaluate(
    ({ id, lines }) =>
      new Promise<void>((opened) => {
        const w = window as any
        w.__sse = { n: 0, first: 0, last: 0 }
        const es = new EventSource(`/api/v1/events?task_id=${encodeURIComponent(id)}`)
        es.onopen = () => opened()
        es.onmessage = (m) => {
          if (!JSON.parse(m.data).task_log) return
          const s = w.__sse
          const now = performance.timeOrigin + performance.now()
          if (s.n === 0) s.first = now
          s.n++
          s.last = now
          if (s.n === lines) es.close()
        }
      }),
    { id, lines: LINES },
  )
  await page.goto(`/#/tasks/${id}`)
  await expect(page.getByTestId('log-follow')).toBeVisible()
  await page.evaluate((lines) => {
    const w = window as any
    w.__view = { first: 0, done: 0, samples: 0 }
    const count = document.querySelector('[data-testid="log-count"]')!
    const tick = () => {
      const v = w.__view
      const n = parseInt(count.textContent ?? '0', 10) || 0
      v.samples++
      const now = performance.timeOrigin + performance.now()
      if (n > 0 && v.first === 0) v.first = now
      if (n >= lines) {
        v.done = now
        return
      }
      requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  }, LINES)
  await api(page, 'SetPaused', { paused: false })
  await page.waitForFunction(() => (window as any).__view.done > 0, null, { timeout: 600_000 })
  await counter.waitForFunction((lines) => (window as any).__sse.n >= lines, LINES, { timeout: 600_000 })
  // The tail is followed: the last line is on screen.
  await expect(page.getByTestId('log-line').last()).toContainText(`line ${LINES} `)
  const view = await page.evaluate(() => (window as any).__view)
  const sse = await counter.evaluate(() => (window as any).__sse)
  await counter.close()
  const live = { sse, view }
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
  // The same events again over SSE in a page with nothing else on its main thread (replayed from
  // the database): what the transport and the browser give without the UI.
  const bare_page = await page.context().newPage()
  await bare_page.goto('/api/v1/openapi.json')
  const replay = await bare_page.evaluate(
    ({ id, lines }) =>
      new Promise<{ n: number; ms: number }>((resolve) => {
        const t0 = performance.now()
        let n = 0
        const es = new EventSource(`/api/v1/events?task_id=${encodeURIComponent(id)}&after_seq=0`)
        es.onmessage = (m) => {
          if (JSON.parse(m.data).task_log && ++n === lines) {
            es.close()
            resolve({ n, ms: performance.now() - t0 })
          }
        }
      }),
    { id, lines: LINES },
  )
  await bare_page.close()
  const finished = await api(page, 'GetTask', { task_id: id })
  const attempt = finished.attempts[finished.attempts.length - 1]
  const producerMs = Date.parse(attempt.ended_at) - Date.parse(attempt.started_at)

  const t0 = Date.now()
  await page.reload()
  await expect(page.getByTestId('log-count')).toHaveText(`${LINES} lines`, { timeout: 600_000 })
  const historyMs = Date.now() - t0
  await expect(page.getByTestId('log-line').last()).toContainText(`line ${LINES} `)

  const result = {
    lines: LINES,
    live: {
      agent_task_lines_per_s: Math.round(LINES / (producerMs / 1000)),
      raw_sse_lines_per_s: Math.round(sseRate),
      viewer_lines_per_s: Math.round(viewRate),
      viewer_done_after_last_sse_event_ms: Math.round(live.view.done - live.sse.last),
      frames_sampled: live.view.samples,
    },
    replay: {
      raw_sse_in_a_bare_page_lines_per_s: Math.round(replay.n / (replay.ms / 1000)),
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
