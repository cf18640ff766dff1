// npm run bench [-- --quick] [--only <workload>[,<workload>]] [--rounds N] [--time ms] [--servers 15,18]
//
// --servers: the embedded PostgreSQL majors to run the workloads on, one
// after the other in this one process (default 18; 15 is Debian's
// postgresql-15 package, installed when missing if run as root: servers.ts).
//
// Runs every workload for every driver on one server in one run, interleaved
// (A B C, then B C A, ...) so drift hits all drivers alike, and prints the
// median with min/max and the ratio to the fastest. Writes the tables (.md)
// and a chart of the ratios (.svg, drawn by svg.ts) to bench/results/: see
// the end of main() for which files a full, an --only and a --quick run
// write. On a machine with two or more CPUs the client and the server are
// pinned to different CPUs: unpinned figures on small machines are bimodal
// (see native-notes.md).

import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { Bench } from 'tinybench'
import type { Env, Logins, Measurement, MetricColumn, ResultRow, SampleContext, Sampler, Workload } from './contenders.js'
import { loadCopyStreams } from './copy-streams.js'
import { targetFromUrl, type BenchTarget } from './drivers.js'
import { loadData, type Table } from './data.js'
import { findPsql } from './external.js'
import { loadPgNative } from './pg-native.js'
import { findPgbench } from './pgbench.js'
import { ensureServer, parseServers } from './servers.js'
import type { EmbeddedMajor } from '../test/support/embedded.js'
import { workloads } from './workloads.js'
import { medianOf, waitForQuiet, formatTable } from './stats.js'
import { chartTitle, renderChart, type ChartGroup } from './svg.js'
import { pinSelf } from './pin.js'

const here = path.dirname(fileURLToPath(import.meta.url))

interface Args {
  quick: boolean
  only: string[] | undefined
  rounds: number
  time: number
  /** The server majors, in the order they run ([18] unless --servers). */
  servers: EmbeddedMajor[]
}

function parseArgs(argv: string[]): Args {
  const quick = argv.includes('--quick')
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag)
    return i === -1 ? undefined : argv[i + 1]
  }
  const only = get('--only')
  return {
    quick,
    only: only === undefined ? undefined : only.split(',').map((s) => s.trim()).filter(Boolean),
    rounds: Number(get('--rounds') ?? (quick ? 2 : 5)),
    // 2 s samples (3 s until the connect workloads joined): five rounds of every workload take about 20 minutes on a quiet machine.
    time: Number(get('--time') ?? (quick ? 300 : 2000)),
    servers: parseServers(get('--servers')),
  }
}



function packageVersion(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(here, '..', 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version
  } catch {
    return undefined
  }
}

async function startServer(pinned: boolean, major: EmbeddedMajor): Promise<{ target: BenchTarget; logins: Logins; stop(): Promise<void>; note: string }> {
  const url = process.env.DATABASE_URL
  if (url) {
    const target = targetFromUrl(url)
    return {
      target,
      logins: {
        scram: target,
        trust: undefined,
        note: `Logins: $DATABASE_URL's role ${target.user} stands for the SCRAM role (its pg_hba method is the server's business); there is no trust role.`,
      },
      stop: async () => {},
      note: `server: $DATABASE_URL (not pinned by the harness)`,
    }
  }
  const { startEmbedded } = await import('../test/support/embedded.js')
  const server = await startEmbedded({ major, ...(pinned ? { cpu: 1 } : {}) })
  const i = server.info
  const as = (r: { user: string; password?: string }): BenchTarget => ({ host: i.host, port: i.port, user: r.user, password: r.password ?? '', database: i.database })
  return {
    target: as(i.superuser),
    logins: { scram: as(i.roles.scram), trust: as(i.roles.trust) },
    stop: () => server.stop(),
    note: `server: embedded PostgreSQL ${i.major}${pinned ? ', pinned to CPU 1' : ''}`,
  }
}

interface Open {
  label: string
  sampler: Sampler
  samples: number[]
  /** Per metric key, one figure per sample. */
  metrics: Map<string, number[]>
  failed?: string
}

/** One sample: operations per second over about `time` ms (and any metrics the sampler reports). */
async function sample(perCall: number, s: Sampler, time: number, ctx: SampleContext): Promise<Measurement> {
  if (s.measure) {
    const m = await s.measure(time, ctx)
    return typeof m === 'number' ? { perSecond: m } : m
  }
  const call = s.call!
  const heavy = perCall >= 100 // one call takes milliseconds: fewer minimum iterations
  const bench = new Bench({
    time,
    iterations: heavy ? 2 : 10,
    warmupTime: Math.min(300, time / 5),
    warmupIterations: heavy ? 2 : 10,
  })
  // An async function: tinybench would otherwise call a plain one once, unawaited, to see if it returns a promise.
  bench.add('sample', async () => {
    await call()
  })
  await bench.run()
  const result = bench.tasks[0]?.result
  const mean = result?.latency?.mean
  if (!mean) throw result?.error ?? new Error('no result')
  return { perSecond: (1000 / mean) * perCall }
}

/** A contender's row: the median rate with min/max, and each metric over its samples. */
function resultRow(o: Open, columns: MetricColumn[] | undefined): ResultRow {
  const row: ResultRow = { name: o.label, ...medianOf(o.samples) }
  for (const c of columns ?? []) {
    const xs = o.metrics.get(c.key)
    if (!xs || xs.length === 0) continue
    ;(row.metrics ??= {})[c.key] = c.of === 'max' ? Math.max(...xs) : medianOf(xs).median
  }
  return row
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  pinSelf('PGLINE_BENCH_PINNED', 0)
  const pinned = process.env.PGLINE_BENCH_PINNED !== undefined
  const lines: string[] = []
  const say = (s: string): void => {
    console.log(s)
    lines.push(s)
  }
  const chosen = workloads.filter((w) => args.only === undefined || args.only.includes(w.name) || (w.group !== undefined && args.only.includes(w.group)))
  if (chosen.length === 0) throw new Error(`no workload named ${args.only?.join(',')} (have: ${workloads.map((w) => w.name).join(', ')})`)
  const several = args.servers.length > 1
  const defaultServers = args.servers.length === 1 && args.servers[0] === 18
  if (process.env.DATABASE_URL && !defaultServers) throw new Error('--servers starts embedded servers: unset DATABASE_URL to use it')
  for (const major of args.servers) await ensureServer(major) // before anything runs: a missing PG 15 fails fast

  // The optional extras, found before the server starts so their notes come first.
  const notes: string[] = []
  const pgbench = findPgbench()
  if (typeof pgbench === 'string') notes.push(`C ceiling skipped: ${pgbench}.`)
  else notes.push(`C ceiling: ${pgbench.path} (PostgreSQL ${pgbench.major})${pinned ? ', pinned to CPU 0 like the client' : ''}.`)
  const pgNative = await loadPgNative()
  if (typeof pgNative === 'string') notes.push(`pg-native skipped: ${pgNative}.`)
  else notes.push(`pg-native ${packageVersion('pg-native') ?? '?'} (node libpq ${packageVersion('libpq') ?? '?'}${libpqVersion()}).`)
  const bulk = chosen.some((w) => w.name.startsWith('copy-'))
  const copyStreams = bulk ? await loadCopyStreams() : 'not needed'
  if (bulk && typeof copyStreams === 'string') notes.push(`pg-copy-streams skipped: ${copyStreams}.`)
  else if (bulk && typeof copyStreams !== 'string') notes.push(`pg-copy-streams ${packageVersion('pg-copy-streams') ?? '?'}.`)
  let psql: string | undefined
  if (bulk) {
    try {
      psql = findPsql()
      notes.push(`psql: ${psql}${pinned ? ', pinned to CPU 0 like the client' : ''}.`)
    } catch (err) {
      notes.push(`psql \\copy skipped: ${errorText(err)}.`)
    }
  }
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'pgline-bench-'))
  const env: Env = {
    quick: args.quick,
    pgbench: typeof pgbench === 'string' ? undefined : pgbench,
    pgNative: typeof pgNative === 'string' ? undefined : pgNative,
    copyStreams: typeof copyStreams === 'string' ? undefined : copyStreams,
    psql,
    clientCpu: pinned ? 0 : undefined,
    tmpDir,
  }

  const started = performance.now()
  const problems: string[] = []
  const chart: ChartGroup[] = []
  let header: string[] = []
  try {
    for (const major of args.servers) {
      // One server at a time, stopped (on an error too) before the next one starts.
      const server = await startServer(pinned, major)
      env.logins = server.logins
      try {
        console.log(several ? `PostgreSQL ${major}: loading data...` : 'loading data...')
        await loadData(server.target, new Set<Table>(chosen.flatMap((w) => (w.skip?.(env) === undefined ? w.tables : []))), args.quick)
        const admin = new pg.Client(server.target)
        await admin.connect()
        const serverVersion = (await admin.query('show server_version')).rows[0].server_version as string
        const onMajor = Math.floor(Number((await admin.query('show server_version_num')).rows[0].server_version_num) / 10_000)
        if (header.length === 0) {
          say(`# pgline benchmark, ${new Date().toISOString()}${several ? ` on PostgreSQL ${args.servers.join(' and ')}` : ''}`)
          say('')
          say(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} CPUs; ` +
            `client ${pinned ? 'pinned to CPU 0' : 'not pinned'}; ` +
            `${several ? `servers one after the other: embedded PostgreSQL ${args.servers.join(', ')}${pinned ? ', each pinned to CPU 1' : ''}, the same server flags (embedded.ts postgresFlags)` : `${server.note} (${serverVersion})`}; ` +
            `${args.rounds} interleaved rounds of ${args.time} ms per driver, medians (min-max).`)
          say(`pg ${packageVersion('pg') ?? '?'}, postgres.js ${packageVersion('postgres') ?? '?'}. ${notes.join(' ')}`)
          header = lines.slice(0)
        }
        if (several) {
          say('')
          say(`PostgreSQL ${major}, for the tables below: ${server.note} (${serverVersion}).`)
        }
        try {
          for (const w of chosen) {
            const workloadStarted = performance.now()
            const at = `${w.name} on PostgreSQL ${onMajor}` // in headings, chart groups and problems
            const title = typeof w.title === 'string' ? w.title : w.title(env)
            const skipped = w.skip?.(env)
            if (skipped !== undefined) {
              say('')
              say(`## ${at}: ${title} (${w.unit})`)
              say('')
              say(`Skipped: ${skipped}.`)
              chart.push({ name: at, unit: w.unit, bars: [], note: `skipped: ${skipped}` })
              continue
            }
            const perCall = typeof w.perCall === 'number' ? w.perCall : w.perCall(env)
            // A contender that hangs (a driver bug) fails its row instead of the run.
            const limit = Math.max(120_000, 40 * args.time)
            const ctx: SampleContext = { admin }
            const open: Open[] = []
            for (const c of w.contenders(env).flatMap((c) => (c.baseline ? [c, c.baseline] : [c]))) {
              try {
                trace(`${w.name}: opening ${c.label}`)
                const sampler = await withTimeout(c.open(server.target), limit, `opening ${c.label}`)
                if (!sampler.call && !sampler.measure) await sampler.close()
                else open.push({ label: sampler.label ?? c.label, sampler, samples: [], metrics: new Map() })
              } catch (err) {
                problems.push(`${at}: ${c.label} could not start: ${errorText(err)}`)
                console.log(problems.at(-1))
              }
            }
            try {
              for (let round = 0; round < args.rounds; round++) {
                // Rotate the order each round.
                const order = open.slice(round % open.length).concat(open.slice(0, round % open.length))
                for (const o of order) {
                  if (o.failed) continue
                  await w.beforeSample?.(admin)
                  await waitForQuiet(0.25, args.quick ? 2_000 : 10_000, args.quick ? 100 : 200)
                  try {
                    trace(`${w.name}: round ${round + 1}, ${o.label}`)
                    const m = await withTimeout(sample(perCall, o.sampler, args.time, ctx), limit, 'a sample')
                    o.samples.push(m.perSecond)
                    for (const [k, v] of Object.entries(m.metrics ?? {})) {
                      const xs = o.metrics.get(k) ?? []
                      xs.push(v)
                      o.metrics.set(k, xs)
                    }
                  } catch (err) {
                    o.failed = errorText(err)
                    problems.push(`${at}: ${o.label} failed in round ${round + 1}: ${o.failed}`)
                    console.log(problems.at(-1))
                  }
                }
              }
            } finally {
              await Promise.all(open.map((o) => withTimeout(o.sampler.close(), 10_000, 'close').catch(() => {})))
              w.after?.()
            }
            const rows = open.filter((o) => !o.failed && o.samples.length > 0).map((o) => resultRow(o, w.metrics))
            say('')
            say(`## ${at}: ${title} (${w.unit})`)
            say('')
            if (rows.length > 0) for (const l of formatTable(rows, w.extra, w.metrics)) say(l)
            else say('(no driver completed this workload)')
            chart.push({ name: at, unit: w.unit, bars: rows.map((r) => ({ label: r.name, value: r.median })), note: 'no driver completed this workload' })
            const after = [...(rows.length > 0 ? (w.summary?.(rows, env) ?? []) : []), ...(w.notes?.(env) ?? []), `${loadLine()} The workload took ${seconds(workloadStarted)}.`]
            if (after.length > 0) say('')
            for (const l of after) say(`- ${l}`)
          }
        } finally {
          await admin.end()
        }
      } finally {
        await server.stop()
      }
    }
    if (problems.length > 0) {
      say('')
      say('## Problems')
      say('')
      for (const p of problems) say(`- ${p}`)
    }
  } finally {
    rmSync(tmpDir, { recursive: true, force: true })
  }
  say('')
  say(`Whole run: ${seconds(started)}, server start and data loading included.`)
  // The results and their chart (.md and .svg of the same name):
  //  - a full run (no --only): bench/results/<day>.md, and latest.md/latest.svg;
  //  - a run of chosen workloads: bench/results/<day>-<workloads>.md, leaving latest.* (the last full run) alone;
  //  - with --servers other than 18 alone, '-pg15+pg18' (the majors) ends the name, and latest.* is left alone;
  //  - a --quick run: the tmp directory only (its figures are not results).
  const day = new Date().toISOString().slice(0, 10)
  const base = (args.only ? `${day}-${chosen.map((w) => w.name).join('+')}` : day) + (defaultServers ? '' : `-pg${args.servers.join('+pg')}`)
  const dir = args.quick ? os.tmpdir() : path.join(here, 'results')
  const stem = args.quick ? `pgline-bench-quick-${base}` : base
  mkdirSync(dir, { recursive: true })
  const md = lines.join('\n') + '\n'
  const heading = chartTitle(header[0]?.replace(/^# /, ''), args.quick ? ' (--quick)' : '')
  const svg = renderChart(chart, { title: heading.title, subtitle: [...heading.subtitle, ...header.filter((l) => l.trim() !== '' && !l.startsWith('# '))] })
  const written = [path.join(dir, `${stem}.md`), path.join(dir, `${stem}.svg`)]
  writeFileSync(written[0]!, md)
  writeFileSync(written[1]!, svg)
  if (!args.only && !args.quick && defaultServers) {
    written.push(path.join(dir, 'latest.md'), path.join(dir, 'latest.svg'))
    writeFileSync(written[2]!, md)
    writeFileSync(written[3]!, svg)
  }
  console.log(`\nwritten to ${written.map((f) => path.relative(process.cwd(), f)).join(', ')}`)
}

/** The time since `t0` (a performance.now()), as '95 s' or '12.5 min'. */
function seconds(t0: number): string {
  const s = (performance.now() - t0) / 1000
  return s < 120 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`
}

/** ', on libpq 15.18' from pg_config (libpq-dev), or nothing. */
function libpqVersion(): string {
  const r = spawnSync('pg_config', ['--version'], { encoding: 'utf8' })
  const m = /PostgreSQL (\S+)/.exec(r.stdout ?? '')
  return r.status === 0 && m ? `, on libpq ${m[1]}` : ''
}

/** `p`, or a rejection once `ms` have passed without an answer. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s (hung?)`)), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/** Progress on stderr with PGLINE_BENCH_TRACE=1, to see where a run is (or hangs). */
function trace(s: string): void {
  if (process.env.PGLINE_BENCH_TRACE) console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`)
}

/** The machine's load averages: another tenant's work shows here (the harness itself keeps about one CPU busy). */
function loadLine(): string {
  const [a = 0, b = 0, c = 0] = os.loadavg()
  return `Load average after the workload (1/5/15 min): ${a.toFixed(2)} / ${b.toFixed(2)} / ${c.toFixed(2)} on ${os.cpus().length} CPUs.`
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
