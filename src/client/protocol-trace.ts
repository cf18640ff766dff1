// PGLINE_DEBUG=protocol: each message's type and length, in both directions,
// read from the framing alone (a type byte and a 4-byte length), so the
// decoder is untouched and nothing of a message's body, where parameters and
// passwords travel, is ever looked at.

import { writeLine } from './query-log.js'

const BACKEND: Record<string, string> = {
  R: 'Authentication', K: 'BackendKeyData', '2': 'BindComplete', '3': 'CloseComplete', C: 'CommandComplete',
  d: 'CopyData', c: 'CopyDone', G: 'CopyInResponse', H: 'CopyOutResponse', W: 'CopyBothResponse', D: 'DataRow',
  I: 'EmptyQueryResponse', E: 'ErrorResponse', V: 'FunctionCallResponse', v: 'NegotiateProtocolVersion', n: 'NoData',
  N: 'NoticeResponse', A: 'NotificationResponse', t: 'ParameterDescription', S: 'ParameterStatus', '1': 'ParseComplete',
  s: 'PortalSuspended', Z: 'ReadyForQuery', T: 'RowDescription',
}

const FRONTEND: Record<string, string> = {
  B: 'Bind', C: 'Close', d: 'CopyData', c: 'CopyDone', f: 'CopyFail', D: 'Describe', E: 'Execute', H: 'Flush',
  F: 'FunctionCall', P: 'Parse', p: 'PasswordMessage', Q: 'Query', S: 'Sync', X: 'Terminate',
}

/** Follows one direction's byte stream across chunk boundaries. */
class Framer {
  private header = Buffer.alloc(5)
  private have = 0
  private skip = 0

  constructor(
    private readonly names: Record<string, string>,
    private readonly arrow: string,
    /** The first message of the client (StartupMessage) has no type byte. */
    private untyped: boolean,
    private readonly write: (line: string) => void,
  ) {}

  feed(buf: Buffer): void {
    let i = 0
    while (i < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - i)
        this.skip -= n
        i += n
        continue
      }
      const want = this.untyped ? 4 : 5
      const n = Math.min(want - this.have, buf.length - i)
      buf.copy(this.header, this.have, i, i + n)
      this.have += n
      i += n
      if (this.have < want) return
      this.have = 0
      if (this.untyped) {
        this.untyped = false
        const len = this.header.readInt32BE(0)
        this.out('StartupMessage', len)
        this.skip = Math.max(0, len - 4)
      } else {
        const type = String.fromCharCode(this.header[0]!)
        const len = this.header.readInt32BE(1)
        this.out(this.names[type] ?? `'${type}'`, len)
        this.skip = Math.max(0, len - 4)
      }
    }
  }

  private out(name: string, len: number): void {
    writeLine(this.write, `pgline: ${this.arrow} ${name} (${len + (name === 'StartupMessage' ? 0 : 1)} bytes)`)
  }
}

export class ProtocolTrace {
  private readonly sent: Framer
  private readonly received: Framer

  constructor(write: (line: string) => void) {
    this.sent = new Framer(FRONTEND, '>', true, write)
    this.received = new Framer(BACKEND, '<', false, write)
  }

  outgoing(buf: Buffer): void {
    this.sent.feed(buf)
  }

  incoming(buf: Buffer): void {
    this.received.feed(buf)
  }
}
