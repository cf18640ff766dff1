// Logical replication (pgoutput) from a REAL server of this file's own,
// started with wal_level=logical and a short wal_sender_timeout: slots,
// every built-in column type decoded as a query would decode it (text and
// binary), updates and deletes under REPLICA IDENTITY DEFAULT and FULL,
// unchanged TOAST values, truncate, rolled-back transactions, logical
// messages, transactions streamed in progress, acknowledge and restart with
// nothing lost, a slow consumer held to bounded memory, and the server
// restarting under the stream.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Connection,
  ConnectionError,
  DatabaseError,
  InterfaceError,
  ReplicationConnection,
  replicate,
  formatLsn,
  parseLsn,
  UNCHANGED_TOAST,
  type ConnectionOptions,
  type ReplicationEvent,
  type ReplicationStream,
} from '../../src/index.js'
import { postmasterPid, startEmbedded, type EmbeddedServer } from '../support/embedded.js'
import { runScript, SRC_URL, until } from './_util.js'

let server: EmbeddedServer
let admin: Connection

beforeAll(async () => {
  server = await startEmbedded({
    settings: ['wal_level=logical', 'wal_sender_timeout=3s', 'logical_decoding_work_mem=64kB', 'max_replication_slots=20', 'max_wal_senders=20', 'max_prepared_transactions=10'],
  })
  admin = await Connection.connect(opts())
}, 120_000)
afterAll(async () => {
  await admin?.close()
  await server?.stop()
}, 60_000)

function opts(extra: ConnectionOptions = {}): ConnectionOptions {
  const i = server.info
  return { host: i.host, port: i.port, database: i.database, user: i.superuser.user, password: i.superuser.password, ...extra }
}

let n = 0
const quoteId = (name: string): string => '"' + name.replaceAll('"', '""') + '"'
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
const unique = (p: string): string => `${p}_${process.pid}_${++n}`

/** Reads events until `stop` says so (or `limit` events), failing after `ms`. */
async function take(stream: ReplicationStream, stop: (e: ReplicationEvent, all: ReplicationEvent[]) => boolean, ms = 10_000): Promise<ReplicationEvent[]> {
  const out: ReplicationEvent[] = []
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no end after ${ms} ms; got ${out.map((e) => e.kind).join(',')}`)), ms)
  })
  try {
    for (;;) {
      const e = await Promise.race([stream.next(), timeout])
      if (e === null) return out
      out.push(e)
      if (stop(e, out)) return out
    }
  } finally {
    clearTimeout(timer)
  }
}

const commits = (k: number) => (e: ReplicationEvent, all: ReplicationEvent[]) => e.kind === 'commit' && all.filter((x) => x.kind === 'commit').length >= k
const changes = (events: ReplicationEvent[]) => events.filter((e) => e.kind === 'insert' || e.kind === 'update' || e.kind === 'delete' || e.kind === 'truncate')

describe('the replication connection', () => {
  it('identifies the system, creates a slot with an exported snapshot usable elsewhere, drops it', async () => {
    const rc = await ReplicationConnection.connect(opts())
    try {
      const id = await rc.identifySystem()
      expect(id.systemId).toMatch(/^\d+$/)
      expect(id.timeline).toBe(1)
      expect(id.database).toBe(server.info.database)
      expect(typeof id.xlogPos).toBe('bigint')
      const slot = unique('slot')
      const info = await rc.createSlot(slot)
      expect(info).toMatchObject({ slotName: slot, outputPlugin: 'pgoutput' })
      expect(info.consistentPoint).toBeGreaterThanOrEqual(id.xlogPos)
      expect(info.snapshotName).toMatch(/^[0-9A-F-]+$/)
      // The exported snapshot works from another connection while this one is idle.
      await admin.transaction(async (tx) => {
        await tx.simpleQuery(`set transaction snapshot '${info.snapshotName}'`)
        expect((await tx.query('select 1 as x')).rows).toEqual([{ x: 1 }])
      }, { isolation: 'repeatable read' })
      const row = (await admin.query<{ plugin: string; temporary: boolean }>('select plugin, temporary from pg_replication_slots where slot_name = $1', [slot])).rows[0]
      expect(row).toEqual({ plugin: 'pgoutput', temporary: false })
      await rc.dropSlot(slot)
      expect((await admin.query('select 1 from pg_replication_slots where slot_name = $1', [slot])).rowCount).toBe(0)
      // Plain SQL works too (simple protocol); the extended protocol is the server's to refuse.
      const [r] = await rc.query<{ one: number }>('select 1 as one')
      expect(r!.rows).toEqual([{ one: 1 }])
      await expect(rc.connection.query('select $1::int', [1])).rejects.toMatchObject({ code: '08P01' })
      expect((await rc.query('select 2 as two'))[0]!.rows).toEqual([{ two: 2 }])
    } finally {
      await rc.close()
    }
  })

  it('refuses bad input by name before sending anything; a refused START leaves the connection usable', async () => {
    const rc = await ReplicationConnection.connect(opts())
    try {
      await expect(rc.createSlot('Bad-Name')).rejects.toThrow(/invalid replication slot name "Bad-Name"/)
      await expect(rc.replicate({ slot: 'x', publications: [] })).rejects.toThrow(/publications must be/)
      await expect(rc.replicate({ slot: 'x', publications: 'p', startLsn: '1/2/3' })).rejects.toBeInstanceOf(TypeError)
      await expect(rc.replicate({ slot: 'x', publications: 'p', protoVersion: 9 as never })).rejects.toBeInstanceOf(InterfaceError)
      const err = await rc.replicate({ slot: 'no_such_slot', publications: 'p' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DatabaseError)
      expect((err as DatabaseError).message).toMatch(/no_such_slot/)
      expect((await rc.query('select 3 as three'))[0]!.rows).toEqual([{ three: 3 }])
    } finally {
      await rc.close()
    }
  })

  it('a connection string takes replication=database', async () => {
    const i = server.info
    const c = await Connection.connect(`postgresql://${i.superuser.user}:${i.superuser.password}@${i.host}:${i.port}/${i.database}?replication=database`)
    try {
      const [r] = await c.simpleQuery<{ dbname: string }>('IDENTIFY_SYSTEM')
      expect(r!.rows[0]!.dbname).toBe(i.database)
    } finally {
      await c.close()
    }
  })
})

/** A publication over fresh tables and a slot made after them; returned with a cleanup. */
async function setup(tables: Record<string, string>, slotOptions: { temporary?: boolean; twoPhase?: boolean } = {}): Promise<{ pub: string; slot: string; names: Record<string, string>; drop(): Promise<void> }> {
  const names: Record<string, string> = {}
  for (const [k, ddl] of Object.entries(tables)) {
    names[k] = unique(k)
    await admin.simpleQuery(`create table ${names[k]} ${ddl}`)
  }
  const pub = unique('pub')
  await admin.simpleQuery(`create publication ${pub} for table ${Object.values(names).join(', ')}`)
  const slot = unique('slot')
  await admin.query(`select pg_create_logical_replication_slot($1, 'pgoutput', $2, $3)`, [slot, slotOptions.temporary === true, slotOptions.twoPhase === true])
  return {
    pub,
    slot,
    names,
    async drop() {
      await admin.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1 and not active', [slot]).catch(() => undefined)
      await admin.simpleQuery(`drop publication if exists ${pub}`)
      for (const t of Object.values(names)) await admin.simpleQuery(`drop table if exists ${t} cascade`)
    },
  }
}

// Every built-in column type worth a decoder, with a value each (NULL in a second row).
const TYPES: [string, string][] = [
  ['c_bool', "bool:'t'"], ['c_int2', "int2:'-32768'"], ['c_int4', 'int4:2147483647'], ['c_int8', "int8:'-9223372036854775808'"],
  ['c_float4', 'float4:1.5'], ['c_float8', "float8:'-Infinity'"], ['c_numeric', "numeric:'123456789012345678901234567890.123456789'"],
  ['c_money', "money:'12.34'"], ['c_text', "text:'héllo ''world'' \\ ✓'"], ['c_varchar', "varchar(20):'v'"], ['c_char', "char(3):'ab'"],
  ['c_name', "name:'nm'"], ['c_bytea', "bytea:'\\x00ff10'"], ['c_date', "date:'2024-02-29'"], ['c_time', "time:'13:14:15.123456'"],
  ['c_timetz', "timetz:'13:14:15+02'"], ['c_ts', "timestamp:'2024-01-02 03:04:05.678901'"], ['c_tstz', "timestamptz:'2024-01-02 03:04:05.5+00'"],
  ['c_interval', "interval:'1 year 2 mons 3 days 04:05:06.7'"], ['c_uuid', "uuid:'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"],
  ['c_json', `json:'{"a": [1, 2]}'`], ['c_jsonb', `jsonb:'{"b": {"c": null}}'`], ['c_xml', "xml:'<a>1</a>'"],
  ['c_inet', "inet:'192.168.0.1/24'"], ['c_cidr', "cidr:'10.0.0.0/8'"], ['c_macaddr', "macaddr:'08:00:2b:01:02:03'"], ['c_macaddr8', "macaddr8:'08:00:2b:01:02:03:04:05'"],
  ['c_bit', "bit(4):B'1010'"], ['c_varbit', "varbit:B'101'"], ['c_point', "point:'(1.5,2)'"], ['c_line', "line:'{1,2,3}'"], ['c_lseg', "lseg:'[(0,0),(1,1)]'"],
  ['c_box', "box:'(1,1),(0,0)'"], ['c_path', "path:'[(0,0),(1,1)]'"], ['c_polygon', "polygon:'((0,0),(1,1),(1,0))'"], ['c_circle', "circle:'<(0,0),2>'"],
  ['c_int4range', "int4range:'[1,10)'"], ['c_tstzrange', "tstzrange:'[2024-01-01,2024-02-01)'"], ['c_int4multirange', "int4multirange:'{[1,3),[5,7)}'"],
  ['c_int4arr', "int4[]:'{1,NULL,3}'"], ['c_textarr', `text[]:'{"a b","c,d",NULL}'`], ['c_tsvector', "tsvector:'a fat cat'"], ['c_tsquery', "tsquery:'fat & cat'"],
  ['c_oid', 'oid:12345'], ['c_pg_lsn', "pg_lsn:'16/B374D848'"], ['c_regclass', "regclass:'pg_class'"],
]

/** Columns whose types pgline reads in text only: with binary: true they come as Buffers. */
const NO_BINARY_DECODER = ['c_money', 'c_pg_lsn', 'c_regclass', 'c_tsquery', 'c_tsvector']

describe('changes decoded', () => {
  for (const binary of [false, true]) {
    it(`every built-in column type comes as a query would decode it (${binary ? 'binary' : 'text'})`, async () => {
      const cols = TYPES.map(([name, tv]) => `${name} ${tv.slice(0, tv.indexOf(':'))}`).join(', ')
      const s = await setup({ t: `(id int primary key, ${cols})` })
      const t = s.names.t!
      const values = TYPES.map(([, tv]) => `${tv.slice(tv.indexOf(':') + 1)}::${tv.slice(0, tv.indexOf(':'))}`)
      await admin.simpleQuery(`insert into ${t} values (1, ${values.join(', ')}); insert into ${t} (id) values (2)`)
      const stream = await replicate(opts(), { slot: s.slot, publications: s.pub, binary })
      try {
        const events = await take(stream, commits(1)) // one simple query: one transaction
        const inserts = events.filter((e) => e.kind === 'insert')
        expect(inserts).toHaveLength(2)
        const expected = (await admin.query(`select * from ${t} order by id`, [], { resultFormat: binary ? 'binary' : 'text' })).rows
        const got = inserts.map((e) => (e.kind === 'insert' ? { ...e.new } : {}))
        if (binary) {
          // Types with no binary decoder come as their binary bytes: the server sends every column in one format.
          for (const c of NO_BINARY_DECODER) {
            expect(got[0]![c]).toBeInstanceOf(Buffer)
            expect(got[1]![c]).toBeNull()
            delete got[0]![c]
            delete got[1]![c]
            delete expected[0]![c]
            delete expected[1]![c]
          }
        }
        expect(got).toEqual(expected)
        expect(inserts[1]!.kind === 'insert' && inserts[1]!.new.c_text).toBeNull()
        const rel = events.find((e) => e.kind === 'relation')
        expect(rel?.kind === 'relation' && rel.relation.columns.map((c: { name: string }) => c.name)).toEqual(['id', ...TYPES.map(([n]) => n)])
        expect(rel?.kind === 'relation' && rel.relation).toMatchObject({ namespace: 'public', name: t, replicaIdentity: 'd' })
      } finally {
        await stream.stop()
        await s.drop()
      }
    })
  }

  it('a domain over a built-in type decodes as its base type, as a query gives it (text and binary)', async () => {
    const dom = unique('posint')
    await admin.simpleQuery(`create domain ${dom} as int check (value > 0)`)
    const s = await setup({ t: `(id int primary key, v ${dom})` })
    const binarySlot = unique('slot')
    await admin.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [binarySlot])
    try {
      await admin.simpleQuery(`insert into ${s.names.t} values (1, 5)`)
      const expected = (await admin.query(`select * from ${s.names.t}`)).rows
      expect(expected).toEqual([{ id: 1, v: 5 }])
      for (const [slot, binary] of [[s.slot, false], [binarySlot, true]] as const) {
        const stream = await replicate(opts(), { slot, publications: s.pub, binary })
        try {
          const ev = await take(stream, commits(1))
          expect(ev.find((e) => e.kind === 'type')).toMatchObject({ kind: 'type', namespace: 'pg_catalog', name: 'int4' })
          expect(changes(ev).map((e) => e.kind === 'insert' && e.new)).toEqual(expected)
        } finally {
          await stream.stop()
        }
      }
    } finally {
      await admin.query('select pg_drop_replication_slot($1)', [binarySlot])
      await s.drop()
      await admin.simpleQuery(`drop domain ${dom}`)
    }
  })

  it('updates and deletes: the old key when it changes, the whole old row with REPLICA IDENTITY FULL; unchanged TOAST marked; truncate', async () => {
    const s = await setup({ d: '(id int primary key, v text, big text)', f: '(id int primary key, v text)' })
    const { d, f } = s.names as { d: string; f: string }
    await admin.simpleQuery(`alter table ${f} replica identity full; alter table ${d} alter column big set storage external`)
    const big = 'x'.repeat(100_000)
    await admin.query(`insert into ${d} values (1, 'a', $1)`, [big])
    await admin.simpleQuery(`insert into ${f} values (1, 'a')`)
    await admin.simpleQuery(`update ${d} set v = 'b' where id = 1`) // big untouched: unchanged TOAST
    await admin.simpleQuery(`update ${d} set id = 2 where id = 1`) // key changed: old key sent
    await admin.simpleQuery(`update ${f} set v = 'b' where id = 1`)
    await admin.simpleQuery(`delete from ${d} where id = 2; delete from ${f} where id = 1`)
    await admin.simpleQuery(`truncate ${d}, ${f} restart identity`)
    const stream = await replicate(opts(), { slot: s.slot, publications: s.pub })
    try {
      const ev = changes(await take(stream, commits(7)))
      const at = (i: number) => ev[i]!
      expect(at(0)).toMatchObject({ kind: 'insert', new: { id: 1, v: 'a', big } })
      expect(at(1)).toMatchObject({ kind: 'insert', new: { id: 1, v: 'a' } })
      const u1 = at(2)
      expect(u1.kind === 'update' && u1.new).toEqual({ id: 1, v: 'b', big: UNCHANGED_TOAST })
      expect(u1.kind === 'update' && u1.old).toBeUndefined()
      const u2 = at(3)
      expect(u2.kind === 'update' && u2.oldKind).toBe('key')
      expect(u2.kind === 'update' && u2.old).toEqual({ id: 1 }) // the key only: the other columns are not sent
      expect(u2.kind === 'update' && u2.new.id).toBe(2)
      const u3 = at(4)
      expect(u3.kind === 'update' && [u3.oldKind, u3.old, u3.new]).toEqual(['full', { id: 1, v: 'a' }, { id: 1, v: 'b' }])
      expect(at(5)).toMatchObject({ kind: 'delete', oldKind: 'key', old: { id: 2 } })
      expect(at(6)).toMatchObject({ kind: 'delete', oldKind: 'full', old: { id: 1, v: 'b' } })
      const tr = at(7)
      expect(tr.kind === 'truncate' && [tr.relations.map((r: { name: string }) => r.name).sort(), tr.restartIdentity, tr.cascade]).toEqual([[d, f].sort(), true, false])
    } finally {
      await stream.stop()
      await s.drop()
    }
  })

  it('a rolled-back transaction is never delivered; logical messages are, transactional or not', async () => {
    const s = await setup({ t: '(id int primary key)' })
    const t = s.names.t!
    await admin.transaction(async (tx) => {
      await tx.query(`insert into ${t} values (1)`)
      await tx.query(`select pg_logical_emit_message(true, 'rolled', 'never')`)
      throw new Error('roll back')
    }).catch(() => undefined)
    await admin.query(`select pg_logical_emit_message(false, 'now', 'at once')`)
    await admin.transaction(async (tx) => {
      await tx.query(`insert into ${t} values (2)`)
      await tx.query(`select pg_logical_emit_message(true, 'tx', convert_to('in tx ✓', 'UTF8'))`)
    })
    const stream = await replicate(opts(), { slot: s.slot, publications: s.pub, messages: true })
    try {
      const ev = await take(stream, commits(1))
      const msgs = ev.filter((e) => e.kind === 'message')
      expect(msgs.map((m) => m.kind === 'message' && [m.prefix, m.transactional, m.content.toString()])).toEqual([
        ['now', false, 'at once'],
        ['tx', true, 'in tx ✓'],
      ])
      expect(changes(ev).map((e) => e.kind === 'insert' && e.new.id)).toEqual([2])
    } finally {
      await stream.stop()
      await s.drop()
    }
  })

  it('a large transaction is streamed in progress (streaming: true); one rolled back after streaming ends in streamAbort', async () => {
    const s = await setup({ t: '(id int primary key, pad text)' })
    const t = s.names.t!
    const stream = await replicate(opts(), { slot: s.slot, publications: s.pub, streaming: true })
    const other = await Connection.connect(opts())
    try {
      // Past 64kB of decoding memory while still open: streamed before it ends.
      await other.simpleQuery(`begin; insert into ${t} select g, repeat('q', 200) from generate_series(3001, 6000) g`)
      const first = await take(stream, (e) => e.kind === 'streamStop')
      const start = first.find((e) => e.kind === 'streamStart')!
      const abortedXid = start.kind === 'streamStart' ? start.xid : -1
      expect(start).toMatchObject({ kind: 'streamStart', firstSegment: true })
      await other.simpleQuery('rollback')
      await admin.simpleQuery(`insert into ${t} select g, repeat('p', 200) from generate_series(1, 3000) g`)
      await admin.simpleQuery(`insert into ${t} values (0, 'small')`)
      const ev = [...first, ...(await take(stream, (e) => e.kind === 'commit'))]
      const abort = ev.find((e) => e.kind === 'streamAbort')
      expect(abort).toMatchObject({ kind: 'streamAbort', xid: abortedXid, subxid: abortedXid })
      const commit = ev.find((e) => e.kind === 'streamCommit')!
      const xid = commit.kind === 'streamCommit' ? commit.xid : -1
      expect(xid).not.toBe(abortedXid)
      const streamedIds = ev.filter((e) => e.kind === 'insert' && e.xid === xid).map((e) => e.kind === 'insert' && (e.new.id as number))
      expect(streamedIds).toHaveLength(3000)
      expect(new Set(streamedIds).size).toBe(3000)
      // The small one after them comes as an ordinary transaction.
      expect(changes(ev).at(-1)).toMatchObject({ kind: 'insert', new: { id: 0, pad: 'small' } })
      expect(changes(ev).at(-1)?.xid).toBeUndefined()
    } finally {
      await other.close()
      await stream.stop()
      await s.drop()
    }
  })
  it('two-phase: a prepared transaction comes at PREPARE, then its COMMIT PREPARED or ROLLBACK PREPARED (twoPhase: true)', async () => {
    const s = await setup({ t: '(id int primary key)' }, { twoPhase: true })
    const t = s.names.t!
    const stream = await replicate(opts(), { slot: s.slot, publications: s.pub, twoPhase: true })
    const gid = (k: string) => `${s.slot}_${k}`
    try {
      await admin.simpleQuery(`begin; insert into ${t} values (1); prepare transaction '${gid('a')}'`)
      const prepared = await take(stream, (e) => e.kind === 'prepare')
      expect(prepared.map((e) => e.kind)).toEqual(['beginPrepare', 'relation', 'insert', 'prepare'])
      expect(prepared[0]).toMatchObject({ kind: 'beginPrepare', gid: gid('a') })
      expect(prepared[3]).toMatchObject({ kind: 'prepare', gid: gid('a') })
      await admin.simpleQuery(`commit prepared '${gid('a')}'`)
      expect(await take(stream, () => true)).toMatchObject([{ kind: 'commitPrepared', gid: gid('a') }])
      await admin.simpleQuery(`begin; insert into ${t} values (2); prepare transaction '${gid('b')}'`)
      await admin.simpleQuery(`rollback prepared '${gid('b')}'`)
      const rolled = await take(stream, (e) => e.kind === 'rollbackPrepared')
      expect(rolled.map((e) => e.kind)).toEqual(['beginPrepare', 'insert', 'prepare', 'rollbackPrepared'])
      expect(rolled[3]).toMatchObject({ kind: 'rollbackPrepared', gid: gid('b') })
    } finally {
      await stream.stop()
      await s.drop()
    }
  })
})

describe('acknowledge, restart, backpressure', () => {
  it('restarting from the slot resumes after the last acknowledged commit: nothing lost, only the unacknowledged again', async () => {
    const s = await setup({ t: '(id int primary key)' })
    const t = s.names.t!
    for (let i = 1; i <= 5; i++) await admin.simpleQuery(`insert into ${t} values (${i})`)
    let stream = await replicate(opts(), { slot: s.slot, publications: s.pub })
    const first = await take(stream, commits(5))
    const commitsSeen = first.filter((e) => e.kind === 'commit')
    const third = commitsSeen[2]!
    stream.acknowledge(third.kind === 'commit' ? third.endLsn : 0n)
    await stream.stop()
    expect(stream.ended).toBe(true)
    const confirmed = (await admin.query<{ l: string }>('select confirmed_flush_lsn::text as l from pg_replication_slots where slot_name = $1', [s.slot])).rows[0]!.l
    expect(parseLsn(confirmed)).toBe(third.kind === 'commit' ? third.endLsn : -1n)
    for (let i = 6; i <= 7; i++) await admin.simpleQuery(`insert into ${t} values (${i})`)
    stream = await replicate(opts(), { slot: s.slot, publications: s.pub })
    try {
      const again = await take(stream, commits(4))
      expect(changes(again).map((e) => e.kind === 'insert' && e.new.id)).toEqual([4, 5, 6, 7])
      expect(formatLsn(stream.lastReceivedLsn)).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/)
    } finally {
      await stream.stop()
      await s.drop()
    }
  })

  it('autoAdvance: an unacknowledged commit is never passed; once all is acknowledged, WAL written for other tables does not stay held', async () => {
    const s = await setup({ t: '(id int primary key)' })
    const other = unique('other')
    await admin.simpleQuery(`create table ${other} (id int)`)
    const confirmed = async (): Promise<bigint> =>
      parseLsn((await admin.query<{ l: string }>('select confirmed_flush_lsn::text as l from pg_replication_slots where slot_name = $1', [s.slot])).rows[0]!.l)
    const stream = await replicate(opts(), { slot: s.slot, publications: s.pub, statusInterval: 100 })
    try {
      await admin.simpleQuery(`insert into ${s.names.t} values (1)`)
      const commit = (await take(stream, commits(1))).at(-1)!
      const end = commit.kind === 'commit' ? commit.endLsn : -1n
      for (let i = 0; i < 20; i++) await admin.simpleQuery(`insert into ${other} values (${i})`)
      await new Promise((r) => setTimeout(r, 1_000)) // keepalives come, status updates go out
      expect(await confirmed()).toBeLessThan(end)
      stream.acknowledge(end)
      for (let i = 0; i < 20; i++) await admin.simpleQuery(`insert into ${other} values (${i})`)
      const wal = parseLsn((await admin.query<{ l: string }>('select pg_current_wal_lsn()::text as l')).rows[0]!.l)
      await until('the slot to move past the other table\'s WAL', async () => (await confirmed()) > end, 10_000)
      expect(await confirmed()).toBeLessThanOrEqual(wal)
      // And a new change after that still comes.
      await admin.simpleQuery(`insert into ${s.names.t} values (2)`)
      expect(changes(await take(stream, commits(1)))).toMatchObject([{ kind: 'insert', new: { id: 2 } }])
    } finally {
      await stream.stop()
      await admin.simpleQuery(`drop table ${other}`)
      await s.drop()
    }
  })

  it('breaking out of for-await stops the stream and closes the connection replicate() opened', async () => {
    const s = await setup({ t: '(id int primary key)' })
    await admin.simpleQuery(`insert into ${s.names.t} values (1)`)
    const stream = await replicate(opts({ applicationName: 'pgline_break' }), { slot: s.slot, publications: s.pub })
    for await (const e of stream) if (e.kind === 'commit') break
    expect(stream.ended).toBe(true)
    await until('the walsender to go', async () => (await admin.query(`select 1 from pg_stat_activity where application_name = 'pgline_break'`)).rowCount === 0)
    await s.drop()
  })

  it('a slow consumer: the socket stops being read, memory stays bounded, status updates keep the sender from timing out', async () => {
    const s = await setup({ t: '(id int primary key, pad text)' })
    const t = s.names.t!
    await admin.simpleQuery(`insert into ${t} select g, repeat('s', 500) from generate_series(1, 20000) g`) // ~10 MB of changes
    const highWaterMark = 256 * 1024
    const stream = await replicate(opts({ applicationName: 'pgline_slow' }), { slot: s.slot, publications: s.pub, highWaterMark, statusInterval: 500 })
    try {
      let seen = 0
      let maxQueued = 0
      const req = (stream as unknown as { req: { queued: number } }).req
      // Slower than wal_sender_timeout (3 s) overall: only the status updates keep the connection.
      const started = Date.now()
      while (seen < 20000) {
        const e = await stream.next()
        if (e === null) throw new Error('stream ended early')
        if (e.kind === 'insert') seen++
        maxQueued = Math.max(maxQueued, req.queued)
        if (seen % 2000 === 0 && e.kind === 'insert') await new Promise((r) => setTimeout(r, 500))
      }
      expect(Date.now() - started).toBeGreaterThan(3000)
      expect(maxQueued).toBeLessThan(highWaterMark + 2 * 1024 * 1024)
      expect(stream.ended).toBe(false)
    } finally {
      await stream.stop()
      await s.drop()
    }
  })

  it('the server crashing under the stream: ConnectionError; starting again at the acknowledged commit loses nothing and repeats nothing acknowledged; a fast shutdown with all acknowledged ends it promptly', async () => {
    const s = await setup({ t: '(id int primary key)' })
    const t = s.names.t!
    await admin.simpleQuery(`insert into ${t} values (1)`)
    await admin.simpleQuery(`insert into ${t} values (2)`)
    const stream = await replicate(opts(), { slot: s.slot, publications: s.pub })
    const ev = await take(stream, commits(2))
    const c1 = ev.find((e) => e.kind === 'commit')!
    const c1End = c1.kind === 'commit' ? c1.endLsn : 0n
    stream.acknowledge(c1End)
    await until('the acknowledgement to reach the slot', async () => {
      const r = await admin.query<{ l: string }>('select confirmed_flush_lsn::text as l from pg_replication_slots where slot_name = $1', [s.slot])
      return parseLsn(r.rows[0]!.l) >= c1End
    })
    await admin.close()
    const ended = stream.next().then(() => undefined, (e: unknown) => e)
    // An immediate shutdown (a crash, as far as clients can tell).
    const pid = postmasterPid(server.info.dataDir)
    process.kill(pid, 'SIGQUIT')
    const err = await ended
    expect(err).toBeInstanceOf(ConnectionError)
    expect((err as Error).message).toMatch(/acknowledged up to/)
    expect(stream.ended).toBe(true)
    await until('the postmaster to exit', () => !isAlive(pid), 20_000)
    await server.startServer()
    admin = await Connection.connect(opts({ connectTimeout: 20_000 }))
    await admin.simpleQuery(`insert into ${t} values (3)`)
    // A crash can take the slot back to its last checkpoint (PostgreSQL's rule): a consumer that
    // keeps its own position passes it, and gets nothing it acknowledged again.
    const again = await replicate(opts(), { slot: s.slot, publications: s.pub, startLsn: formatLsn(c1End) })
    const ev2 = await take(again, commits(2))
    expect(changes(ev2).map((e) => e.kind === 'insert' && e.new.id)).toEqual([2, 3])
    // Everything acknowledged: a fast shutdown does not wait on this client.
    const last = ev2.at(-1)!
    again.acknowledge(last.kind === 'commit' ? last.endLsn : 0n)
    await admin.close()
    const ended2 = again.next().then(() => undefined, (e: unknown) => e)
    await server.stopServer()
    expect(await ended2).toBeInstanceOf(ConnectionError)
    await server.startServer()
    admin = await Connection.connect(opts({ connectTimeout: 20_000 }))
    await s.drop()
  }, 60_000)

  it('a script that replicates and stops exits by itself; an aborted signal ends the stream with its reason', async () => {
    const s = await setup({ t: '(id int primary key)' })
    await admin.simpleQuery(`insert into ${s.names.t} values (1)`)
    const r = await runScript(`
      import { replicate } from '${SRC_URL}'
      const ac = new AbortController()
      const stream = await replicate(${JSON.stringify(opts())}, { slot: '${s.slot}', publications: '${s.pub}', signal: ac.signal })
      for await (const e of stream) {
        if (e.kind === 'commit') { stream.acknowledge(e.endLsn); console.log('commit'); ac.abort(new Error('enough')) }
      }
    `)
    expect(r.stdout).toContain('commit')
    expect(r.stderr).toContain('enough')
    expect(r.code).not.toBe(0)
    expect(r.killed).toBe(false)
    await s.drop()
  })
})

describe('what a hostile user tries', () => {
  it('a ReplicationConnection streams once: a second replicate() is refused by name, commands still run', async () => {
    const s = await setup({ t: '(id int primary key)' })
    const rc = await ReplicationConnection.connect(opts())
    try {
      const first = await rc.replicate({ slot: s.slot, publications: s.pub })
      await first.stop()
      await expect(rc.replicate({ slot: s.slot, publications: s.pub })).rejects.toThrow(/streams logical replication once per connection/)
      const again = await ReplicationConnection.connect(opts())
      const held = await again.replicate({ slot: s.slot, publications: s.pub })
      await expect(again.query('select 1')).rejects.toThrow(/while a transaction, pipeline, stream, COPY or replication stream holds it/)
      await held.stop()
      await again.close()
      expect((await rc.query('select 4 as four'))[0]!.rows).toEqual([{ four: 4 }])
    } finally {
      await rc.close()
      await s.drop()
    }
  })

  it('close() while the socket is paused by a slow consumer settles, and so does the pending next()', async () => {
    const s = await setup({ t: '(id int primary key, pad text)' })
    await admin.simpleQuery(`insert into ${s.names.t} select g, repeat('z', 300) from generate_series(1, 20000) g`)
    const rc = await ReplicationConnection.connect(opts())
    const stream = await rc.replicate({ slot: s.slot, publications: s.pub, highWaterMark: 16 * 1024, statusInterval: 0 })
    await stream.next()
    await new Promise((r) => setTimeout(r, 300)) // the queue fills and the socket is paused
    await rc.close()
    // What was queued still comes, then the end is reported.
    let last: unknown
    for (;;) {
      try {
        if ((await stream.next()) === null) break
      } catch (err) {
        last = err
        break
      }
    }
    expect(last).toBeInstanceOf(ConnectionError)
    expect(stream.ended).toBe(true)
    await s.drop()
  })

  it('stop() on a network that went silent closes the connection after stopTimeout instead of hanging', async () => {
    const { startFaultProxy } = await import('../support/fault-proxy.js')
    const s = await setup({ t: '(id int primary key)' })
    await admin.simpleQuery(`insert into ${s.names.t} values (1)`)
    const proxy = await startFaultProxy({ fault: 'stall', stall: 'pause', at: { from: 'client', type: 'c', nth: 1 }, host: server.info.host, port: server.info.port })
    try {
      const stream = await replicate(opts({ host: '127.0.0.1', port: proxy.port }), { slot: s.slot, publications: s.pub, stopTimeout: 300 })
      await take(stream, commits(1))
      await stream.stop()
      expect(stream.ended).toBe(true)
      await expect(stream.next()).rejects.toThrow(/did not end within 300 ms of stop\(\)/)
    } finally {
      await proxy.close()
      await until('the walsender to go', async () => (await admin.query('select 1 from pg_replication_slots where slot_name = $1 and active', [s.slot])).rowCount === 0, 10_000)
      await s.drop()
    }
  })

  it('a signal aborted while START_REPLICATION is under way rejects replicate() with its reason', async () => {
    const s = await setup({ t: '(id int primary key)' })
    const ac = new AbortController()
    const started = replicate(opts(), { slot: s.slot, publications: s.pub, signal: ac.signal })
    setTimeout(() => ac.abort(new Error('changed my mind')), 0)
    const outcome = await started.then((st) => st.next().then(() => 'no error', (e: Error) => e.message), (e: Error) => e.message)
    expect(outcome).toBe('changed my mind')
    await until('the walsender to go', async () => (await admin.query('select 1 from pg_replication_slots where slot_name = $1 and active', [s.slot])).rowCount === 0, 10_000)
    await s.drop()
  })

  it('a consumer paused longer than wal_sender_timeout (3 s here) keeps its connection with the default statusInterval', async () => {
    const s = await setup({ t: '(id int primary key, pad text)' })
    await admin.simpleQuery(`insert into ${s.names.t} select g, repeat('w', 300) from generate_series(1, 5000) g`)
    const stream = await replicate(opts(), { slot: s.slot, publications: s.pub, highWaterMark: 32 * 1024 })
    try {
      await stream.next()
      await new Promise((r) => setTimeout(r, 5_000))
      const rest = await take(stream, commits(1))
      expect(rest.filter((e) => e.kind === 'insert').length).toBeGreaterThan(4900)
    } finally {
      await stream.stop()
      await s.drop()
    }
  })

  it('acknowledge() past what the server sent is refused; two next() at once each get their own event', async () => {
    const s = await setup({ t: '(id int primary key)' })
    const stream = await replicate(opts(), { slot: s.slot, publications: s.pub })
    try {
      const a = stream.next()
      const b = stream.next()
      await admin.simpleQuery(`insert into ${s.names.t} values (1)`)
      const [ea, eb] = await Promise.all([a, b])
      expect(new Set([ea?.kind, eb?.kind])).toEqual(new Set(['begin', 'relation']))
      expect(() => stream.acknowledge('FF/0')).toThrow(/past anything the server has sent/)
      expect(() => stream.acknowledge('nonsense')).toThrow(TypeError)
    } finally {
      await stream.stop()
      await s.drop()
    }
  })

  it("the walsender terminated: the stream ends with the server's error and the owned connection closes", async () => {
    const s = await setup({ t: '(id int primary key)' })
    const stream = await replicate(opts({ applicationName: 'pgline_kill' }), { slot: s.slot, publications: s.pub })
    const ended = stream.next().then(() => undefined, (e: unknown) => e)
    await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pgline_kill'`)
    const err = await ended
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).code).toBe('57P01')
    expect(stream.ended).toBe(true)
    await s.drop()
  })

  it('publication names with quotes, commas, upper case and backslashes reach the server intact', async () => {
    const s = await setup({ t: '(id int primary key)' })
    const odd = `Pub "x", y\\z'`
    await admin.simpleQuery(`create publication ${quoteId(odd)} for table ${s.names.t}`)
    const stream = await replicate(opts(), { slot: s.slot, publications: [odd] })
    try {
      await admin.simpleQuery(`insert into ${s.names.t} values (7)`)
      expect(changes(await take(stream, commits(1)))).toMatchObject([{ kind: 'insert', new: { id: 7 } }])
    } finally {
      await stream.stop()
      await admin.simpleQuery(`drop publication ${quoteId(odd)}`)
      await s.drop()
    }
  })
})

describe('the README example', () => {
  it('examples/replication.mjs is the README block verbatim, prints the change and exits by itself', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const example = readFileSync(path.join(root, 'examples/replication.mjs'), 'utf8')
    const body = example.split('\n').slice(3).join('\n').trim()
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toContain('```js\n' + body + '\n```')
    const i = server.info
    const url = `postgres://${i.superuser.user}:${encodeURIComponent(i.superuser.password!)}@${i.host}:${i.port}/${i.database}`
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ['examples/replication.mjs'], { cwd: root, env: { ...process.env, DATABASE_URL: url }, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
      ),
    )
    expect(out, out.stderr).toEqual({ code: 0, stdout: "insert orders { id: 1, total: '9.99' }\n", stderr: '' })
    expect((await admin.query(`select 1 from pg_replication_slots where slot_name = 'orders_slot'`)).rowCount).toBe(0)
  })
})
