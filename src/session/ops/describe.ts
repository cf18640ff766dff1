// The request that prepares a named statement and describes it (Parse,
// Describe 'S', Sync): the server's parameter types choose the encoders of
// every later execution, its fields the decoders and result formats.

import { ProtocolError } from '../../errors/base.js'
import { createDatabaseError } from '../../errors.js'
import type { BackendMessage } from '../../protocol/messages.js'
import type { Request } from '../session.js'
import type { Field } from '../../types/result.js'

export interface Description {
  paramOids: number[]
  /** null for a statement that returns no rows. */
  fields: Field[] | null
}

export class DescribeRequest implements Request {
  private paramOids: number[] = []
  private fields: Field[] | null | undefined
  private error: Error | undefined

  constructor(
    private readonly sql: string,
    private readonly done: (err: Error | undefined, d: Description | undefined) => void,
  ) {}

  handle(msg: BackendMessage): void {
    switch (msg.type) {
      case 'ParseComplete':
      case 'CloseComplete':
        return
      case 'ParameterDescription':
        this.paramOids = msg.typeOids
        return
      case 'RowDescription':
        this.fields = msg.fields
        return
      case 'NoData':
        this.fields = null
        return
      case 'ErrorResponse':
        this.error ??= createDatabaseError(msg.fields, this.sql)
        return
      default:
        throw new ProtocolError(`unexpected ${msg.type} while describing a statement`, msg.type)
    }
  }

  complete(): void {
    if (this.error !== undefined) return this.done(this.error, undefined)
    if (this.fields === undefined) return this.done(new ProtocolError('statement description incomplete'), undefined)
    this.done(undefined, { paramOids: this.paramOids, fields: this.fields })
  }

  fail(err: Error): void {
    this.done(err, undefined)
  }
}
