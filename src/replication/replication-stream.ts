// The public face of a running replication stream: iterate it for events,
// acknowledge what was durably processed, stop it. One consumer at a time;
// breaking out of a for-await loop stops the stream.

import { inspect as nodeInspect } from 'node:util'
import { InterfaceError } from '../errors/base.js'
import { formatLsn } from './lsn.js'
import { toLsn, type ReplicationEvent, type ReplicationRequest } from './stream.js'

interface Owner {
  close(): Promise<void>
}

export class ReplicationStream implements AsyncIterable<ReplicationEvent> {
  private iterating = false
  private stopping: Promise<void> | undefined

  /** @internal */
  constructor(
    private readonly req: ReplicationRequest,
    /** The slot streamed from. */
    readonly slot: string,
    private readonly owner: Owner | undefined,
  ) {
    // The owned connection closes with the stream, however it ended.
    void req.whenEnded().then(() => this.finish())
  }

  /** The highest WAL position received (the start of the last message). */
  get lastReceivedLsn(): bigint {
    return this.req.received
  }

  /** The highest position acknowledged. */
  get acknowledgedLsn(): bigint {
    return this.req.acknowledged
  }

  /** Whether the stream has ended (stopped, refused, or its connection lost). */
  get ended(): boolean {
    return this.req.ended
  }

  /** The next event, or null once the stream has ended; rejects with what ended it, if not stop(). */
  next(): Promise<ReplicationEvent | null> {
    return this.req.next()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ReplicationEvent> {
    if (this.iterating) throw new InterfaceError('a replication stream has one consumer: it is already being iterated')
    this.iterating = true
    let finished = false
    try {
      for (let e = await this.req.next(); e !== null; e = await this.req.next()) yield e
      finished = true
    } finally {
      this.iterating = false
      if (!finished) await this.stop()
    }
  }

  /**
   * Confirms that everything up to `lsn` (a Commit's `endLsn`, or any
   * event's `lsn`) is durably processed: the slot will not send it again.
   * Sent to the server at once (once per tick) and with every status update.
   * A position past anything the server has sent is refused (InterfaceError):
   * the slot would skip what lies between.
   */
  acknowledge(lsn: bigint | string): void {
    this.req.acknowledge(toLsn(lsn, 'acknowledge()'))
  }

  /**
   * Ends streaming and waits for the server to end it (at most `stopTimeout`,
   * then the connection is closed); what was received and not acknowledged
   * comes again next time. The connection of a stream made by replicate() is
   * closed; one from ReplicationConnection takes commands again (not another
   * stream: the server streams once per connection).
   */
  stop(): Promise<void> {
    return (this.stopping ??= this.req.stop().then(() => this.finish()))
  }

  private closed: Promise<void> | undefined

  private finish(): Promise<void> {
    return (this.closed ??= this.owner?.close().catch(() => undefined) ?? Promise.resolve())
  }

  [nodeInspect.custom](): string {
    return `ReplicationStream { slot: ${this.slot}, received: ${formatLsn(this.req.received)}, acknowledged: ${formatLsn(this.req.acknowledged)}${this.req.ended ? ', ended' : ''} }`
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }
}
