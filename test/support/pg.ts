// Minimal typed access to the `pg` package, used ONLY by test support code to
// provision the server and cross-check it independently of our own driver.
// `pg` ships no type declarations and @types/pg is not a dependency, so it is
// loaded through `require` (typed as unknown by tsc) and described here by just
// the surface we use. No global `declare module 'pg'` that could clash later.
import { createRequire } from 'node:module'

export interface PgConfig {
  host: string // hostname, or an absolute unix-socket directory
  port: number
  user: string
  password?: string | undefined
  database: string
  connectionTimeoutMillis?: number
}

export interface PgNotice { severity?: string; message: string }

export interface PgClient {
  connect(): Promise<void>
  query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
  end(): Promise<void>
  escapeLiteral(s: string): string
  escapeIdentifier(s: string): string
  on(event: 'notice', fn: (notice: PgNotice) => void): void
  on(event: 'error', fn: (err: Error) => void): void
}

const require = createRequire(import.meta.url)
const pg = require('pg') as { Client: new (config: PgConfig) => PgClient }

/** Connects, runs `fn`, always disconnects. */
export async function withPg<T>(config: PgConfig, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionTimeoutMillis: 10_000, ...config })
  client.on('error', () => {}) // a dying server must not crash the process; the query rejects anyway
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}

/** Runs one query and returns the first column of the first row. */
export async function queryOne(config: PgConfig, sql: string): Promise<unknown> {
  return withPg(config, async (c) => {
    const { rows } = await c.query(sql)
    const row = rows[0]
    return row === undefined ? undefined : Object.values(row)[0]
  })
}
