// The pool's errors. Every one is a PglineError, so one `instanceof
// PglineError` still sorts the driver's errors from the rest.
import { PglineError } from '../errors/base.js'

/** Base of the errors the pool itself raises (not the connection's or the server's). */
export class PoolError extends PglineError {}

/**
 * No connection became available within `acquireTimeout`. When the pool was
 * failing to connect meanwhile, the message names the last connection error
 * and `cause` holds it.
 */
export class PoolTimeout extends PoolError {
  /** How long the caller waited, in milliseconds. */
  readonly waitedMs: number

  constructor(message: string, waitedMs: number, options?: ErrorOptions) {
    super(message, options)
    this.waitedMs = waitedMs
  }
}

/** The wait queue already holds `maxWaiting` callers; this one was refused at once. */
export class PoolExhausted extends PoolError {}

/** The pool is closing or closed: it hands out no more connections. */
export class PoolClosed extends PoolError {}

/**
 * A connection was held longer than `leakTimeout`. Reported to `onError`
 * (never thrown); the connection is left alone. `stack` is the stack of the
 * `acquire()` that took it.
 */
export class ConnectionLeak extends PoolError {
  /** The backend process id of the held connection. */
  processId = 0
  /** Milliseconds the connection had been held when this was reported. */
  heldMs = 0
}
