// Drives an Engine with no server, socket or fake server: a Writer, a Session
// brought to 'ready' by hand, and effects that only record what they were
// asked (send(now), cancel(settled) with `settled` kept for the test to call).
// What the engine wrote is read back with the support frontend parser;
// backend messages are fed to the Session as BackendMessage objects.
import { expect } from 'vitest'
import { Writer } from '../../../src/protocol/writer.js'
import type { BackendMessage, TransactionStatus } from '../../../src/protocol/messages.js'
import type { PglineError } from '../../../src/errors.js'
import { Engine, type EngineSettings } from '../../../src/session/engine.js'
import type { Op, Pending } from '../../../src/session/pending.js'
import type { QueryOptions } from '../../../src/session/query-options.js'
import { Session, type Request } from '../../../src/session/session.js'
import { defaultTypeMap, TypeMap } from '../../../src/types/type-map.js'
import {
  backendKeyData,
  commandComplete,
  dataRow,
  parseFrontendAll,
  readyForQuery,
  rowDescription,
} from '../../support/backend-encoder.js'

export { unnamedReply } from '../../support/backend-encoder.js'

export { frontendLabel as label } from '../../support/backend-encoder.js'
import { frontendLabel as label } from '../../support/backend-encoder.js'

/** The wire of one unnamed extended query (prepare: false). */
export function unnamed(sql: string): string[] {
  return [`Parse "" ${sql}`, 'Bind ""', 'Describe P ""', 'Execute', 'Sync']
}

/** The reply to Parse + Describe 'S' + Sync of a statement with text columns and no parameters. */
export function describeReply(columns: string[], status: TransactionStatus = 'I'): BackendMessage[] {
  return [{ type: 'ParseComplete' }, { type: 'ParameterDescription', typeOids: [] }, rowDescription(columns), readyForQuery(status)]
}

/** The reply to Bind + Execute + Sync of a described statement (no RowDescription: the fields are known). */
export function executeReply(rows: string[][], status: TransactionStatus = 'I'): BackendMessage[] {
  return [{ type: 'BindComplete' }, ...rows.map((r) => dataRow(r)), commandComplete(`SELECT ${rows.length}`), readyForQuery(status)]
}

/** An operation handed to the engine, and how it settled (at most once). */
export class Call {
  outcome: { ok: unknown } | { err: Error } | undefined
  p!: Pending

  readonly resolve = (value: unknown): void => {
    expect(this.outcome, 'settled once').toBeUndefined()
    this.outcome = { ok: value }
  }

  readonly reject = (err: Error): void => {
    expect(this.outcome, 'settled once').toBeUndefined()
    this.outcome = { err }
  }

  get settled(): boolean {
    return this.outcome !== undefined
  }

  /** The value it resolved with; fails the test if it did not resolve. */
  get value(): unknown {
    expect(this.outcome, 'resolved').toHaveProperty('ok')
    return (this.outcome as { ok: unknown }).ok
  }

  /** The error it rejected with; fails the test if it did not reject. */
  get error(): Error & { code?: string; retrySafe?: boolean } {
    expect(this.outcome, 'rejected').toHaveProperty('err')
    return (this.outcome as { err: Error }).err
  }
}

/** A request of the test's own (a COPY's): records what the session hands it. */
export class RecordingRequest implements Request {
  readonly log: string[] = []
  handle(msg: BackendMessage): void {
    this.log.push(msg.type)
  }
  complete(status: TransactionStatus): void {
    this.log.push(`complete ${status}`)
  }
  fail(err: Error): void {
    this.log.push(`fail ${err.message}`)
  }
}

export class SansIo {
  readonly writer = new Writer()
  readonly session: Session
  readonly engine: Engine
  /** Every effects.send(now) call. */
  readonly sends: boolean[] = []
  /** The `settled` callback of every effects.cancel() call: calling it settles that CancelRequest. */
  readonly cancels: Array<() => void> = []
  /** What the session reported as fatal. */
  readonly fatals: PglineError[] = []
  private sendsSeen = 0

  constructor(settings: Partial<EngineSettings> = {}) {
    let engine: Engine | undefined
    this.session = new Session(
      this.writer,
      { user: 'u', password: undefined, database: 'd', protocolVersion: '3.0', applicationName: undefined, options: undefined, parameters: {} },
      {
        notice: () => {},
        notification: () => {},
        parameterStatus: () => {},
        ready: () => {},
        fatal: (err) => this.fatals.push(err),
        completed: (req) => engine!.completed(req),
      },
    )
    this.session.start()
    this.session.handle({ type: 'AuthenticationOk' })
    this.session.handle(backendKeyData(4242, 7))
    this.session.handle(readyForQuery('I'))
    expect(this.session.phase).toBe('ready')
    this.writer.flush() // the StartupMessage
    engine = new Engine(
      this.session,
      this.writer,
      { types: new TypeMap(defaultTypeMap), statementCacheSize: 16, prepare: false, resultFormat: 'auto', maxInFlight: 1000, ...settings },
      {
        send: (now) => this.sends.push(now),
        cancel: (settled) => this.cancels.push(settled),
      },
    )
    this.engine = engine
  }

  /**
   * The messages written since the last call, labelled (the writer is
   * emptied). Whatever was written must have been followed by a send(), or
   * it would sit in the buffer.
   */
  written(): string[] {
    const sent = this.sends.length > this.sendsSeen
    this.sendsSeen = this.sends.length
    if (this.writer.length === 0) return []
    expect(sent, 'bytes written without effects.send()').toBe(true)
    return parseFrontendAll(this.writer.flush()).map(label)
  }

  /** Feeds backend messages to the session, in order. */
  reply(...msgs: BackendMessage[]): void {
    for (const m of msgs) this.session.handle(m)
  }

  /** admit() + submit() of any operation, on behalf of `token` (undefined: the connection itself). */
  run(op: Op, token?: object): Call {
    const call = new Call()
    call.p = this.engine.admit(token, op, call.resolve, call.reject)
    this.engine.submit(call.p)
    return call
  }

  /** An extended query without parameters. */
  query(sql: string, options: QueryOptions = {}, token?: object): Call {
    return this.run({ kind: 'extended', sql, params: [], options, statement: undefined }, token)
  }
}
