// A password given by a function (AuthSettings.passwordLater), sans IO: the
// session writes nothing when the server asks for a password, raises
// passwordNeeded, and answers the same request once supplyPassword() gives it.
import { describe, expect, it } from 'vitest'
import { Session, type SessionEvents } from '../../../src/session/session.js'
import { Writer } from '../../../src/protocol/writer.js'
import { Secret } from '../../../src/config/secret.js'
import { md5Response } from '../../../src/auth/md5.js'
import { ClientAuthenticationError, type PglineError } from '../../../src/errors.js'
import type { AuthSettings } from '../../../src/session/authenticator.js'

function setup(auth: Partial<AuthSettings> = {}) {
  const writer = new Writer()
  let asked = 0
  const fatals: PglineError[] = []
  const events: SessionEvents = {
    notice: () => {},
    notification: () => {},
    parameterStatus: () => {},
    ready: () => {},
    fatal: (e) => fatals.push(e),
    completed: () => {},
    passwordNeeded: () => asked++,
  }
  const session = new Session(
    writer,
    {
      user: 'alice',
      password: undefined,
      passwordLater: true,
      database: 'db',
      protocolVersion: '3.0',
      applicationName: undefined,
      options: undefined,
      parameters: {},
      ...auth,
    },
    events,
  )
  session.start()
  writer.flush()
  return { session, writer, fatals, asked: () => asked }
}

describe('a password given later (by a function)', () => {
  it('md5: waits, writes nothing, then answers with the salt of the request that waited', () => {
    const { session, writer, asked } = setup()
    const salt = Buffer.from([9, 8, 7, 6])
    session.handle({ type: 'AuthenticationMD5Password', salt })
    expect(asked()).toBe(1)
    expect(writer.length).toBe(0)
    session.supplyPassword(new Secret('pw'))
    const b = writer.flush()
    expect(String.fromCharCode(b[0]!)).toBe('p')
    expect(b.subarray(5, b.length - 1).toString()).toBe(md5Response('alice', 'pw', salt))
    session.handle({ type: 'AuthenticationOk' })
    expect(session.phase).toBe('startup')
  })

  it('SCRAM: asked once at the start of the exchange; the continuation uses the same password without asking again', () => {
    const { session, writer, asked } = setup()
    session.handle({ type: 'AuthenticationSASL', mechanisms: ['SCRAM-SHA-256'] })
    expect(asked()).toBe(1)
    expect(writer.length).toBe(0)
    session.supplyPassword(new Secret('pw'))
    const first = writer.flush()
    expect(String.fromCharCode(first[0]!)).toBe('p') // SASLInitialResponse
    const clientFirst = first.toString('utf8')
    const nonce = /r=([^,\0]+)/.exec(clientFirst)![1]!
    const serverFirst = `r=${nonce}server,s=${Buffer.from('salt').toString('base64')},i=4096`
    session.handle({ type: 'AuthenticationSASLContinue', data: Buffer.from(serverFirst) })
    expect(asked()).toBe(1)
    expect(writer.length).toBeGreaterThan(0) // SASLResponse
  })

  it('a request refused anyway (requireAuth) is refused without asking', () => {
    const { session, fatals, asked } = setup({ requireAuth: new Set(['scram-sha-256']) })
    session.handle({ type: 'AuthenticationMD5Password', salt: Buffer.alloc(4) })
    expect(asked()).toBe(0)
    expect(fatals[0]).toBeInstanceOf(ClientAuthenticationError)
  })

  it('a trust login never asks', () => {
    const { session, asked } = setup()
    session.handle({ type: 'AuthenticationOk' })
    expect(asked()).toBe(0)
  })

  it('a password given after the session ended is ignored', () => {
    const { session, writer } = setup()
    session.handle({ type: 'AuthenticationCleartextPassword' })
    session.die(new ClientAuthenticationError('gone'))
    session.supplyPassword(new Secret('pw'))
    expect(writer.length).toBe(0)
  })
})
