import { spawn } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
// Opens pgline connections to the test server as one of its roles.
import { connect, type Connection, type ConnectionOptions } from '../../src/index.js'
import { testServer } from '../support/env.js'

export type Role = 'superuser' | 'trust' | 'password' | 'md5' | 'scram'

export function optionsFor(role: Role = 'scram', extra: ConnectionOptions = {}): ConnectionOptions {
  const s = testServer()
  const r = role === 'superuser' ? s.superuser : s.roles[role]
  // The 'password' role is the one that sends a cleartext password: allowed here on loopback on purpose.
  const cleartext = role === 'password' ? { allowCleartextPassword: true } : {}
  return { host: s.host, port: s.port, database: s.database, user: r.user, password: r.password, ...cleartext, ...extra }
}

export function connectAs(role: Role = 'scram', extra: ConnectionOptions = {}): Promise<Connection> {
  return connect(optionsFor(role, extra))
}

/** A table name unique to this test run, so tests in parallel files don't collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
}

/** What a script run by runScript() did. */
export interface ScriptOutcome {
  code: number | null
  /** Still running after the limit, so it was killed: a hang. */
  killed: boolean
  stdout: string
  stderr: string
}

/** The driver's source as a script may import it. */
export const SRC_URL = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href

/**
 * Runs an ES module script (TypeScript welcome, through tsx) in a process of
 * its own and reports how it ended; killed after `killAfterMs`, so a hang is
 * a failure rather than a stuck run. `env` is added to this process's.
 */
export function runScript(script: string, env: Record<string, string> = {}, killAfterMs = 20_000): Promise<ScriptOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let killed = false
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, killAfterMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, killed, stdout, stderr })
    })
  })
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Waits until `cond()` holds, checking every 10 ms; throws naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await cond()) return
    await sleepMs(10)
  }
  throw new Error(`timed out waiting until ${what}`)
}
