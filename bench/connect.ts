// Connection set-up: open a connection over TCP, run its first query
// (`select 1`), close it, again and again, one at a time. connect-scram logs
// in as a role authenticated with SCRAM-SHA-256 (4096 PBKDF2 iterations, the
// server's default), connect-trust as one the server lets in without a
// password exchange; the difference is what SCRAM costs. The embedded server
// has both roles (test/support/provision.ts); with $DATABASE_URL only
// connect-scram runs, as that URL's role, whatever its pg_hba method is.
//
// The rate is whole cycles per second (connect, first query, close); the
// metric column is the median time from starting to connect to the first
// query's result. The C ceiling is pgbench -C (a new libpq connection per
// transaction) running the same `select 1`.

import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import postgres from 'postgres'
import { connect } from '../src/index.js'
import type { Contender, Env, Logins, Workload } from './contenders.js'
import type { BenchTarget } from './drivers.js'
import { runPgbenchConnect } from './pgbench.js'
import { medianOf } from './stats.js'

const SQL = 'select 1'

/** Opens one connection and runs the first query; resolves to the function that closes it. */
type Cycle = (t: BenchTarget) => Promise<() => Promise<unknown>>

/** Untimed cycles each contender runs when it opens: module loading, JIT, the first TCP handshakes. */
const WARM_UP = 20

/**
 * A contender that runs whole cycles back to back for about `ms`:
 * connections per second, and the median set-up time (connect + first query)
 * as the 'setup' metric.
 */
function cycleContender(label: string, t: BenchTarget, cycle: Cycle): Contender {
  return {
    label,
    async open() {
      for (let k = 0; k < WARM_UP; k++) await (await cycle(t))()
      return {
        measure: async (ms) => {
          const setups: number[] = []
          const start = performance.now()
          let now = start
          do {
            const t0 = performance.now()
            const close = await cycle(t)
            setups.push(performance.now() - t0)
            await close()
            now = performance.now()
          } while (now - start < ms)
          return { perSecond: setups.length / ((now - start) / 1000), metrics: { setup: medianOf(setups).median } }
        },
        close: async () => {},
      }
    },
  }
}

function contenders(env: Env, t: BenchTarget): Contender[] {
  const list: Contender[] = [
    cycleContender('pgline', t, async (t) => {
      const conn = await connect(t)
      await conn.query(SQL)
      return () => conn.close()
    }),
    // pgline, like libpq, defaults to sslmode=prefer: one SSLRequest round
    // trip before the startup even when the server has no TLS. pg asks for
    // no TLS unless told to, so this row is the like-for-like one.
    cycleContender('pgline (sslmode=disable)', t, async (t) => {
      const conn = await connect({ ...t, tls: 'disable' })
      await conn.query(SQL)
      return () => conn.close()
    }),
    cycleContender('pg', t, async (t) => {
      const client = new pg.Client(t)
      await client.connect()
      await client.query(SQL)
      return () => client.end()
    }),
    // postgres.js connects on the first query, and every new connection first
    // asks the server for its array types unless fetch_types is false.
    cycleContender('postgres.js', t, async (t) => {
      const sql = postgres({ ...t, username: t.user, max: 1, onnotice: () => {} })
      await sql.unsafe(SQL)
      return () => sql.end()
    }),
    cycleContender('postgres.js (fetch_types: false)', t, async (t) => {
      const sql = postgres({ ...t, username: t.user, max: 1, fetch_types: false, onnotice: () => {} })
      await sql.unsafe(SQL)
      return () => sql.end()
    }),
  ]
  const native = env.pgNative
  if (native) {
    list.push(
      cycleContender('pg-native', t, async (t) => {
        const client = await native(t)
        await client.query(SQL, [])
        return () => client.end()
      }),
    )
  }
  const bench = env.pgbench
  if (bench) {
    list.push({
      label: 'C ceiling: pgbench -C',
      async open() {
        const file = path.join(env.tmpDir, `connect-${t.user}.sql`)
        await writeFile(file, `${SQL};\n`)
        return {
          measure: async (ms) => {
            const r = await runPgbenchConnect(bench, t, file, ms, env.clientCpu)
            return { perSecond: r.perSecond, ...(r.connectMs !== undefined ? { metrics: { pgbenchConnect: r.connectMs } } : {}) }
          },
          close: () => rm(file, { force: true }),
        }
      },
    })
  }
  return list
}

function connectWorkload(name: string, method: 'SCRAM-SHA-256' | 'trust', role: (l: Logins | undefined) => BenchTarget | undefined): Workload {
  return {
    name,
    group: 'connect',
    title: (env) => {
      const t = role(env.logins)
      return `open a TCP connection as ${t ? `role ${t.user}` : 'a role'} (${method}), run \`${SQL}\`, close it; one at a time`
    },
    unit: 'connections/s',
    perCall: 1,
    tables: [],
    skip: (env) => (role(env.logins) ? undefined : `no ${method} role: ${env.logins?.note ?? 'the server has none'}`),
    contenders: (env) => contenders(env, role(env.logins)!),
    extra: { header: 'ms per cycle', value: (perSecond) => (1000 / perSecond).toFixed(2) },
    metrics: [
      { key: 'setup', header: 'ms connect + first query', of: 'median', digits: 2 },
      { key: 'pgbenchConnect', header: 'ms connect (pgbench\'s own)', of: 'median', digits: 2 },
    ],
    notes: (env) => [
      ...(env.logins?.note ? [env.logins.note] : []),
      'A cycle is connect (TCP, startup, authentication, until ReadyForQuery), the first query and close; the rate counts whole cycles, the set-up column the part up to the first query\'s result (median over the cycles of a sample).',
      ...(method === 'SCRAM-SHA-256'
        ? ['pgline caches the PBKDF2 derivation per (password, salt, iterations) (src/auth/scram.ts), so only its first connection pays the 4096 iterations; pg, postgres.js and libpq derive it on every connection.']
        : []),
      'pgbench -C opens a new libpq connection per transaction (simple protocol) and counts connecting and disconnecting in its rate; its own column is its average connection time, which excludes the query.',
      ...(env.pgNative ? [] : ['pg-native skipped: not installed.']),
    ],
  }
}

export const connectWorkloads: Workload[] = [
  connectWorkload('connect-scram', 'SCRAM-SHA-256', (l) => l?.scram),
  connectWorkload('connect-trust', 'trust', (l) => l?.trust),
]
