// TLS for a PostgreSQL connection, with libpq's sslmode meanings:
//   disable      never TLS
//   prefer       TLS if the server agrees, else plain (libpq's default)
//   require      TLS or fail; the certificate is not checked (unless a root
//                certificate is given, which libpq then treats as verify-ca)
//   verify-ca    TLS, the chain must lead to a trusted root
//   verify-full  verify-ca, and the certificate must name the host
// Negotiation is PostgreSQL's SSLRequest ('S' or 'N' in answer), or direct
// TLS with ALPN "postgresql" (sslnegotiation=direct, PostgreSQL 17+).
//
// TLS versions: ssl_min_protocol_version (default TLSv1.2, as libpq) and
// ssl_max_protocol_version bound the handshake. Revocation: when the chain is
// verified, the CRLs of sslcrl (a PEM file) and sslcrldir (every PEM CRL in
// the files of that directory) are checked for every certificate of the
// chain, as libpq does (OpenSSL's CRL_CHECK | CRL_CHECK_ALL): a revoked
// certificate, or one whose issuer has no CRL there, fails the handshake.
// Unlike libpq, a CRL file or directory that cannot be read is an error,
// not silently skipped.

import { createHash, X509Certificate } from 'node:crypto'
import net from 'node:net'
import path from 'node:path'
import tls from 'node:tls'
import { readdirSync, readFileSync, statSync } from 'node:fs'
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
  /** Certificate revocation lists (libpq's sslcrl): PEM text or file paths. Checked only when the chain is verified. */
  crl?: string | readonly string[]
  /** A directory whose files hold PEM CRLs (libpq's sslcrldir); every CRL found in it is loaded. */
  crlDir?: string
  /** The oldest TLS version to accept (ssl_min_protocol_version; default TLSv1.2, as libpq). */
  minVersion?: tls.SecureVersion
  /** The newest TLS version to offer (ssl_max_protocol_version; default: the newest Node supports). */
  maxVersion?: tls.SecureVersion
}

const TLS_VERSION_ORDER: readonly tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']
const CRL_BLOCK = /-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g

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

function pemCrls(text: string): string[] {
  return text.match(CRL_BLOCK) ?? []
}

/**
 * The PEM CRLs of `crl` (text or files) and of every file in `crlDir`.
 * Throws an InterfaceError for an unreadable file or directory, or one
 * holding no CRL: a revocation check asked for is never dropped silently.
 */
export function loadCrls(crl: string | readonly string[] | undefined, crlDir: string | undefined): string[] {
  const out: string[] = []
  const list = crl === undefined ? [] : typeof crl === 'string' ? [crl] : crl
  for (const item of list) {
    const inline = item.includes('-----BEGIN')
    const found = pemCrls(inline ? item : (pem(item) ?? ''))
    if (found.length === 0) {
      throw new InterfaceError(`sslcrl ${inline ? '(PEM text)' : `"${item}"`} holds no PEM certificate revocation list (-----BEGIN X509 CRL-----)`)
    }
    out.push(...found)
  }
  if (crlDir !== undefined && crlDir !== '') {
    let names: string[]
    try {
      names = readdirSync(crlDir).sort()
    } catch (err) {
      throw new InterfaceError(`cannot read sslcrldir "${crlDir}": ${(err as Error).message}`)
    }
    let inDir = 0
    for (const name of names) {
      const file = path.join(crlDir, name)
      let text: string
      try {
        if (!statSync(file).isFile()) continue
        text = readFileSync(file, 'utf8')
      } catch (err) {
        throw new InterfaceError(`cannot read ${file} in sslcrldir: ${(err as Error).message}`)
      }
      const found = pemCrls(text)
      inDir += found.length
      out.push(...found)
    }
    if (inDir === 0) throw new InterfaceError(`sslcrldir "${crlDir}" holds no PEM certificate revocation list`)
  }
  return out
}

/** What a handshake failure means in libpq's terms, for the error message. */
function explain(err: Error & { code?: string }, o: TlsOptions): string {
  const code = err.code ?? ''
  if (code === 'CERT_REVOKED') return ' (the server certificate is revoked by a CRL of sslcrl/sslcrldir)'
  if (code === 'UNABLE_TO_GET_CRL') return ' (sslcrl/sslcrldir has no CRL from the issuer of a certificate in the chain; every issuer needs one)'
  if (code === 'CRL_HAS_EXPIRED' || code === 'CRL_NOT_YET_VALID') return ' (a CRL of sslcrl/sslcrldir is out of date)'
  if (/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE|WRONG_VERSION/i.test(code) || /protocol version/i.test(err.message)) {
    return ` (no TLS version in common: the client allows ${o.minVersion ?? 'TLSv1.2'} to ${o.maxVersion ?? 'TLSv1.3'}, see ssl_min_protocol_version/ssl_max_protocol_version)`
  }
  return ''
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
  const minVersion = o.minVersion ?? 'TLSv1.2'
  const maxVersion = o.maxVersion
  for (const [name, v] of [['ssl_min_protocol_version', minVersion], ['ssl_max_protocol_version', maxVersion]] as const) {
    if (v !== undefined && !TLS_VERSION_ORDER.includes(v)) {
      throw new InterfaceError(`invalid ${name} "${String(v)}": expected one of ${TLS_VERSION_ORDER.join(', ')}`)
    }
  }
  if (maxVersion !== undefined && TLS_VERSION_ORDER.indexOf(minVersion) > TLS_VERSION_ORDER.indexOf(maxVersion)) {
    throw new InterfaceError(`invalid SSL protocol version range: ssl_min_protocol_version ${minVersion} is above ssl_max_protocol_version ${maxVersion}`)
  }
  // libpq loads CRLs only with the root certificate, i.e. when it verifies.
  const crls = verify ? loadCrls(o.crl, o.crlDir) : []
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
    minVersion,
    maxVersion,
    crl: crls.length > 0 ? crls : undefined,
  }
  return new Promise((resolve, reject) => {
    const s = tls.connect(options)
    const onError = (err: Error): void => {
      s.destroy()
      reject(new ConnectionError(`TLS handshake with ${host} failed: ${err.message}${explain(err, o)}`, { retrySafe: true, cause: err }))
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
