// Every ORM on the drop-in pg, loaded by name, from CommonJS and ESM
// (dropin/: Kysely with the real pg-cursor, Drizzle's URL form, Knex with
// pg-query-stream, TypeORM, Sequelize, MikroORM), and Prisma 7 through
// @prisma/adapter-pg, pg-boss and Slonik on the drop-in pg: the adapter imports
// pg by name and keeps a pool only when it is that pg's Pool, so this is the
// way in for Prisma. A fresh project gets pgline's packed tarball, the
// drop-in installed as pg, and Prisma's packages (from npm's cache where
// npm ci put them, the registry otherwise); \`prisma generate\` runs from
// the WebAssembly Prisma ships on npm (the schema-engine binary it looks for
// up front is never run, so it is pointed at /bin/true). Then a script uses
// Prisma as an application would and must end by itself.
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { optionsFor } from './_util.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, timeout = 120_000): Promise<Run> {
  // npm_* settings of an outer \`npm test\` would steer the inner npm.
  const clean = Object.fromEntries(Object.entries(env).filter(([k]) => !k.toLowerCase().startsWith('npm_')))
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: clean, timeout }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

const version = async (pkg: string): Promise<string> => (JSON.parse(await readFile(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version

const SCHEMA = `generator client {
  provider = "prisma-client"
  output   = "../generated"
}

generator cjs {
  provider     = "prisma-client"
  output       = "../generated-cjs"
  moduleFormat = "cjs"
}

datasource db {
  provider = "postgresql"
}

model User {
  id    Int      @id @default(autoincrement())
  email String   @unique
  n     BigInt?
  price Decimal?
  at    DateTime? @db.Timestamptz(3)
  doc   Json?
  tags  String[]
  bin   Bytes?
  local DateTime? @db.Timestamp(3)
  day   DateTime? @db.Date
  mood  Mood?
  posts Post[]
}

enum Mood {
  happy
  sad
}

model Post {
  id     BigInt @id @default(autoincrement())
  title  String
  userId Int
  user   User   @relation(fields: [userId], references: [id])
}
`

const CONFIG = `import { defineConfig } from 'prisma/config'
export default defineConfig({ schema: 'prisma/schema.prisma' })
`

// The same application twice: on @prisma/adapter-pg over the drop-in pg, and on pgline/prisma.
const APP_ON_DROPIN = `import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient, Prisma } from './generated/client.ts'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 5 })
if (!pool.constructor.name.includes('Pool') || pg.Pool !== (await import('pgline/pg')).Pool) throw new Error('pg is not the drop-in')
const prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
`
// And from CommonJS, on the client generated as CommonJS (\`require()\`
// throughout), built as a CommonJS application would be (esbuild, the one
// under tsx, bundles the generated TypeScript and leaves packages external)
// and run by plain node.
const APP_NATIVE_CJS = `const { Pool } = require('pgline')
const { PrismaPgline } = require('pgline/prisma')
const { PrismaClient, Prisma } = require('./generated-cjs/client')

async function main() {
const pool = new Pool(process.env.DATABASE_URL, { max: 5 })
const prisma = new PrismaClient({ adapter: new PrismaPgline(pool) })
`
const APP_NATIVE = `import { Pool } from 'pgline'
import { PrismaPgline } from 'pgline/prisma'
import { PrismaClient, Prisma } from './generated/client.ts'

const pool = new Pool(process.env.DATABASE_URL, { max: 5 })
const prisma = new PrismaClient({ adapter: new PrismaPgline(pool) })
`

const APP = `await prisma.$executeRawUnsafe('drop table if exists "Post", "User"')
await prisma.$executeRawUnsafe('drop type if exists "Mood"')
await prisma.$executeRawUnsafe(\`create type "Mood" as enum ('happy', 'sad')\`)
await prisma.$executeRawUnsafe('create table "User" (id serial primary key, email text not null unique, n int8, price numeric(65,30), at timestamptz(3), doc jsonb, tags text[] not null default \\'{}\\', bin bytea, local timestamp(3), day date, mood "Mood")')
await prisma.$executeRawUnsafe('create table "Post" (id bigserial primary key, title text not null, "userId" int not null references "User"(id))')
const at = new Date('2024-02-29T13:14:15.123Z')
const alice = await prisma.user.create({
  data: { email: 'alice@x', n: 9007199254740993n, price: new Prisma.Decimal('12.5'), at, doc: { a: [1, null] }, tags: ['x', 'y z'], bin: Buffer.from([1, 2, 3]), local: at, day: new Date('2024-02-29T00:00:00Z'), mood: 'happy', posts: { create: [{ title: 'hello' }] } },
  include: { posts: true },
})
const check = (cond: boolean, what: string, v?: unknown) => { if (!cond) throw new Error(what + ': ' + JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))) }
check(alice.n === 9007199254740993n && alice.price?.toString() === '12.5' && alice.at?.getTime() === at.getTime(), 'types', alice)
check(JSON.stringify(alice.doc) === '{"a":[1,null]}' && alice.tags.join('|') === 'x|y z' && Buffer.from(alice.bin!).equals(Buffer.from([1, 2, 3])), 'json/array/bytes', alice)
check(alice.posts.length === 1 && alice.posts[0]!.title === 'hello' && typeof alice.posts[0]!.id === 'bigint', 'nested create', alice.posts)
check(alice.local?.getTime() === at.getTime() && alice.day?.toISOString() === '2024-02-29T00:00:00.000Z' && alice.mood === 'happy', 'timestamp/date/enum', alice)
const found = await prisma.user.findFirst({ where: { mood: 'happy', day: new Date('2024-02-29T00:00:00Z') } })
check(found?.email === 'alice@x', 'where on enum and date', found)
const joined = await prisma.post.findMany({ include: { user: true } })
check(joined[0]!.user.email === 'alice@x', 'join', joined)
await prisma.user.update({ where: { id: alice.id }, data: { price: new Prisma.Decimal('13') } })
await prisma.$transaction(async (tx) => { await tx.user.create({ data: { email: 'bob@x' } }) })
const rolled = await prisma.$transaction(async (tx) => { await tx.user.create({ data: { email: 'carol@x' } }); throw new Error('roll back') }).catch((e: Error) => e.message)
check(rolled === 'roll back', 'rollback', rolled)
check((await prisma.user.count()) === 2, 'count after rollback')
const dup = await prisma.user.create({ data: { email: 'alice@x' } }).catch((e: { code?: string }) => e.code)
check(dup === 'P2002', 'unique violation as P2002', dup)
const missing = await prisma.user.update({ where: { id: 999999 }, data: { email: 'z' } }).catch((e: { code?: string }) => e.code)
check(missing === 'P2025', 'P2025', missing)
const fk = await prisma.post.create({ data: { title: 't', userId: 424242 } }).catch((e: { code?: string }) => e.code)
check(fk === 'P2003', 'P2003', fk)
const many = await Promise.all(Array.from({ length: 50 }, (_, i) => prisma.$queryRaw<{ v: number }[]>\`select \${i}::int as v\`))
check(many.every((r, i) => r[0]!.v === i), '50 concurrent', many.slice(0, 3))
await prisma.$executeRawUnsafe('drop table "Post", "User"')
await prisma.$executeRawUnsafe('drop type "Mood"')
await prisma.$disconnect()
await (pool.end ? pool.end() : pool.close())
console.log('prisma: done')
`

// What the ORM scripts use, at the versions npm ci installed here (so npm's cache has them).
const LOCAL = ['kysely', 'drizzle-orm', 'knex', 'typeorm', 'sequelize', 'reflect-metadata', 'pg-cursor', 'pg-query-stream']
// pg-boss, Slonik and MikroORM load pg by name too; they come from the registry
// (MikroORM 6: its 7 wants Node 22).
const REMOTE = { 'pg-boss': '10.4.2', slonik: '47.3.2', '@mikro-orm/core': '6.6.16', '@mikro-orm/postgresql': '6.6.16' }

const OTHERS = `import PgBoss from 'pg-boss'
import { createPool, sql } from 'slonik'

const url = process.env.DATABASE_URL
const check = (cond, what, v) => { if (!cond) throw new Error(what + ': ' + JSON.stringify(v)) }

// pg-boss: a queue, a job sent and worked, completed.
const boss = new PgBoss({ connectionString: url, schema: 'pgboss_pgline' })
boss.on('error', (e) => console.error('pg-boss error', e))
await boss.start()
await boss.createQueue('pgline_q')
const id = await boss.send('pgline_q', { n: 41 })
const got = new Promise((resolve) => boss.work('pgline_q', { pollingIntervalSeconds: 0.5 }, async ([job]) => resolve(job.data.n + 1)))
check((await got) === 42, 'pg-boss job', id)
await boss.stop({ graceful: true, wait: true })

// Slonik: typed sql, a transaction, a unique violation it recognises.
const pool = await createPool(url)
await pool.query(sql.unsafe\`drop table if exists slonik_t\`)
await pool.query(sql.unsafe\`create table slonik_t (id int primary key, v text, n int8, at timestamptz)\`)
await pool.transaction(async (tx) => {
  await tx.query(sql.unsafe\`insert into slonik_t values (1, \${'a'}, \${'9007199254740993'}, \${sql.timestamp(new Date('2024-02-29T13:14:15.123Z'))})\`)
})
const row = await pool.one(sql.unsafe\`select * from slonik_t where id = \${1}\`)
check(row.v === 'a' && String(row.n) === '9007199254740993', 'slonik row', row)
const { UniqueIntegrityConstraintViolationError } = await import('slonik')
const dup = await pool.query(sql.unsafe\`insert into slonik_t values (1, 'b', null, null)\`).catch((e) => e)
check(dup instanceof UniqueIntegrityConstraintViolationError, 'slonik unique', String(dup))
const many = await Promise.all(Array.from({ length: 50 }, (_, i) => pool.oneFirst(sql.unsafe\`select \${i}::int\`)))
check(many.every((v, i) => v === i), 'slonik 50', many.slice(0, 3))
await pool.query(sql.unsafe\`drop table slonik_t\`)
await pool.end()
console.log('others: done')
`

let dir: string
let app: string
let setupError: Error | undefined

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgline-prisma-'))
  app = join(dir, 'app')
  try {
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)
    if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`)
    const tarball = join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename)
    await mkdir(join(app, 'prisma'), { recursive: true })
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'prisma-on-pgline', version: '1.0.0', private: true, type: 'module' }))
    const base = await run('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], app)
    if (base.code !== 0) throw new Error(`npm install of the tarball failed:\n${base.stderr}`)
    // The drop-in under the name pg, and `overrides` so that a package pinning
    // its own pg (MikroORM pins an exact version) gets the drop-in too.
    const pkg = JSON.parse(await readFile(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; overrides?: Record<string, string> }
    pkg.dependencies.pg = 'file:node_modules/pgline/compat/pg'
    for (const name of ['@prisma/client', '@prisma/adapter-pg', 'prisma', ...LOCAL]) pkg.dependencies[name] = await version(name)
    for (const [name, v] of Object.entries(REMOTE)) pkg.dependencies[name] = v
    pkg.overrides = { pg: '$pg' }
    await writeFile(join(app, 'package.json'), JSON.stringify(pkg, null, 2))
    const deps = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], app, process.env, 170_000)
    if (deps.code !== 0) throw new Error(`npm install of the drop-in and the ORMs failed:\n${deps.stderr}`)
    for (const f of ['scenarios.cjs', 'orms.cjs', 'orms.mjs', 'dialects.cjs', 'dialects.mjs']) await copyFile(join(ROOT, 'test', 'integration', 'dropin', f), join(app, f))
    await writeFile(join(app, 'prisma', 'schema.prisma'), SCHEMA)
    await writeFile(join(app, 'prisma.config.ts'), CONFIG)
    await writeFile(join(app, 'app.ts'), APP_ON_DROPIN + APP)
    await writeFile(join(app, 'app-native.ts'), APP_NATIVE + APP)
    await writeFile(join(app, 'app-native.cts'), APP_NATIVE_CJS + APP + '}\nmain().catch((e) => { console.error(e); process.exitCode = 1 })\n')
    await writeFile(join(app, 'others.mjs'), OTHERS)
    const gen = await run(join(app, 'node_modules', '.bin', 'prisma'), ['generate'], app, { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true', CHECKPOINT_DISABLE: '1' })
    if (gen.code !== 0) throw new Error(`prisma generate failed:\n${gen.stdout}\n${gen.stderr}`)
  } catch (err) {
    setupError = err as Error
  }
}, 300_000)

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

const dbUrl = (): string => {
  const o = optionsFor('scram')
  return `postgres://${o.user}:${encodeURIComponent(o.password as string)}@${o.host}:${o.port}/${o.database}`
}

/** Every directory named pg under node_modules that is a package (a nested real pg would quietly take the drop-in's place). */
async function pgPackages(root: string): Promise<string[]> {
  const entries = await readdir(join(root, 'node_modules'), { recursive: true })
  return entries.filter((e) => e === 'pg/package.json' || e.endsWith('/node_modules/pg/package.json')).sort()
}

describe('the ORMs on the drop-in pg, each loading pg by name', () => {
  it('no package got a pg of its own', async () => {
    if (setupError !== undefined) throw setupError
    expect(await pgPackages(app)).toEqual(['pg/package.json'])
  })

  for (const [script, last] of [
    ['orms.cjs', 'cjs: done'],
    ['orms.mjs', 'esm: done'],
  ] as const) {
    it(`${script}: Kysely (with pg-cursor), Drizzle (URL form), Knex (with pg-query-stream), TypeORM, Sequelize and MikroORM: schema, CRUD with returning, a join, transactions, a unique violation each recognises, streaming, the types, 50 at once; the script exits by itself`, async () => {
      if (setupError !== undefined) throw setupError
      const r = await run(process.execPath, [script], app, { ...process.env, DATABASE_URL: dbUrl() })
      expect(r, r.stderr).toMatchObject({ code: 0 })
      expect(r.stdout.trim().split('\n').at(-1)).toBe(last)
    })
  }
})

describe("pgline's own dialects (pgline/kysely, pgline/drizzle) from the packed tarball", () => {
  for (const [script, last] of [
    ['dialects.cjs', 'dialects cjs: done'],
    ['dialects.mjs', 'dialects esm: done'],
  ] as const) {
    it(`${script}: PglineDialect, drizzle() and PrismaPgline's adapter on pgline Pools: pgline types, UniqueViolation, a stream, a transaction, Prisma's value forms; the script exits by itself`, async () => {
      if (setupError !== undefined) throw setupError
      const r = await run(process.execPath, [script], app, { ...process.env, DATABASE_URL: dbUrl() })
      expect(r, r.stderr).toMatchObject({ code: 0 })
      expect(r.stdout.trim().split('\n').at(-1)).toBe(last)
    })
  }
})

describe('pg-boss and Slonik on the drop-in pg', () => {
  it('pg-boss starts, sends, works and stops a job; Slonik runs typed sql, a transaction, recognises a unique violation and 50 queries at once; the script exits by itself', async () => {
    if (setupError !== undefined) throw setupError
    const o = optionsFor('superuser')
    const url = `postgres://${o.user}:${encodeURIComponent(o.password as string)}@${o.host}:${o.port}/${o.database}`
    const r = await run(process.execPath, ['others.mjs'], app, { ...process.env, DATABASE_URL: url })
    expect(r, r.stderr).toMatchObject({ code: 0 })
    expect(r.stdout.trim().split('\n').at(-1)).toBe('others: done')
  })
})

describe('Prisma 7 on the drop-in pg', () => {
  it('creates with nested writes, joins, updates, runs interactive transactions, maps unique, foreign-key and not-found errors to P2002/P2003/P2025, round-trips bigint, Decimal, timestamptz, Json, String[] and Bytes, and runs 50 queries at once', async () => {
    if (setupError !== undefined) throw setupError
    const o = optionsFor('scram')
    const url = `postgres://${o.user}:${encodeURIComponent(o.password as string)}@${o.host}:${o.port}/${o.database}`
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx')
    const r = await run(tsx, ['app.ts'], app, { ...process.env, DATABASE_URL: url })
    expect(r, r.stderr).toMatchObject({ code: 0 })
    expect(r.stdout.trim().split('\n').at(-1)).toBe('prisma: done')
  })
})

describe("Prisma 7 on pgline's own adapter (pgline/prisma)", () => {
  for (const [script, form] of [
    ['app-native.ts', 'ESM'],
    ['app-native.cts', 'CommonJS, on a client generated as CommonJS'],
  ] as const) {
    it(`the same application on new PrismaPgline(pool), from ${form}: nested writes, joins, interactive transactions, P2002/P2003/P2025, the types, 50 queries at once`, async () => {
      if (setupError !== undefined) throw setupError
      const env = { ...process.env, DATABASE_URL: dbUrl() }
      let r: Run
      if (script.endsWith('.cts')) {
        const esbuild = join(ROOT, 'node_modules', '.bin', 'esbuild')
        const built = await run(esbuild, [script, '--bundle', '--platform=node', '--format=cjs', '--packages=external', '--outfile=app-native.cjs', '--log-level=warning'], app)
        expect(built, built.stderr).toMatchObject({ code: 0 })
        r = await run(process.execPath, ['app-native.cjs'], app, env)
      } else {
        r = await run(join(ROOT, 'node_modules', '.bin', 'tsx'), [script], app, env)
      }
      expect(r, r.stderr).toMatchObject({ code: 0 })
      expect(r.stdout.trim().split('\n').at(-1)).toBe('prisma: done')
    })
  }
})
