// Opens the byte stream to the server: TCP, or a unix-domain socket when the
// host is an absolute directory (libpq's convention: <dir>/.s.PGSQL.<port>).
//
// TCP keepalives: Node sets SO_KEEPALIVE and TCP_KEEPIDLE (keepalives,
// keepalives_idle). Node 20's socket.setKeepAlive() cannot set
// TCP_KEEPINTVL or TCP_KEEPCNT (libuv fixes them at 1 s and 10 probes), and
// no Node API sets TCP_USER_TIMEOUT: keepalives_interval, keepalives_count
// and tcp_user_timeout are accepted but not applied there (they are
// liveness settings, not security ones; PGLINE_DEBUG=1 says so once). A Node
// whose setKeepAlive() takes interval and count gets them.
//
// requirepeer: libpq asks the kernel who the peer of a unix socket is
// (getpeereid/SO_PEERCRED). Node has no way to ask, and the owner of the
// socket file is not the same thing (a file can be swapped between a stat()
// and the connect()), so a unix-socket connection with requirepeer is
// refused rather than made unchecked. Over TCP libpq ignores requirepeer, and
// so does pgline.

import net from 'node:net'
import path from 'node:path'
import { ConnectionError, InterfaceError } from '../errors/base.js'

export interface SocketOptions {
  host: string
  port: number
  keepAlive: boolean
  /** Milliseconds before the first probe (0: the system default). */
  keepAliveInitialDelay: number
  /** Milliseconds between probes (0: the default); applied only where Node can (see above). */
  keepAliveInterval?: number
  /** Probes before the connection is dead (0: the default); applied only where Node can (see above). */
  keepAliveCount?: number
  /** TCP_USER_TIMEOUT in milliseconds; Node cannot set it (see above). */
  tcpUserTimeout?: number
  /** The OS user the server must run as (unix sockets only); refused, see above. */
  requirePeer?: string
}

export function isUnixSocketHost(host: string): boolean {
  return host.startsWith('/') || host.startsWith('@')
}

export function describeTarget(o: Pick<SocketOptions, 'host' | 'port'>): string {
  return isUnixSocketHost(o.host) ? socketPath(o.host, o.port) : `${o.host}:${o.port}`
}

function socketPath(dir: string, port: number): string {
  // '@' marks Linux's abstract namespace, spelled with a leading NUL for Node.
  const full = path.posix.join(dir, `.s.PGSQL.${port}`)
  return full.startsWith('@') ? '\0' + full.slice(1) : full
}

/** The error for requirepeer on a unix socket (see the top of this file). */
export function requirePeerUnsupported(requirePeer: string, target: string): InterfaceError {
  return new InterfaceError(
    `requirepeer is not supported by pgline: Node cannot read the peer credentials of a unix socket, ` +
      `so it cannot check that the server at ${target} runs as "${requirePeer}" ` +
      `(remove requirepeer, or connect over TCP with sslmode=verify-full)`,
  )
}

type KeepAliveFull = (this: net.Socket, enable: boolean, initialDelay: number, interval: number, count: number) => net.Socket

/** Whether this Node's socket.setKeepAlive() takes interval and count (Node 20's takes only the initial delay). */
const keepAliveTakesInterval = net.Socket.prototype.setKeepAlive.length >= 3

let keepAliveNoticeShown = false

/** Sets the keepalive options Node can set; says once (with PGLINE_DEBUG=1) which it cannot. */
function setKeepAlive(socket: net.Socket, o: SocketOptions): void {
  const interval = o.keepAliveInterval ?? 0
  const count = o.keepAliveCount ?? 0
  if (keepAliveTakesInterval && (interval > 0 || count > 0)) {
    ;(socket.setKeepAlive as unknown as KeepAliveFull).call(socket, true, o.keepAliveInitialDelay, interval, count)
  } else {
    socket.setKeepAlive(true, o.keepAliveInitialDelay)
  }
  const unapplied = [
    ...(!keepAliveTakesInterval && interval > 0 ? ['keepalives_interval'] : []),
    ...(!keepAliveTakesInterval && count > 0 ? ['keepalives_count'] : []),
    ...((o.tcpUserTimeout ?? 0) > 0 ? ['tcp_user_timeout'] : []),
  ]
  if (unapplied.length > 0 && !keepAliveNoticeShown && process.env.PGLINE_DEBUG === '1') {
    keepAliveNoticeShown = true
    console.error(
      `pgline: ${unapplied.join(', ')} not applied: Node ${process.version} cannot set them on a socket ` +
        `(only keepalives and keepalives_idle are applied)`,
    )
  }
}

/**
 * Resolves with a connected socket; rejects with a retry-safe ConnectionError
 * (or, for requirepeer on a unix socket, an InterfaceError before connecting).
 */
export function openSocket(o: SocketOptions, signal: AbortSignal | undefined): Promise<net.Socket> {
  if (o.requirePeer !== undefined && o.requirePeer !== '' && isUnixSocketHost(o.host)) {
    return Promise.reject(requirePeerUnsupported(o.requirePeer, describeTarget(o)))
  }
  return new Promise((resolve, reject) => {
    const socket = isUnixSocketHost(o.host)
      ? net.connect({ path: socketPath(o.host, o.port) })
      : net.connect({ host: o.host, port: o.port })
    const onAbort = (): void => {
      socket.destroy()
      reject(signal?.reason ?? new ConnectionError(`connect to ${describeTarget(o)} aborted`, { retrySafe: true }))
    }
    const onError = (err: Error): void => {
      signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      reject(
        new ConnectionError(`cannot connect to ${describeTarget(o)}: ${err.message}`, { retrySafe: true, cause: err }),
      )
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('error', onError)
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort)
      socket.off('error', onError)
      if (!isUnixSocketHost(o.host)) {
        socket.setNoDelay(true)
        if (o.keepAlive) setKeepAlive(socket, o)
      }
      resolve(socket)
    })
  })
}
