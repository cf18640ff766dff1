// TLS for a PostgreSQL connection, with libpq's sslmode meanings:
//   disable      never TLS
//   prefer       TLS if the server agrees, else plain (libpq's default)
//   require      TLS or fail; the certificate is not checked (unless a root
//                certificate is given, which libpq then treats as verify-ca)
//   verify-ca    TLS, the chain must lead to a trusted root
//   verify-full  verify-ca, and the certificate must name the host
// Negotiation is PostgreSQL's SSLRequest ('S' or 'N' in answer), or direct
// TLS with ALPN "postgresql" (sslnegotiation=direct, PostgreSQL 17+).

import { createHash, X509Certificate } from 'node:crypto'
import net from 'node:net'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import { ConnectionError, InterfaceError, ProtocolError } from '../errors/base.js'
import type { ChannelBinding } from '../auth/scram.js'

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'

export interface TlsOptions {
  mode: SslMode
  /** 'postgres' (SSLRequest first) or 'direct' (TLS at once, ALPN). */
  negotiation?: 'postgres' | 'direct'
  /** PEM text or a file path; 'system' for the system's trusted roots. */
  rootCert?: string
  cert?: string
  key?: string
  /** Passphrase of an encrypted client key. */
  keyPassword?: string
  /** Send the host name as SNI (default true; never for IP addresses). */
  sni?: boolean
  /** The server's name for verify-full and SNI, when the socket goes to a hostaddr. */
  servername?: string
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

function pem(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (value.includes('-----BEGIN')) return value
  try {
    return readFileSync(value, 'utf8')
  } catch (err) {
    throw new InterfaceError(`cannot read ${value}: ${(err as Error).message}`)
  }
}

/** Sends SSLRequest and reads the one-byte answer; refuses any byte after it (it would be unencrypted injection). */
export function sslRequest(socket: net.Socket): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('close', onClose)
      socket.pause()
      if (chunk.length > 1) return reject(new ProtocolError('the server sent data after its answer to SSLRequest'))
      const answer = chunk[0]
      if (answer === 0x53) resolve(true)
      else if (answer === 0x4e) resolve(false)
      else reject(new ProtocolError(`unexpected answer to SSLRequest: 0x${(answer ?? 0).toString(16)}`))
    }
    const onError = (err: Error): void => reject(new ConnectionError(`TLS negotiation failed: ${err.message}`, { retrySafe: true, cause: err }))
    const onClose = (): void => reject(new ConnectionError('the server closed the connection during TLS negotiation', { retrySafe: true }))
    socket.on('data', onData)
    socket.once('error', onError)
    socket.once('close', onClose)
    socket.write(SSL_REQUEST)
  })
}

/** Wraps a connected socket in TLS per the mode; resolves once the handshake and checks are done. */
export function startTls(socket: net.Socket, address: string, o: TlsOptions): Promise<tls.TLSSocket> {
  const host = o.servername ?? address
  const verify = o.mode === 'verify-ca' || o.mode === 'verify-full' || (o.mode === 'require' && o.rootCert !== undefined)
  const rootPem = o.rootCert === 'system' ? undefined : pem(o.rootCert)
  if (o.mode === 'verify-ca' || o.mode === 'verify-full') {
    if (o.rootCert === undefined) {
      throw new InterfaceError(`sslmode=${o.mode} needs a root certificate (sslrootcert: a PEM file, or 'system')`)
    }
  }
  const isIp = net.isIP(host) !== 0
  const options: tls.ConnectionOptions = {
    socket,
    rejectUnauthorized: verify,
    ca: rootPem,
    cert: pem(o.cert),
    key: pem(o.key),
    passphrase: o.keyPassword,
    servername: o.sni === false || isIp ? undefined : host,
    ALPNProtocols: o.negotiation === 'direct' ? ['postgresql'] : undefined,
    // verify-ca checks the chain only; verify-full also the name (Node's default check).
    checkServerIdentity: o.mode === 'verify-full' ? tls.checkServerIdentity : () => undefined,
  }
  return new Promise((resolve, reject) => {
    const s = tls.connect(options)
    const onError = (err: Error): void => {
      s.destroy()
      reject(new ConnectionError(`TLS handshake with ${host} failed: ${err.message}`, { retrySafe: true, cause: err }))
    }
    s.once('error', onError)
    s.once('secureConnect', () => {
      s.off('error', onError)
      if (o.negotiation === 'direct' && s.alpnProtocol !== 'postgresql') {
        s.destroy()
        return reject(new ConnectionError(`the server at ${host} did not agree to ALPN "postgresql" for direct TLS`, { retrySafe: true }))
      }
      resolve(s)
    })
  })
}

// Signature algorithms whose hash is stronger than SHA-256, by DER-encoded OID:
// RFC 5929 binds with the certificate's own hash, and SHA-256 for MD5/SHA-1.
const SHA384_OIDS = ['2a864886f70d01010c', '2a8648ce3d040303']
const SHA512_OIDS = ['2a864886f70d01010d', '2a8648ce3d040304']

/** tls-server-end-point channel binding data (RFC 5929) for SCRAM-SHA-256-PLUS. */
export function serverEndPoint(s: tls.TLSSocket): ChannelBinding | undefined {
  const peer = s.getPeerX509Certificate?.() as X509Certificate | undefined
  const raw = peer?.raw
  if (raw === undefined) return undefined
  // The outer signatureAlgorithm sits after tbsCertificate, near the end.
  const tail = raw.subarray(Math.max(0, raw.length - 600)).toString('hex')
  const hash = SHA512_OIDS.some((o) => tail.includes(o)) ? 'sha512' : SHA384_OIDS.some((o) => tail.includes(o)) ? 'sha384' : 'sha256'
  return { type: 'tls-server-end-point', data: createHash(hash).update(raw).digest() }
}
