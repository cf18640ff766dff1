// Turns AbortSignals and timeouts into the engine's aborts, and watches what
// follows: once the aborted request is the one the server runs, it is
// canceled, and if nothing at all arrives for cancelGrace ms after that (a
// stalled network, a black-holed cancel) the connection is closed, so no
// promise waits forever. The timers live here; the engine decides what an
// abort means for each operation.

import { ConnectionError, InterfaceError, TimeoutError } from '../errors/base.js'
import type { AbortWatch, Engine, Stopper } from '../session/engine.js'
import { canceledError, type Pending } from '../session/pending.js'
import type { Request } from '../session/session.js'

/** What the watchdog needs of its connection. */
export interface WatchedConnection {
  readonly engine: Engine
  /** Milliseconds of silence after a cancel before the connection is closed (0 or Infinity: never). */
  readonly cancelGrace: number
  /** Chunks received so far: a grace period ends only in silence. */
  readonly received: number
  /** Closes the connection; every request on it fails with `err`. */
  kill(err: ConnectionError): void
  /** Calls `fn` when the connection closes; returns the function that stops it. */
  onClose(fn: () => void): () => void
}

export interface AbortOptions {
  signal: AbortSignal | undefined
  timeout: number
}

function noop(): void {}

export class Watchdog {
  constructor(private readonly conn: WatchedConnection) {}

  /** A query's signal and timeout: on either, the engine aborts it; then its grace is watched. */
  watch(p: Pending, signal: AbortSignal | undefined, timeout: number): void {
    if (signal === undefined && !(timeout > 0)) return
    if (signal?.aborted) {
      p.state = 'done'
      p.reject(canceledError(p.sql, signal.reason, false))
      return
    }
    const abort = (reason: unknown): void => {
      const watch = this.conn.engine.abort(p, reason)
      if (watch !== undefined) this.giveUpAfterGrace(p, watch)
    }
    const onAbort = (): void => abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const timer = timeout > 0 ? setTimeout(() => abort(new TimeoutError(`query timed out after ${timeout} ms`)), timeout) : undefined
    p.cleanup = () => {
      signal?.removeEventListener('abort', onAbort)
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  private giveUpAfterGrace(p: Pending, watch: AbortWatch): void {
    const stop = this.silence(p.abortReason, watch, () => p.state === 'done')
    const previous = p.cleanup
    p.cleanup = () => {
      stop()
      previous?.()
    }
  }

  /**
   * A stream's or COPY's signal and timeout: when either fires, the
   * operation ends with QueryCanceled (cause: the reason) and is canceled on
   * the server once it runs; then the grace, as for a query. Returns the
   * function that stops watching (at ReadyForQuery, or when refused).
   */
  guard(req: Request, sql: string, abort: AbortOptions, stopper: Stopper): () => void {
    const { signal, timeout } = abort
    if (signal === undefined && !(timeout > 0 && timeout !== Infinity)) return noop
    let ended = false
    let silence: (() => void) | undefined
    const fire = (reason: unknown): void => {
      // After close() or a failure the connection's end settles it.
      if (ended) return
      const watch = this.conn.engine.abortHeld(req, sql, reason, stopper)
      if (watch !== undefined) silence = this.silence(reason, watch, () => ended)
    }
    const onAbort = (): void => fire(signal!.reason)
    const timer = timeout > 0 && timeout !== Infinity ? setTimeout(() => fire(new TimeoutError(`timed out after ${timeout} ms`)), timeout) : undefined
    // The socket keeps the process alive while the request is out.
    timer?.unref()
    if (signal?.aborted) queueMicrotask(onAbort)
    else signal?.addEventListener('abort', onAbort, { once: true })
    const unsubscribe = this.conn.onClose(() => disarm())
    const disarm = (): void => {
      if (ended) return
      ended = true
      if (timer !== undefined) clearTimeout(timer)
      silence?.()
      signal?.removeEventListener('abort', onAbort)
      unsubscribe()
    }
    return disarm
  }

  /**
   * After an abort: once the request runs, calls `watch.cancel` and then
   * closes the connection if nothing at all arrives for cancelGrace ms.
   * While it waits behind other requests, their own timeouts rule. Returns
   * the stop function.
   */
  private silence(reason: unknown, watch: AbortWatch, done: () => boolean): () => void {
    const conn = this.conn
    const grace = conn.cancelGrace
    let armed = false
    let seen = conn.received
    let timer: ReturnType<typeof setTimeout> | undefined
    const check = (): void => {
      if (done() || conn.engine.life === 'dead') return
      const heard = conn.received !== seen
      seen = conn.received
      if (watch.running()) {
        if (!armed) {
          armed = true
          watch.cancel?.()
        } else if (!heard) {
          const why = reason instanceof Error ? reason.message : 'the query was canceled'
          return conn.kill(
            new ConnectionError(`${why}, and the server did not answer within ${grace} ms of the cancel (cancelGrace): the connection was closed`, {
              retrySafe: false,
              cause: reason,
            }),
          )
        }
      }
      if (grace > 0 && grace !== Infinity) {
        timer = setTimeout(check, grace)
        timer.unref()
      } else if (!armed) {
        // No grace: only the cancel remains to be sent once it runs.
        timer = setTimeout(check, 50)
        timer.unref()
      }
    }
    check()
    return () => clearTimeout(timer)
  }
}

/** A stream's or COPY's timeout option, checked before anything is claimed or sent. */
export function checkTimeout(timeout: unknown): number {
  if (timeout === undefined) return 0
  if (typeof timeout !== 'number' || !(timeout >= 0)) throw new InterfaceError(`timeout must be a non-negative number of milliseconds, got ${typeof timeout === 'number' ? timeout : typeof timeout}`)
  return timeout
}
