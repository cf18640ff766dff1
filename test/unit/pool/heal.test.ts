// Which connect failures the pool keeps retrying (they may heal) and which it
// hands to waiting callers at once (the server or the settings said no).
import { describe, expect, it } from 'vitest'
import { ClientAuthenticationError, ConnectionError, createDatabaseError, InterfaceError, ProtocolError, TimeoutError } from '../../../src/errors.js'
import { canHeal } from '../../../src/pool/heal.js'

const db = (code: string) => createDatabaseError({ severity: 'FATAL', code, message: 'x' })
const sysErr = (code: string) => Object.assign(new Error(code), { code })

describe('canHeal', () => {
  it('server answers: retried only for classes that pass (08, 40, 53, 57, 58, 55P03)', () => {
    for (const code of ['08006', '08P01', '40001', '53300', '53100', '57P03', '57P01', '58030', '55P03']) expect(canHeal(db(code)), code).toBe(true)
    for (const code of ['28P01', '28000', '3D000', '42501', '42704', '22023', '0A000', 'XX000']) expect(canHeal(db(code)), code).toBe(false)
  })

  it('client-side refusals and bad settings are not retried', () => {
    expect(canHeal(new ClientAuthenticationError('no password was given'))).toBe(false)
    expect(canHeal(new InterfaceError('cannot read /nonexistent/key'))).toBe(false)
  })

  it('a garbled startup is retried: one corrupted byte heals, and a port that is not PostgreSQL ends in PoolTimeout naming it', () => {
    expect(canHeal(new ProtocolError('unexpected answer to SSLRequest: 0x48'))).toBe(true)
  })

  it('connection errors heal, except TLS refused or a certificate that does not verify', () => {
    expect(canHeal(new ConnectionError('cannot connect to 127.0.0.1:1: connect ECONNREFUSED', { retrySafe: true, cause: sysErr('ECONNREFUSED') }))).toBe(true)
    expect(canHeal(new ConnectionError('the server closed the connection to x', { retrySafe: false }))).toBe(true)
    expect(canHeal(new ConnectionError('TLS negotiation failed: read ECONNRESET', { retrySafe: true, cause: sysErr('ECONNRESET') }))).toBe(true)
    expect(canHeal(new TimeoutError('timed out'))).toBe(true)
    expect(canHeal(new ConnectionError('the server at x does not accept TLS, and sslmode is require', { retrySafe: false }))).toBe(false)
    expect(canHeal(new ConnectionError('the server at x did not agree to ALPN "postgresql" for direct TLS', { retrySafe: true }))).toBe(false)
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_SSL_WRONG_VERSION_NUMBER']) {
      expect(canHeal(new ConnectionError(`TLS handshake with x failed: ${code}`, { retrySafe: true, cause: sysErr(code) })), code).toBe(false)
    }
  })

  it('errors not of the driver: system errors heal, anything else (a configure bug, OpenSSL) does not', () => {
    expect(canHeal(sysErr('ECONNRESET'))).toBe(true)
    expect(canHeal(sysErr('EAI_AGAIN'))).toBe(true)
    expect(canHeal(sysErr('ERR_OSSL_BAD_DECRYPT'))).toBe(false)
    expect(canHeal(new TypeError('x is not a function'))).toBe(false)
  })
})
