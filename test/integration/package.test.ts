// The package as a consumer gets it: `npm pack` of the built dist/, installed
// into a fresh project, then used from an ES module, from CommonJS (Node's
// require(esm)), and from TypeScript with module nodenext (.mts and .cts).
// Packs dist/ as built by `npm run build` (npm test builds first), so a
// stale dist/ is refused rather than tested.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { optionsFor } from './_util.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TSC = join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'tsc.cmd' : 'tsc')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 60_000, shell: process.platform === 'win32' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, stdout, stderr })
    })
  })
}

/** npm with none of the npm_* settings an outer `npm test` exports, which would steer the inner install. */
function npm(args: string[], cwd: string): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')))
  return run('npm', args, cwd, env)
}

async function* files(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) yield* files(p)
    else yield p
  }
}

/** Refuses a dist/ missing a source's output or older than it. */
async function checkBuilt(): Promise<void> {
  for await (const src of files(join(ROOT, 'src'))) {
    if (!src.endsWith('.ts')) continue
    const base = relative(join(ROOT, 'src'), src).replace(/\.ts$/, '')
    for (const out of [`${base}.js`, `${base}.d.ts`]) {
      const built = await stat(join(ROOT, 'dist', out)).catch(() => undefined)
      if (built === undefined || built.mtimeMs < (await stat(src)).mtimeMs) {
        throw new Error(`dist/${out} is missing or older than src/${base}.ts: run \`npm run build\` (npm test builds first)`)
      }
    }
  }
}

const OTEL = ['@opentelemetry/api', '@opentelemetry/sdk-trace-base']

const ESM = `
import dc from 'node:diagnostics_channel'
import { connect, DatabaseError, Pool, sql, CHANNELS, replicate, ReplicationConnection, parseLsn, formatLsn, UNCHANGED_TOAST } from 'pgline'
import { instrument } from 'pgline/otel'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { connectSync } from 'pgline/sync'
import pgDefault, { Pool as PgPool } from 'pgline/pg'

const options = JSON.parse(process.env.PGLINE_PACKAGE_TEST)
const conn = await connect(options)
const r = await conn.query('select $1::int + 1 as n', [41])
if (r.rows[0].n !== 42) throw new Error('query: ' + JSON.stringify(r.rows))
const err = await conn.query('select 1\\nfrm nowhere').catch((e) => e)
if (!(err instanceof DatabaseError) || !err.format().includes('LINE 2: frm nowhere')) throw err
const traced = []
const onEnd = (ctx) => traced.push(ctx.command)
dc.tracingChannel(CHANNELS.query).asyncEnd.subscribe(onEnd)
const exporter = new InMemorySpanExporter()
const otel = instrument({ tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) })
const t = await conn.query(sql\`select \${sql.literal("it's")} as s, \${5}::int as n from \${sql.ident('pg_catalog', 'pg_class')} limit 1\`)
if (t.rows[0].s !== "it's" || t.rows[0].n !== 5) throw new Error('sql template: ' + JSON.stringify(t.rows))
otel.disable()
dc.tracingChannel(CHANNELS.query).asyncEnd.unsubscribe(onEnd)
if (traced.join() !== 'SELECT' || exporter.getFinishedSpans().map((x) => x.attributes['db.operation.name']).join() !== 'SELECT') throw new Error('tracing: ' + traced)
await conn.close()
const pool = new Pool(options, { max: 1 })
const a = await pool.query('select 2 as two', [], { rowMode: 'array' })
if (a.rows[0][0] !== 2) throw new Error('pool: ' + JSON.stringify(a.rows))
await pool.close()
const sync = connectSync(options)
if (sync.query('select 3 as three').rows[0].three !== 3) throw new Error('sync query')
sync.close()
const pgPool = new PgPool({ host: options.host, port: options.port, user: options.user, password: options.password, database: options.database })
const viaFacade = await pgPool.query('select $1::int8 as n', [7])
if (viaFacade.rows[0].n !== '7' || pgDefault.Pool !== PgPool) throw new Error('pgline/pg: ' + JSON.stringify(viaFacade.rows))
await pgPool.end()
if (typeof replicate !== 'function' || typeof ReplicationConnection.connect !== 'function' || formatLsn(parseLsn('16/b374d848')) !== '16/B374D848' || typeof UNCHANGED_TOAST !== 'symbol') throw new Error('replication exports')
console.log('esm: done')
`

const CJS = `
'use strict'
const pgline = require('pgline')
const { connect, Pool } = require('pgline')
const { connectSync, DatabaseError } = require('pgline/sync')

async function main() {
  if (typeof pgline.connect !== 'function' || typeof Pool !== 'function') throw new Error('exports: ' + Object.keys(pgline))
  if (typeof pgline.replicate !== 'function' || pgline.formatLsn(pgline.parseLsn('0/10')) !== '0/10') throw new Error('replication exports from CommonJS')
  // One module instance whichever way it is loaded: no dual-package hazard.
  const imported = await import('pgline')
  if (imported.connect !== connect || pgline.DatabaseError !== DatabaseError) throw new Error('two copies of pgline')
  const options = JSON.parse(process.env.PGLINE_PACKAGE_TEST)
  const conn = await connect(options)
  const r = await conn.query('select $1::int + 1 as n', [41])
  if (r.rows[0].n !== 42) throw new Error('query: ' + JSON.stringify(r.rows))
  const { sql } = pgline
  const { instrument } = require('pgline/otel')
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base')
  const exporter = new InMemorySpanExporter()
  const otel = instrument({ tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) })
  const t = await conn.query(sql\`select \${'x'}::text as v\`)
  otel.disable()
  if (t.rows[0].v !== 'x' || exporter.getFinishedSpans().length !== 1) throw new Error('sql/otel from CommonJS')
  await conn.close()
  const sync = connectSync(options)
  if (sync.query('select 3 as three').rows[0].three !== 3) throw new Error('sync query')
  sync.close()
  const pg = require('pgline/pg')
  const client = new pg.Client({ host: options.host, port: options.port, user: options.user, password: options.password, database: options.database })
  await client.connect()
  const viaFacade = await client.query('select 1 as one')
  if (viaFacade.rows[0].one !== 1 || !Object.prototype.hasOwnProperty.call(viaFacade, 'rows')) throw new Error('pgline/pg: ' + JSON.stringify(viaFacade))
  await client.end()
}

main().then(
  () => console.log('cjs: done'),
  (err) => {
    console.error(err)
    process.exitCode = 1
  },
)
`

// Type-checked only. @ts-expect-error lines fail the check if the error goes away.
const TS_BODY = `
export async function check(url: string): Promise<void> {
  const conn = await connect(url)
  const objects: Result<Row> = await conn.query('select 1 as a')
  const a: unknown = objects.rows[0]!.a
  const arrays = await conn.query('select 1, 2', [], { rowMode: 'array' })
  const first: unknown[] = arrays.rows[0]!
  const tuple = await conn.query<[number, string]>('select 1, $1::text', ['x'], { rowMode: 'array' })
  const n: number = tuple.rows[0]![0]
  const s: string = tuple.rows[0]![1]
  const cols: ColumnsResult = await conn.query('select 1 as x', [], { rowMode: 'columns' })
  const names: string[] = cols.columns.names
  // @ts-expect-error object rows are not arrays
  const notArray: unknown[] = objects.rows[0]!
  // @ts-expect-error internal, not in the published types
  void conn.submit
  // @ts-expect-error internal
  void conn.claimOwner
  // @ts-expect-error internal
  void conn.openPipeline
  // @ts-expect-error internal
  void conn.pipeline().finish
  const err = await conn.query('select').catch((e: unknown) => e)
  const shown: string | undefined = err instanceof DatabaseError ? err.format() : undefined
  const pool = new Pool(url)
  const pooled: unknown[] = (await pool.query('select 1', [], { rowMode: 'array' })).rows[0]!
  const sync = connectSync(url)
  const synced: unknown[] = sync.query('select 1', [], { rowMode: 'array' }).rows[0]!
  const fragment: SqlFragment = sql\`select \${1}::int as n from \${sql.ident('t')}\`
  const fromFragment: Result<{ n: number }> = await conn.query<{ n: number }>(fragment)
  const otel: { disable(): void } = instrument({ recordQueryText: false })
  otel.disable()
  const pgPool = new PgPool({ connectionString: url, max: 2 })
  const pgRows: { n: number }[] = (await pgPool.query<{ n: number }>('select 1 as n')).rows
  const checkout: PgPoolClient = await pgPool.connect()
  checkout.release()
  const typed = async (stream: ReplicationStream): Promise<bigint | undefined> => {
    for await (const e of stream) {
      if (e.kind === 'insert') void (e.new.id === UNCHANGED_TOAST)
      // @ts-expect-error a commit has no rows
      if (e.kind === 'commit') void e.new
      if (e.kind === 'commit') return e.endLsn
    }
    return undefined
  }
  void [a, first, n, s, names, notArray, shown, pooled, synced, pgRows, fromFragment, typed, replicate]
}
`

const MTS = `import { connect, DatabaseError, Pool, sql, replicate, UNCHANGED_TOAST, type ReplicationStream, type SqlFragment, type ColumnsResult, type Result, type Row } from 'pgline'
import { instrument } from 'pgline/otel'
import { connectSync } from 'pgline/sync'
import { Pool as PgPool, type PoolClient as PgPoolClient } from 'pgline/pg'
${TS_BODY}`

const CTS = `import { connect, DatabaseError, Pool, sql, replicate, UNCHANGED_TOAST, type ReplicationStream, type SqlFragment, type ColumnsResult, type Result, type Row } from 'pgline'
import { instrument } from 'pgline/otel'
import { Pool as PgPool, type PoolClient as PgPoolClient } from 'pgline/pg'
import sync = require('pgline/sync')
const { connectSync } = sync
${TS_BODY}`

// The drop-in: pgline's compat/pg installed under the name pg, as the README says.
const DROPIN_CJS = `
'use strict'
const pg = require('pg')
const { Pool } = require('pg')
const Result = require('pg/lib/result.js')
const { prepareValue } = require('pg/lib/utils.js')

async function main() {
  if (pg.Pool !== require('pgline/pg').Pool || Pool !== pg.Pool) throw new Error('pg is not pgline/pg')
  if (typeof Result !== 'function' || prepareValue([1, null]) !== '{"1",NULL}') throw new Error('pg/lib paths')
  const o = JSON.parse(process.env.PGLINE_PACKAGE_TEST)
  const pool = new Pool({ host: o.host, port: o.port, user: o.user, password: o.password, database: o.database })
  const r = await pool.query('select $1::int as n', [5])
  if (r.rows[0].n !== 5) throw new Error('query: ' + JSON.stringify(r.rows))
  await pool.end()
}
main().then(() => console.log('dropin-cjs: done'), (err) => { console.error(err); process.exitCode = 1 })
`

const DROPIN_ESM = `
import pg, { Pool, types } from 'pg'
if (pg.Pool !== Pool || typeof types.setTypeParser !== 'function') throw new Error('import pg')
const o = JSON.parse(process.env.PGLINE_PACKAGE_TEST)
const client = new pg.Client({ host: o.host, port: o.port, user: o.user, password: o.password, database: o.database })
await client.connect()
const r = await client.query('select now() as t, 1.5::numeric as n')
if (!(r.rows[0].t instanceof Date) || r.rows[0].n !== '1.5') throw new Error('query: ' + JSON.stringify(r.rows))
await client.end()
console.log('dropin-esm: done')
`

let dir: string
let app: string
let installError: Error | undefined

/** The scripts' environment: where the test server is. */
function scriptEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PGLINE_PACKAGE_TEST: JSON.stringify(optionsFor('scram')) }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgline-package-'))
  app = join(dir, 'app')
  try {
    await checkBuilt()
    // dist/ is built already: skip the prepare script's second build.
    const pack = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)
    if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`)
    const tarball = join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename)
    await mkdir(app)
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'pgline-consumer', version: '1.0.0', private: true }))
    // pgline has no runtime dependencies, so this needs no registry.
    const install = await npm(['install', tarball, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], app)
    if (install.code !== 0) throw new Error(`npm install of the tarball failed:\n${install.stderr}`)
    const dropin = await npm(['install', 'pg@file:node_modules/pgline/compat/pg', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], app)
    if (dropin.code !== 0) throw new Error(`npm install of the drop-in pg failed:\n${dropin.stderr}`)
    // pgline/otel's optional peer and the SDK an application would bring, from npm's cache (npm ci put them there).
    const otelVersions = await Promise.all(OTEL.map(async (name) => `${name}@${(JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version}`))
    const otel = await npm(['install', ...otelVersions, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], app)
    if (otel.code !== 0) throw new Error(`npm install of OpenTelemetry failed:\n${otel.stderr}`)
    await writeFile(join(app, 'dropin.cjs'), DROPIN_CJS)
    await writeFile(join(app, 'dropin.mjs'), DROPIN_ESM)
    await writeFile(join(app, 'consumer.mjs'), ESM)
    await writeFile(join(app, 'consumer.cjs'), CJS)
    await writeFile(join(app, 'consumer.mts'), MTS)
    await writeFile(join(app, 'consumer.cts'), CTS)
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022'],
          strict: true,
          noEmit: true,
          // Check pgline's own .d.ts files too: stripped internals must leave them whole.
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['consumer.mts', 'consumer.cts'],
      }),
    )
  } catch (err) {
    installError = err as Error
  }
}, 180_000)

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

function installed(): void {
  if (installError !== undefined) throw installError
}

describe('the packed package', () => {
  it('installs from the tarball offline, with its license and built files and nothing of the tests', async () => {
    installed()
    const pkg = join(app, 'node_modules', 'pgline')
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/sync/index.js', 'dist/sync/worker.js']) {
      expect(await stat(join(pkg, f)).then(() => f)).toBe(f)
    }
    expect(await stat(join(pkg, 'test')).catch(() => 'absent')).toBe('absent')
  })

  it('runs from an ES module (import pgline and pgline/sync) and exits by itself', async () => {
    installed()
    const r = await run(process.execPath, ['consumer.mjs'], app, scriptEnv())
    expect(r, r.stderr).toMatchObject({ code: 0 })
    expect(r.stdout.trim().split('\n').at(-1)).toBe('esm: done')
  })

  it('runs from CommonJS (require pgline and pgline/sync, one module instance) and exits by itself', async () => {
    installed()
    const r = await run(process.execPath, ['consumer.cjs'], app, scriptEnv())
    expect(r, r.stderr).toMatchObject({ code: 0 })
    expect(r.stdout.trim().split('\n').at(-1)).toBe('cjs: done')
  })

  it('the drop-in pg (compat/pg installed as pg) loads from CommonJS, with pg/lib/result.js and pg/lib/utils.js, and from ESM', async () => {
    installed()
    for (const [file, last] of [['dropin.cjs', 'dropin-cjs: done'], ['dropin.mjs', 'dropin-esm: done']]) {
      const r = await run(process.execPath, [file!], app, scriptEnv())
      expect(r, r.stderr).toMatchObject({ code: 0 })
      expect(r.stdout.trim().split('\n').at(-1)).toBe(last)
    }
  })

  it('type-checks with module nodenext from .mts and .cts: rowMode typing, no internal members', async () => {
    installed()
    const r = await run(TSC, ['-p', 'tsconfig.json'], app)
    expect(r.stdout + r.stderr).toBe('')
    expect(r.code).toBe(0)
  })
})
