// What the handles that write their own messages (a stream's Executes, COPY
// data) need of the connection: its write buffer and when it is sent. They
// take this instead of closures built inside Connection.

import type { ConnectionError } from '../errors/base.js'
import type { Writer } from '../protocol/writer.js'

export interface Wire {
  readonly writer: Writer
  /** Sends what is buffered now. */
  flush(): void
  /** Sends what is buffered at the end of this tick (writes of one tick go out together). */
  scheduleFlush(): void
  /** Resolves when the socket takes more, undefined when it already does; rejects if the connection ends first. */
  drained(): Promise<void> | undefined
  /** Why the connection ended, once it has; undefined while it is open. */
  lost(): ConnectionError | undefined
}
