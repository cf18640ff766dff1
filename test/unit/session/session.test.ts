// The session state machine without a socket: messages in, replies out.
import { describe, expect, it } from 'vitest'
import { Session, type Request, type SessionEvents } from '../../../src/session/session.js'
import { Writer } from '../../../src/protocol/writer.js'
import { Secret } from '../../../src/config/secret.js'
import type { BackendMessage, NoticeFields } from '../../../src/protocol/messages.js'
import { ClientAuthenticationError, ConnectionError, DatabaseError, PglineError, ProtocolError } from '../../../src/errors.js'

function setup(password?: string) {
  const writer = new Writer()
  const log: string[] = []
  const fatals: PglineError[] = []
  const notices: NoticeFields[] = []
  const events: SessionEvents = {
    notice: (n) => notices.push(n),
    notification: (n) => log.push(`notify ${n.channel} ${n.payload}`),
    parameterStatus: (k, v) => log.push(`param ${k}=${v}`),
    ready: () => log.push('ready'),
    fatal: (e) => fatals.push(e),
    completed: () => log.push('completed'),
  }
  const session = new Session(
    writer,
    {
      user: 'alice',
      password: password === undefined ? undefined : new Secret(password),
      database: 'db',
      protocolVersion: '3.2',
      applicationName: 'app',
      options: undefined,
      parameters: {},
    },
    events,
  )
  return { session, writer, log, fatals, notices }
}

class Recorder implements Request {
  seen: string[] = []
  done: string | undefined
  failed: Error | undefined
  handle(msg: BackendMessage): void {
    this.seen.push(msg.type)
  }
  complete(status: string): void {
    this.done = status
  }
  fail(err: Error): void {
    this.failed = err
  }
}

const ready = (status: 'I' | 'T' | 'E' = 'I'): BackendMessage => ({ type: 'ReadyForQuery', status })
const err = (severity: string, code: string): BackendMessage => ({ type: 'ErrorResponse', fields: { severity, code, message: 'm' } })

function startReady(password?: string) {
  const s = setup(password)
  s.session.start()
  s.writer.flush()
  s.session.handle({ type: 'AuthenticationOk' })
  s.session.handle({ type: 'BackendKeyData', processId: 7, secretKey: Buffer.alloc(32, 1) })
  s.session.handle(ready())
  return s
}

describe('session startup', () => {
  it('writes a 3.2 startup packet with UTF8 and ISO dates', () => {
    const { session, writer } = setup()
    session.start()
    const b = writer.flush()
    expect(b.readInt32BE(0)).toBe(b.length)
    expect(b.readInt32BE(4)).toBe(196610)
    const pairs = b.subarray(8, b.length - 1).toString().split('\0').slice(0, -1)
    const params = Object.fromEntries(pairs.flatMap((_, i) => (i % 2 ? [] : [[pairs[i], pairs[i + 1]]])))
    expect(params).toMatchObject({ user: 'alice', database: 'db', client_encoding: 'UTF8', DateStyle: 'ISO, MDY', application_name: 'app' })
  })

  it('becomes ready after AuthenticationOk, key data and ReadyForQuery', () => {
    const { session, log } = startReady()
    expect(log).toContain('ready')
    expect(session.phase).toBe('ready')
    expect(session.processId).toBe(7)
    expect(session.secretKey?.length).toBe(32)
    expect(session.protocolMinor).toBe(2)
  })

  it('follows a downgrade to 3.0', () => {
    const { session } = setup()
    session.handle({ type: 'NegotiateProtocolVersion', newestMinor: 0, unrecognized: [] })
    expect(session.protocolMinor).toBe(0)
  })

  it('answers a cleartext request with the password', () => {
    const { session, writer } = setup('s3cret')
    session.handle({ type: 'AuthenticationCleartextPassword' })
    const b = writer.flush()
    expect(String.fromCharCode(b[0]!)).toBe('p')
    expect(b.subarray(5, b.length - 1).toString()).toBe('s3cret')
  })

  it('fails with a clear error when a password is needed and none was given', () => {
    const { session, fatals } = setup()
    session.handle({ type: 'AuthenticationMD5Password', salt: Buffer.from([1, 2, 3, 4]) })
    expect(fatals[0]).toBeInstanceOf(ClientAuthenticationError)
    expect(fatals[0]!.message).toMatch(/md5 .*"alice".*no password/)
    expect(session.phase).toBe('closed')
  })

  it('refuses methods it cannot do, naming them', () => {
    const { session, fatals } = setup('x')
    session.handle({ type: 'AuthenticationSASL', mechanisms: ['OAUTHBEARER'] })
    expect(fatals[0]!.message).toMatch(/OAUTHBEARER.*"alice"/)
  })

  it('refuses ReadyForQuery before authentication', () => {
    const { session, fatals } = setup('x')
    session.handle(ready())
    expect(fatals[0]).toBeInstanceOf(ProtocolError)
  })

  it('turns a startup ErrorResponse into a DatabaseError', () => {
    const { session, fatals } = setup('x')
    session.handle(err('FATAL', '28P01'))
    expect(fatals[0]).toBeInstanceOf(DatabaseError)
    expect((fatals[0] as DatabaseError).code).toBe('28P01')
  })
})

describe('session routing', () => {
  it('routes messages to requests in order, one ReadyForQuery each', () => {
    const { session } = startReady()
    const a = new Recorder()
    const b = new Recorder()
    session.enqueue(a)
    session.enqueue(b)
    session.handle({ type: 'ParseComplete' })
    session.handle({ type: 'CommandComplete', tag: 'SELECT 1' })
    session.handle(ready('T'))
    session.handle({ type: 'BindComplete' })
    session.handle(ready('E'))
    expect(a.seen).toEqual(['ParseComplete', 'CommandComplete'])
    expect(a.done).toBe('T')
    expect(b.seen).toEqual(['BindComplete'])
    expect(b.done).toBe('E')
    expect(session.transactionStatus).toBe('E')
    expect(session.pending).toBe(0)
  })

  it('routes asynchronous messages before the request sees them', () => {
    const { session, log, notices } = startReady()
    const a = new Recorder()
    session.enqueue(a)
    session.handle({ type: 'NoticeResponse', fields: { severity: 'NOTICE', code: '00000', message: 'hi' } })
    session.handle({ type: 'NotificationResponse', processId: 1, channel: 'ch', payload: 'p' })
    session.handle({ type: 'ParameterStatus', name: 'TimeZone', value: 'UTC' })
    session.handle(ready())
    expect(a.seen).toEqual([])
    expect(notices.map((n) => n.message)).toEqual(['hi'])
    expect(log).toContain('notify ch p')
    expect(session.parameters.get('TimeZone')).toBe('UTC')
    // Between requests too.
    session.handle({ type: 'NotificationResponse', processId: 1, channel: 'ch', payload: 'q' })
    expect(log).toContain('notify ch q')
  })

  it('treats a message with nothing pending as a protocol violation and fails everything', () => {
    const { session, fatals } = startReady()
    session.handle({ type: 'CommandComplete', tag: 'SELECT 1' })
    expect(fatals[0]).toBeInstanceOf(ProtocolError)
    expect(session.phase).toBe('closed')
  })

  it('takes a FATAL with nothing pending as the reason the server is closing', () => {
    const { session, fatals } = startReady()
    session.handle(err('FATAL', '57P01'))
    expect((fatals[0] as DatabaseError).code).toBe('57P01')
  })

  it('fails pending requests with a ConnectionError', () => {
    const { session } = startReady()
    const a = new Recorder()
    const b = new Recorder()
    session.enqueue(a)
    session.enqueue(b)
    session.die(new ProtocolError('bad bytes'))
    expect(a.failed).toBeInstanceOf(ConnectionError)
    expect((a.failed as ConnectionError).cause).toBeInstanceOf(ProtocolError)
    expect(b.failed).toBeInstanceOf(ConnectionError)
  })

  it('keeps a long FIFO in order', () => {
    const { session } = startReady()
    const reqs = Array.from({ length: 5000 }, () => new Recorder())
    reqs.forEach((r) => session.enqueue(r))
    reqs.forEach((_, i) => {
      session.handle({ type: 'CommandComplete', tag: `SELECT ${i}` })
      session.handle(ready())
    })
    expect(reqs.every((r) => r.done === 'I' && r.seen.length === 1)).toBe(true)
    expect(session.pending).toBe(0)
  })
})
