// Logical replication, the sans-IO parts: LSNs, the CopyBoth sub-protocol
// and the pgoutput decoder. The connection that streams them lives elsewhere.
export { LSN_MAX, LSN_ZERO, checkLsn, compareLsn, formatLsn, parseLsn } from './lsn.js'
export { checkPgMicros, dateToPgMicros, pgMicrosToDate } from './time.js'
export {
  decodeReplicationMessage,
  encodeStandbyStatusUpdate,
  type PrimaryKeepalive,
  type ReplicationMessage,
  type StandbyStatusUpdate,
  type XLogData,
} from './copy-both.js'
export { PgOutputDecoder, type PgOutputDecoderOptions } from './pgoutput.js'
export * from './pgoutput-events.js'
