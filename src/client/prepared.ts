// prepare(): a named statement outside the automatic cache, never evicted,
// executed with the parameter types the server described, deallocated by
// close().

import { InterfaceError } from '../errors/base.js'
import type { Description } from '../session/ops/describe.js'
import type { QueryOptions } from '../session/query-options.js'
import type { CachedStatement } from '../session/statement-cache.js'
import type { Result, Row } from '../types/result.js'
import type { PreparedStatement } from './connection-options.js'
import { quoteIdentifier } from './quote.js'
import type { Runner } from './runner.js'

let preparedCounter = 0
const EMPTY: readonly unknown[] = []

/** `open()` says whether the connection still takes queries (a DEALLOCATE on a closed one is pointless). */
export async function prepareStatement(runner: Runner, sql: string, open: () => boolean): Promise<PreparedStatement> {
  const stmt: CachedStatement = { name: `pgline_p${++preparedCounter}`, key: sql, ready: false, paramOids: [], fields: null, resultFormats: [], formatsVersion: -1, used: 0 }
  const d = (await runner.run(undefined, { kind: 'describe', sql, statement: stmt })) as Description
  let closed = false
  return {
    name: stmt.name,
    sql,
    paramTypes: d.paramOids,
    fields: d.fields,
    // The cast gives it the rowMode overloads of PreparedStatement.execute.
    execute: (<R = Row>(params: readonly unknown[] = EMPTY, options: QueryOptions = {}) => {
      if (closed) return Promise.reject(new InterfaceError(`prepared statement ${stmt.name} was closed`))
      return runner.run(undefined, { kind: 'extended', sql, params, options, statement: stmt }) as Promise<Result<R>>
    }) as PreparedStatement['execute'],
    close: async () => {
      if (closed) return
      closed = true
      if (open()) await runner.run(undefined, { kind: 'simple', sql: `deallocate ${quoteIdentifier(stmt.name)}`, options: {} })
    },
  }
}
