// node-postgres's Query: an emitter of 'row' (each row, with the result),
// 'end' (the result) and 'error', or a callback, for code that passes
// `new Query(...)` to client.query() and listens. The client runs it as any
// query; rows are emitted once the result is in, not as they arrive.

import { EventEmitter } from 'node:events'
import type { QueryResult } from './result.js'
import type { TypeSource } from './types.js'

type Callback = (err: Error | null, result?: QueryResult) => void

export interface QueryInit {
  text: string
  values?: readonly unknown[]
  name?: string
  rowMode?: 'array'
  types?: TypeSource
  callback?: Callback
}

export class Query extends EventEmitter {
  text: string
  values: readonly unknown[] | undefined
  name: string | undefined
  rowMode: 'array' | undefined
  types: TypeSource | undefined
  callback: Callback | undefined

  constructor(config: string | QueryInit, values?: readonly unknown[] | Callback, callback?: Callback) {
    super()
    const init: QueryInit = typeof config === 'string' ? { text: config } : config
    this.text = init.text
    this.values = typeof values === 'function' ? init.values : (values ?? init.values)
    this.name = init.name
    this.rowMode = init.rowMode
    this.types = init.types
    this.callback = typeof values === 'function' ? values : (callback ?? init.callback)
  }

  /** @internal The client ran it: tell the listeners (or the callback) how it went. */
  settle(run: Promise<QueryResult>): void {
    run.then(
      (result) => {
        // Several statements give several results: each one's rows, in order.
        for (const r of Array.isArray(result) ? (result as QueryResult[]) : [result]) for (const row of r.rows) this.emit('row', row, r)
        if (this.callback !== undefined) this.callback(null, result)
        this.emit('end', result)
      },
      (err: Error) => {
        // As node-postgres: the callback takes the error, else 'error' does.
        if (this.callback !== undefined) this.callback(err)
        else this.emit('error', err)
      },
    )
  }
}
