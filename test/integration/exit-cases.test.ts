// "The process exited with code 13 in the middle of my script": Node ends a
// process whose event loop went empty while a top-level await was still
// pending, i.e. a promise of ours that nothing will ever settle. Each case
// runs as its own small script (node --import tsx, importing src/ by path)
// that must print REACHED END and exit 0 by itself; a hard kill turns a
// hang into a failure instead of a stuck run.
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js'
import { testServer } from '../support/env.js'
import { connectAs, optionsFor, uniqueName } from './_util.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SRC = pathToFileURL(path.join(ROOT, 'src/index.ts')).href
const CONFIG = pathToFileURL(path.join(ROOT, 'src/config/config.ts')).href
const KILL_AFTER_MS = 20_000

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pgline-exit-'))
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

interface Outcome {
  code: number | null
  signal: NodeJS.Signals | null
  killed: boolean
  stdout: string
  stderr: string
  ms: number
}

/** What every script starts with: the driver, its options from the parent, and a check for typed errors. */
const PRELUDE = `
import { connect, Pool, PglineError, ConnectionError, InterfaceError } from ${JSON.stringify(SRC)}
const opts = JSON.parse(process.env.PGLINE_SCRIPT_OPTS)
// What still keeps the process alive once the script's own work is done: beyond stdio, nothing should.
async function nothingLeft(what) {
  await new Promise((r) => setTimeout(r, 50)) // let destroyed sockets release their handles
  const left = process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap')
  if (left.length > 0) {
    console.log('LINGERING after ' + what + ': ' + left.join(','))
    process.exitCode = 7
  }
}
function typed(e, what) {
  if (e instanceof PglineError) return e
  console.log('UNTYPED', what, e && e.constructor && e.constructor.name, e && e.code, e && e.message)
  process.exit(2)
}
`

async function runScript(name: string, body: string, extra: Record<string, unknown> = {}, env: Record<string, string | undefined> = {}): Promise<Outcome> {
  const file = path.join(dir, `${name}.mjs`)
  await writeFile(file, PRELUDE + body + "\nconsole.log('REACHED END')\n")
  const opts = { ...optionsFor('scram'), ...extra }
  const t0 = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT,
      env: { ...process.env, ...env, PGLINE_SCRIPT_OPTS: JSON.stringify(opts) },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    let killed = false
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, KILL_AFTER_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, killed, stdout, stderr, ms: Date.now() - t0 })
    })
  })
}

/** Exit 0 with the marker; otherwise say which way it went wrong. */
function expectClean(o: Outcome): void {
  // What the script saw (which way a transaction settled, ...) is worth a line in the log.
  console.log(`${o.stdout.trim().split('\n').join(' | ')} (${o.ms} ms)`)
  const out = `\n--- stdout\n${o.stdout}--- stderr\n${o.stderr.slice(-3000)}`
  if (o.killed) expect.fail(`hung: still running after ${KILL_AFTER_MS} ms, killed${out}`)
  if (o.code === 13) expect.fail(`exit code 13: the event loop emptied while a top-level await was pending (a promise never settled)${out}`)
  if (o.code === 2) expect.fail(`a rejection was not a PglineError${out}`)
  if (o.code === 7) expect.fail(`exits only late: sockets or timers outlived the work (the process stays up until they end)${out}`)
  expect(o.code, `exit code${out}`).toBe(0)
  expect(o.stdout, out).toContain('REACHED END')
}

describe.concurrent('scripts that must run to their end', () => {
  it('(a) close() twice in a row', async () => {
    const o = await runScript(
      'close-twice',
      `
const conn = await connect(opts)
await conn.query('select 1')
await conn.close()
await conn.close()
`,
    )
    expectClean(o)
  })

  it('(b) close() twice at once, after asyncDispose, and again in finally', async () => {
    const o = await runScript(
      'close-concurrent',
      `
const conn = await connect(opts)
try {
  await conn.query('select 1')
  await conn[Symbol.asyncDispose]()
  await Promise.all([conn.close(), conn.close()])
} finally {
  await conn.close()
}
// And with a query still in flight when both closes come.
const c2 = await connect(opts)
const q = c2.query('select pg_sleep(0.1) as s')
await Promise.all([c2.close(), c2.close(), q])
await c2.close()
`,
    )
    expectClean(o)
  })

  it('(c) close() lets a query already sent finish', async () => {
    const o = await runScript(
      'close-lets-query-finish',
      `
const conn = await connect(opts)
const q = conn.query('select pg_sleep(0.3) as s, 7 as n')
await conn.close()
const r = await q
if (r.rows[0].n !== 7) { console.log('WRONG RESULT', JSON.stringify(r.rows)); process.exit(3) }
console.log('query resolved')
`,
    )
    expectClean(o)
    expect(o.stdout).toContain('query resolved')
  })

  it('(d) close() from outside while a transaction runs: both settle', async () => {
    const o = await runScript(
      'close-during-transaction',
      `
const conn = await connect(opts)
let started
const inside = new Promise((r) => (started = r))
const tx = conn.transaction(async (t) => {
  await t.query('select 1')
  started()
  await new Promise((r) => setTimeout(r, 50))
  await t.query('select pg_sleep(0.1)')
  return 'committed'
})
await inside
const closing = conn.close() // not awaited yet
const outcome = await tx.then((v) => 'resolved: ' + v, (e) => 'rejected: ' + typed(e, 'transaction').constructor.name + ': ' + e.message)
console.log('transaction', outcome)
await closing
console.log('close resolved')
`,
    )
    expectClean(o)
    expect(o.stdout).toContain('close resolved')
  })

  it('(e) terminate() under a COPY writer waiting for drain: every write settles with ConnectionError', async () => {
    const table = uniqueName('exit_copy')
    const admin = await connectAs('scram')
    await admin.query(`create table ${table} (a int, b text)`)
    // The proxy stops reading at the first CopyData, so the writer surely ends up waiting for 'drain'.
    const { host, port } = testServer()
    const proxy = await startFaultProxy({ fault: 'stall', stall: 'pause', at: { from: 'client', type: 'd' }, host, port })
    try {
      const o = await runScript(
        'terminate-during-copy',
        `
const conn = await connect(opts)
const w = await conn.copyFrom('copy ${table} (a, b) from stdin')
const chunk = ('1\\t' + 'x'.repeat(1000) + '\\n').repeat(1000)
const writes = []
let waiting = false
for (let i = 0; i < 500 && !waiting; i++) {
  const p = w.write(chunk)
  writes.push(p)
  const state = await Promise.race([p.then(() => 'done', () => 'failed'), new Promise((r) => setTimeout(() => r('pending'), 20))])
  if (state === 'failed') break
  waiting = state === 'pending'
}
console.log('a write was waiting for drain:', waiting, 'after', writes.length, 'writes')
writes.push(w.write('2\\ty\\n'))
conn.terminate()
writes.push(w.write('3\\tz\\n'))
const settled = await Promise.allSettled(writes)
const pendingFrom = writes.length - 3
settled.forEach((s, i) => {
  if (s.status === 'rejected') {
    typed(s.reason, 'write ' + i)
    if (!(s.reason instanceof ConnectionError)) { console.log('NOT A ConnectionError', i, s.reason.constructor.name, s.reason.message); process.exit(4) }
  } else if (i >= pendingFrom) { console.log('write', i, 'pending at terminate resolved'); process.exit(4) }
})
console.log('last writes:', settled.slice(pendingFrom).map((s) => s.status + ' ' + (s.reason?.message ?? '')).join('; '))
const end = await w.end().then(() => 'resolved', (e) => typed(e, 'end').constructor.name)
console.log('end():', end)
`,
        { port: proxy.port, tls: 'disable' },
      )
      expectClean(o)
      expect(o.stdout).toContain('a write was waiting for drain: true')
    } finally {
      await proxy.close()
      await admin.query(`drop table if exists ${table}`)
      await admin.close()
    }
  })

  it('(f) connect() to a server that never answers: a finite default, and an explicit connectTimeout ends it', async () => {
    const o = await runScript(
      'connect-silent-server',
      `
import net from 'node:net'
import { resolveConfig } from ${JSON.stringify(CONFIG)}
const sockets = []
const silent = net.createServer((s) => { sockets.push(s); s.on('error', () => {}) })
await new Promise((r) => silent.listen(0, '127.0.0.1', r))
const port = silent.address().port
const dflt = resolveConfig({ host: '127.0.0.1', port, user: 'u', database: 'd' }).connectTimeout
console.log('default connectTimeout', dflt)
if (!(dflt > 0 && Number.isFinite(dflt))) { console.log('NO FINITE DEFAULT connectTimeout'); process.exit(5) }
const err = await connect({ host: '127.0.0.1', port, user: 'u', database: 'd', tls: 'disable', connectTimeout: 300 }).then(
  () => { console.log('CONNECTED?'); process.exit(5) },
  (e) => typed(e, 'connect'),
)
if (!(err instanceof ConnectionError)) { console.log('NOT A ConnectionError', err.constructor.name); process.exit(5) }
console.log('connect rejected:', err.message)
for (const s of sockets) s.destroy()
silent.close()
`,
      {},
      // The finite default must not come from the environment.
      { PGCONNECT_TIMEOUT: undefined },
    )
    expectClean(o)
  })

  describe('against a stalled proxy', () => {
    let proxy: FaultProxy
    let blackHole: FaultProxy
    beforeAll(async () => {
      const { host, port } = testServer()
      // Startup and the statement's description go through; its first row falls into a black hole.
      proxy = await startFaultProxy({ fault: 'stall', at: { from: 'server', type: 'D' }, host, port })
      blackHole = await startFaultProxy({ fault: 'stall', at: { from: 'server', type: 'D' }, cancel: 'stall', host, port })
    })
    afterAll(async () => {
      await proxy?.close()
      await blackHole?.close()
    })

    const through = (p: FaultProxy): Record<string, unknown> => ({ port: p.port, tls: 'disable', cancelGrace: 300 })

    it('(g) a query with timeout on a plain connection, never closed: rejects, and the process exits by itself', async () => {
      const o = await runScript(
        'stalled-connection',
        `
const conn = await connect(opts)
const err = await conn.query('select 1 as n', [], { timeout: 400 }).then(() => { console.log('RESOLVED?'); process.exit(6) }, (e) => typed(e, 'query'))
console.log('query rejected:', err.constructor.name, err.message)
await nothingLeft('the query settled')
`,
        through(proxy),
      )
      expectClean(o)
    })

    it('(g) a pool query with timeout, then pool.close()', async () => {
      const o = await runScript(
        'stalled-pool',
        `
const pool = new Pool(opts, { max: 2 })
const err = await pool.query('select 1 as n', [], { timeout: 400 }).then(() => { console.log('RESOLVED?'); process.exit(6) }, (e) => typed(e, 'pool.query'))
console.log('pool.query rejected:', err.constructor.name, err.message)
await pool.close({ timeout: 1000 })
await nothingLeft('pool.close()')
`,
        through(proxy),
      )
      expectClean(o)
    })

    it('(g) a pool query with timeout, pool never closed: the process exits by itself', async () => {
      const o = await runScript(
        'stalled-pool-unclosed',
        `
const pool = new Pool(opts, { max: 2 })
const err = await pool.query('select 1 as n', [], { timeout: 400 }).then(() => { console.log('RESOLVED?'); process.exit(6) }, (e) => typed(e, 'pool.query'))
console.log('pool.query rejected:', err.constructor.name, err.message)
`,
        through(proxy),
      )
      expectClean(o)
    })

    it('(g) a query with timeout when the CancelRequest is black-holed too', async () => {
      const o = await runScript(
        'stalled-cancel-too',
        `
const conn = await connect(opts)
const err = await conn.query('select 1 as n', [], { timeout: 400 }).then(() => { console.log('RESOLVED?'); process.exit(6) }, (e) => typed(e, 'query'))
console.log('query rejected:', err.constructor.name, err.message)
await conn.close()
await nothingLeft('close()')
`,
        through(blackHole),
      )
      expectClean(o)
      expect(blackHole.cancels, 'the CancelRequest never reached the black hole').toBeGreaterThanOrEqual(1)
    })
  })
})
