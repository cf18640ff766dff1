// A logical replication connection (replication=database in the startup
// packet) and the walsender commands it takes: IDENTIFY_SYSTEM,
// CREATE_REPLICATION_SLOT, DROP_REPLICATION_SLOT and START_REPLICATION. Such
// a connection speaks only the simple query protocol, so everything here goes
// through simpleQuery(), and the stream through the connection's exchange hook.

import { InterfaceError } from '../errors/base.js'
import { Connection, EXCHANGE } from '../client/connection.js'
import type { ConnectionOptions } from '../client/connection-options.js'
import { quoteIdentifier } from '../client/quote.js'
import type { Result, Row } from '../types/result.js'
import { formatLsn, parseLsn } from './lsn.js'
import { ReplicationRequest, toLsn } from './stream.js'
import { ReplicationStream } from './replication-stream.js'

export interface SystemIdentity {
  /** The cluster's system identifier (a 64-bit number, as decimal text). */
  systemId: string
  timeline: number
  /** The current WAL flush position. */
  xlogPos: bigint
  /** The database connected to. */
  database: string | null
}

export interface CreateSlotOptions {
  /** Dropped when the connection ends (default false). */
  temporary?: boolean
  /**
   * What to do with the snapshot the slot is created at: 'export' (default;
   * its name is in `snapshotName`, usable with SET TRANSACTION SNAPSHOT from
   * another connection until this one runs its next command), 'use' (this
   * connection's transaction, which must be open), or 'nothing'.
   */
  snapshot?: 'export' | 'use' | 'nothing'
  /** Decode prepared transactions at PREPARE (PostgreSQL 15+; the stream needs twoPhase too). */
  twoPhase?: boolean
  /** The output plugin (default 'pgoutput', which is what replicate() decodes). */
  plugin?: string
}

export interface SlotInfo {
  slotName: string
  /** Changes that commit after this position are streamed from the slot. */
  consistentPoint: bigint
  snapshotName: string | null
  outputPlugin: string | null
}

export interface ReplicateOptions {
  /** The logical replication slot (created with createSlot() or pg_create_logical_replication_slot). */
  slot: string
  /** The publications whose tables are streamed. */
  publications: string | readonly string[]
  /**
   * Where to start, as bigint or 'X/Y': default 0/0, which means the slot's
   * confirmed position (what was acknowledged last time). A position before
   * that is moved up to it by the server.
   */
  startLsn?: bigint | string
  /** pgoutput protocol version; by default the lowest one the options need (1; 2 with streaming; 3 with twoPhase; 4 with 'parallel'). */
  protoVersion?: 1 | 2 | 3 | 4
  /** Values in binary (PostgreSQL 14+): faster, and decoded as query results in binary are. */
  binary?: boolean
  /** Deliver logical decoding messages (pg_logical_emit_message). Default false. */
  messages?: boolean
  /** Stream large transactions while in progress (PostgreSQL 14+), in Stream Start/Stop blocks. Default false. */
  streaming?: boolean | 'parallel'
  /** Decode prepared transactions at PREPARE (PostgreSQL 15+, slot created with twoPhase). */
  twoPhase?: boolean
  /** 'none': only changes made without a replication origin (PostgreSQL 16+). */
  origin?: 'any' | 'none'
  /**
   * A status update every this many milliseconds (default 10000; 0: only
   * when the server asks, and on acknowledge). Never more than half the
   * server's wal_sender_timeout, read at start: while a slow consumer holds
   * the socket paused, these updates are what keeps the connection.
   */
  statusInterval?: number
  /** How long stop() waits for the server to end streaming before it closes the connection (ms, default 5000). */
  stopTimeout?: number
  /** Raw bytes queued and not yet read before the socket is paused (default 8 MiB). */
  highWaterMark?: number
  /**
   * When every change delivered has been acknowledged and no transaction is
   * open, report the server's keepalive position as flushed, so a slot on a
   * busy server whose changes are not in the publications does not hold WAL
   * back. Default true.
   */
  autoAdvance?: boolean
  /** Stops the stream: replicate() or next() rejects with the signal's reason. */
  signal?: AbortSignal
}

const SLOT_NAME = /^[a-z0-9_]{1,63}$/

function checkSlot(name: unknown): string {
  if (typeof name !== 'string' || !SLOT_NAME.test(name)) {
    throw new InterfaceError(`invalid replication slot name ${JSON.stringify(name)}: use 1 to 63 lower-case letters, digits and underscores`)
  }
  return name
}

function majorOf(conn: Connection): number {
  const m = /^(\d+)/.exec(conn.serverVersion ?? '')
  return m === null ? 0 : Number(m[1])
}

export class ReplicationConnection {
  /** START_REPLICATION was sent: the walsender streams logical replication once per connection. */
  private streamed = false

  private constructor(readonly connection: Connection) {}

  /** Opens a connection with replication=database (logical replication). */
  static async connect(input: string | ConnectionOptions = {}, extra: ConnectionOptions = {}): Promise<ReplicationConnection> {
    const conn = await Connection.connect(input, { ...extra, replication: 'database', prepare: false })
    return new ReplicationConnection(conn)
  }

  /** The server's major version (from server_version). */
  get serverMajor(): number {
    return majorOf(this.connection)
  }

  /** SQL or a replication command, through the simple query protocol. */
  query<R = Row>(sql: string): Promise<Result<R>[]> {
    return this.connection.simpleQuery<R>(sql)
  }

  async identifySystem(): Promise<SystemIdentity> {
    const [r] = await this.query<{ systemid: string; timeline: number | string; xlogpos: string; dbname: string | null }>('IDENTIFY_SYSTEM')
    const row = r!.rows[0]!
    return { systemId: String(row.systemid), timeline: Number(row.timeline), xlogPos: parseLsn(row.xlogpos), database: row.dbname }
  }

  async createSlot(name: string, options: CreateSlotOptions = {}): Promise<SlotInfo> {
    checkSlot(name)
    const snapshot = options.snapshot ?? 'export'
    if (!['export', 'use', 'nothing'].includes(snapshot)) throw new InterfaceError(`snapshot must be 'export', 'use' or 'nothing', got ${JSON.stringify(snapshot)}`)
    const plugin = options.plugin ?? 'pgoutput'
    let sql = `CREATE_REPLICATION_SLOT ${name}${options.temporary === true ? ' TEMPORARY' : ''} LOGICAL ${quoteIdentifier(plugin)}`
    if (this.serverMajor >= 15) {
      const opts = [`SNAPSHOT '${snapshot}'`]
      if (options.twoPhase === true) opts.push('TWO_PHASE')
      sql += ` (${opts.join(', ')})`
    } else {
      if (options.twoPhase === true) throw new InterfaceError('twoPhase slots need PostgreSQL 15 or later')
      sql += snapshot === 'export' ? ' EXPORT_SNAPSHOT' : snapshot === 'use' ? ' USE_SNAPSHOT' : ' NOEXPORT_SNAPSHOT'
    }
    const [r] = await this.query<{ slot_name: string; consistent_point: string; snapshot_name: string | null; output_plugin: string | null }>(sql)
    const row = r!.rows[0]!
    return { slotName: row.slot_name, consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name, outputPlugin: row.output_plugin }
  }

  /** Drops a slot; with `wait`, waits for a slot in use elsewhere to be released instead of failing. */
  async dropSlot(name: string, options: { wait?: boolean } = {}): Promise<void> {
    checkSlot(name)
    await this.query(`DROP_REPLICATION_SLOT ${name}${options.wait === true ? ' WAIT' : ''}`)
  }

  /**
   * START_REPLICATION on the slot: resolves once the server streams, with
   * the stream to iterate. The connection is the stream's until it ends,
   * and streams once: another stream needs another connection (the
   * walsender does not stream logical replication twice on one).
   */
  async replicate(options: ReplicateOptions): Promise<ReplicationStream> {
    const plan = planStream(options)
    if (this.streamed) throw new InterfaceError('this ReplicationConnection has streamed already: the server streams logical replication once per connection; open a new one (or use replicate())')
    this.streamed = true
    return startStream(this.connection, plan, undefined)
  }

  close(): Promise<void> {
    return this.connection.close()
  }

  get closed(): boolean {
    return this.connection.closed
  }
}

/** replicate() on its own connection: opened here, closed when the stream ends. */
export async function replicate(input: string | ConnectionOptions, options: ReplicateOptions): Promise<ReplicationStream> {
  // Checked before anything is opened.
  const plan = planStream(options)
  const rc = await ReplicationConnection.connect(input)
  try {
    return await startStream(rc.connection, plan, rc)
  } catch (err) {
    await rc.close().catch(() => undefined)
    throw err
  }
}

/** The options, checked; what depends on the server is settled in startStream(). */
interface Plan {
  o: ReplicateOptions
  proto: number
  start: bigint
  statusInterval: number
  stopTimeout: number
  highWaterMark: number
}

function planStream(o: ReplicateOptions): Plan {
  if (o === undefined || o === null || typeof o !== 'object') throw new InterfaceError('replicate() needs its options: { slot, publications }')
  checkSlot(o.slot)
  const plan: Plan = {
    o,
    proto: protoVersionFor(o),
    start: o.startLsn === undefined ? 0n : toLsn(o.startLsn, 'startLsn'),
    statusInterval: milliseconds(o.statusInterval, 'statusInterval', 10_000, true),
    stopTimeout: milliseconds(o.stopTimeout, 'stopTimeout', 5_000, false),
    highWaterMark: positiveSize(o.highWaterMark, 'highWaterMark', 8 * 1024 * 1024),
  }
  startSql(o, plan.proto, plan.start, 0) // the option checks that need no server
  o.signal?.throwIfAborted()
  return plan
}

function protoVersionFor(o: ReplicateOptions): number {
  if (o.protoVersion !== undefined) {
    if (![1, 2, 3, 4].includes(o.protoVersion)) throw new InterfaceError(`protoVersion must be 1, 2, 3 or 4, got ${JSON.stringify(o.protoVersion)}`)
    return o.protoVersion
  }
  if (o.streaming === 'parallel') return 4
  if (o.twoPhase === true) return 3
  if (o.streaming === true) return 2
  return 1
}

/** A string literal as the replication command grammar reads it: quotes doubled, backslashes as they are. */
function replicationLiteral(s: string): string {
  return "'" + s.replaceAll("'", "''") + "'"
}

function startSql(o: ReplicateOptions, proto: number, start: bigint, major: number): string {
  const pubs = typeof o.publications === 'string' ? [o.publications] : o.publications
  if (!Array.isArray(pubs) || pubs.length === 0 || pubs.some((p) => typeof p !== 'string' || p === '')) {
    throw new InterfaceError('publications must be a publication name or a non-empty list of them')
  }
  const options = [`proto_version '${proto}'`, `publication_names ${replicationLiteral(pubs.map(quoteIdentifier).join(','))}`]
  const flag = (name: string, v: unknown, since: number): void => {
    if (v === undefined || v === false) return
    if (v !== true) throw new InterfaceError(`${name} must be true or false, got ${JSON.stringify(v)}`)
    if (major !== 0 && major < since) throw new InterfaceError(`${name} needs PostgreSQL ${since} or later (the server is ${major})`)
    options.push(`${name} 'true'`)
  }
  flag('binary', o.binary, 14)
  flag('messages', o.messages, 14)
  if (o.streaming === 'parallel') {
    if (major !== 0 && major < 16) throw new InterfaceError(`streaming 'parallel' needs PostgreSQL 16 or later (the server is ${major})`)
    options.push(`streaming 'parallel'`)
  } else flag('streaming', o.streaming, 14)
  flag('two_phase', o.twoPhase, 15)
  if (o.origin !== undefined) {
    if (o.origin !== 'any' && o.origin !== 'none') throw new InterfaceError(`origin must be 'any' or 'none', got ${JSON.stringify(o.origin)}`)
    if (major !== 0 && major < 16) throw new InterfaceError(`origin needs PostgreSQL 16 or later (the server is ${major})`)
    options.push(`origin '${o.origin}'`)
  }
  return `START_REPLICATION SLOT ${checkSlot(o.slot)} LOGICAL ${formatLsn(start)} (${options.join(', ')})`
}

const MAX_TIMER = 2 ** 31 - 1

function milliseconds(v: unknown, name: string, fallback: number, zeroOk: boolean): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (zeroOk ? 0 : 1) || v > MAX_TIMER) {
    throw new InterfaceError(`${name} must be a whole number of milliseconds from ${zeroOk ? 0 : 1} to ${MAX_TIMER}, got ${String(v)}`)
  }
  return v
}

function positiveSize(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InterfaceError(`${name} must be a positive number of bytes, got ${String(v)}`)
  return v
}

/** A duration setting as SHOW prints it ('60s', '500ms', '1min', '0'), in ms; undefined if unreadable. */
export function settingMs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/.exec(text)
  if (m === null) return undefined
  const unit = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms']
  return Number(m[1]) * unit
}

async function startStream(conn: Connection, plan: Plan, owner: ReplicationConnection | undefined): Promise<ReplicationStream> {
  const { o } = plan
  const sql = startSql(o, plan.proto, plan.start, majorOf(conn))
  // The server ends a connection that says nothing for wal_sender_timeout; a
  // paused socket cannot answer its keepalives, so the timer must be faster.
  const [shown] = await conn.simpleQuery<{ wal_sender_timeout: string }>('SHOW wal_sender_timeout')
  const senderTimeout = settingMs(shown?.rows[0]?.wal_sender_timeout ?? '') ?? 0
  const half = Math.max(1, Math.floor(senderTimeout / 2))
  const statusInterval = senderTimeout > 0 && (plan.statusInterval === 0 || plan.statusInterval > half) ? half : plan.statusInterval
  const req = new ReplicationRequest(sql, {
    types: conn.types,
    protoVersion: plan.proto,
    statusInterval,
    highWaterMark: plan.highWaterMark,
    autoAdvance: o.autoAdvance ?? true,
    startLsn: plan.start,
    stopTimeout: plan.stopTimeout,
    onStuck: () => conn.terminate(`the replication stream did not end within ${plan.stopTimeout} ms of stop(): the connection was closed`),
  })
  const signal = o.signal
  signal?.throwIfAborted()
  // Watched from before START_REPLICATION goes out, so an abort during the start is not missed.
  const onAbort = (): void => {
    req.failWith(signal!.reason instanceof Error ? signal!.reason : new InterfaceError(`aborted: ${String(signal!.reason)}`))
    void req.stop()
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  void req.whenEnded().then(() => signal?.removeEventListener('abort', onAbort))
  // Resolves once the request is written (it holds the connection from then on).
  await conn[EXCHANGE](sql, req, (wire, flow) => req.begin(wire, flow))
  try {
    await req.whenStarted()
  } catch (err) {
    // Refused (no such slot, a bad option): the cycle still ends with ReadyForQuery, leaving the connection usable.
    await req.whenEnded()
    throw err
  }
  if (signal?.aborted === true) {
    await req.whenEnded()
    throw req.failure ?? signal.reason
  }
  return new ReplicationStream(req, o.slot, owner)
}
