// A fault-injecting TCP proxy in front of the real test server. It frames
// the PostgreSQL wire protocol in both directions, so a fault can be aimed
// at "the Nth message of type X" (or k bytes into it) rather than at a byte
// count that changes whenever the driver or the server does:
//
//   const proxy = await startFaultProxy({ fault: 'cut', at: { from: 'server', type: 'D', nth: 3, offset: 7 } })
//   const conn = await connect({ ...options, port: proxy.port, tls: 'disable' })
//   ...
//   await proxy.close()
//
// The proxy must see plaintext: it answers an SSLRequest or GSSENCRequest
// with 'N' itself, and clients should say tls: 'disable' anyway.
//
// A CancelRequest arrives as a connection of its own; it is forwarded
// untouched (never faulted, not counted in `connections`), or black-holed
// with `cancel: 'stall'`.

import net from 'node:net'

export type Origin = 'client' | 'server'

/** Request codes of the untyped packets a client may open a connection with. */
export const CANCEL_REQUEST = 80877102
export const SSL_REQUEST = 80877103
export const GSSENC_REQUEST = 80877104

export interface MessageInfo {
  /** The type byte as a character; for the untyped first packets 'startup', 'ssl', 'gssenc' or 'cancel'. */
  type: string
  /** Untyped packets: the protocol version or request code. 'R': the authentication code (0 ok, 10 SASL, 11 continue, 12 final...). */
  code: number | undefined
  /** The whole message in bytes, type byte and length field included. */
  length: number
  /** 1-based position of the message in its direction. */
  seq: number
}

/** A run of bytes that belongs to one message: `offset` is where in the message it starts. */
export interface Slice {
  msg: MessageInfo
  offset: number
  bytes: Buffer
}

export class FramingError extends Error {
  override name = 'FramingError'
}

/**
 * Cuts one direction's byte stream into per-message slices without ever
 * joining a body: only a message's header (5 bytes, 9 for 'R' to include
 * the auth code, 8 for an untyped packet) is held back until complete, so
 * the concatenated slices are the input minus at most one partial header.
 */
export class WireFramer {
  private head = Buffer.alloc(0)
  private current: MessageInfo | undefined
  private done = 0
  private seq = 0
  /** Client side: packets have no type byte until the StartupMessage (or a CancelRequest) has gone. */
  private untyped: boolean

  constructor(readonly origin: Origin) {
    this.untyped = origin === 'client'
  }

  /** Header bytes waiting for the rest of their header. */
  get buffered(): number {
    return this.head.length
  }

  push(chunk: Buffer): Slice[] {
    const out: Slice[] = []
    let pos = 0
    while (pos < chunk.length) {
      if (this.current !== undefined) {
        const n = Math.min(this.current.length - this.done, chunk.length - pos)
        out.push({ msg: this.current, offset: this.done, bytes: chunk.subarray(pos, pos + n) })
        this.done += n
        pos += n
        if (this.done === this.current.length) this.current = undefined
        continue
      }
      const need = this.headerSize()
      const take = Math.min(need - this.head.length, chunk.length - pos)
      this.head = Buffer.concat([this.head, chunk.subarray(pos, pos + take)])
      pos += take
      // The header may grow once the length is known ('R' reads its code too).
      if (this.head.length < this.headerSize()) continue
      const msg = this.open()
      out.push({ msg, offset: 0, bytes: this.head })
      this.head = Buffer.alloc(0)
      this.done = out[out.length - 1]!.bytes.length
      this.current = this.done < msg.length ? msg : undefined
    }
    return out
  }

  private headerSize(): number {
    if (this.untyped) return 8
    if (this.head.length >= 5 && this.head[0] === 0x52 /* R */ && this.head.readInt32BE(1) >= 8) return 9
    return 5
  }

  private open(): MessageInfo {
    const h = this.head
    this.seq++
    if (this.untyped) {
      const length = h.readInt32BE(0)
      const code = h.readInt32BE(4)
      if (length < 8) throw new FramingError(`${this.origin}: untyped packet with length ${length}`)
      let type = 'startup'
      if (code === SSL_REQUEST) type = 'ssl'
      else if (code === GSSENC_REQUEST) type = 'gssenc'
      else if (code === CANCEL_REQUEST) type = 'cancel'
      // Encryption requests are answered and followed by another untyped packet.
      if (type !== 'ssl' && type !== 'gssenc') this.untyped = false
      return { type, code, length, seq: this.seq }
    }
    const length = h.readInt32BE(1)
    if (length < 4) throw new FramingError(`${this.origin}: message '${String.fromCharCode(h[0]!)}' with length ${length}`)
    const type = String.fromCharCode(h[0]!)
    return { type, code: h.length === 9 ? h.readInt32BE(5) : undefined, length: length + 1, seq: this.seq }
  }
}

export type Fault =
  /** Forward everything (a baseline, or only `cancel: 'stall'`). */
  | 'none'
  /** End both sides with FIN. */
  | 'cut'
  /** Reset both sides (RST). */
  | 'reset'
  /** FIN to the client only; what the client sends still reaches the server, the server's replies are dropped. */
  | 'half-close'
  /** A black hole: nothing more is forwarded either way and both sockets stay open. */
  | 'stall'
  /** Flip the high bit of the target's type byte (no message type has it), then forward as usual. */
  | 'corrupt-type'
  /** Add 1 GiB to the target's length field (past any sane limit), then forward as usual. */
  | 'corrupt-length'

export interface FaultTarget {
  /** Who sends the message. */
  from: Origin
  /** Type byte ('D', 'T', 'Z', 'R', 'd', 'G', 'H', 'Q', 'P'...) or 'startup' / 'cancel'. */
  type: string
  /** For 'R': only authentication messages with this code count (11 SASL continue, 12 SASL final, 0 ok). */
  code?: number
  /** Which matching message on the connection, 1-based (default 1). Counted from the start of the connection. */
  nth?: number
  /** Bytes of the message forwarded before the fault hits (default 0: none of it). Clamped to its length. */
  offset?: number
}

export interface FaultProxyOptions {
  fault: Fault
  at?: FaultTarget
  /** Which session connections get the fault, 1-based in order of arrival (default: every one). */
  only?: number[]
  /** 'stall': accept CancelRequest connections and never answer or close them. */
  cancel?: 'forward' | 'stall'
  /**
   * How a stall holds the sockets: 'discard' (default) keeps reading and
   * drops the bytes, so a client that gives up is noticed and its backend
   * released; 'pause' stops reading, so the client's writes back up as on
   * a dead network path.
   */
  stall?: 'discard' | 'pause'
  /** The server to forward to (in tests, testServer()'s host and port). */
  host: string
  port: number
  /** Record every message (`${connection} ${from} ${type}`) in `trace`. */
  trace?: boolean
}

export interface FaultProxy {
  readonly port: number
  /** Session connections accepted (CancelRequests not included). */
  readonly connections: number
  /** CancelRequest connections seen. */
  readonly cancels: number
  /** Times the fault fired (at most once per connection). */
  readonly fired: number
  /** Resolves the first time the fault fires. */
  whenFired(): Promise<void>
  /** Resolves when `cancels` reaches n. */
  whenCanceled(n?: number): Promise<void>
  readonly trace: string[]
  /** Stops listening and destroys every socket it holds. */
  close(): Promise<void>
}

type LinkState = 'open' | 'stalled' | 'half-closed' | 'dead'

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>()
  let connections = 0
  let cancels = 0
  let fired = 0
  const trace: string[] = []
  let onFired: (() => void) | undefined
  const firedOnce = new Promise<void>((r) => (onFired = r))
  const cancelWaiters: { n: number; resolve: () => void }[] = []

  const track = (s: net.Socket): net.Socket => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    // Errors are the point here; the link's own handlers decide what to do.
    s.on('error', () => {})
    return s
  }

  // Half-open allowed everywhere: a client's FIN (close() after its last
  // query) must not stop the server's answer on its way back, as it would
  // not on a real path; and a black hole must not answer a FIN with one.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    track(client)
    client.setNoDelay(true)
    const first = new WireFramer('client')
    let decided = false
    const pending: Slice[] = []
    // Until the first real packet shows what this connection is, only answer encryption requests.
    const onFirst = (chunk: Buffer): void => {
      let slices: Slice[]
      try {
        slices = first.push(chunk)
      } catch {
        client.destroy()
        return
      }
      for (const s of slices) {
        if (decided) {
          pending.push(s)
          continue
        }
        if (s.msg.type === 'ssl' || s.msg.type === 'gssenc') {
          if (s.offset + s.bytes.length === s.msg.length) client.write('N')
          continue
        }
        decided = true
        pending.push(s)
      }
      if (!decided) return
      client.off('data', onFirst)
      if (pending[0]!.msg.type === 'cancel') {
        cancels++
        for (const w of cancelWaiters.splice(0)) {
          if (cancels >= w.n) w.resolve()
          else cancelWaiters.push(w)
        }
        if (options.cancel === 'stall') {
          client.on('data', () => {})
          return
        }
        const up = track(net.connect({ port: options.port, host: options.host, allowHalfOpen: true }))
        for (const s of pending) up.write(s.bytes)
        client.pipe(up)
        up.pipe(client)
        up.on('close', () => client.destroy())
        client.on('close', () => up.destroy())
        return
      }
      connections++
      const faulty = options.fault !== 'none' && (options.only === undefined || options.only.includes(connections))
      new Link(connections, client, first, pending.splice(0), faulty)
    }
    client.on('data', onFirst)
    client.once('end', () => {
      if (!decided) client.end()
    })
  })

  class Link {
    private state: LinkState = 'open'
    private readonly up: net.Socket
    /** Messages matching the target so far. */
    private matched = 0
    private armed: MessageInfo | undefined
    private done = false

    constructor(
      private readonly id: number,
      private readonly client: net.Socket,
      private readonly clientFramer: WireFramer,
      initial: Slice[],
      private readonly faulty: boolean,
    ) {
      this.up = track(net.connect({ port: options.port, host: options.host, allowHalfOpen: true }))
      this.up.setNoDelay(true)
      const serverFramer = new WireFramer('server')
      for (const s of initial) this.forward('client', s)
      client.on('data', (chunk: Buffer) => this.onData('client', this.clientFramer, chunk))
      this.up.on('data', (chunk: Buffer) => this.onData('server', serverFramer, chunk))
      // Mirror a clean end or a reset from either side, unless a fault has taken over.
      client.on('end', () => this.peerEnded('client'))
      this.up.on('end', () => this.peerEnded('server'))
      client.on('close', (hadError) => {
        // The client is gone: nothing left to hide, release the backend
        // (end, not destroy, so a Terminate still in our buffer reaches it).
        this.state = 'dead'
        if (hadError) this.up.destroy()
        else this.up.end()
      })
      this.up.on('close', (hadError) => {
        if (this.state !== 'open') return
        this.state = 'dead'
        // A FIN after the server's last words (a FATAL) must not lose them.
        if (hadError) this.client.resetAndDestroy()
        else this.client.end()
      })
    }

    private peerEnded(who: Origin): void {
      if (this.state === 'stalled') {
        // The client hung up on the black hole: release its backend, and tell the client nothing.
        if (who === 'client') this.up.destroy()
        return
      }
      if (who === 'client') this.up.end()
      else if (this.state === 'open') this.client.end()
    }

    private onData(from: Origin, framer: WireFramer, chunk: Buffer): void {
      let slices: Slice[]
      try {
        slices = framer.push(chunk)
      } catch {
        this.kill()
        return
      }
      for (const s of slices) this.forward(from, s)
    }

    private forward(from: Origin, s: Slice): void {
      if (options.trace && s.offset === 0) trace.push(`${this.id} ${from} ${s.msg.type}${s.msg.code === undefined ? '' : `:${s.msg.code}`}`)
      if (this.state === 'dead' || this.state === 'stalled') return
      if (this.state === 'half-closed') {
        if (from === 'client') this.up.write(s.bytes)
        return
      }
      const at = options.at
      if (this.faulty && !this.done && at !== undefined && from === at.from) {
        if (s.offset === 0 && s.msg.type === at.type && (at.code === undefined || s.msg.code === at.code)) {
          if (++this.matched === (at.nth ?? 1)) this.armed = s.msg
        }
        if (this.armed === s.msg) {
          const hit = Math.min(at.offset ?? 0, s.msg.length)
          const end = s.offset + s.bytes.length
          if (options.fault === 'corrupt-type' || options.fault === 'corrupt-length') {
            if (s.offset === 0) {
              this.fire()
              return this.send(from, corrupt(s, options.fault))
            }
          } else if (hit < end || (hit === end && end === s.msg.length)) {
            this.fire()
            this.send(from, s.bytes.subarray(0, hit - s.offset))
            this.apply(from, s.bytes.subarray(hit - s.offset))
            return
          }
        }
      }
      this.send(from, s.bytes)
    }

    private send(from: Origin, bytes: Buffer): void {
      if (bytes.length === 0) return
      if (from === 'client') this.up.write(bytes)
      else this.client.write(bytes)
    }

    private fire(): void {
      this.done = true
      this.armed = undefined
      fired++
      onFired?.()
    }

    /** The fault itself; `rest` is what remains of the slice it hit. */
    private apply(from: Origin, rest: Buffer): void {
      switch (options.fault) {
        case 'cut':
          this.state = 'dead'
          this.client.end()
          this.up.end()
          return
        case 'reset':
          this.kill()
          return
        case 'half-close':
          this.state = 'half-closed'
          this.client.end()
          if (from === 'client') this.up.write(rest)
          return
        case 'stall':
          this.state = 'stalled'
          if (options.stall === 'pause') {
            this.client.pause()
            this.up.pause()
          }
          return
        default:
          return
      }
    }

    private kill(): void {
      this.state = 'dead'
      if (!this.client.destroyed) this.client.resetAndDestroy()
      if (!this.up.destroyed) this.up.resetAndDestroy()
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as net.AddressInfo).port

  return {
    port,
    get connections() {
      return connections
    },
    get cancels() {
      return cancels
    },
    get fired() {
      return fired
    },
    whenFired: () => firedOnce,
    whenCanceled: (n = 1) =>
      cancels >= n ? Promise.resolve() : new Promise<void>((resolve) => cancelWaiters.push({ n, resolve })),
    trace,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of sockets) s.destroy()
      await closed
    },
  }
}

/** The header slice of a message, with its type byte or length field spoiled. */
function corrupt(s: Slice, how: 'corrupt-type' | 'corrupt-length'): Buffer {
  const b = Buffer.from(s.bytes)
  const typed = !['startup', 'ssl', 'gssenc', 'cancel'].includes(s.msg.type)
  const lengthAt = typed ? 1 : 0
  if (how === 'corrupt-type') {
    if (typed) b[0] = b[0]! ^ 0x80
    else b.writeInt32BE(b.readInt32BE(4) ^ 0x40, 4) // no type byte: spoil the request code instead
  } else {
    b.writeInt32BE(b.readInt32BE(lengthAt) + 0x40000000, lengthAt)
  }
  return b
}
