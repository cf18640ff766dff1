// The streaming replication sub-protocol: what travels inside CopyData once
// START_REPLICATION has switched the connection to CopyBoth. The server sends
// WAL data and keepalives; the client answers with standby status updates.
// These functions see only the CopyData payload; framing it is the caller's.
import { ProtocolError } from '../errors/base.js'
import { checkLsn } from './lsn.js'
import { Reader, printable } from './reader.js'
import { checkPgMicros, dateToPgMicros } from './time.js'

/** 'w': a chunk of the WAL stream; for logical replication, one output plugin message. */
export interface XLogData {
  kind: 'xlog'
  /** Where `data` starts in the WAL (for pgoutput: the LSN of the change it carries). */
  start: bigint
  /** The server's current end of WAL. */
  end: bigint
  /** The server's clock when it sent this, in microseconds since 2000-01-01 (see pgMicrosToDate). */
  sendTime: bigint
  /** The payload: a view into the received bytes, valid until the next message is decoded. */
  data: Buffer
}

/** 'k': the server's heartbeat; with replyRequested, answer at once or be disconnected for timeout. */
export interface PrimaryKeepalive {
  kind: 'keepalive'
  walEnd: bigint
  /** Microseconds since 2000-01-01. */
  sendTime: bigint
  replyRequested: boolean
}

export type ReplicationMessage = XLogData | PrimaryKeepalive

const XLOG_DATA = 0x77 // 'w'
const KEEPALIVE = 0x6b // 'k'
const STANDBY_STATUS_UPDATE = 0x72 // 'r'
const STATUS_UPDATE_SIZE = 1 + 8 * 4 + 1

/** Decodes the payload of a CopyData the server sent during CopyBoth. */
export function decodeReplicationMessage(payload: Buffer): ReplicationMessage {
  if (payload.length === 0) throw new ProtocolError('empty replication message in CopyData', 'd')
  const type = payload[0]!
  switch (type) {
    case XLOG_DATA: {
      const r = new Reader(payload, 1, payload.length, "replication 'w' (XLogData) message", 'w')
      const start = r.u64()
      const end = r.u64()
      const sendTime = r.i64()
      return { kind: 'xlog', start, end, sendTime, data: payload.subarray(r.pos) }
    }
    case KEEPALIVE: {
      const r = new Reader(payload, 1, payload.length, "replication 'k' (primary keepalive) message", 'k')
      const walEnd = r.u64()
      const sendTime = r.i64()
      const replyRequested = r.bool('replyRequested')
      r.done()
      return { kind: 'keepalive', walEnd, sendTime, replyRequested }
    }
    default:
      throw new ProtocolError(`unknown replication message type '${printable(type)}' in CopyData`, printable(type))
  }
}

/** What the client reports back. Each LSN is "the last WAL byte + 1" processed that far. */
export interface StandbyStatusUpdate {
  /** Received and written (for logical replication, usually the same as flushed). */
  written: bigint
  /** Durably stored: the server may discard WAL before this, and a restart resumes here. */
  flushed: bigint
  applied: bigint
  /** The client's clock: a Date, or microseconds since 2000-01-01. */
  clientTime: Date | bigint
  /** Ask the server to answer with a keepalive at once (to measure the round trip). */
  replyRequested?: boolean
}

/** The CopyData payload of a standby status update ('r'). */
export function encodeStandbyStatusUpdate(status: StandbyStatusUpdate): Buffer {
  const written = checkLsn(status.written)
  const flushed = checkLsn(status.flushed)
  const applied = checkLsn(status.applied)
  const time = typeof status.clientTime === 'bigint' ? checkPgMicros(status.clientTime) : dateToPgMicros(status.clientTime)
  const out = Buffer.allocUnsafe(STATUS_UPDATE_SIZE)
  out[0] = STANDBY_STATUS_UPDATE
  out.writeBigUInt64BE(written, 1)
  out.writeBigUInt64BE(flushed, 9)
  out.writeBigUInt64BE(applied, 17)
  out.writeBigInt64BE(time, 25)
  out[33] = status.replyRequested === true ? 1 : 0
  return out
}
