// Stream blocks (protocol 2+): the xid prefix inside them, which messages
// may appear where, and relations described inside a streamed transaction.
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../../src/errors/base.js'
import { PgOutputDecoder, pgMicrosToDate, type PgOutputEvent, type Relation } from '../../../src/replication/index.js'
import { encodePgOutput } from '../../support/pgoutput-encoder.js'
import { INT4, TEXT, USERS, decoderWith, relation } from './_fixtures.js'

const X = 500
const Y = 600
const V1 = relation(7, 'items', [['id', INT4, true], ['a', TEXT]])
const V2 = relation(7, 'items', [['id', INT4, true], ['a', TEXT], ['b', TEXT]])

const start = (xid: number, firstSegment = true): PgOutputEvent => ({ kind: 'streamStart', lsn: 0n, xid, firstSegment })
const stop: PgOutputEvent = { kind: 'streamStop', lsn: 0n }
const commit = (xid: number): PgOutputEvent => ({
  kind: 'streamCommit',
  lsn: 0n,
  xid,
  flags: 0,
  commitLsn: 90n,
  endLsn: 91n,
  commitTime: pgMicrosToDate(0n),
  commitTimeMicros: 0n,
})
const abort = (xid: number, subxid: number): PgOutputEvent => ({ kind: 'streamAbort', lsn: 0n, xid, subxid })
const describeRel = (r: Relation, xid?: number): PgOutputEvent => ({ kind: 'relation', lsn: 0n, xid, relation: r })
const insertV1 = (xid?: number): PgOutputEvent => ({ kind: 'insert', lsn: 0n, xid, relation: V1, new: { id: '1', a: 'x' } })
const insertV2 = (xid?: number): PgOutputEvent => ({ kind: 'insert', lsn: 0n, xid, relation: V2, new: { id: '1', a: 'x', b: 'y' } })

function feed(d: PgOutputDecoder, ...events: PgOutputEvent[]): PgOutputEvent[] {
  return events.map((e) => d.decode(encodePgOutput(e), e.lsn))
}

function protocolError(f: () => unknown): ProtocolError {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError)
    return err as ProtocolError
  }
  throw new Error('expected a ProtocolError')
}

describe('stream blocks', () => {
  it('changes inside carry their (sub)transaction xid; outside they do not', () => {
    const d = decoderWith([USERS], 2)
    expect(d.streamXid).toBeUndefined()
    const [s] = feed(d, start(X))
    expect(s).toEqual({ kind: 'streamStart', lsn: 0n, xid: X, firstSegment: true })
    expect(d.streamXid).toBe(X)
    const inside = feed(
      d,
      { kind: 'origin', lsn: 0n, originLsn: 5n, name: 'o' },
      { kind: 'type', lsn: 0n, xid: X, oid: 90000, namespace: 'public', name: 'mood' },
      { kind: 'insert', lsn: 1n, xid: X + 1, relation: USERS, new: { id: '1', name: 'a', bio: null, avatar: null } },
      { kind: 'update', lsn: 2n, xid: X, relation: USERS, new: { id: '1', name: 'b', bio: null, avatar: null } },
      { kind: 'delete', lsn: 3n, xid: X + 2, relation: USERS, old: { id: '1' }, oldKind: 'key' },
      { kind: 'truncate', lsn: 4n, xid: X, relations: [USERS], cascade: false, restartIdentity: false },
      { kind: 'message', lsn: 5n, xid: X, transactional: true, messageLsn: 5n, prefix: 'p', content: Buffer.from('c') },
      stop,
    )
    expect(inside.map((e) => ('xid' in e ? e.xid : 'none'))).toEqual(['none', X, X + 1, X, X + 2, X, X, 'none'])
    expect(d.streamXid).toBeUndefined()
    // A regular transaction between two blocks of the streamed one.
    const between = feed(
      d,
      { kind: 'begin', lsn: 0n, finalLsn: 9n, commitTime: pgMicrosToDate(0n), commitTimeMicros: 0n, xid: Y },
      { kind: 'insert', lsn: 6n, relation: USERS, new: { id: '2', name: 'z', bio: null, avatar: null } },
    )
    expect(between[1]).toMatchObject({ kind: 'insert', xid: undefined, new: { id: 2 } })
    const rest = feed(d, start(X, false), stop, commit(X))
    expect(rest[0]).toMatchObject({ firstSegment: false })
    expect(rest[2]).toMatchObject({ kind: 'streamCommit', xid: X, commitLsn: 90n, endLsn: 91n })
  })

  it('the xid prefix is read only inside a block: the same bytes mean different things', () => {
    const d = decoderWith([USERS], 2)
    const withXid = encodePgOutput({ kind: 'delete', lsn: 0n, xid: X, relation: USERS, old: { id: '1' }, oldKind: 'key' })
    // Outside a block the xid is read as the relation id.
    expect(protocolError(() => d.decode(withXid, 0n)).message).toMatch(/unknown relation id 500/)
    feed(d, start(X))
    expect(d.decode(withXid, 0n)).toMatchObject({ kind: 'delete', xid: X, old: { id: 1 } })
  })

  it('Stream Abort: with protocol 4 the abort LSN and time come when sent (streaming parallel)', () => {
    const d = new PgOutputDecoder({ protoVersion: 4 })
    expect(feed(d, abort(X, X + 1))[0]).toEqual({ kind: 'streamAbort', lsn: 0n, xid: X, subxid: X + 1 })
    const parallel: PgOutputEvent = {
      kind: 'streamAbort',
      lsn: 0n,
      xid: X,
      subxid: X,
      abortLsn: 123n,
      abortTime: pgMicrosToDate(4_000_000n),
      abortTimeMicros: 4_000_000n,
    }
    expect(feed(d, parallel)[0]).toEqual(parallel)
    // Before protocol 4 those 16 bytes are not part of the message.
    const v3 = new PgOutputDecoder({ protoVersion: 3 })
    expect(protocolError(() => feed(v3, parallel)).message).toMatch(/16 unexpected trailing bytes/)
  })
})

describe('where messages may appear', () => {
  const begin: PgOutputEvent = { kind: 'begin', lsn: 0n, finalLsn: 9n, commitTime: pgMicrosToDate(0n), commitTimeMicros: 0n, xid: 1 }
  const outsideOnly: PgOutputEvent[] = [
    begin,
    { kind: 'commit', lsn: 0n, flags: 0, commitLsn: 1n, endLsn: 2n, commitTime: pgMicrosToDate(0n), commitTimeMicros: 0n },
    start(Y),
    commit(X),
    abort(X, X),
    { kind: 'beginPrepare', lsn: 0n, prepareLsn: 1n, endLsn: 2n, prepareTime: pgMicrosToDate(0n), prepareTimeMicros: 0n, xid: 1, gid: 'g' },
    { kind: 'prepare', lsn: 0n, flags: 0, prepareLsn: 1n, endLsn: 2n, prepareTime: pgMicrosToDate(0n), prepareTimeMicros: 0n, xid: 1, gid: 'g' },
    { kind: 'streamPrepare', lsn: 0n, flags: 0, prepareLsn: 1n, endLsn: 2n, prepareTime: pgMicrosToDate(0n), prepareTimeMicros: 0n, xid: X, gid: 'g' },
  ]

  it.each(outsideOnly.map((e) => [e.kind, e] as const))('%s inside a stream block is a ProtocolError; the block stays open', (_kind, event) => {
    const d = new PgOutputDecoder({ protoVersion: 4 })
    feed(d, start(X))
    expect(protocolError(() => feed(d, event)).message).toMatch(/not allowed inside the stream block of transaction 500/)
    expect(d.streamXid).toBe(X)
    feed(d, stop)
    expect(d.streamXid).toBeUndefined()
  })

  it('Stream Stop without a block is a ProtocolError', () => {
    const d = new PgOutputDecoder({ protoVersion: 2 })
    const err = protocolError(() => feed(d, stop))
    expect(err.messageType).toBe('E')
    expect(err.message).toMatch(/no stream block is open/)
  })

  it.each([
    [1, start(X), 2],
    [1, stop, 2],
    [1, commit(X), 2],
    [1, abort(X, X), 2],
    [2, { kind: 'beginPrepare', lsn: 0n, prepareLsn: 1n, endLsn: 2n, prepareTime: pgMicrosToDate(0n), prepareTimeMicros: 0n, xid: 1, gid: 'g' }, 3],
    [2, { kind: 'streamPrepare', lsn: 0n, flags: 0, prepareLsn: 1n, endLsn: 2n, prepareTime: pgMicrosToDate(0n), prepareTimeMicros: 0n, xid: 1, gid: 'g' }, 3],
  ] as Array<[number, PgOutputEvent, number]>)('protocol %i refuses %o (needs %i)', (version, event, needs) => {
    const d = new PgOutputDecoder({ protoVersion: version })
    expect(protocolError(() => feed(d, event)).message).toMatch(`needs protocol version ${needs}, this stream uses ${version}`)
  })
})

describe('relations described inside a streamed transaction', () => {
  it('apply to that transaction only until it commits', () => {
    const d = decoderWith([V1], 2)
    const events = feed(d, start(X), describeRel(V2, X), insertV2(X), stop)
    expect(events[2]).toMatchObject({ relation: V2, new: { id: 1, a: 'x', b: 'y' } })
    // Committed work still sees the old shape: the server does not resend it.
    expect(feed(d, insertV1())[0]).toMatchObject({ relation: V1, new: { id: 1, a: 'x' } })
    expect(d.relation(7)).toEqual(V1)
    // Another streamed transaction does not see X's description either.
    expect(feed(d, start(Y), insertV1(Y), stop)[1]).toMatchObject({ relation: V1 })
    // X's next block does.
    expect(feed(d, start(X, false), insertV2(X), stop)[1]).toMatchObject({ relation: V2 })
    feed(d, commit(X))
    expect(d.relation(7)).toEqual(V2)
    expect(feed(d, insertV2())[0]).toMatchObject({ relation: V2, new: { b: 'y' } })
  })

  it('are dropped when the transaction aborts, kept when only a subtransaction does', () => {
    const d = decoderWith([V1], 2)
    feed(d, start(X), describeRel(V2, X), stop, abort(X, X + 1))
    expect(feed(d, start(X, false), insertV2(X), stop)[1]).toMatchObject({ relation: V2 })
    feed(d, abort(X, X))
    expect(d.relation(7)).toEqual(V1)
    // Nothing of the aborted description is left, even for a block with the same xid.
    expect(feed(d, start(X), insertV1(X), stop)[1]).toMatchObject({ relation: V1 })
  })

  it('become the description when a streamed transaction is prepared', () => {
    const d = decoderWith([V1], 3)
    feed(d, start(X), describeRel(V2, X), stop)
    feed(d, { kind: 'streamPrepare', lsn: 0n, flags: 0, prepareLsn: 1n, endLsn: 2n, prepareTime: pgMicrosToDate(0n), prepareTimeMicros: 0n, xid: X, gid: 'g' })
    expect(d.relation(7)).toEqual(V2)
  })

  it('a table first described inside a stream is unknown outside it until the commit', () => {
    const d = new PgOutputDecoder({ protoVersion: 2 })
    feed(d, start(X), describeRel(V1, X), insertV1(X), stop)
    expect(protocolError(() => feed(d, insertV1())).message).toMatch(/unknown relation id 7/)
    feed(d, commit(X))
    expect(feed(d, insertV1())[0]).toMatchObject({ relation: V1 })
  })
})
