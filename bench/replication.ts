// npm run bench:replication [-- --rows 1000000] [--tx 10000] [--rounds 3]
//                              [--consumers pgline-text,pgline-binary,recvlogical-text,recvlogical-binary]
//                              [--profile] [--out file.md]
//
// The replication workload of issue 19: 1M single-row INSERTs in transactions
// of 10k, decoded from a logical replication stream (pgoutput). Changes/s and
// the consumer's CPU per change for pgline's replicate() (values in text, and
// in binary), next to pg_recvlogical writing the same slot's output to
// /dev/null (the raw pgoutput bytes, nothing decoded: the floor of what a
// consumer can cost), with the same pgoutput options.
//
// Each round:
//  1. the table is emptied, then one logical slot per consumer is created, so
//     every consumer reads the very same WAL from its own slot;
//  2. the WAL is produced (not measured): --rows rows in transactions of --tx,
//     each transaction one DO block whose PL/pgSQL loop runs one single-row
//     INSERT statement per row (so the WAL holds one heap insert per row and
//     the stream one Insert message per row, as from an application);
//  3. a non-transactional logical message is emitted after the last commit
//     and flushed, and a CHECKPOINT taken, so nothing writes during the
//     measurements; pg_recvlogical is given that message's LSN as --endpos
//     (pgoutput does not send messages unless asked, but the walsender reads
//     past it, so its keepalive position reaches --endpos and pg_recvlogical
//     exits by itself having written everything up to the last commit);
//  4. each consumer in turn (the order rotated every round, after waiting for
//     a quiet machine) reads its slot from the start until it has the last
//     transaction's Commit: wall time from start (connection included) to
//     that Commit, the consumer's CPU, and the walsender's CPU.
//
// How each figure is taken:
//  - pgline: a child process of its own (this script, re-run with
//    PGLINE_REPL_JOB set), timing itself and its process.cpuUsage() from just
//    before replicate() (connection, authentication and START_REPLICATION
//    included) to the last Commit event. Node's start-up and tsx's compile
//    are outside the window. It sums each insert's n and the length of its v
//    (checked against the table's) and acknowledges each Commit's endLsn, as
//    a real consumer would.
//  - pg_recvlogical: run by bash, which takes the wall time around it
//    ($EPOCHREALTIME) and its CPU from getrusage of its children (`times`).
//    Its whole life is counted: exec, connection, streaming, and seeing that
//    --endpos is reached (its final keepalive).
//  - the walsender (PostgreSQL's process serving the stream, which decodes
//    the WAL and runs pgoutput): the postmaster's cutime+cstime from before
//    the consumer starts to after the walsender has been reaped. Nothing else
//    the postmaster starts ends meanwhile (autovacuum is off, no other
//    connection opens or closes), and the wait checks that every new child
//    of the postmaster is gone. Clock ticks: 10 ms resolution.
//
// Pinning, on a machine with two CPUs or more and taskset: this process and
// its children (the consumers) on CPU 0, PostgreSQL (the walsender) on CPU 1.
//
// --profile: the pgline consumers profile their measured window with the V8
// sampling profiler (node:inspector, every 100 µs), and the top self-time
// functions of each are printed (the pgline figures are then profiled ones,
// not for comparison).
//
// Writes bench/results/<day>-replication.md, or --out.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Connection, replicate, type ReplicationEvent } from '../src/index.js'
import { targetFromUrl, type BenchTarget } from './drivers.js'
import { medianOf, waitForQuiet } from './stats.js'
import { pinSelf } from './pin.js'

const here = path.dirname(fileURLToPath(import.meta.url))

const TABLE = 'bench_repl'
const PUBLICATION = 'bench_repl_pub'
const SLOT_PREFIX = 'pgline_bench_repl_'

const CONSUMERS = ['pgline-text', 'pgline-binary', 'recvlogical-text', 'recvlogical-binary'] as const
type ConsumerName = (typeof CONSUMERS)[number]
const LABEL: Record<ConsumerName, string> = {
  'pgline-text': 'pgline replicate() (text)',
  'pgline-binary': 'pgline replicate() (binary)',
  'recvlogical-text': 'pg_recvlogical > /dev/null (text)',
  'recvlogical-binary': 'pg_recvlogical > /dev/null (binary)',
}
const isPgline = (c: ConsumerName): boolean => c.startsWith('pgline')
const isBinary = (c: ConsumerName): boolean => c.endsWith('binary')
/** Each pgline consumer is compared with pg_recvlogical asking for the same value format. */
const PEER: Partial<Record<ConsumerName, ConsumerName>> = { 'pgline-text': 'recvlogical-text', 'pgline-binary': 'recvlogical-binary' }

// ---- the consumer child ----------------------------------------------------

interface Job {
  target: BenchTarget
  slot: string
  binary: boolean
  rows: number
  /** sum(n) and sum(length(v)) of the table, to check every row came whole. */
  sumN: number
  sumV: number
  /** Write a CPU profile of the measured window (from replicate() to the last Commit) to this file. */
  profile?: string
}

interface ChildResult {
  seconds: number
  cpuMicros: number
  sysMicros: number
  inserts: number
  commits: number
  sumN: number
  sumV: number
  lastEndLsn: string
}

async function consumerChild(job: Job): Promise<void> {
  let profiler: import('node:inspector/promises').Session | undefined
  if (job.profile) {
    const { Session } = await import('node:inspector/promises')
    profiler = new Session()
    profiler.connect()
    await profiler.post('Profiler.enable')
    await profiler.post('Profiler.setSamplingInterval', { interval: 100 })
    await profiler.post('Profiler.start')
  }
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const stream = await replicate({ ...job.target, applicationName: job.slot }, { slot: job.slot, publications: PUBLICATION, binary: job.binary })
  let inserts = 0
  let commits = 0
  let sumN = 0
  let sumV = 0
  let lastEndLsn = 0n
  for (let e: ReplicationEvent | null = await stream.next(); e !== null; e = await stream.next()) {
    if (e.kind === 'insert') {
      const row = e.new
      sumN += row.n as number
      sumV += (row.v as string).length
      inserts++
    } else if (e.kind === 'commit') {
      commits++
      lastEndLsn = e.endLsn
      stream.acknowledge(e.endLsn)
      if (inserts >= job.rows) break
    }
  }
  const seconds = (performance.now() - t0) / 1000
  const c = process.cpuUsage(c0)
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop')
    writeFileSync(job.profile!, JSON.stringify(profile))
    profiler.disconnect()
  }
  await stream.stop()
  const r: ChildResult = { seconds, cpuMicros: c.user + c.system, sysMicros: c.system, inserts, commits, sumN, sumV, lastEndLsn: lastEndLsn.toString() }
  process.stdout.write(JSON.stringify(r) + '\n')
}

// ---- arguments -------------------------------------------------------------

interface Args {
  rows: number
  tx: number
  rounds: number
  consumers: ConsumerName[]
  profile: boolean
  out: string | undefined
}

function parseArgs(argv: string[]): Args {
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag)
    return i === -1 ? undefined : argv[i + 1]
  }
  const int = (flag: string, dflt: number): number => {
    const v = Number(get(flag) ?? dflt)
    if (!Number.isInteger(v) || v < 1) throw new Error(`${flag}: a positive integer`)
    return v
  }
  const consumers = (get('--consumers')?.split(',').map((s) => s.trim()).filter(Boolean) ?? [...CONSUMERS]) as ConsumerName[]
  for (const c of consumers) if (!CONSUMERS.includes(c)) throw new Error(`--consumers: no consumer named ${c} (have: ${CONSUMERS.join(', ')})`)
  return {
    rows: int('--rows', 1_000_000),
    tx: int('--tx', 10_000),
    rounds: int('--rounds', 3),
    consumers,
    profile: argv.includes('--profile'),
    out: get('--out'),
  }
}

// ---- the server ------------------------------------------------------------

interface Server {
  target: BenchTarget
  stop(): Promise<void>
  note: string
  /** The postmaster's pid when it is a local process whose children can be seen (the walsender's CPU). */
  postmaster: number | undefined
}

async function startServer(pinned: boolean): Promise<Server> {
  const url = process.env.DATABASE_URL
  if (url) {
    return {
      target: targetFromUrl(url),
      stop: async () => {},
      note: 'server: $DATABASE_URL (needs wal_level=logical; not pinned by the harness; the walsender CPU is not measured)',
      postmaster: undefined,
    }
  }
  const { startEmbedded, postmasterPid } = await import('../test/support/embedded.js')
  // autovacuum off: a worker ending during a measurement would count as the walsender's CPU (see the top).
  const settings = ['wal_level=logical', 'autovacuum=off', 'max_wal_size=8GB']
  const server = await startEmbedded({ major: 18, settings, ...(pinned ? { cpu: 1 } : {}) })
  const i = server.info
  const pid = postmasterPid(i.dataDir)
  return {
    target: { host: i.host, port: i.port, user: i.superuser.user, password: i.superuser.password ?? '', database: i.database },
    stop: () => server.stop(),
    note: `server: embedded PostgreSQL ${i.major}${pinned ? ' pinned to CPU 1' : ''} (${settings.join(', ')}; and the test cluster's fsync=off, synchronous_commit=off)`,
    postmaster: pid > 0 && existsSync(`/proc/${pid}/stat`) ? pid : undefined,
  }
}

// ---- /proc -----------------------------------------------------------------

/** utime+stime of the reaped children of `pid`, in microseconds (clock ticks of 10 ms). */
function childrenCpuMicros(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  // Fields from the 3rd (state): cutime is the 16th, cstime the 17th.
  const ticks = Number(f[16 - 3]) + Number(f[17 - 3])
  return (ticks * 1e6) / 100 // USER_HZ
}

function childrenOf(pid: number): Set<number> | undefined {
  try {
    return new Set(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number))
  } catch {
    return undefined
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Waits until every child the postmaster has now and did not have in `before` is gone (reaped). */
async function waitReaped(pid: number, before: Set<number> | undefined, ms = 10_000): Promise<boolean> {
  if (before === undefined) {
    await sleep(200)
    return true
  }
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const now = childrenOf(pid)
    if (now === undefined || [...now].every((c) => before.has(c))) return true
    await sleep(10)
  }
  return false
}

// ---- one measurement -------------------------------------------------------

interface Sample {
  seconds: number
  consumerMicros: number
  /** The part of consumerMicros spent in the kernel. */
  consumerSysMicros: number
  /** The walsender's CPU, when it could be measured. */
  serverMicros: number | undefined
}

interface RoundSetup {
  rows: number
  sumN: number
  sumV: number
  /** pg_recvlogical's --endpos: the end-of-WAL marker's LSN (after the last commit). */
  endpos: string
  /** The WAL position before the last transaction: a slot confirmed past it has the whole stream. */
  beforeLast: string
}

const live = new Set<ChildProcess>()

/** Each child leads a process group of its own, so that bash and the pg_recvlogical it runs go together. */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
  } catch {
    child.kill('SIGKILL')
  }
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true })
    live.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s))
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      stderr += s
      if (stderr.length > 100_000) stderr = stderr.slice(-50_000)
    })
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${Math.round(timeoutMs / 1000)} s)`
      killGroup(child)
    }, timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      live.delete(child)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      live.delete(child)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

async function runPgline(c: ConsumerName, slot: string, setup: RoundSetup, target: BenchTarget, profileDir: string | undefined, timeoutMs: number): Promise<Timed> {
  const job: Job = { target, slot, binary: isBinary(c), rows: setup.rows, sumN: setup.sumN, sumV: setup.sumV }
  if (profileDir) job.profile = path.join(profileDir, `${c}.cpuprofile`)
  const r = await run(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { ...process.env, PGLINE_REPL_JOB: JSON.stringify(job) }, timeoutMs)
  if (r.code !== 0) throw new Error(`the consumer exited (${r.signal ?? r.code}): ${r.stderr.trim().split('\n').slice(-5).join(' / ')}`)
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult
  if (res.inserts !== setup.rows || res.sumN !== setup.sumN || res.sumV !== setup.sumV) {
    throw new Error(`wrong stream: ${res.inserts} inserts (sum n ${res.sumN}, sum length(v) ${res.sumV}), expected ${setup.rows} (${setup.sumN}, ${setup.sumV})`)
  }
  return res
}

interface Timed {
  seconds: number
  cpuMicros: number
  sysMicros: number
}

async function runRecvlogical(c: ConsumerName, slot: string, setup: RoundSetup, target: BenchTarget, recvlogical: string, admin: Connection, timeoutMs: number): Promise<Timed> {
  const conninfo = `host=${target.host} port=${target.port} dbname=${target.database} user=${target.user} application_name=${slot}`
  const args = ['-d', conninfo, '--slot', slot, '--start', '--no-loop', '-o', 'proto_version=1', '-o', `publication_names=${PUBLICATION}`]
  if (isBinary(c)) args.push('-o', 'binary=true')
  args.push('--endpos', setup.endpos, '-f', '/dev/null')
  // bash times it ($EPOCHREALTIME, microseconds) and reports its children's rusage (`times`, milliseconds).
  const script = 't0=$EPOCHREALTIME; "$@"; s=$?; t1=$EPOCHREALTIME; echo "WALL $t0 $t1" >&2; times >&2; exit $s'
  const r = await run('bash', ['-c', script, 'bash', recvlogical, ...args], { ...process.env, PGPASSWORD: target.password }, timeoutMs)
  const lines = r.stderr.trim().split('\n')
  if (r.code !== 0) throw new Error(`pg_recvlogical exited (${r.signal ?? r.code}): ${lines.slice(-8, -3).join(' / ') || 'no message'}`)
  const wall = /^WALL (\d+)[.,](\d+) (\d+)[.,](\d+)$/.exec(lines[lines.length - 3] ?? '')
  const times = /^(\d+)m([\d.,]+)s (\d+)m([\d.,]+)s$/.exec(lines[lines.length - 1] ?? '')
  if (!wall || !times) throw new Error(`cannot read bash's timing: ${lines.slice(-3).join(' / ')}`)
  const us = (s: string, frac: string): number => Number(s) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6))
  const seconds = (us(wall[3]!, wall[4]!) - us(wall[1]!, wall[2]!)) / 1e6
  const secs = (m: string, s: string): number => Number(m) * 60 + Number(s.replace(',', '.'))
  const sysMicros = secs(times[3]!, times[4]!) * 1e6
  const cpuMicros = secs(times[1]!, times[2]!) * 1e6 + sysMicros
  // It wrote nothing we can read: check that it confirmed the slot past the start of the last transaction.
  const confirmed = (await admin.query<{ ok: boolean; lsn: string }>('select confirmed_flush_lsn > $2::pg_lsn as ok, confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1', [slot, setup.beforeLast])).rows[0]
  if (!confirmed?.ok) throw new Error(`pg_recvlogical stopped short: slot confirmed at ${confirmed?.lsn}, the last transaction starts after ${setup.beforeLast}`)
  return { seconds, cpuMicros, sysMicros }
}

async function measure(c: ConsumerName, slot: string, setup: RoundSetup, server: Server, admin: Connection, recvlogical: string | undefined, profileDir: string | undefined): Promise<Sample> {
  const timeoutMs = Math.max(120_000, setup.rows / 2) // 2 000 changes/s at the least
  const pm = server.postmaster
  const before = pm ? childrenOf(pm) : undefined
  const cpu0 = pm ? childrenCpuMicros(pm) : 0
  const r = isPgline(c) ? await runPgline(c, slot, setup, server.target, profileDir, timeoutMs) : await runRecvlogical(c, slot, setup, server.target, recvlogical!, admin, timeoutMs)
  let serverMicros: number | undefined
  if (pm && (await waitReaped(pm, before))) serverMicros = childrenCpuMicros(pm) - cpu0
  return { seconds: r.seconds, consumerMicros: r.cpuMicros, consumerSysMicros: r.sysMicros, serverMicros }
}

// ---- the WAL ---------------------------------------------------------------

async function makeTable(admin: Connection): Promise<void> {
  await admin.simpleQuery(`
    drop publication if exists ${PUBLICATION};
    drop table if exists ${TABLE};
    create table ${TABLE} (id int primary key, v text not null, n int not null, t timestamptz not null);
    create publication ${PUBLICATION} for table ${TABLE}`)
}

async function dropSlots(admin: Connection): Promise<void> {
  // A slot still in use (a consumer killed mid-stream) is released by ending its walsender first.
  await admin.query(`select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name like $1 and active_pid is not null`, [`${SLOT_PREFIX}%`])
  for (let i = 0; i < 50; i++) {
    const left = (await admin.query<{ n: number }>(`select count(*)::int as n from pg_replication_slots where slot_name like $1 and active`, [`${SLOT_PREFIX}%`])).rows[0]!.n
    if (left === 0) break
    await sleep(100)
  }
  await admin.query(`select count(pg_drop_replication_slot(slot_name) is null)::int as n from pg_replication_slots where slot_name like $1`, [`${SLOT_PREFIX}%`])
}

/** Empties the table, makes a slot per consumer, then writes the round's WAL. */
async function produce(admin: Connection, args: Args, slots: string[]): Promise<RoundSetup> {
  await admin.simpleQuery(`truncate ${TABLE}`)
  for (const s of slots) await admin.query(`select lsn::text from pg_create_logical_replication_slot($1, 'pgoutput')`, [s])
  let beforeLast = ''
  for (let a = 1; a <= args.rows; a += args.tx) {
    const b = Math.min(args.rows, a + args.tx - 1)
    if (b === args.rows) beforeLast = (await admin.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn')).rows[0]!.lsn
    // One transaction; the loop runs one single-row INSERT statement per row.
    await admin.simpleQuery(
      `do $$ begin for i in ${a}..${b} loop insert into ${TABLE} (id, v, n, t) values (i, md5(i::text), i % 1000, clock_timestamp()); end loop; end $$`,
    )
  }
  const endpos = (await admin.query<{ lsn: string }>(`select pg_logical_emit_message(false, 'pgline-bench', 'end')::text as lsn`)).rows[0]!.lsn
  await admin.simpleQuery('checkpoint')
  const flushed = (await admin.query<{ ok: boolean }>('select pg_current_wal_flush_lsn() >= $1::pg_lsn as ok', [endpos])).rows[0]!.ok
  if (!flushed) throw new Error(`the WAL is not flushed up to ${endpos} after a checkpoint`)
  const sums = (await admin.query<{ rows: number; n: string; v: string }>(`select count(*)::int as rows, sum(n)::text as n, sum(length(v))::text as v from ${TABLE}`)).rows[0]!
  if (sums.rows !== args.rows) throw new Error(`the table has ${sums.rows} rows, expected ${args.rows}`)
  return { rows: args.rows, sumN: Number(sums.n), sumV: Number(sums.v), endpos, beforeLast }
}

// ---- profiles --------------------------------------------------------------

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[]
  samples: number[]
  timeDeltas: number[]
}

/** The top self-time functions of a .cpuprofile, then the self time by file, as lines. */
function topSelf(file: string, n = 20): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map((x) => [x.id, x]))
  const self = new Map<string, number>()
  const byFile = new Map<string, number>()
  let total = 0
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]!)
    const dt = p.timeDeltas[i] ?? 0
    total += dt
    if (!node) continue
    const f = node.callFrame
    // Line numbers are left out: under tsx they are the transpiled code's, not the source's.
    const where = f.url ? f.url.replace(/^file:\/\//, '').replace(path.join(here, '..') + '/', '') : ''
    const key = `${f.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`
    self.set(key, (self.get(key) ?? 0) + dt)
    const fileKey = where || (f.functionName.startsWith('(') ? f.functionName : `(native: ${f.functionName || 'anonymous'})`)
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + dt)
  }
  const top = (m: Map<string, number>, k: number): string[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([key, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`)
  return [...top(self, n), '', 'by file:', ...top(byFile, 12)]
}

// ---- the tables ------------------------------------------------------------

const fmtInt = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–')
const fmt2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–')
const med = (xs: number[]): number => (xs.length ? medianOf(xs).median : NaN)

function withSpread(xs: number[]): string {
  if (xs.length === 0) return '–'
  const { median, min, max } = medianOf(xs)
  return xs.length === 1 ? fmtInt(median) : `${fmtInt(median)} ±${Math.round((50 * (max - min)) / median)}%`
}

function table(results: Map<ConsumerName, Sample[]>, rows: number): string[] {
  const out = [
    '| consumer | changes/s | wall s | consumer CPU µs/change | of which kernel | consumer CPU / wall | walsender CPU µs/change | walsender CPU / wall |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const [c, ss] of results) {
    if (ss.length === 0) continue
    const srv = ss.map((s) => s.serverMicros).filter((x): x is number => x !== undefined)
    out.push(
      `| ${LABEL[c]} | ${withSpread(ss.map((s) => rows / s.seconds))} | ${fmt2(med(ss.map((s) => s.seconds)))} | ` +
        `${fmt2(med(ss.map((s) => s.consumerMicros / rows)))} | ${Math.round(100 * med(ss.map((s) => s.consumerSysMicros / s.consumerMicros)))}% | ${Math.round(100 * med(ss.map((s) => s.consumerMicros / 1e6 / s.seconds)))}% | ` +
        `${srv.length ? fmt2(med(srv.map((x) => x / rows))) : '–'} | ${srv.length ? `${Math.round(100 * med(ss.filter((s) => s.serverMicros !== undefined).map((s) => s.serverMicros! / 1e6 / s.seconds)))}%` : '–'} |`,
    )
  }
  const ratios: string[] = []
  for (const [c, peer] of Object.entries(PEER) as [ConsumerName, ConsumerName][]) {
    const a = results.get(c) ?? []
    const b = results.get(peer) ?? []
    if (!a.length || !b.length) continue
    const speed = med(a.map((s) => rows / s.seconds)) / med(b.map((s) => rows / s.seconds))
    const cpu = med(a.map((s) => s.consumerMicros)) / med(b.map((s) => s.consumerMicros))
    ratios.push(`- ${LABEL[c]} vs ${LABEL[peer]}: ${speed.toFixed(2)}x the changes/s, ${cpu.toFixed(1)}x the consumer CPU per change.`)
  }
  if (ratios.length) out.push('', ...ratios)
  return out
}

// ---- the run ---------------------------------------------------------------

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)
}

/**
 * $PG_RECVLOGICAL, else the newest Debian install's binary itself: /usr/bin/pg_recvlogical is Debian's
 * pg_wrapper, a Perl script that would add some 50 ms of CPU and wall time to every run.
 */
function findRecvlogical(): string | undefined {
  let versions: string[] = []
  try {
    versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
  } catch {
    // not Debian
  }
  const candidates = [process.env.PG_RECVLOGICAL, ...versions.map((v) => `/usr/lib/postgresql/${v}/bin/pg_recvlogical`), '/usr/bin/pg_recvlogical', '/usr/local/bin/pg_recvlogical']
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p))
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  pinSelf('PGLINE_REPL_PINNED', 0)
  const pinned = process.env.PGLINE_REPL_PINNED !== undefined
  const started = performance.now()
  const lines: string[] = []
  const say = (s: string): void => {
    console.log(s)
    lines.push(s)
  }
  const problems: string[] = []
  const problem = (s: string): void => {
    problems.push(s)
    console.log(`problem: ${s}`)
  }

  let consumers = args.consumers
  const recvlogical = findRecvlogical()
  let recvVersion = ''
  if (recvlogical) recvVersion = spawnSync(recvlogical, ['--version'], { encoding: 'utf8' }).stdout.trim()
  else if (consumers.some((c) => !isPgline(c))) {
    problem('pg_recvlogical not found ($PG_RECVLOGICAL, /usr/lib/postgresql/*/bin, /usr/bin, /usr/local/bin): its rows are skipped; on Debian: apt-get install postgresql-client')
    consumers = consumers.filter(isPgline)
  }
  if (consumers.length === 0) throw new Error('no consumer to measure')

  let server: Server | undefined
  let admin: Connection | undefined
  let stopping: Promise<void> | undefined
  const profileDir = args.profile ? mkdtempSync(path.join(os.tmpdir(), 'pgline-repl-prof-')) : undefined
  const cleanup = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const ch of live) killGroup(ch)
      if (admin && !admin.closed) {
        await dropSlots(admin).catch((err: unknown) => console.error(`dropping the slots: ${errorText(err)}`))
        if (process.env.DATABASE_URL) await admin.simpleQuery(`drop publication if exists ${PUBLICATION}; drop table if exists ${TABLE}`).catch(() => {})
        await admin.close().catch(() => {})
      }
      await server?.stop().catch((err: unknown) => console.error(`stopping the server: ${errorText(err)}`))
      if (profileDir) rmSync(profileDir, { recursive: true, force: true })
    })())
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      console.error(`${sig}: stopping`)
      void cleanup().finally(() => process.exit(130))
    })
  }

  const results = new Map<ConsumerName, Sample[]>(consumers.map((c) => [c, []]))
  const failed = new Set<ConsumerName>()
  const profiles: string[] = []
  try {
    server = await startServer(pinned)
    admin = await Connection.connect(server.target)
    const version = (await admin.query<{ v: string }>('select version() as v')).rows[0]!.v
    const walLevel = (await admin.query<{ w: string }>("select current_setting('wal_level') as w")).rows[0]!.w
    if (walLevel !== 'logical') throw new Error(`the server has wal_level=${walLevel}: logical replication needs wal_level=logical`)
    await dropSlots(admin) // a previous run's, on a $DATABASE_URL server
    await makeTable(admin)
    const txs = Math.ceil(args.rows / args.tx)

    say(`# pgline logical replication benchmark, ${new Date().toISOString()}`)
    say('')
    say(
      `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} CPUs; ` +
        `${pinned ? 'consumers (and this harness) pinned to CPU 0, PostgreSQL to CPU 1' : 'not pinned (fewer than 2 CPUs or no taskset)'}; ` +
        `${server.note}; ${version.split(',')[0]}; ${recvlogical ? `${recvVersion} (${recvlogical})` : 'no pg_recvlogical'}.`,
    )
    say('')
    say(
      `Workload: ${fmtInt(args.rows)} rows in ${fmtInt(txs)} transactions of ${fmtInt(args.tx)}, each row its own single-row INSERT statement ` +
        `(a PL/pgSQL loop in one DO block per transaction) into \`${TABLE} (id int primary key, v text /* md5, 32 chars */, n int, t timestamptz)\`, ` +
        `published by \`${PUBLICATION}\`. Every consumer reads the same WAL from a slot of its own, pgoutput protocol 1, ` +
        `until the last transaction's Commit; ${args.rounds} round${args.rounds === 1 ? '' : 's'} (WAL made anew each round, not measured), ` +
        `the consumers in a rotated order. Cells: medians over the rounds (changes/s: ±half the min-max spread). ` +
        `pgline: replicate() in a process of its own, summing each insert's n and length(v) (checked) and acknowledging every Commit; ` +
        `its CPU and wall time from just before replicate() (connection included) to the last Commit, Node's start-up not included. ` +
        `pg_recvlogical: \`--start -o proto_version=1 -o publication_names=${PUBLICATION} [-o binary=true] --endpos <end marker> -f /dev/null\`, ` +
        `its whole process life. Walsender: the PostgreSQL process serving the stream (decoding the WAL, pgoutput), from the postmaster's reaped-children CPU, 10 ms ticks.` +
        (args.profile ? ' **Profiled run (--profile): the pgline figures include the profiler.**' : ''),
    )

    const t0 = performance.now()
    for (let round = 0; round < args.rounds; round++) {
      const now = consumers.filter((c) => !failed.has(c))
      if (now.length === 0) break
      const order = now.slice(round % now.length).concat(now.slice(0, round % now.length))
      const slots = new Map(order.map((c) => [c, `${SLOT_PREFIX}${c.replace('-', '_')}`]))
      const g0 = performance.now()
      const setup = await produce(admin, args, [...slots.values()])
      console.log(`round ${round + 1}/${args.rounds}: WAL for ${fmtInt(args.rows)} rows written in ${((performance.now() - g0) / 1000).toFixed(1)} s`)
      for (const c of order) {
        if (stopping) throw new Error('stopped')
        await waitForQuiet(0.25, 5_000, 200)
        try {
          const s = await measure(c, slots.get(c)!, setup, server, admin, recvlogical, profileDir)
          results.get(c)!.push(s)
          console.log(
            `round ${round + 1}/${args.rounds} ${LABEL[c]}: ${fmtInt(args.rows / s.seconds)} changes/s (${s.seconds.toFixed(2)} s), ` +
              `consumer ${fmt2(s.consumerMicros / args.rows)} µs/change, walsender ${s.serverMicros === undefined ? '–' : fmt2(s.serverMicros / args.rows)} µs/change`,
          )
        } catch (err) {
          failed.add(c)
          problem(`${LABEL[c]} failed in round ${round + 1}: ${errorText(err)}`)
        }
      }
      await dropSlots(admin)
      const left = ((performance.now() - t0) / (round + 1)) * (args.rounds - round - 1)
      if (round + 1 < args.rounds) console.log(`(about ${Math.ceil(left / 60_000)} min left)`)
    }

    if (profileDir) {
      for (const c of consumers.filter(isPgline)) {
        const file = path.join(profileDir, `${c}.cpuprofile`)
        if (!existsSync(file)) continue
        profiles.push('', `### ${LABEL[c]}: top self time (the last round; from replicate() to the last Commit, sampled every 100 µs)`, '', '```')
        profiles.push(...topSelf(file))
        profiles.push('```')
      }
    }

    say('')
    say(`## ${fmtInt(args.rows)} inserts decoded from the stream`)
    say('')
    for (const l of table(results, args.rows)) say(l)
    const [a = 0, b = 0, c = 0] = os.loadavg()
    say('')
    say(`- Load average at the end (1/5/15 min): ${a.toFixed(2)} / ${b.toFixed(2)} / ${c.toFixed(2)} on ${os.cpus().length} CPUs.`)
    say(`- "CPU / wall": how busy the process was while the consumer ran; a consumer near 100% is the bottleneck, else it waits on the walsender.`)
    if (profiles.length) {
      say('')
      say('## Profiles (--profile)')
      for (const l of profiles) say(l)
    }
    if (problems.length > 0) {
      say('')
      say('## Problems')
      say('')
      for (const p of problems) say(`- ${p}`)
    }
  } finally {
    await cleanup()
  }
  say('')
  say(`Whole run: ${Math.round((performance.now() - started) / 1000)} s, server start and WAL generation included.`)
  const day = new Date().toISOString().slice(0, 10)
  const file = args.out ?? path.join(here, 'results', `${day}-replication.md`)
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, lines.join('\n') + '\n')
  console.log(`\nwritten to ${path.relative(process.cwd(), file)}`)
  if (problems.length > 0) process.exitCode = 1
}

const job = process.env.PGLINE_REPL_JOB
const entry = job ? consumerChild(JSON.parse(job) as Job) : main()
entry.then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
