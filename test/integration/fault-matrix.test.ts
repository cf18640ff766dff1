// "Nothing hangs": every workload, hit by every kind of wire fault at a
// chosen message, settles in time with a pgline error, leaves no unhandled
// rejection, and leaves its connection closed or usable, with the server
// still fine for a fresh connection. The faults come from the fault proxy
// (test/support/fault-proxy.ts) in front of the real server.
//
// A stalled wire (a black hole) has only one way out: the query timeout
// (a stream's or COPY's own timeout; connectTimeout at startup) sends a
// CancelRequest (or CopyFail), and when nothing
// comes back within `cancelGrace` the connection is closed and the query
// rejects. The matrix runs cells concurrently, so each cell waits on its own
// proxy and its own deadline; timings are never asserted, only "settled".
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, PglineError, type Connection, type ConnectionOptions } from '../../src/index.js'
import { startFaultProxy, type Fault, type FaultProxy, type FaultTarget } from '../support/fault-proxy.js'
import { testServer } from '../support/env.js'
import { connectAs, optionsFor, uniqueName, type Role } from './_util.js'

/** How long a cell may take before it counts as hung (far above timeout + grace). */
const DEADLINE_MS = 12_000
const STALL_TIMEOUT_MS = 1500
/** How long to wait after a CancelRequest before giving up on the connection. */
const GRACE = { cancelGrace: 400 }

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason)
}
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled)
})
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
})

class Hung extends Error {
  override name = 'Hung'
}

/** Races `p` against the deadline; a hang fails the cell with "hung: <what>". */
async function within<T>(what: string, p: Promise<T>, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Hung(`hung: ${what} did not settle within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([p, deadline])
  } finally {
    clearTimeout(timer)
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code
    return `${e.constructor.name}${code === undefined ? '' : ` (${String(code)})`}: ${e.message}`
  }
  return `non-Error ${typeof e}: ${String(e)}`
}

/** A rejection must be one of ours (ParameterError counts: it is a PglineError too), never a raw socket or type error. */
function expectTyped(e: unknown, what: string): void {
  if (e instanceof Hung) throw e
  if (!(e instanceof PglineError)) expect.fail(`${what} rejected with a foreign error: ${describeError(e)}`)
}

interface Ctx {
  /** A table (a int, b text) made beforehand on a direct connection. */
  table: string
  /** For a stall: the stream's or COPY's own timeout (queryTimeout does not apply to them). */
  timeout: number | undefined
}

/** A workload returns the promises it started; each must settle. */
interface Workload {
  name: string
  /** 'startup' workloads connect through the proxy themselves. */
  startup?: boolean
  needsTable?: boolean
  run(conn: Connection, ctx: Ctx): Promise<unknown>[]
}

async function* rowsOf(n: number): AsyncGenerator<unknown[]> {
  for (let i = 0; i < n; i++) yield [i, `row ${i} ${'x'.repeat(40)}`]
}

const WORKLOADS: Workload[] = [
  { name: 'simple query', run: (c) => [c.query('select 1 as n')] },
  { name: '10k-row result', run: (c) => [c.query("select g, repeat('x', 20) as s from generate_series(1, 10000) g")] },
  {
    name: 'implicit pipeline',
    run: (c) => Array.from({ length: 10 }, (_, i) => c.query('select $1::int as n', [i])),
  },
  {
    name: 'stream 10k rows',
    run: (c, ctx) => [
      (async () => {
        let n = 0
        for await (const _ of c.stream('select g from generate_series(1, 10000) g', [], { batchSize: 1000, timeout: ctx.timeout })) n++
        return n
      })(),
    ],
  },
  { name: 'copyFrom', needsTable: true, run: (c, ctx) => [c.copyFrom(`copy ${ctx.table} (a, b) from stdin`, rowsOf(20_000), { timeout: ctx.timeout })] },
  {
    name: 'copyTo',
    run: (c, ctx) => [
      (async () => {
        let n = 0
        for await (const _ of c.copyTo('copy (select g, md5(g::text) from generate_series(1, 10000) g) to stdout', { timeout: ctx.timeout }).rows()) n++
        return n
      })(),
    ],
  },
  {
    name: 'transaction',
    run: (c) => [
      c.transaction(async (tx) => {
        await tx.query('select 1 as n')
        const r = await tx.query('select g from generate_series(1, 2000) g')
        return r.rowCount
      }),
    ],
  },
  { name: 'SCRAM startup', startup: true, run: () => [] },
  {
    name: 'explicit pipeline',
    run: (c) => {
      const statements: Promise<unknown>[] = []
      // The callback runs synchronously up to its first await, so both statements exist on return.
      const all = c.pipeline(async (p) => {
        statements.push(p.query('select 1 as n'), p.query('select g from generate_series(1, 2000) g'))
        await p.sync()
        return Promise.all(statements)
      })
      return [all, ...statements]
    },
  },
  {
    name: 'close() during a query',
    run: (c) => {
      const q = c.query('select g from generate_series(1, 10000) g')
      return [q, c.close()]
    },
  },
]

interface Aim {
  label: string
  at: FaultTarget
  /** The statement is running on the server when the wire stalls: its timeout must send a CancelRequest. */
  running?: boolean
}

const D = (nth: number, offset = 0): Aim => ({
  label: `DataRow #${nth}${offset ? ` +${offset}B` : ''}`,
  at: { from: 'server', type: 'D', nth, offset },
  running: true,
})
// Counted from the connection's start: ReadyForQuery #1 ends the startup,
// and a statement's first run describes it (its RowDescription is T #1)
// before it executes.
const T1: Aim = { label: 'first RowDescription', at: { from: 'server', type: 'T' } }

/** Where each workload is hit: messages it surely exchanges, found from a trace of a clean run. */
const AIMS: Record<string, Aim[]> = {
  'simple query': [T1, { label: 'client Bind', at: { from: 'client', type: 'B' } }, D(1)],
  '10k-row result': [D(3, 7), D(5000), { label: 'CommandComplete', at: { from: 'server', type: 'C' } }],
  'implicit pipeline': [T1, D(4, 2), { label: 'ReadyForQuery #5', at: { from: 'server', type: 'Z', nth: 5 } }],
  'stream 10k rows': [D(3, 7), D(2500), { label: 'PortalSuspended #2', at: { from: 'server', type: 's', nth: 2 }, running: true }],
  copyFrom: [
    { label: 'CopyInResponse', at: { from: 'server', type: 'G' }, running: true },
    { label: 'client CopyData #2 +100B', at: { from: 'client', type: 'd', nth: 2, offset: 100 }, running: true },
    { label: 'client CopyDone', at: { from: 'client', type: 'c' }, running: true },
  ],
  copyTo: [
    { label: 'CopyOutResponse', at: { from: 'server', type: 'H' }, running: true },
    { label: 'CopyData #3 +5B', at: { from: 'server', type: 'd', nth: 3, offset: 5 }, running: true },
    { label: 'CopyData #5000', at: { from: 'server', type: 'd', nth: 5000 }, running: true },
  ],
  transaction: [
    { label: 'BEGIN ReadyForQuery', at: { from: 'server', type: 'Z', nth: 2 } },
    D(1000, 3),
    { label: 'last ReadyForQuery (COMMIT)', at: { from: 'server', type: 'Z', nth: -1 } },
  ],
  'SCRAM startup': [
    { label: 'AuthenticationSASLContinue', at: { from: 'server', type: 'R', code: 11 } },
    { label: 'client SASLResponse', at: { from: 'client', type: 'p', nth: 2, offset: 10 } },
    { label: 'AuthenticationSASLFinal', at: { from: 'server', type: 'R', code: 12 } },
    { label: 'BackendKeyData', at: { from: 'server', type: 'K' } },
    { label: 'startup ReadyForQuery', at: { from: 'server', type: 'Z' } },
  ],
  'explicit pipeline': [T1, D(500, 4), { label: 'the Sync ReadyForQuery', at: { from: 'server', type: 'Z', nth: 2 } }],
  'close() during a query': [D(3, 7), { label: 'client Terminate', at: { from: 'client', type: 'X' } }],
}

const FAULTS: Fault[] = ['cut', 'reset', 'half-close', 'stall', 'corrupt-type', 'corrupt-length']

/**
 * Connection options through the proxy: plaintext (the proxy must read it),
 * and for a stall the timeouts that are its only way out (a short
 * connectTimeout only when the stall is in the startup).
 */
function viaProxy(proxy: FaultProxy, role: Role, stall: boolean, startup = false): ConnectionOptions {
  const base = optionsFor(role, { port: proxy.port, tls: 'disable', connectTimeout: stall && startup ? STALL_TIMEOUT_MS : 10_000 })
  return stall ? { ...base, queryTimeout: STALL_TIMEOUT_MS, ...GRACE } : base
}

/** Settles every promise (each within the deadline) and checks that each rejection is typed. */
async function settleAll(what: string, promises: Promise<unknown>[]): Promise<PromiseSettledResult<unknown>[]> {
  const results = await within(what, Promise.allSettled(promises))
  results.forEach((r, i) => {
    if (r.status === 'rejected') expectTyped(r.reason, `${what} [${i}]`)
  })
  return results
}

/** The server is still fine: a fresh connection straight to it (no proxy) runs a query. */
async function serverStillFine(): Promise<void> {
  const direct = await within('a fresh direct connect', connectAs('scram'))
  try {
    const r = await within('a query on a fresh direct connection', direct.query('select 1 as n'))
    expect(r.rows).toEqual([{ n: 1 }])
  } finally {
    await direct.close()
  }
}

interface CellOptions {
  workload: Workload
  fault: Fault
  aim: Aim
  cancel?: 'forward' | 'stall'
  stall?: 'discard' | 'pause'
}

async function runCell({ workload, fault, aim, cancel, stall }: CellOptions): Promise<void> {
  const stalls = fault === 'stall'
  let table = ''
  if (workload.needsTable) {
    table = uniqueName('fault_copy')
    const admin = await connectAs('scram')
    await admin.query(`create table ${table} (a int, b text)`)
    await admin.close()
  }
  // nth: -1 means "the last one": found from a clean run's count.
  const at = aim.at.nth === -1 ? { ...aim.at, nth: await countMessages(workload, aim.at) } : aim.at
  const proxy = await startFaultProxy({ fault, at, cancel, stall, host: testServer().host, port: testServer().port })
  let conn: Connection | undefined
  try {
    const role: Role = 'scram'
    if (workload.startup) {
      const [r] = await settleAll('connect()', [connect(viaProxy(proxy, role, stalls, true))])
      if (r!.status === 'fulfilled') conn = r.value as Connection
    } else {
      conn = await within('connect()', connect(viaProxy(proxy, role, stalls)))
      await settleAll(workload.name, workload.run(conn, { table, timeout: stalls ? STALL_TIMEOUT_MS : undefined }))
    }
    expect(proxy.fired, 'the fault never fired: the aim misses this workload').toBe(1)
    if (stalls && aim.running) expect(proxy.cancels, 'the timeout sent no CancelRequest').toBeGreaterThanOrEqual(1)
    if (conn !== undefined && !conn.closed) {
      // Still open: then it must work.
      const r = await within('a query on the surviving connection', conn.query('select 2 as n'))
      expect(r.rows).toEqual([{ n: 2 }])
    }
    if (conn !== undefined) await within('close()', conn.close())
    await serverStillFine()
  } finally {
    conn?.terminate()
    await proxy.close()
    if (table) {
      const admin = await connectAs('scram')
      await admin.query(`drop table if exists ${table}`)
      await admin.close()
    }
  }
}

/** How many messages matching `at` a clean run of the workload exchanges. */
async function countMessages(workload: Workload, at: FaultTarget): Promise<number> {
  const proxy = await startFaultProxy({ fault: 'none', trace: true, host: testServer().host, port: testServer().port })
  try {
    const conn = await connect(viaProxy(proxy, 'scram', false))
    await Promise.all(workload.run(conn, { table: '', timeout: undefined }))
    await conn.close()
    const want = `1 ${at.from} ${at.type}${at.code === undefined ? '' : `:${at.code}`}`
    // close() adds only a Terminate, which has no reply: the count is the workload's own.
    return proxy.trace.filter((t) => t === want || t.startsWith(`${want}:`)).length
  } finally {
    await proxy.close()
  }
}

describe.concurrent('fault matrix', () => {
  for (const workload of WORKLOADS) {
    describe(workload.name, () => {
      for (const aim of AIMS[workload.name]!) {
        for (const fault of FAULTS) {
          it(`${fault} at ${aim.label}`, () => runCell({ workload, fault, aim }))
        }
      }
      // The way out of a black hole must not depend on the cancel getting through,
      // nor on the client's writes still being taken.
      const aims = AIMS[workload.name]!
      const hit = aims.find((a) => a.running) ?? aims[0]!
      it(`stall at ${hit.label}, CancelRequest black-holed too`, () => runCell({ workload, fault: 'stall', aim: hit, cancel: 'stall' }))
      it(`stall (paused sockets) at ${hit.label}`, () => runCell({ workload, fault: 'stall', aim: hit, stall: 'pause' }))
    })
  }
})

describe('fault matrix: afterwards', () => {
  it('saw no unhandled rejection', () => {
    expect(unhandled.map(describeError)).toEqual([])
  })
})
