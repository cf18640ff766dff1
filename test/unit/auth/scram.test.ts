import { describe, expect, it } from 'vitest'
import * as scram from '../../../src/auth/scram.js'
import { md5Response } from '../../../src/auth/md5.js'
import { createHash } from 'node:crypto'
import { ClientAuthenticationError } from '../../../src/errors.js'

describe('SCRAM-SHA-256', () => {
  // The exchange published in RFC 7677, section 3.
  const nonce = 'rOprNGfwEbeRWgbNEkqO'
  const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'
  const clientFinal = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='
  const serverFinal = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='

  it('reproduces the RFC 7677 exchange', () => {
    const { state, clientFirst } = scram.start(undefined, false, nonce, 'user')
    expect(clientFirst.toString()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')
    expect(scram.respond(state, 'pencil', Buffer.from(serverFirst)).toString()).toBe(clientFinal)
    expect(() => scram.verify(state, Buffer.from(serverFinal))).not.toThrow()
  })

  it('refuses a server signature that does not match', () => {
    const { state } = scram.start(undefined, false, nonce, 'user')
    scram.respond(state, 'not pencil', Buffer.from(serverFirst))
    expect(() => scram.verify(state, Buffer.from(serverFinal))).toThrow(ClientAuthenticationError)
  })

  it('refuses a server nonce that does not extend ours, and server errors', () => {
    const { state } = scram.start(undefined, false, 'abc')
    expect(() => scram.respond(state, 'pw', Buffer.from('r=xyz123,s=AAAA,i=4096'))).toThrow(/nonce/)
    const s2 = scram.start(undefined, false, 'abc').state
    expect(() => scram.respond(s2, 'pw', Buffer.from('r=abcdef,s=AAAA,i=zero'))).toThrow(/iteration/)
    expect(() => scram.verify(s2, Buffer.from('e=invalid-proof'))).toThrow(/invalid-proof/)
  })

  it('says y when it could bind a channel the server did not offer, p= when it did', () => {
    const cb = { type: 'tls-server-end-point' as const, data: Buffer.from('cert-hash') }
    expect(scram.start(cb, false, 'n1').clientFirst.toString()).toBe('y,,n=,r=n1')
    const plus = scram.start(cb, true, 'n1')
    expect(plus.state.mechanism).toBe('SCRAM-SHA-256-PLUS')
    expect(plus.clientFirst.toString()).toBe('p=tls-server-end-point,,n=,r=n1')
    const final = scram.respond(plus.state, 'pw', Buffer.from('r=n1srv,s=AAAA,i=1')).toString()
    const c = final.split(',')[0]!.slice(2)
    expect(Buffer.from(c, 'base64').toString()).toBe('p=tls-server-end-point,,cert-hash')
  })

  it('prepares passwords with SASLprep', () => {
    expect(scram.saslPrep('plain')).toBe('plain')
    expect(scram.saslPrep('a\u00A0b')).toBe('a b') // non-ASCII space
    expect(scram.saslPrep('a\u00ADb')).toBe('ab') // soft hyphen maps to nothing
    expect(scram.saslPrep('\u2168')).toBe('IX') // NFKC
  })
})

describe('md5', () => {
  it('hashes as md5(md5(password || user) || salt)', () => {
    const salt = Buffer.from([1, 2, 3, 4])
    const inner = createHash('md5').update('secretalice').digest('hex')
    const outer = createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex')
    expect(md5Response('alice', 'secret', salt)).toBe('md5' + outer)
  })
})
