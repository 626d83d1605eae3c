// Starts the real manager for the browser tests: `hyperagent serve --web` with the real echo and
// bootstrapper agents (confined by the kernel, as always), in a temp folder of its own. The
// bootstrapper installs from the offline wheelhouse (scripts/setup.sh fills it), so no test
// depends on the network. Tests read what they need from the environment this sets.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync } from 'node:fs'
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

/** The environment agents are started in: the repository's venv first on PATH, no socket of another manager. */
export function agentEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(REPO, '.venv', 'bin')}:${process.env.PATH}` }
  delete env.HYPERAGENT_SOCKET
  return env
}

/** Copies agent `name`'s manifest into `agents/<name>/`, with `wheelhouse` (offline installs) when given. */
export function installAgent(agents: string, name: string, wheelhouse = '') {
  mkdirSync(join(agents, name), { recursive: true })
  const manifest = readFileSync(join(REPO, 'agents', name, 'agent.toml'), 'utf8').replace(
    'HYPERAGENT_BOOTSTRAP_WHEELHOUSE = ""',
    `HYPERAGENT_BOOTSTRAP_WHEELHOUSE = ${JSON.stringify(wheelhouse)}`,
  )
  writeFileSync(join(agents, name, 'agent.toml'), manifest)
}

/**
 * The folders and config of a manager of a spec's own, in a new temp folder (`prefix`): its data
 * and runtime folders, the web UI at `address` (any free port unless given), the repository's
 * templates, and `root/agents` with the agents `names` (without a wheelhouse, as after a plain
 * install). Start it with `startManager(root, config, agents)`.
 */
export function managerFolder(prefix: string, { address = '127.0.0.1:0', names = [] as string[] } = {}) {
  const root = mkdtempSync(join(tmpdir(), prefix))
  const agents = join(root, 'agents')
  mkdirSync(agents)
  for (const name of names) installAgent(agents, name)
  const config = join(root, 'config.toml')
  writeFileSync(
    config,
    configText({
      paths: { data_dir: join(root, 'data'), runtime_dir: join(root, 'run') },
      web: { enabled: true, address, ui_dir: join(REPO, 'ui', 'dist') },
      templates: { dirs: [join(REPO, 'templates')] },
      sandbox: { allow_unsupervised_agents: false },
    }),
  )
  return { root, config, agents }
}

/** A running manager: its process and the web address it printed (with the access token). */
export type Running = { proc: ChildProcess; url: string }

/**
 * Starts `serve` with `config` and the agents in `agents`, logging to `root/manager.log`; resolves
 * once it printed that it is ready. `setpriv`: the manager gets SIGTERM if this process dies.
 */
export async function startManager(root: string, config: string, agents: string, env = agentEnv()): Promise<Running> {
  const proc = spawn('setpriv', ['--pdeathsig', 'TERM', '--', BIN, '--config', config, 'serve', '--agents-dir', agents], {
    env,
    stdio: ['ignore', 'pipe', openSync(join(root, 'manager.log'), 'a')],
  })
  const first = await new Promise<string>((ok, fail) => {
    createInterface({ input: proc.stdout! }).once('line', ok)
    proc.once('exit', (code) => fail(new Error(`the manager exited (${code}); see ${root}/manager.log`)))
  })
  return { proc, url: (JSON.parse(first) as { web_url: string }).web_url }
}

/** Stops a manager and waits until it has exited. */
export async function stopManager(proc: ChildProcess) {
  const exited = new Promise((ok) => (proc.exitCode !== null ? ok(null) : proc.once('exit', ok)))
  proc.kill('SIGTERM')
  await exited
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const root = mkdtempSync(join(tmpdir(), 'hyperagent-ui-e2e-'))
  const wheelhouse = execFileSync('bash', [join(REPO, 'scripts', 'wheelhouse-dir.sh')]).toString().trim()
  const agents = join(root, 'agents')
  for (const name of ['echo', 'bootstrapper', 'testrunner', 'codereview']) installAgent(agents, name, wheelhouse)
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
  const env = agentEnv()
  const { proc, url } = await startManager(root, config, agents, env)
  const cli = (...args: string[]) => execFileSync(BIN, ['--config', config, ...args], { env }).toString()
  cli('policy', 'allow', '--read', wheelhouse, '--agent', 'bootstrapper')
  process.env.HYPERAGENT_WEB_URL = url
  process.env.HYPERAGENT_E2E_ROOT = root
  process.env.HYPERAGENT_E2E_CONFIG = config
  return async () => {
    await stopManager(proc)
    // Each run makes ~250 MB (agents' venvs, projects); HYPERAGENT_E2E_KEEP=1 keeps them to read.
    if (process.env.HYPERAGENT_E2E_KEEP) console.log(`kept ${root} (manager.log, data, projects)`)
    else rmSync(root, { recursive: true, force: true })
  }
}
