// SCRAM-SHA-256 (RFC 5802 / RFC 7677) as pure steps: start() gives the
// client-first message, respond() checks the server-first message and
// gives the client-final message, verify() checks the server's signature.
// No I/O here; the session feeds the server's messages in.

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { ClientAuthenticationError } from '../errors/base.js'

export interface ChannelBinding {
  /** 'tls-server-end-point' data: a hash of the server certificate. */
  type: 'tls-server-end-point'
  data: Buffer
}

export interface ScramState {
  readonly mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-256-PLUS'
  readonly gs2Header: string
  readonly clientNonce: string
  readonly clientFirstBare: string
  readonly channelBinding: ChannelBinding | undefined
  serverSignature?: Buffer
}

export interface ScramStart {
  state: ScramState
  /** The SASLInitialResponse payload. */
  clientFirst: Buffer
}

/**
 * `serverOffersPlus` tells whether the server listed the -PLUS mechanism; a
 * client able to bind that was not offered it says 'y' so a downgrade shows.
 */
export function start(
  channelBinding: ChannelBinding | undefined,
  serverOffersPlus: boolean,
  nonce: string = randomBytes(18).toString('base64'),
  user = '',
): ScramStart {
  let gs2Header: string
  let mechanism: ScramState['mechanism'] = 'SCRAM-SHA-256'
  if (channelBinding && serverOffersPlus) {
    gs2Header = `p=${channelBinding.type},,`
    mechanism = 'SCRAM-SHA-256-PLUS'
  } else if (channelBinding) {
    gs2Header = 'y,,'
  } else {
    gs2Header = 'n,,'
  }
  // The user name is sent in the startup packet; PostgreSQL ignores this one,
  // so it is left empty (a name is accepted for checking against RFC vectors).
  const clientFirstBare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`
  const state: ScramState = {
    mechanism,
    gs2Header,
    clientNonce: nonce,
    clientFirstBare,
    channelBinding: mechanism === 'SCRAM-SHA-256-PLUS' ? channelBinding : undefined,
  }
  return { state, clientFirst: Buffer.from(gs2Header + clientFirstBare) }
}

function parseAttributes(msg: string, what: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=')
    if (eq !== 1) throw new ClientAuthenticationError(`SCRAM: malformed ${what} message`)
    out.set(part[0]!, part.slice(2))
  }
  return out
}

function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

/**
 * Derivation is deliberately cached per (password, salt, iterations): the
 * server's salt for a role is stable, and PBKDF2 at 4096 rounds is most of
 * the cost of opening a connection. The cache holds derived keys only.
 */
const derived = new Map<string, Buffer>()
const DERIVED_CACHE_LIMIT = 64

function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  const key = createHash('sha256')
    .update(password)
    .update('\0')
    .update(salt)
    .update('\0' + iterations)
    .digest('base64')
  let out = derived.get(key)
  if (out === undefined) {
    out = pbkdf2Sync(saslPrep(password), salt, iterations, 32, 'sha256')
    if (derived.size >= DERIVED_CACHE_LIMIT) derived.delete(derived.keys().next().value as string)
    derived.set(key, out)
  }
  return out
}

/** Returns the SASLResponse payload (client-final message). */
export function respond(state: ScramState, password: string, serverFirst: Buffer): Buffer {
  const serverFirstText = serverFirst.toString('utf8')
  const attrs = parseAttributes(serverFirstText, 'server-first')
  const nonce = attrs.get('r')
  const saltB64 = attrs.get('s')
  const iterText = attrs.get('i')
  if (!nonce || !saltB64 || !iterText) throw new ClientAuthenticationError('SCRAM: server-first message lacks r, s or i')
  if (!nonce.startsWith(state.clientNonce) || nonce.length === state.clientNonce.length) {
    throw new ClientAuthenticationError('SCRAM: server nonce does not extend the client nonce')
  }
  const iterations = Number(iterText)
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new ClientAuthenticationError(`SCRAM: bad iteration count ${JSON.stringify(iterText)}`)
  }
  const salt = Buffer.from(saltB64, 'base64')
  const salted = saltedPassword(password, salt, iterations)
  const clientKey = hmac(salted, 'Client Key')
  const storedKey = createHash('sha256').update(clientKey).digest()
  const cbind = state.channelBinding
    ? Buffer.concat([Buffer.from(state.gs2Header), state.channelBinding.data])
    : Buffer.from(state.gs2Header)
  const finalWithoutProof = `c=${cbind.toString('base64')},r=${nonce}`
  const authMessage = `${state.clientFirstBare},${serverFirstText},${finalWithoutProof}`
  const clientSignature = hmac(storedKey, authMessage)
  const proof = Buffer.allocUnsafe(clientKey.length)
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!
  state.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage)
  return Buffer.from(`${finalWithoutProof},p=${proof.toString('base64')}`)
}

/** Checks the server-final message; throws when the server did not prove it knows the password. */
export function verify(state: ScramState, serverFinal: Buffer): void {
  const attrs = parseAttributes(serverFinal.toString('utf8'), 'server-final')
  const err = attrs.get('e')
  if (err !== undefined) throw new ClientAuthenticationError(`SCRAM: server reported error "${err}"`)
  const v = attrs.get('v')
  const expected = state.serverSignature
  if (v === undefined || expected === undefined) throw new ClientAuthenticationError('SCRAM: server-final message lacks a signature')
  const got = Buffer.from(v, 'base64')
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new ClientAuthenticationError('SCRAM: server signature does not match (the server may not know the password)')
  }
}

// SASLprep (RFC 4013), the parts that matter for passwords: non-ASCII spaces
// become a space, "mapped to nothing" characters go, then NFKC. PostgreSQL
// falls back to the raw bytes when preparation fails, so prohibited output
// characters are left in rather than rejected.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g

export function saslPrep(password: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(password)) return password
  return password.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC')
}
