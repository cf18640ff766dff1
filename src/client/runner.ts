// How the handles (pipelines, streams, COPY, prepared statements) run
// operations on their connection, on a token's behalf, without reaching into
// it: the one small interface the connection gives them.

import type { Engine } from '../session/engine.js'
import type { Op } from '../session/pending.js'
import type { ConnectionTraceInfo } from './diagnostics.js'

export interface Runner {
  readonly engine: Engine
  /** Refuses with the connection's own error once it is closed. */
  checkOpen(): void
  /** Runs `op` for `token` (undefined: the connection itself); resolves with its own result, rejects with the caller's frames. */
  run(token: object | undefined, op: Op): Promise<unknown>
  /** run() with the caller's own settle functions; throws what it refuses at once. */
  start(token: object | undefined, op: Op, resolve: (value: unknown) => void, reject: (err: Error) => void): void
  /** Where the connection goes, for tracing contexts. */
  traceInfo(): ConnectionTraceInfo
}
