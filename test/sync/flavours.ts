// One behavioural case, two flavours: each case is a generator that talks to
// a `Db`. For the async flavour a step yields the driver's promise and the
// runner resumes the generator with its result (or throws its rejection into
// it); for the sync flavour a step simply returns the value, so the generator
// never yields. Cases are written once, with ordinary try/catch, and run
// unchanged against Connection and SyncConnection.

import { stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import * as asyncApi from '../../src/index.js'
import type * as SyncModule from '../../src/sync/index.js'
import type { Result } from '../../src/index.js'

export type SyncApi = typeof SyncModule
/** What the cases take error classes from: the module of the flavour under test. */
export type Errors = typeof asyncApi | SyncApi

export type Step<T> = Generator<unknown, T, unknown>

export interface CursorLike {
  execute(sql: string, params?: readonly unknown[]): Step<void>
  fetchone(): Step<unknown>
  fetchmany(n?: number): Step<unknown[]>
  fetchall(): Step<unknown[]>
  nextset(): boolean
  readonly description: { name: string; typeOid: number }[] | null
  readonly rowcount: number
  readonly statusMessage: string | null
  close(): Step<void>
}

export interface ServerCursorLike {
  execute(sql: string, params?: readonly unknown[]): Step<void>
  fetch(n: number): Step<unknown[]>
  fetchone(): Step<unknown>
  fetchall(): Step<unknown[]>
  scroll(n: number, mode?: 'relative' | 'absolute'): Step<void>
  readonly description: { name: string }[] | null
  close(): Step<void>
}

export interface CopyInLike {
  readonly columns: number
  write(data: string | Buffer): Step<void>
  writeRow(values: readonly unknown[]): Step<void>
  end(): Step<number>
  abort(reason?: string): Step<void>
}

export interface Tx {
  query(sql: string, params?: readonly unknown[], options?: object): Step<Result>
  simpleQuery(sql: string): Step<Result[]>
  transaction<T>(body: (tx: Tx) => Step<T>): Step<T>
  commit(): Step<void>
  rollback(): Step<void>
  cursor(): Step<CursorLike>
  serverCursor(name?: string, options?: object): Step<ServerCursorLike>
}

export interface Db {
  readonly flavour: 'async' | 'sync'
  readonly E: Errors
  query(sql: string, params?: readonly unknown[], options?: object): Step<Result>
  simpleQuery(sql: string): Step<Result[]>
  transaction<T>(body: (tx: Tx) => Step<T>, options?: object): Step<T>
  describe(sql: string): Step<{ paramTypes: number[]; fields: unknown[] | null }>
  prepare(sql: string): Step<{ execute(params?: readonly unknown[]): Step<Result>; close(): Step<void> }>
  onNotice(fn: (n: { message: string }) => void): void
  cursor(): Step<CursorLike>
  serverCursor(name?: string, options?: object): Step<ServerCursorLike>
  copyFrom(sql: string, source: Iterable<unknown>, options?: object): Step<number>
  copyIn(sql: string, options?: object): Step<CopyInLike>
  close(): Step<void>
  readonly closed: boolean
}

export interface Flavour {
  readonly name: 'async' | 'sync'
  open(options: asyncApi.ConnectionOptions): Promise<Db>
  /** Runs a case to completion. */
  run<T>(step: Step<T>): Promise<T>
}

/** Resumes the generator with each yielded promise's value, or throws its rejection into it. */
export async function runAsync<T>(gen: Step<T>): Promise<T> {
  let input: unknown
  let failed = false
  for (;;) {
    const r = failed ? gen.throw(input) : gen.next(input)
    if (r.done) return r.value
    try {
      input = await r.value
      failed = false
    } catch (err) {
      input = err
      failed = true
    }
  }
}

/** Sync steps never yield: running the generator once runs the whole case. */
export function runSync<T>(gen: Step<T>): T {
  const r = gen.next()
  if (!r.done) throw new Error('a sync step yielded: sync calls must return their value')
  return r.value
}

/** `const err = yield* fails(db.query(...))`: the error the step threw. */
export function* fails(step: Step<unknown>): Step<unknown> {
  try {
    yield* step
  } catch (err) {
    return err
  }
  throw new Error('expected the step to fail, but it succeeded')
}

function* awaitStep<T>(p: Promise<T>): Step<T> {
  return (yield p) as T
}

function* asyncCursor(c: asyncApi.Cursor): Step<CursorLike> {
  return {
    *execute(sql, params) {
      yield* awaitStep(c.execute(sql, params))
    },
    fetchone: () => awaitStep(c.fetchone()),
    fetchmany: (n) => awaitStep(c.fetchmany(n)),
    fetchall: () => awaitStep(c.fetchall()),
    nextset: () => c.nextset(),
    get description() {
      return c.description
    },
    get rowcount() {
      return c.rowcount
    },
    get statusMessage() {
      return c.statusMessage
    },
    *close() {
      c.close()
    },
  }
}

function* asyncServerCursor(c: asyncApi.ServerCursor): Step<ServerCursorLike> {
  return {
    *execute(sql, params) {
      yield* awaitStep(c.execute(sql, params))
    },
    fetch: (n) => awaitStep(c.fetch(n)),
    fetchone: () => awaitStep(c.fetchone()),
    fetchall: () => awaitStep(c.fetchall()),
    scroll: (n, mode) => awaitStep(c.scroll(n, mode)),
    get description() {
      return c.description
    },
    close: () => awaitStep(c.close()),
  }
}

function asyncTx(tx: asyncApi.Transaction): Tx {
  return {
    cursor: () => asyncCursor(tx.cursor()),
    serverCursor: (name, options) => asyncServerCursor(tx.serverCursor(name, options)),
    query: (sql, params, options) => awaitStep(tx.query(sql, params, options)),
    simpleQuery: (sql) => awaitStep(tx.simpleQuery(sql)),
    transaction: (body) => awaitStep(tx.transaction((inner) => runAsync(body(asyncTx(inner))))),
    commit: () => awaitStep(tx.commit()),
    rollback: () => awaitStep(tx.rollback()),
  }
}

export const asyncFlavour: Flavour = {
  name: 'async',
  run: runAsync,
  async open(options) {
    const conn = await asyncApi.connect(options)
    return {
      flavour: 'async',
      E: asyncApi,
      query: (sql, params, options) => awaitStep(conn.query(sql, params, options)),
      simpleQuery: (sql) => awaitStep(conn.simpleQuery(sql)),
      transaction: (body, options) => awaitStep(conn.transaction((tx) => runAsync(body(asyncTx(tx))), options)),
      describe: (sql) => awaitStep(conn.describe(sql)),
      *prepare(sql) {
        const s = yield* awaitStep(conn.prepare(sql))
        return { execute: (params) => awaitStep(s.execute(params)), close: () => awaitStep(s.close()) }
      },
      onNotice: (fn) => void conn.on('notice', fn),
      cursor: () => asyncCursor(conn.cursor()),
      serverCursor: (name, options) => asyncServerCursor(conn.serverCursor(name, options)),
      copyFrom: (sql, source, options) => awaitStep(conn.copyFrom(sql, source, options)),
      *copyIn(sql, options) {
        const w = yield* awaitStep(conn.copyFrom(sql, options))
        return {
          columns: w.columns,
          write: (d) => awaitStep(w.write(d)),
          writeRow: (v) => awaitStep(w.writeRow(v)),
          end: () => awaitStep(w.end()),
          abort: (reason) => awaitStep(w.abort(reason)),
        }
      },
      close: () => awaitStep(conn.close()),
      get closed() {
        return conn.closed
      },
    }
  },
}

// The sync API is tested as built (dist/): its worker thread loads
// dist/sync/worker.js with plain Node, outside vitest's transform.
const DIST_SYNC = new URL('../../dist/sync/index.js', import.meta.url)

/** Loads the built sync module, refusing a dist/ older than src/sync (run `npm run build`; `npm test` does). */
export async function loadSync(): Promise<SyncApi> {
  for (const name of ['index', 'worker', 'wire']) {
    const src = fileURLToPath(new URL(`../../src/sync/${name}.ts`, import.meta.url))
    const out = fileURLToPath(new URL(`../../dist/sync/${name}.js`, import.meta.url))
    const built = await stat(out).catch(() => undefined)
    if (built === undefined || built.mtimeMs < (await stat(src)).mtimeMs) {
      throw new Error(`dist/sync/${name}.js is missing or older than src/sync/${name}.ts: run \`npm run build\` (npm test builds first)`)
    }
  }
  return (await import(DIST_SYNC.href)) as SyncApi
}

function* syncCursor(c: SyncModule.SyncCursor): Step<CursorLike> {
  return {
    *execute(sql, params) {
      c.execute(sql, params)
    },
    *fetchone() {
      return c.fetchone()
    },
    *fetchmany(n) {
      return c.fetchmany(n)
    },
    *fetchall() {
      return c.fetchall()
    },
    nextset: () => c.nextset(),
    get description() {
      return c.description
    },
    get rowcount() {
      return c.rowcount
    },
    get statusMessage() {
      return c.statusMessage
    },
    *close() {
      c.close()
    },
  }
}

function* syncServerCursor(c: SyncModule.SyncServerCursor): Step<ServerCursorLike> {
  return {
    *execute(sql, params) {
      c.execute(sql, params)
    },
    *fetch(n) {
      return c.fetch(n)
    },
    *fetchone() {
      return c.fetchone()
    },
    *fetchall() {
      return c.fetchall()
    },
    *scroll(n, mode) {
      c.scroll(n, mode)
    },
    get description() {
      return c.description
    },
    *close() {
      c.close()
    },
  }
}

function syncTx(tx: SyncModule.SyncTransaction): Tx {
  return {
    cursor: () => syncCursor(tx.cursor()),
    serverCursor: (name, options) => syncServerCursor(tx.serverCursor(name, options)),
    *query(sql, params, options) {
      return tx.query(sql, params, options)
    },
    *simpleQuery(sql) {
      return tx.simpleQuery(sql)
    },
    *transaction(body) {
      return tx.transaction((inner) => runSync(body(syncTx(inner))))
    },
    *commit() {
      tx.commit()
    },
    *rollback() {
      tx.rollback()
    },
  }
}

export function syncFlavour(api: SyncApi): Flavour {
  return {
    name: 'sync',
    run: async (step) => runSync(step),
    async open(options) {
      const conn = api.connectSync(options)
      return {
        flavour: 'sync',
        E: api,
        *query(sql, params, options) {
          return conn.query(sql, params, options)
        },
        *simpleQuery(sql) {
          return conn.simpleQuery(sql)
        },
        *transaction(body, options) {
          return conn.transaction((tx) => runSync(body(syncTx(tx))), options)
        },
        *describe(sql) {
          return conn.describe(sql)
        },
        *prepare(sql) {
          const s = conn.prepare(sql)
          return {
            *execute(params) {
              return s.execute(params)
            },
            *close() {
              s.close()
            },
          }
        },
        onNotice: (fn) => void conn.on('notice', fn),
        cursor: () => syncCursor(conn.cursor()),
        serverCursor: (name, options) => syncServerCursor(conn.serverCursor(name, options)),
        *copyFrom(sql, source, options) {
          return conn.copyFrom(sql, source, options)
        },
        *copyIn(sql, options) {
          const w = conn.copyFrom(sql, options)
          return {
            columns: w.columns,
            *write(d) {
              w.write(d)
            },
            *writeRow(v) {
              w.writeRow(v)
            },
            *end() {
              return w.end()
            },
            *abort(reason) {
              w.abort(reason)
            },
          }
        },
        *close() {
          conn.close()
        },
        get closed() {
          return conn.closed
        },
      }
    },
  }
}
