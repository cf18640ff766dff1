// A logical replication stream: START_REPLICATION's CopyBoth cycle as one
// request on a replication connection. What the server sends is kept raw
// (XLogData payloads) until the consumer asks for the next event, so a slow
// consumer costs a bounded queue: past the high-water mark the socket is not
// read, and the server waits. Status updates keep flowing meanwhile (on a
// timer, and when the server asks), which is what keeps wal_sender_timeout
// from ending the connection.

import { ConnectionError, InterfaceError, type PglineError } from '../errors/base.js'
import { createDatabaseError } from '../errors.js'
import type { BackendMessage, TransactionStatus } from '../protocol/messages.js'
import * as fe from '../protocol/frontend.js'
import type { Request } from '../session/session.js'
import type { Wire } from '../session/wire.js'
import type { Flow } from '../client/held.js'
import type { TypeMap } from '../types/type-map.js'
import { decodeReplicationMessage, encodeStandbyStatusUpdate } from './copy-both.js'
import { formatLsn, parseLsn } from './lsn.js'
import { PgOutputDecoder, type PgOutputEvent } from './pgoutput.js'

/** One change or marker from the stream, with the WAL position it was sent at. */
export type ReplicationEvent = PgOutputEvent

export interface StreamSettings {
  types: TypeMap
  protoVersion: number
  /** Status update every this many ms (0: only when the server asks and on acknowledge). */
  statusInterval: number
  /** Raw bytes queued for the consumer before the socket stops being read. */
  highWaterMark: number
  /** Report the server's keepalive position as flushed when every delivered change is acknowledged. */
  autoAdvance: boolean
  /** Where streaming started (what is flushed at first). */
  startLsn: bigint
  /** How long stop() waits for the server to end the cycle before `onStuck` (ms). */
  stopTimeout: number
  /** Tears the connection down: the server did not end the cycle in time after stop(). */
  onStuck: () => void
}

interface Entry {
  start: bigint
  data: Buffer
}

/** The least time between two answers to keepalives that ask for one (ms). */
const REPLY_SPACING = 100

/** Bytes a queued entry is counted for besides its payload. */
const ENTRY_OVERHEAD = 64

export class ReplicationRequest implements Request {
  private readonly queue: Entry[] = []
  private head = 0
  private queued = 0
  private paused = false
  /** Callers of next() waiting for an event: all are woken, each takes its own or waits again. */
  private waiters: (() => void)[] = []
  private error: Error | undefined
  /** CopyBothResponse arrived (or the cycle ended before it). */
  private startWaiters: { resolve(): void; reject(e: Error): void }[] = []
  private started = false
  /** ReadyForQuery or the connection's end. */
  ended = false
  private endWaiters: (() => void)[] = []
  /** We sent CopyDone. */
  private doneSent = false
  private wire: Wire | undefined
  private flow: Flow | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly decoder: PgOutputDecoder

  /** The highest XLogData start received. */
  received: bigint
  /** What the consumer acknowledged (reported as flushed and applied). */
  acknowledged: bigint
  /** What was last reported as flushed: the acknowledged position, or a keepalive's when autoAdvance allows. */
  private flushed: bigint
  /** The server's position from its last keepalive. */
  private serverEnd = 0n
  /** The highest start of an entry handed to the consumer. */
  private delivered = 0n
  /** Inside a transaction (Begin seen, Commit not yet), counted where the bytes arrive. */
  private inTransaction = false
  /** Transactions streamed in progress (protocol 2 and up) not yet committed or aborted. */
  private readonly openStreams = new Set<number>()
  private statusQueued = false
  /** The server sent CopyDone. */
  private serverDone = false
  private stopTimer: NodeJS.Timeout | undefined
  /** performance.now() of the last status update: a wall clock stepped back must not hold answers back. */
  private lastStatusAt = -Infinity
  private replyTimer: NodeJS.Timeout | undefined
  /** stop() came before CopyBothResponse: CopyDone goes out when it arrives. */
  private stopBeforeStart = false

  constructor(
    readonly sql: string,
    private readonly settings: StreamSettings,
  ) {
    this.decoder = new PgOutputDecoder({ typeMap: settings.types, protoVersion: settings.protoVersion })
    this.received = settings.startLsn
    this.acknowledged = settings.startLsn
    this.flushed = settings.startLsn
  }

  /** Writes START_REPLICATION; called by the connection when the request goes out. */
  begin(wire: Wire, flow: Flow): void {
    this.wire = wire
    this.flow = flow
    fe.query(wire.writer, this.sql)
  }

  /** Resolves once the server is streaming (CopyBothResponse); rejects with its refusal. */
  whenStarted(): Promise<void> {
    if (this.started) return Promise.resolve()
    if (this.ended) return Promise.reject(this.error ?? new InterfaceError('the replication stream ended before it started'))
    return new Promise((resolve, reject) => this.startWaiters.push({ resolve, reject }))
  }

  handle(msg: BackendMessage): void {
    switch (msg.type) {
      case 'CopyBothResponse':
        this.started = true
        if (this.settings.statusInterval > 0) {
          this.timer = setInterval(() => this.sendStatus(false), this.settings.statusInterval)
          this.timer.unref()
        }
        for (const w of this.startWaiters.splice(0)) w.resolve()
        if (this.stopBeforeStart) this.sendDone()
        return
      case 'CopyData':
        return this.receive(msg.data)
      case 'CopyDone':
        // The server ends streaming (shutdown, or its own end of WAL): answer in kind.
        this.serverDone = true
        if (!this.doneSent) this.sendDone()
        return
      case 'ErrorResponse':
        this.error ??= createDatabaseError(msg.fields, this.sql)
        return this.wake()
      default:
        // CommandComplete, and the rows of a statement that was not START_REPLICATION.
        return
    }
  }

  private receive(data: Buffer): void {
    if (this.doneSent) return
    let m
    try {
      m = decodeReplicationMessage(data)
    } catch (err) {
      this.error ??= err as Error
      this.sendDone()
      return this.wake()
    }
    if (m.kind === 'keepalive') {
      if (m.walEnd > this.serverEnd) this.serverEnd = m.walEnd
      if (this.settings.autoAdvance && this.caughtUp()) this.flushed = this.serverEnd > this.flushed ? this.serverEnd : this.flushed
      if (m.replyRequested) this.reply()
      return
    }
    if (m.start > this.received) this.received = m.start
    this.track(m.data)
    this.queue.push({ start: m.start, data: m.data })
    this.queued += m.data.length + ENTRY_OVERHEAD
    if (this.queued > this.settings.highWaterMark && !this.paused) {
      this.paused = true
      this.flow?.pause()
    }
    this.wake()
  }

  /** Follows transaction boundaries by the message type byte, so autoAdvance never skips a transaction in progress. */
  private track(data: Buffer): void {
    if (data.length === 0) return
    switch (data[0]) {
      case 0x42: // B Begin
      case 0x62: // b Begin Prepare
        this.inTransaction = true
        return
      case 0x43: // C Commit
      case 0x50: // P Prepare
      case 0x4b: // K Commit Prepared
      case 0x72: // r Rollback Prepared
        this.inTransaction = false
        return
      case 0x53: // S Stream Start
        if (data.length >= 5) this.openStreams.add(data.readUInt32BE(1))
        return
      case 0x63: // c Stream Commit
      case 0x70: // p Stream Prepare
        if (data.length >= 5) this.openStreams.delete(data.readUInt32BE(1))
        return
      case 0x41: // A Stream Abort: of the top transaction when its subtransaction xid is its own
        if (data.length >= 9 && data.readUInt32BE(1) === data.readUInt32BE(5)) this.openStreams.delete(data.readUInt32BE(1))
        return
    }
  }

  /** Everything received was delivered and acknowledged, and no transaction is open. */
  private caughtUp(): boolean {
    return this.head === this.queue.length && !this.inTransaction && this.openStreams.size === 0 && this.acknowledged >= this.delivered
  }

  /** The next event, or null once the stream ended cleanly. Throws what ended it otherwise. */
  async next(): Promise<ReplicationEvent | null> {
    for (;;) {
      if (this.head < this.queue.length) {
        const e = this.queue[this.head]!
        this.queue[this.head++] = undefined as unknown as Entry
        if (this.head === this.queue.length) {
          this.queue.length = 0
          this.head = 0
        } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
          // Compacted once half is read: each entry is moved at most once on average.
          this.queue.splice(0, this.head)
          this.head = 0
        }
        this.queued -= e.data.length + ENTRY_OVERHEAD
        if (this.paused && this.queued < this.settings.highWaterMark / 2) {
          this.paused = false
          this.flow?.resume()
        }
        if (e.start > this.delivered) this.delivered = e.start
        try {
          return this.decoder.decode(e.data, e.start)
        } catch (err) {
          // A message we cannot read: the stream cannot go on past it.
          this.error ??= err as Error
          this.stop()
          throw err
        }
      }
      if (this.error !== undefined && (this.ended || this.doneSent)) throw this.error
      if (this.ended) return null
      await new Promise<void>((r) => this.waiters.push(r))
    }
  }

  /** Ends the stream with `err` for the consumer (its signal's reason). */
  failWith(err: Error): void {
    if (!this.ended) this.error ??= err
  }

  /** Records `lsn` as durably processed; the server hears of it at once (coalesced per tick). */
  acknowledge(lsn: bigint): void {
    const known = this.received > this.serverEnd ? this.received : this.serverEnd
    if (lsn > known) {
      // The slot would skip whatever lies between: refused rather than lose changes.
      throw new InterfaceError(`acknowledge(${formatLsn(lsn)}) is past anything the server has sent (up to ${formatLsn(known)}); acknowledge a Commit's endLsn or an event's lsn`)
    }
    if (lsn <= this.acknowledged) return
    this.acknowledged = lsn
    if (lsn > this.flushed) this.flushed = lsn
    if (this.statusQueued || this.ended || this.doneSent) return
    this.statusQueued = true
    queueMicrotask(() => {
      this.statusQueued = false
      this.sendStatus(false)
    })
  }

  /**
   * Answers a keepalive that asks for a reply: at once, unless one went out
   * in the last 100 ms. A server shutting down asks again as soon as it is
   * answered, for as long as sent changes are unacknowledged; without the
   * limit that exchange would spin both processes.
   */
  private reply(): void {
    const since = performance.now() - this.lastStatusAt
    if (since >= REPLY_SPACING) return this.sendStatus(false)
    if (this.replyTimer !== undefined) return
    this.replyTimer = setTimeout(() => {
      this.replyTimer = undefined
      this.sendStatus(false)
    }, REPLY_SPACING - since)
    this.replyTimer.unref()
  }

  private sendStatus(replyRequested: boolean): void {
    const wire = this.wire
    if (wire === undefined || !this.started || this.ended || this.doneSent || wire.lost() !== undefined) return
    const written = this.received > this.flushed ? this.received : this.flushed
    this.lastStatusAt = performance.now()
    fe.copyData(wire.writer, encodeStandbyStatusUpdate({ written, flushed: this.flushed, applied: this.acknowledged, clientTime: new Date(), replyRequested }))
    wire.scheduleFlush()
  }

  private sendDone(): void {
    const wire = this.wire
    if (this.doneSent || wire === undefined || wire.lost() !== undefined) return
    this.doneSent = true
    fe.copyDone(wire.writer)
    wire.flush()
  }

  /**
   * Ends streaming: a last status update, then CopyDone; what is queued and
   * not yet read is dropped (it was not acknowledged, so it comes again).
   * Resolves when the server has ended the cycle.
   */
  stop(): Promise<void> {
    if (!this.ended && !this.doneSent) {
      this.sendStatus(false)
      if (this.started) this.sendDone()
      else this.stopBeforeStart = true
    }
    this.queue.length = 0
    this.head = 0
    this.queued = 0
    if (this.paused) {
      this.paused = false
      this.flow?.resume()
    }
    this.wake()
    if (!this.ended && this.stopTimer === undefined) {
      this.stopTimer = setTimeout(() => {
        if (!this.ended) this.settings.onStuck()
      }, this.settings.stopTimeout)
      this.stopTimer.unref()
    }
    return this.whenEnded()
  }

  whenEnded(): Promise<void> {
    if (this.ended) return Promise.resolve()
    return new Promise((r) => this.endWaiters.push(r))
  }

  /** Why the stream ended, once it has (undefined: stopped by the consumer, or not ended). */
  get failure(): Error | undefined {
    return this.error
  }

  complete(_status: TransactionStatus): void {
    if (!this.started && this.error === undefined) {
      this.error = new InterfaceError(`${this.sql.split(' ')[0]} did not start a replication stream`)
    } else if (this.started && !this.doneSent && !this.serverDone && this.error === undefined) {
      // Ended with neither side's CopyDone, and the session goes on: the walsender did not stream
      // (it streams logical replication once per connection). A shutdown ends that way too, but closes.
      this.error = new InterfaceError('the server ended START_REPLICATION without streaming anything; a connection streams logical replication once: open a new connection for the next stream')
    }
    this.end()
  }

  fail(err: Error): void {
    this.error ??= streamLost(err, this)
    this.end()
  }

  private end(): void {
    this.ended = true
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.replyTimer !== undefined) clearTimeout(this.replyTimer)
    if (this.stopTimer !== undefined) clearTimeout(this.stopTimer)
    if (this.paused) {
      this.paused = false
      this.flow?.resume()
    }
    const notStarted = this.error ?? new InterfaceError('the replication stream ended before it started')
    for (const w of this.startWaiters.splice(0)) w.reject(notStarted)
    this.wake()
    for (const r of this.endWaiters.splice(0)) r()
  }

  private wake(): void {
    if (this.waiters.length === 0) return
    for (const w of this.waiters.splice(0)) w()
  }
}

function streamLost(err: Error, req: ReplicationRequest): PglineError | Error {
  if (!(err instanceof ConnectionError)) return err
  return new ConnectionError(
    `${err.message} (replication stream: received up to ${formatLsn(req.received)}, acknowledged up to ${formatLsn(req.acknowledged)}; start again from the slot to resume after what was acknowledged)`,
    { retrySafe: false, cause: err },
  )
}

/** An LSN given as bigint or 'X/Y' text. */
export function toLsn(v: bigint | string, what: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new InterfaceError(`${what} must be a 64-bit LSN, got ${v}`)
    return v
  }
  if (typeof v === 'string') return parseLsn(v)
  throw new InterfaceError(`${what} must be an LSN (a bigint or 'X/Y' text), got ${typeof v}`)
}
