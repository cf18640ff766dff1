// The ORM workloads: Kysely, Drizzle and Prisma, each on (a) node-postgres,
// (b) pgline's node-postgres facade, (c) pgline's
// own dialect; raw pgline is the floor. The ORM builds its SQL on every call (no prepared query objects), as
// application code usually does.
//   orm-lookups: 1,000 sequential single-record lookups by primary key on the 1M-row table
//   orm-insert:  one 100-row insert in a transaction (BEGIN, INSERT ... VALUES x100, COMMIT)
import { eq } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { integer, pgTable, text } from 'drizzle-orm/pg-core'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { Pool } from '../src/index.js'
import { drizzle as drizzlePgline } from '../src/drizzle/index.js'
import { PglineDialect } from '../src/kysely/index.js'
import * as pglinePg from '../src/pg/index.js'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import Module, { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaPgline } from '../src/prisma/index.js'
import { BIG } from './data.js'
import { BIG_LOOKUP, openPgline, type BenchTarget } from './drivers.js'
import { idStream, sequential, times, type Contender, type ResultRow, type Workload } from './contenders.js'

const LOOKUPS = 1000
const ROWS = 100

interface Big {
  id: number
  payload: string
}
interface Ins {
  id: number
  v: string
}
interface DB {
  big: Big
  bench_ins: Ins
}

const big = pgTable('big', { id: integer('id').primaryKey(), payload: text('payload').notNull() })
const benchIns = pgTable('bench_ins', { id: integer('id').primaryKey(), v: text('v').notNull() })

const target = (t: BenchTarget) => ({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database })
/** node-postgres pools (and pgline/pg's) take max in the same object. */
const config = (t: BenchTarget) => ({ ...target(t), max: 1 })

let nextId = 1
const rows = (): Ins[] => times(ROWS, () => {
  const id = nextId++
  return { id, v: `v${id}` }
})

type Ops = { lookup: (id: number) => Promise<unknown>; insert: (rows: Ins[]) => Promise<unknown>; close: () => Promise<unknown> }

function kyselyOps(db: Kysely<DB>): Ops {
  return {
    lookup: (id) => db.selectFrom('big').select(['id', 'payload']).where('id', '=', id).executeTakeFirst(),
    insert: (r) => db.transaction().execute((tx) => tx.insertInto('bench_ins').values(r).execute()),
    close: () => db.destroy(),
  }
}

function drizzleOps(db: { select: any; transaction: any }, close: () => Promise<unknown>): Ops {
  return {
    lookup: (id) => db.select({ id: big.id, payload: big.payload }).from(big).where(eq(big.id, id)),
    insert: (r) => db.transaction((tx: any) => tx.insert(benchIns).values(r)),
    close,
  }
}

const PRISMA_DIR = fileURLToPath(new URL('./prisma/', import.meta.url))

/**
 * Prisma's client for the two tables, generated on first use into
 * bench/prisma/generated (Prisma ships its generator as WebAssembly; the
 * schema-engine binary the CLI looks for up front is never run).
 */
async function prismaClient(): Promise<new (options: { adapter: unknown }) => any> {
  if (!existsSync(`${PRISMA_DIR}generated/client.ts`)) {
    const bin = fileURLToPath(new URL('../node_modules/.bin/prisma', import.meta.url))
    const r = spawnSync(bin, ['generate'], { cwd: PRISMA_DIR, env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true', CHECKPOINT_DISABLE: '1' }, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`prisma generate failed: ${r.stderr}`)
  }
  const mod = (await import(pathToFileURL(`${PRISMA_DIR}generated/client.ts`).href)) as { PrismaClient: new (options: { adapter: unknown }) => any }
  return mod.PrismaClient
}

/**
 * Prisma's adapter for node-postgres keeps a pool handed to it only if it is
 * the real pg's (an instanceof check); anything else it treats as a config
 * and builds a pool from its own require('pg'). So Prisma on the facade is a
 * second copy of @prisma/adapter-pg whose 'pg' resolves to pgline/pg, as it
 * would with the drop-in installed.
 */
function prismaPgOnFacade(): typeof PrismaPg {
  const require = createRequire(import.meta.url)
  const facade = fileURLToPath(new URL('../src/pg/index.ts', import.meta.url))
  const adapter = require.resolve('@prisma/adapter-pg')
  const M = Module as unknown as { _resolveFilename: (req: string, parent: { filename?: string } | undefined, ...rest: unknown[]) => string }
  const resolve = M._resolveFilename
  const saved = require.cache[adapter]
  M._resolveFilename = function (req, parent, ...rest) {
    if (req === 'pg' && parent?.filename?.includes('@prisma/adapter-pg')) return facade
    return resolve.call(this, req, parent, ...rest)
  }
  try {
    delete require.cache[adapter]
    return (require(adapter) as { PrismaPg: typeof PrismaPg }).PrismaPg
  } finally {
    M._resolveFilename = resolve
    if (saved) require.cache[adapter] = saved
    else delete require.cache[adapter]
  }
}

function prismaOps(prisma: any, close: () => Promise<unknown>): Ops {
  return {
    lookup: (id) => prisma.big.findUnique({ where: { id } }),
    insert: (r) => prisma.$transaction((tx: any) => tx.bench_ins.createMany({ data: r })),
    close: async () => {
      await prisma.$disconnect()
      await close()
    },
  }
}

/** The ways each ORM runs, by label. */
const SETUPS: [string, (t: BenchTarget) => Promise<Ops>][] = [
  ['Kysely on pg', async (t) => kyselyOps(new Kysely<DB>({ dialect: new PostgresDialect({ pool: new pg.Pool(config(t)) }) }))],
  ['Kysely on pgline/pg', async (t) => kyselyOps(new Kysely<DB>({ dialect: new PostgresDialect({ pool: new pglinePg.Pool(config(t)) }) }))],
  ['Kysely, PglineDialect', async (t) => kyselyOps(new Kysely<DB>({ dialect: new PglineDialect({ pool: new Pool(target(t), { max: 1 }) }) }))],
  [
    'Drizzle on pg',
    async (t) => {
      const pool = new pg.Pool(config(t))
      return drizzleOps(drizzlePg(pool), () => pool.end())
    },
  ],
  [
    'Drizzle on pgline/pg',
    async (t) => {
      const pool = new pglinePg.Pool(config(t))
      return drizzleOps(drizzlePg(pool as never), () => pool.end())
    },
  ],
  [
    'Drizzle, pgline/drizzle',
    async (t) => {
      const pool = new Pool(target(t), { max: 1 })
      return drizzleOps(drizzlePgline(pool), () => pool.close())
    },
  ],
  [
    'Prisma on pg',
    async (t) => {
      const PrismaClient = await prismaClient()
      const pool = new pg.Pool(config(t))
      return prismaOps(new PrismaClient({ adapter: new PrismaPg(pool) }), () => pool.end())
    },
  ],
  [
    'Prisma on pgline/pg',
    async (t) => {
      const PrismaClient = await prismaClient()
      // A config, not a pool: the adapter builds its pool from pgline/pg and closes it on $disconnect().
      return prismaOps(new PrismaClient({ adapter: new (prismaPgOnFacade())(config(t)) }), async () => {})
    },
  ],
  [
    'Prisma, pgline/prisma',
    async (t) => {
      const PrismaClient = await prismaClient()
      const pool = new Pool(target(t), { max: 1 })
      return prismaOps(new PrismaClient({ adapter: new PrismaPgline(pool) }), () => pool.close())
    },
  ],
]

function ormContender(label: string, setup: (t: BenchTarget) => Promise<Ops>, call: (ops: Ops) => () => Promise<unknown>): Contender {
  return {
    label,
    async open(t) {
      const ops = await setup(t)
      // Connect (and warm the ORM) outside the timed part.
      await ops.lookup(1)
      return { call: call(ops), close: async () => void (await ops.close()) }
    },
  }
}

/** Each ORM's native dialect against the same ORM on pg, and against raw pgline. */
function summary(rows: ResultRow[]): string[] {
  const rate = (name: string) => rows.find((r) => r.name === name)?.median
  const floor = rate('pgline (raw)')
  const out: string[] = []
  for (const [orm, native] of [
    ['Kysely', 'Kysely, PglineDialect'],
    ['Drizzle', 'Drizzle, pgline/drizzle'],
    ['Prisma', 'Prisma, pgline/prisma'],
  ] as const) {
    const onPg = rate(`${orm} on pg`)
    const facade = rate(`${orm} on pgline/pg`)
    const own = rate(native)
    if (own === undefined || onPg === undefined) continue
    const parts = [`${orm}: native ${(own / onPg).toFixed(2)}x ${orm} on pg`]
    if (facade !== undefined) parts.push(`facade ${(facade / onPg).toFixed(2)}x`)
    if (floor !== undefined) parts.push(`ORM overhead: native runs at ${(own / floor).toFixed(2)}x raw pgline`)
    out.push(parts.join('; '))
  }
  return out
}

export const ormWorkloads: Workload[] = [
  {
    name: 'orm-lookups',
    group: 'orm',
    title: `${LOOKUPS} sequential single-record lookups by primary key on a 1M-row table, through each ORM (query built per call)`,
    unit: 'lookups/s',
    perCall: LOOKUPS,
    tables: ['big'],
    contenders: () => [
      {
        label: 'pgline (raw)',
        async open(t) {
          const conn = await openPgline(t)
          const id = idStream(BIG)
          return { call: () => sequential(LOOKUPS, () => conn.query(BIG_LOOKUP, [id()])), close: () => conn.close() }
        },
      },
      ...SETUPS.map(([label, setup]) =>
        ormContender(label, setup, (ops) => {
          const id = idStream(BIG)
          return () => sequential(LOOKUPS, () => ops.lookup(id()))
        }),
      ),
    ],
    summary,
  },
  {
    name: 'orm-insert',
    group: 'orm',
    title: `one ${ROWS}-row INSERT in a transaction (BEGIN, INSERT ... VALUES x${ROWS}, COMMIT), through each ORM`,
    unit: 'rows/s',
    perCall: ROWS,
    tables: ['bench_ins'],
    beforeSample: (admin) => admin.query('truncate bench_ins'),
    contenders: () => [
      {
        label: 'pgline (raw)',
        async open(t) {
          const conn = await openPgline(t)
          const values = times(ROWS, (k) => `($${2 * k + 1}, $${2 * k + 2})`).join(', ')
          const sql = `insert into bench_ins (id, v) values ${values}`
          return {
            call: () => conn.transaction((tx) => tx.query(sql, rows().flatMap((r) => [r.id, r.v]))),
            close: () => conn.close(),
          }
        },
      },
      ...SETUPS.map(([label, setup]) => ormContender(label, setup, (ops) => () => ops.insert(rows()))),
    ],
    summary,
  },
]
