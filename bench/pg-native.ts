// pg-native (libpq bindings), when it can be loaded. It is not a dependency:
// scripts/bench-setup.sh installs it (with libpq-dev) without touching
// package.json. Its API is callback-based and untyped; the declaration below
// covers only what the benchmark calls (see node_modules/pg-native/README.md).

import type { BenchTarget } from './drivers.js'

type Callback<T> = (err: Error | null, value: T) => void

export interface PgNativeQuery {
  text: string
  values?: readonly string[]
}

interface PgNativeClient {
  connect(conninfo: string, cb: (err: Error | null) => void): void
  query(text: string, values: readonly string[], cb: Callback<unknown[]>): void
  prepare(name: string, text: string, nParams: number, cb: (err: Error | null) => void): void
  execute(name: string, values: readonly string[], cb: Callback<unknown[]>): void
  /** libpq pipeline mode (pg-native 3.9+): one Sync per query, results in order. */
  pipeline?(queries: PgNativeQuery[], cb: Callback<{ err: Error | null; rows: unknown[] | null }[]>): void
  end(cb?: () => void): void
}

type PgNativeConstructor = new (config?: { arrayMode?: boolean }) => PgNativeClient

/** A promise-returning wrapper over one pg-native client. */
export interface PgNative {
  query(text: string, values: readonly string[]): Promise<unknown[]>
  prepare(name: string, text: string, nParams: number): Promise<void>
  execute(name: string, values: readonly string[]): Promise<unknown[]>
  /** undefined when this pg-native has no pipeline mode. */
  pipeline: ((queries: PgNativeQuery[]) => Promise<void>) | undefined
  end(): Promise<void>
}

export type PgNativeOpener = (t: BenchTarget) => Promise<PgNative>

/** A libpq conninfo string: key='value' pairs, quotes and backslashes escaped. */
function conninfo(t: BenchTarget): string {
  const q = (v: string | number): string => `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
  return `host=${q(t.host)} port=${q(t.port)} user=${q(t.user)} password=${q(t.password)} dbname=${q(t.database)}`
}

function promisify<T>(start: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))))
}

/** Loads pg-native; returns an opener, or why it cannot be used. */
export async function loadPgNative(): Promise<PgNativeOpener | string> {
  // A variable specifier: the module may be absent, and it ships no types.
  const specifier: string = 'pg-native'
  let Client: PgNativeConstructor
  try {
    const mod = (await import(specifier)) as { default: PgNativeConstructor }
    Client = mod.default
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err)
    return `cannot import pg-native (${msg}); \`bash scripts/bench-setup.sh\` installs it with libpq-dev`
  }
  return async (t) => {
    const client = new Client()
    await new Promise<void>((resolve, reject) => client.connect(conninfo(t), (err) => (err ? reject(err) : resolve())))
    const pipeline = client.pipeline
    return {
      query: (text, values) => promisify((cb) => client.query(text, values, cb)),
      prepare: (name, text, n) => promisify<void>((cb) => client.prepare(name, text, n, (err) => cb(err, undefined))),
      execute: (name, values) => promisify((cb) => client.execute(name, values, cb)),
      pipeline: pipeline
        ? async (queries) => {
            const results = await promisify<{ err: Error | null }[]>((cb) => pipeline.call(client, queries, cb))
            const failed = results.find((r) => r.err)
            if (failed) throw failed.err
          }
        : undefined,
      end: () => new Promise<void>((resolve) => client.end(resolve)),
    }
  }
}
