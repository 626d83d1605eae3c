// Starts the real manager for the browser tests: `hyperagent serve --web` with the real echo and
// bootstrapper agents (confined by the kernel, as always), in a temp folder of its own. The
// bootstrapper installs from the offline wheelhouse (scripts/setup.sh fills it), so no test
// depends on the network. Tests read what they need from the environment this sets.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, openSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const REPO = resolve(import.meta.dirname, '..', '..')
const BIN = process.env.HYPERAGENT_BIN ?? join(REPO, 'target', 'debug', 'hyperagent')

function toml(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(toml).join(', ')}]`
  return String(v)
}

/** A config file's text from its sections. */
export function configText(sections: Record<string, Record<string, unknown>>): string {
  return Object.entries(sections)
    .map(([s, kv]) => `[${s}]\n${Object.entries(kv).map(([k, v]) => `${k} = ${toml(v)}`).join('\n')}\n`)
    .join('\n')
}

export { BIN, REPO }

export default async function globalSetup(): Promise<() => Promise<void>> {
  const root = mkdtempSync(join(tmpdir(), 'hyperagent-ui-e2e-'))
  const wheelhouse = execFileSync('bash', [join(REPO, 'scripts', 'wheelhouse-dir.sh')]).toString().trim()
  const agents = join(root, 'agents')
  for (const name of ['echo', 'bootstrapper', 'testrunner', 'codereview']) {
    mkdirSync(join(agents, name), { recursive: true })
    const manifest = readFileSync(join(REPO, 'agents', name, 'agent.toml'), 'utf8').replace(
      'HYPERAGENT_BOOTSTRAP_WHEELHOUSE = ""',
      `HYPERAGENT_BOOTSTRAP_WHEELHOUSE = ${JSON.stringify(wheelhouse)}`,
    )
    writeFileSync(join(agents, name, 'agent.toml'), manifest)
  }
  // A stand-in for VS Code's `code` (VS Code is not installed here): it records its arguments.
  const editor = join(root, 'code')
  writeFileSync(editor, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${JSON.stringify(join(root, 'code-calls.log'))}\n`, { mode: 0o755 })
  const config = join(root, 'config.toml')
  const sections: Record<string, Record<string, unknown>> = {
    paths: { data_dir: join(root, 'data'), runtime_dir: join(root, 'run') },
    // This tree's build (`npm run build`), whichever source tree the binary was built from.
    web: { enabled: true, address: '127.0.0.1:0', ui_dir: join(REPO, 'ui', 'dist') },
    templates: { dirs: [join(REPO, 'templates')] },
    sandbox: { allow_unsupervised_agents: false },
    // A killed agent stays offline long enough to be seen before it is restarted.
    supervisor: { restart_backoff_base: '15s', restart_backoff_max: '15s' },
    consent: { timeout: '60s' },
    editor: { command: [editor] },
  }
  writeFileSync(config, configText(sections))
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(REPO, '.venv', 'bin')}:${process.env.PATH}` }
  delete env.HYPERAGENT_SOCKET
  const log = openSync(join(root, 'manager.log'), 'a')
  // setpriv: the manager gets SIGTERM if this process dies, however it dies.
  const proc: ChildProcess = spawn(
    'setpriv',
    ['--pdeathsig', 'TERM', '--', BIN, '--config', config, 'serve', '--agents-dir', agents],
    { env, stdio: ['ignore', 'pipe', log] },
  )
  const first = await new Promise<string>((ok, fail) => {
    const rl = createInterface({ input: proc.stdout! })
    rl.once('line', ok)
    proc.once('exit', (code) => fail(new Error(`the manager exited (${code}); see ${root}/manager.log`)))
  })
  const ready = JSON.parse(first) as { web_url: string }
  const cli = (...args: string[]) => execFileSync(BIN, ['--config', config, ...args], { env }).toString()
  cli('policy', 'allow', '--read', wheelhouse, '--agent', 'bootstrapper')
  process.env.HYPERAGENT_WEB_URL = ready.web_url
  process.env.HYPERAGENT_E2E_ROOT = root
  process.env.HYPERAGENT_E2E_CONFIG = config
  return async () => {
    proc.kill('SIGTERM')
    await new Promise((ok) => (proc.exitCode !== null ? ok(null) : proc.once('exit', ok)))
  }
}
