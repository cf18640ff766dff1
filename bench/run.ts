// npm run bench [-- --quick] [--only <workload>] [--rounds N] [--time ms]
//
// Runs every workload for every driver on one server in one run, interleaved
// (A B C, then B C A, ...) so drift hits all drivers alike, and prints the
// median with min/max and the ratio to the fastest. On a machine with two or
// more CPUs the client and the server are pinned to different CPUs: unpinned
// figures on small machines are bimodal (see native-notes.md).

import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Bench } from 'tinybench'
import { drivers, type BenchTarget } from './drivers.js'
import { loadData } from './data.js'
import { workloads } from './workloads.js'
import { medianOf, waitForQuiet, formatTable, type Row } from './stats.js'

const here = path.dirname(fileURLToPath(import.meta.url))

interface Args {
  quick: boolean
  only: string | undefined
  rounds: number
  time: number
}

function parseArgs(argv: string[]): Args {
  const quick = argv.includes('--quick')
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag)
    return i === -1 ? undefined : argv[i + 1]
  }
  return {
    quick,
    only: get('--only'),
    rounds: Number(get('--rounds') ?? (quick ? 2 : 5)),
    time: Number(get('--time') ?? (quick ? 500 : 3000)),
  }
}

function hasTaskset(): boolean {
  return spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0
}

/** Re-runs this process pinned to CPU 0 (the server gets CPU 1). Returns true when it did. */
function pinSelf(): boolean {
  if (process.env.PGLINE_BENCH_PINNED || os.availableParallelism() < 2 || !hasTaskset()) return false
  const r = spawnSync('taskset', ['-c', '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, PGLINE_BENCH_PINNED: '0' },
  })
  process.exit(r.status ?? 1)
}

async function startServer(pinned: boolean): Promise<{ target: BenchTarget; stop(): Promise<void>; note: string }> {
  const url = process.env.DATABASE_URL
  if (url) {
    const u = new URL(url)
    return {
      target: {
        host: u.hostname,
        port: Number(u.port || 5432),
        user: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
        database: u.pathname.slice(1),
      },
      stop: async () => {},
      note: `server: $DATABASE_URL (not pinned by the harness)`,
    }
  }
  const { startEmbedded } = await import('../test/support/embedded.js')
  const server = await startEmbedded({ major: 18, ...(pinned ? { cpu: 1 } : {}) })
  const i = server.info
  return {
    target: { host: i.host, port: i.port, user: i.superuser.user, password: i.superuser.password ?? '', database: i.database },
    stop: () => server.stop(),
    note: `server: embedded PostgreSQL ${i.major}${pinned ? ', pinned to CPU 1' : ''}`,
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  pinSelf()
  const pinned = process.env.PGLINE_BENCH_PINNED !== undefined
  const server = await startServer(pinned)
  const lines: string[] = []
  const say = (s: string): void => {
    console.log(s)
    lines.push(s)
  }
  try {
    const chosen = workloads.filter((w) => args.only === undefined || w.name === args.only)
    if (chosen.length === 0) throw new Error(`no workload named ${args.only} (have: ${workloads.map((w) => w.name).join(', ')})`)
    console.log('loading data...')
    await loadData(server.target)
    say(`# pgline benchmark, ${new Date().toISOString()}`)
    say('')
    say(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} CPUs; ` +
      `client ${pinned ? 'pinned to CPU 0' : 'not pinned'}; ${server.note}; ` +
      `${args.rounds} interleaved rounds of ${args.time} ms per driver, medians (min-max).`)
    for (const w of chosen) {
      const samples = new Map<string, number[]>()
      const open = await Promise.all(
        drivers.filter((d) => w.drivers === undefined || w.drivers.includes(d.name)).map(async (d) => ({ d, h: await d.open(server.target) })),
      )
      try {
        for (let round = 0; round < args.rounds; round++) {
          // Rotate the order each round.
          const order = open.slice(round % open.length).concat(open.slice(0, round % open.length))
          for (const { d, h } of order) {
            await waitForQuiet()
            const run = w.make(h)
            const bench = new Bench({ time: args.time, warmupTime: Math.min(300, args.time / 5), warmupIterations: 10 })
            bench.add(d.name, run)
            await bench.run()
            const mean = bench.tasks[0]?.result?.latency.mean
            if (!mean) throw new Error(`${d.name} on ${w.name}: no result (${String(bench.tasks[0]?.result?.error ?? '')})`)
            const perSecond = (1000 / mean) * w.perCall
            const list = samples.get(d.name) ?? []
            list.push(perSecond)
            samples.set(d.name, list)
          }
        }
      } finally {
        await Promise.all(open.map(({ h }) => h.close()))
      }
      const rows: Row[] = [...samples].map(([name, s]) => ({ name, ...medianOf(s) }))
      say('')
      say(`## ${w.name}: ${w.title} (${w.unit})`)
      say('')
      for (const l of formatTable(rows)) say(l)
    }
  } finally {
    await server.stop()
  }
  if (!args.quick) {
    const dir = path.join(here, 'results')
    mkdirSync(dir, { recursive: true })
    const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}.md`)
    writeFileSync(file, lines.join('\n') + '\n')
    writeFileSync(path.join(dir, 'latest.md'), lines.join('\n') + '\n')
    console.log(`\nwritten to ${path.relative(process.cwd(), file)}`)
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
