// The channels node-postgres is adopting (its TracingChannel proposal), so
// instrumentation written for pg finds queries run through pgline/pg too:
//   pg:query         TracingChannel { query: { text, name }, client: { database, host, port, user, processID, ssl } };
//                    `result` is the QueryResult once it ended, `error` if it failed
//   pg:connection    TracingChannel { connection: { database, host, port, user, ssl } }
//   pg:pool:connect  TracingChannel { pool: { totalCount, idleCount, waitingCount, maxSize } };
//                    `client: { processID, reused }` once a client was handed out
//   pg:pool:release  Channel { client: { processID }, error }
//   pg:pool:remove   Channel { client: { processID } }
// No parameter values, no password. pgline's own channels (pgline:query ...)
// see the same queries as well.
import dc from 'node:diagnostics_channel'

export const pgQueryChannel = dc.tracingChannel('pg:query')
export const pgConnectionChannel = dc.tracingChannel('pg:connection')
export const pgPoolConnectChannel = dc.tracingChannel('pg:pool:connect')
export const pgPoolReleaseChannel = dc.channel('pg:pool:release')
export const pgPoolRemoveChannel = dc.channel('pg:pool:remove')

export interface PgClientInfo {
  database: string | undefined
  host: string | undefined
  port: number | undefined
  user: string | undefined
  processID?: number | null
  ssl: boolean
}
