// Opens the byte stream to the server: TCP, or a unix-domain socket when the
// host is an absolute directory (libpq's convention: <dir>/.s.PGSQL.<port>).

import net from 'node:net'
import path from 'node:path'
import { ConnectionError } from '../errors/base.js'

export interface SocketOptions {
  host: string
  port: number
  keepAlive: boolean
  keepAliveInitialDelay: number
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

/** Resolves with a connected socket; rejects with a retry-safe ConnectionError. */
export function openSocket(o: SocketOptions, signal: AbortSignal | undefined): Promise<net.Socket> {
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
        if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveInitialDelay)
      }
      resolve(socket)
    })
  })
}
