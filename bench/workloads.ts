// The per-query workloads (point selects, pipelines, inserts, lookups) and
// the pool, then connection set-up (connect.ts), the bulk ones (bulk.ts: wide
// reads, streaming, cursors, COPY) and the sync API's (sync.ts). The harness
// (run.ts) runs them in this order.

import { BIG, USERS } from './data.js'
import { BIG_LOOKUP, explicitPipeline, INSERT, openPgline, POINT_SELECT } from './drivers.js'
import { bulkWorkloads } from './bulk.js'
import { ormWorkloads } from './orm.js'
import { connectWorkloads } from './connect.js'
import {
  idStream,
  pgbenchContender,
  pgContender,
  pglineContender,
  pglinePgContender,
  pgNativeContender,
  postgresJsContender,
  sequential,
  times,
  type Workload,
} from './contenders.js'
import type { PgNativeQuery } from './pg-native.js'
import { syncWorkloads } from './sync.js'
import pg from 'pg'
import postgres from 'postgres'
import { Pool } from '../src/index.js'
import * as pglinePg from '../src/pg/index.js'
import type { BenchTarget } from './drivers.js'
import type { Contender } from './contenders.js'

export type { Contender, Env, Measurement, MetricColumn, ResultRow, SampleContext, Sampler, Workload } from './contenders.js'

/** Ids for inserts: never reused in a run, so no sample can collide with an earlier one. */
let nextInsertId = 1
function insertIds(n: number): number[] {
  const first = nextInsertId
  nextInsertId += n
  return times(n, (k) => first + k)
}

/**
 * pg running `n` executions of a named statement at once, ids drawn from
 * 1..rows: queued one after another, and in pg 8.23's pipeline mode
 * (`pipeline: true`: written without waiting for earlier results).
 */
function pgNamedAtOnce(name: string, text: string, rows: number, n: number): Contender[] {
  const make = (client: pg.Client) => {
    const id = idStream(rows)
    return () => Promise.all(times(n, () => client.query({ name, text, values: [id()] })))
  }
  return [pgContender('pg (named statement)', make), pgContender('pg (pipeline: true, named statement)', make, { pipeline: true })]
}

// ---- the workloads ---------------------------------------------------------

const IN_FLIGHT = 100
const INSERTS = 1000
const LOOKUPS = 1000

const pointSelectPgbench = `\\set id random(1, ${USERS})\n${POINT_SELECT.replace('$1', ':id')};\n`
const inFlightPgbench = [
  ...times(IN_FLIGHT, (k) => `\\set id${k} random(1, ${USERS})`),
  '\\startpipeline',
  ...times(IN_FLIGHT, (k) => `${POINT_SELECT.replace('$1', `:id${k}`)};`),
  '\\endpipeline',
  '',
].join('\n')

const secondsPer1000 = { header: 's per 1000', value: (perSecond: number) => (1000 / perSecond).toFixed(3) }

const perQueryWorkloads: Workload[] = [
  {
    name: 'point-select',
    title: 'sequential point select by primary key on a 100k-row table',
    unit: 'queries/s',
    perCall: 1,
    tables: ['users'],
    contenders: (env) => [
      pglineContender('pgline', (conn) => {
        const id = idStream(USERS)
        return () => conn.query(POINT_SELECT, [id()])
      }),
      pgContender('pg', (client) => {
        const id = idStream(USERS)
        return () => client.query(POINT_SELECT, [id()])
      }),
      pgContender('pg (named statement)', (client) => {
        const id = idStream(USERS)
        return () => client.query({ name: 'point_select', text: POINT_SELECT, values: [id()] })
      }),
      pglinePgContender('pgline/pg', (client) => {
        const id = idStream(USERS)
        return () => client.query(POINT_SELECT, [id()])
      }),
      pglinePgContender('pgline/pg (named statement)', (client) => {
        const id = idStream(USERS)
        return () => client.query({ name: 'point_select', text: POINT_SELECT, values: [id()] })
      }),
      postgresJsContender('postgres.js', (sql) => {
        const id = idStream(USERS)
        return () => sql`select id, name, email, created_at from users where id = ${id()}`
      }),
      ...pgNativeContender(env, 'pg-native', async (client) => {
        const id = idStream(USERS)
        return () => client.query(POINT_SELECT, [String(id())])
      }),
      ...pgNativeContender(env, 'pg-native (named)', async (client) => {
        await client.prepare('point_select', POINT_SELECT, 1)
        const id = idStream(USERS)
        return () => client.execute('point_select', [String(id())])
      }),
      ...pgbenchContender(env, 'C ceiling: pgbench -M prepared', pointSelectPgbench, 1),
    ],
  },
  {
    name: 'in-flight-100',
    title: `${IN_FLIGHT} point selects in flight on one connection, awaited together`,
    unit: 'queries/s',
    perCall: IN_FLIGHT,
    tables: ['users'],
    contenders: (env) => [
      pglineContender('pgline', (conn) => {
        const id = idStream(USERS)
        return () => Promise.all(times(IN_FLIGHT, () => conn.query(POINT_SELECT, [id()])))
      }),
      // One Sync for the hundred, as pgbench's \startpipeline ... \endpipeline does
      // (implicit pipelining keeps a Sync per query so errors stay apart).
      pglineContender('pgline (explicit pipeline)', (conn) => {
        const id = idStream(USERS)
        return () => conn.pipeline((p) => Promise.all(times(IN_FLIGHT, () => p.query(POINT_SELECT, [id()]))))
      }),
      pgContender('pg', (client) => {
        const id = idStream(USERS)
        return () => Promise.all(times(IN_FLIGHT, () => client.query(POINT_SELECT, [id()])))
      }),
      pglinePgContender('pgline/pg', (client) => {
        const id = idStream(USERS)
        return () => Promise.all(times(IN_FLIGHT, () => client.query(POINT_SELECT, [id()])))
      }),
      ...pgNamedAtOnce('point_select', POINT_SELECT, USERS, IN_FLIGHT),
      postgresJsContender('postgres.js', (sql) => {
        const id = idStream(USERS)
        return () => Promise.all(times(IN_FLIGHT, () => sql`select id, name, email, created_at from users where id = ${id()}`))
      }),
      ...pgNativeContender(env, 'pg-native (libpq pipeline)', async (client) => {
        const pipeline = client.pipeline
        if (!pipeline) return undefined
        const id = idStream(USERS)
        return () => pipeline(times(IN_FLIGHT, (): PgNativeQuery => ({ text: POINT_SELECT, values: [String(id())] })))
      }),
      ...pgbenchContender(env, `C ceiling: pgbench pipeline of ${IN_FLIGHT}`, inFlightPgbench, IN_FLIGHT, 14),
    ],
  },
  {
    name: 'pipeline-insert',
    title: `${INSERTS} single-row inserts into an emptied table, one connection`,
    unit: 'rows/s',
    perCall: INSERTS,
    tables: ['bench_ins'],
    beforeSample: (admin) => admin.query('truncate bench_ins'),
    contenders: (env) => [
      {
        // The explicit pipeline when this pgline has one; otherwise the implicit one, labelled so.
        label: 'pgline (pipeline)',
        async open(t) {
          const conn = await openPgline(t)
          const pipeline = await explicitPipeline(conn)
          if (typeof pipeline === 'string') {
            console.log(`pipeline-insert: ${pipeline}; pgline runs Promise.all of conn.query instead ('pgline (implicit)')`)
            return {
              label: 'pgline (implicit)',
              call: () => Promise.all(insertIds(INSERTS).map((id) => conn.query(INSERT, [id, `v${id}`]))),
              close: () => conn.close(),
            }
          }
          return {
            call: () =>
              pipeline(async (p) => {
                const done = insertIds(INSERTS).map((id) => p.query(INSERT, [id, `v${id}`]))
                await p.sync()
                await Promise.all(done)
              }),
            close: () => conn.close(),
          }
        },
      },
      {
        // Shown beside the explicit pipeline; dropped when it is already the fallback above.
        label: 'pgline (implicit)',
        async open(t) {
          const conn = await openPgline(t)
          if (typeof (await explicitPipeline(conn)) === 'string') {
            await conn.close()
            return { close: async () => {} } // no call: the harness leaves this row out
          }
          return {
            call: () => Promise.all(insertIds(INSERTS).map((id) => conn.query(INSERT, [id, `v${id}`]))),
            close: () => conn.close(),
          }
        },
      },
      pgContender('pg (sequential)', (client) => () => sequential(INSERTS, () => {
        const [id] = insertIds(1) as [number]
        return client.query(INSERT, [id, `v${id}`])
      })),
      pgContender('pg (Promise.all)', (client) => () => Promise.all(insertIds(INSERTS).map((id) => client.query(INSERT, [id, `v${id}`])))),
      pgContender(
        'pg (pipeline: true, Promise.all)',
        (client) => () => Promise.all(insertIds(INSERTS).map((id) => client.query({ name: 'bench_ins', text: INSERT, values: [id, `v${id}`] }))),
        { pipeline: true },
      ),
      postgresJsContender('postgres.js (Promise.all)', (sql) => () =>
        Promise.all(insertIds(INSERTS).map((id) => sql`insert into bench_ins (id, v) values (${id}, ${`v${id}`})`)),
      ),
      ...pgNativeContender(env, 'pg-native (libpq pipeline)', async (client) => {
        const pipeline = client.pipeline
        if (!pipeline) return undefined
        return () => pipeline(insertIds(INSERTS).map((id): PgNativeQuery => ({ text: INSERT, values: [String(id), `v${id}`] })))
      }),
    ],
  },
  {
    name: 'seed-lookups',
    group: 'seed-lookups',
    title: `${LOOKUPS} sequential single-row lookups by primary key on a 1M-row table (each awaited)`,
    unit: 'lookups/s',
    perCall: LOOKUPS,
    tables: ['big'],
    extra: secondsPer1000,
    contenders: (env) => [
      pglineContender('pgline', (conn) => {
        const id = idStream(BIG)
        return () => sequential(LOOKUPS, () => conn.query(BIG_LOOKUP, [id()]))
      }),
      pgContender('pg', (client) => {
        const id = idStream(BIG)
        return () => sequential(LOOKUPS, () => client.query(BIG_LOOKUP, [id()]))
      }),
      pgContender('pg (named statement)', (client) => {
        const id = idStream(BIG)
        return () => sequential(LOOKUPS, () => client.query({ name: 'big_lookup', text: BIG_LOOKUP, values: [id()] }))
      }),
      postgresJsContender('postgres.js', (sql) => {
        const id = idStream(BIG)
        return () => sequential(LOOKUPS, () => sql`select id, payload from big where id = ${id()}`)
      }),
      ...pgNativeContender(env, 'pg-native', async (client) => {
        const id = idStream(BIG)
        return () => sequential(LOOKUPS, () => client.query(BIG_LOOKUP, [String(id())]))
      }),
      ...pgNativeContender(env, 'pg-native (named)', async (client) => {
        await client.prepare('big_lookup', BIG_LOOKUP, 1)
        const id = idStream(BIG)
        return () => sequential(LOOKUPS, () => client.execute('big_lookup', [String(id())]))
      }),
    ],
  },
  {
    name: 'seed-lookups-pipelined',
    group: 'seed-lookups',
    title: `${LOOKUPS} single-row lookups by primary key on a 1M-row table, all in flight at once (Promise.all)`,
    unit: 'lookups/s',
    perCall: LOOKUPS,
    tables: ['big'],
    extra: secondsPer1000,
    contenders: (env) => [
      pglineContender('pgline', (conn) => {
        const id = idStream(BIG)
        return () => Promise.all(times(LOOKUPS, () => conn.query(BIG_LOOKUP, [id()])))
      }),
      pgContender('pg', (client) => {
        const id = idStream(BIG)
        return () => Promise.all(times(LOOKUPS, () => client.query(BIG_LOOKUP, [id()])))
      }),
      ...pgNamedAtOnce('big_lookup', BIG_LOOKUP, BIG, LOOKUPS),
      postgresJsContender('postgres.js', (sql) => {
        const id = idStream(BIG)
        return () => Promise.all(times(LOOKUPS, () => sql`select id, payload from big where id = ${id()}`))
      }),
      ...pgNativeContender(env, 'pg-native (libpq pipeline)', async (client) => {
        const pipeline = client.pipeline
        if (!pipeline) return undefined
        const id = idStream(BIG)
        return () => pipeline(times(LOOKUPS, (): PgNativeQuery => ({ text: BIG_LOOKUP, values: [String(id())] })))
      }),
    ],
  },
]

const POOL_SIZE = 10
const POOL_CALLERS = 200

/** 200 callers looping point selects through a pool of 10 for about `ms`; queries/s. */
function poolContender(label: string, open: (t: BenchTarget) => { query: (id: number) => Promise<unknown>; close: () => Promise<unknown> }): Contender {
  return {
    label,
    async open(t) {
      const p = open(t)
      const id = idStream(USERS)
      // Open the connections and prepare the statement outside the timed part.
      await Promise.all(times(POOL_CALLERS, () => p.query(id())))
      return {
        measure: async (ms) => {
          let done = 0
          const end = performance.now() + ms
          const started = performance.now()
          await Promise.all(
            times(POOL_CALLERS, async () => {
              while (performance.now() < end) {
                await p.query(id())
                done++
              }
            }),
          )
          return done / ((performance.now() - started) / 1000)
        },
        close: async () => void (await p.close()),
      }
    },
  }
}

const poolWorkloads: Workload[] = [
  {
    name: 'pool',
    title: `a pool of ${POOL_SIZE} connections, ${POOL_CALLERS} concurrent callers, point selects`,
    unit: 'queries/s',
    perCall: 1,
    tables: ['users'],
    contenders: (env) => [
      poolContender('pgline Pool', (t) => {
        const pool = new Pool(t, { max: POOL_SIZE })
        return { query: (id) => pool.query(POINT_SELECT, [id]), close: () => pool.close() }
      }),
      poolContender('pgline Pool (multiplexing)', (t) => {
        const pool = new Pool(t, { max: POOL_SIZE, multiplexing: true })
        return { query: (id) => pool.query(POINT_SELECT, [id]), close: () => pool.close() }
      }),
      poolContender('pg.Pool', (t) => {
        const pool = new pg.Pool({ ...t, max: POOL_SIZE })
        return { query: (id) => pool.query(POINT_SELECT, [id]), close: () => pool.end() }
      }),
      poolContender('pgline/pg Pool', (t) => {
        const pool = new pglinePg.Pool({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database, max: POOL_SIZE })
        return { query: (id) => pool.query(POINT_SELECT, [id]), close: () => pool.end() }
      }),
      poolContender('pg.Pool (named statement)', (t) => {
        const pool = new pg.Pool({ ...t, max: POOL_SIZE })
        return { query: (id) => pool.query({ name: 'point_select', text: POINT_SELECT, values: [id] }), close: () => pool.end() }
      }),
      poolContender('postgres.js (max: 10)', (t) => {
        const sql = postgres({ ...t, username: t.user, max: POOL_SIZE, onnotice: () => {} })
        return { query: (id) => sql`select id, name, email, created_at from users where id = ${id}`, close: () => sql.end() }
      }),
      ...pgbenchContender(env, `C ceiling: pgbench -c ${POOL_SIZE}`, pointSelectPgbench, 1, 0, POOL_SIZE),
    ],
  },
]

export const workloads: Workload[] = [...perQueryWorkloads, ...poolWorkloads, ...connectWorkloads, ...bulkWorkloads, ...syncWorkloads, ...ormWorkloads]
