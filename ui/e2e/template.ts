// A copier template of the person's own for the browser specs: a git repository made with real
// git in a temp folder, one commit and release tag per version, which the bootstrapper is allowed
// to read (as the person would allow it with `hyperagent policy allow --read`).
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN } from './manager.ts'

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.org',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.org',
}

/** Runs git in `cwd` as a person with a name and email; its output. */
export const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: GIT_ENV }).toString()

/** Files of one version of the template: path -> text. */
export type Files = Record<string, string>

/** The first version of a small template: a `name` question, its answers file, a README, a setting. */
export const V1: Files = {
  'copier.yml': 'name:\n  type: str\n  default: demo\n',
  '{{_copier_conf.answers_file}}.jinja': '{{ _copier_answers|to_nice_yaml }}',
  'README.md.jinja': '# {{ name }}\n\na\nb\nc\nd\ne\nend v1\n',
  'settings.txt': 'level = 1\n',
}

/** Its second: the README's last line and the setting changed, a file added. */
export const V2: Files = {
  'README.md.jinja': '# {{ name }}\n\na\nb\nc\nd\ne\nend v2\n',
  'settings.txt': 'level = 2\n',
  'new.txt': 'new\n',
}

/** A template repository in a new temp folder with `V1` tagged v1.0.0; the bootstrapper may read it. */
export function templateRepo(): string {
  const src = join(mkdtempSync(join(tmpdir(), 'hyperagent-template-')), 'service')
  mkdirSync(src)
  git(src, 'init', '-q', '-b', 'main')
  release(src, 'v1.0.0', V1)
  execFileSync(BIN, ['--config', process.env.HYPERAGENT_E2E_CONFIG!, 'policy', 'allow', '--read', src, '--agent', 'bootstrapper'])
  return src
}

/** Writes `files` over the template and commits them as release `tag`. */
export function release(src: string, tag: string, files: Files) {
  for (const [path, text] of Object.entries(files)) writeFileSync(join(src, path), text)
  git(src, 'add', '-A')
  git(src, 'commit', '-q', '-m', tag)
  git(src, 'tag', tag)
}
