// A throwaway PgBouncer in transaction mode in front of the run's test server,
// for the pooler tests. Uses Debian's `pgbouncer` package (installed by
// .ci/run when it can); when there is no binary, findPgBouncer() says why and
// the tests skip with that reason.
//
// The pooler listens on a free loopback port and mirrors the server's roles:
// pgline_trust logs in without a password, pgline_md5 with md5, everyone else
// with SCRAM; the auth_file holds the plaintext passwords, which PgBouncer
// also uses to log in to the server. Two pool aliases point at the same
// database:
//   pgline_test: transaction pooling, a few server connections
//   pgline_one:  transaction pooling over exactly one server connection, so
//                two clients deterministically share it (session-state tests)
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, rmSync } from 'node:fs'
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort, type ServerInfo } from './embedded.js'

const run = promisify(execFile)
const HOST = '127.0.0.1'

export interface PgBouncer {
  host: string
  port: number
  /** The pooled database names: 'pgline_test' (a few server connections), 'pgline_one' (exactly one). */
  database: string
  singleDatabase: string
  version: string
  /**
   * PgBouncer 1.22+ answers a 3.2 startup with NegotiateProtocolVersion;
   * older ones reject it ("bad packet header"). pgline asks for 3.0 by
   * default, so this only matters to the tests that ask for 3.2.
   */
  negotiatesProtocol: boolean
  /** Recent log lines, for failure messages. */
  log(): string
  stop(): Promise<void>
}

/** Path of the pgbouncer binary, or a reason why the pooler tests cannot run. */
export function findPgBouncer(): { bin: string } | { reason: string } {
  if (process.env['PGLINE_NO_PGBOUNCER'] === '1') return { reason: 'PGLINE_NO_PGBOUNCER=1 is set' }
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    const bin = path.join(dir, 'pgbouncer')
    try {
      accessSync(bin, constants.X_OK)
      return { bin }
    } catch {}
  }
  return { reason: 'no pgbouncer binary on PATH or in /usr/sbin (Debian: apt-get install pgbouncer; .ci/run does it when run as root)' }
}

/** uid/gid to run as when we are root (PgBouncer refuses to): the embedded server's `postgres` user, else nobody. */
async function unprivileged(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined
  for (const user of ['postgres', 'nobody']) {
    try {
      return {
        uid: Number((await run('id', ['-u', user])).stdout),
        gid: Number((await run('id', ['-g', user])).stdout),
      }
    } catch {}
  }
  throw new Error('running as root and found neither a postgres nor a nobody user to run pgbouncer as')
}


/** "1.18.0" from `pgbouncer --version`. */
async function versionOf(bin: string): Promise<string> {
  const { stdout } = await run(bin, ['--version'])
  return /PgBouncer (\d+\.\d+(?:\.\d+)?)/i.exec(stdout)?.[1] ?? '0.0'
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number)
  return a > major || (a === major && b >= minor)
}

/** A userlist.txt line: "name" "secret", with double quotes doubled. */
const entry = (user: string, secret: string) => `"${user.replace(/"/g, '""')}" "${secret.replace(/"/g, '""')}"`

// Started here and not yet stopped: killed synchronously if the process exits first.
const live = new Set<{ child: ChildProcess; dir: string }>()
process.on('exit', () => {
  for (const l of live) {
    try { l.child.kill('SIGKILL') } catch {}
    try { rmSync(l.dir, { recursive: true, force: true }) } catch {}
  }
})

export async function startPgBouncer(server: ServerInfo, bin: string): Promise<PgBouncer> {
  const version = await versionOf(bin)
  const ids = await unprivileged()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pgline-pgbouncer-'))
  const tail: string[] = []
  const onLog = (chunk: string) => {
    for (const line of chunk.split(/\r?\n/)) {
      if (!line.trim()) continue
      tail.push(line)
      if (tail.length > 400) tail.shift()
    }
  }
  const files = {
    ini: path.join(dir, 'pgbouncer.ini'),
    users: path.join(dir, 'userlist.txt'),
    hba: path.join(dir, 'hba.conf'),
    pid: path.join(dir, 'pgbouncer.pid'),
  }
  const { roles, superuser } = server
  const withPassword = [roles.password, roles.md5, roles.scram, superuser].filter((r) => r.password !== undefined)
  const users = new Map<string, string>()
  for (const r of withPassword) users.set(r.user, r.password!)
  if (!users.has(roles.trust.user)) users.set(roles.trust.user, '')
  await writeFile(files.users, [...users].map(([u, p]) => entry(u, p)).join('\n') + '\n', { mode: 0o600 })
  // PgBouncer's own hba file: same methods per role as the server's pg_hba.conf.
  const trustLine = roles.trust.password === undefined ? [`host all ${roles.trust.user} 127.0.0.1/32 trust`] : []
  const md5Line = roles.md5.user !== roles.scram.user ? [`host all ${roles.md5.user} 127.0.0.1/32 md5`] : []
  await writeFile(files.hba, [...trustLine, ...md5Line, 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'), { mode: 0o600 })

  const target = `host=${server.host} port=${server.port} dbname=${server.database}`
  const ini = (port: number) =>
    [
      '[databases]',
      `pgline_test = ${target} pool_size=4`,
      `pgline_one = ${target} pool_size=1`,
      '',
      '[pgbouncer]',
      `listen_addr = ${HOST}`,
      `listen_port = ${port}`,
      'unix_socket_dir =',
      `pidfile = ${files.pid}`,
      'logfile =', // stderr, captured below
      'pool_mode = transaction',
      'auth_type = hba',
      `auth_hba_file = ${files.hba}`,
      `auth_file = ${files.users}`,
      'max_client_conn = 200',
      'reserve_pool_size = 0',
      'server_login_retry = 1',
      'ignore_startup_parameters = extra_float_digits,statement_timeout',
      // PGLINE_PGBOUNCER_VERBOSE=2: every packet in the log (see PgBouncer.log()).
      ...(process.env['PGLINE_PGBOUNCER_VERBOSE'] ? [`verbose = ${Number(process.env['PGLINE_PGBOUNCER_VERBOSE'])}`] : []),
      // PgBouncer 1.21+ can track named prepared statements; off, so it behaves
      // like the older poolers pgline must cope with (and like 1.18 here).
      ...(atLeast(version, 1, 21) ? ['max_prepared_statements = 0'] : []),
      '',
    ].join('\n')

  if (ids) {
    await chown(dir, ids.uid, ids.gid)
    for (const f of [files.users, files.hba]) await chown(f, ids.uid, ids.gid)
  }

  let child: ChildProcess | undefined
  let port = 0
  for (let attempt = 1; !port; attempt++) {
    const candidate = await freePort()
    await writeFile(files.ini, ini(candidate), { mode: 0o600 })
    if (ids) await chown(files.ini, ids.uid, ids.gid)
    tail.length = 0
    const p = spawn(bin, [files.ini], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...ids })
    const me = { child: p, dir }
    live.add(me)
    p.stdout.on('data', (b: Buffer) => onLog(b.toString()))
    p.stderr.on('data', (b: Buffer) => onLog(b.toString()))
    p.on('exit', () => live.delete(me))
    try {
      await accepting(p, candidate)
      child = p
      port = candidate
    } catch (err) {
      p.kill('SIGKILL')
      live.delete(me)
      if (attempt < 3 && tail.some((l) => /address already in use/i.test(l))) continue
      await rm(dir, { recursive: true, force: true })
      throw new Error(`could not start pgbouncer ${version}: ${(err as Error).message}\n--- pgbouncer output ---\n${tail.join('\n')}`, { cause: err })
    }
  }

  let stopping: Promise<void> | undefined
  return {
    host: HOST,
    port,
    database: 'pgline_test',
    singleDatabase: 'pgline_one',
    version,
    negotiatesProtocol: atLeast(version, 1, 22),
    log: () => tail.join('\n'),
    stop: () =>
      (stopping ??= (async () => {
        const p = child!
        if (p.exitCode === null && p.signalCode === null) {
          const exited = new Promise<void>((r) => p.once('exit', () => r()))
          p.kill('SIGTERM') // immediate shutdown
          const timer = setTimeout(() => p.kill('SIGKILL'), 5_000)
          await exited
          clearTimeout(timer)
        }
        await rm(dir, { recursive: true, force: true })
      })()),
  }
}

/** Resolves once `port` accepts TCP connections; rejects if the process exits first or after 10 s. */
function accepting(p: ChildProcess, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false
    const finish = (err?: Error) => {
      if (done) return
      done = true
      clearTimeout(deadline)
      p.off('exit', onExit)
      if (err) reject(err)
      else resolve()
    }
    const onExit = (code: number | null, signal: string | null) => finish(new Error(`pgbouncer exited (${signal ?? `code ${code}`}) before accepting connections`))
    p.on('exit', onExit)
    p.on('error', (err) => finish(err))
    const deadline = setTimeout(() => finish(new Error('pgbouncer did not accept connections within 10 s')), 10_000)
    const probe = () => {
      if (done) return
      const s = net.connect(port, HOST)
      s.once('connect', () => {
        s.destroy()
        finish()
      })
      s.once('error', () => {
        s.destroy()
        setTimeout(probe, 25)
      })
    }
    probe()
  })
}
