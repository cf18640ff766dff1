// How pgline/sync moves calls and results between the threads: the shared
// buffer for what its codec covers, the MessagePort for the rest (class
// instances, Maps, typed arrays, results past the buffer's maximum), in any
// mix and order, with the worker waiting for the next call either in its
// short Atomics.wait after a reply or back in its event loop.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '../../src/index.js'
import { optionsFor } from './_util.js'
import { loadSync, type SyncApi } from '../sync/flavours.js'

let sync: SyncApi
let conn: InstanceType<SyncApi['SyncConnection']>

beforeAll(async () => {
  sync = await loadSync()
  conn = sync.connectSync(optionsFor('scram') as Parameters<SyncApi['connectSync']>[0])
})

afterAll(() => {
  conn?.close()
})

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

describe('sync transport', () => {
  it('alternates fast-lane and MessagePort calls and results, keeping values and order', () => {
    for (let i = 0; i < 50; i++) {
      // Shared buffer both ways.
      expect(conn.query('select $1::int4 + 1 as n, $2::text as t', [i, `é${i}`]).rows).toEqual([{ n: i + 1, t: `é${i}` }])
      // A parameter the codec does not cover (a class instance): the request goes through the port.
      expect(conn.query("select $1::interval = '3 days' as eq", [new sync.PgInterval(0, 3, 0)]).rows[0]!.eq).toBe(true)
      // A result the codec does not cover (a class instance): the reply goes through the port.
      const iv = conn.query("select '1 day 2 hours'::interval as iv").rows[0]!.iv
      expect(iv).toBeInstanceOf(sync.PgInterval)
      // A Map result.
      expect(conn.parameters.get('client_encoding')).toBe('UTF8')
    }
  })

  it('returns results past the shared buffer through the port, and small ones through the buffer again', () => {
    const big = conn.query("select repeat('x', 3 * 1024 * 1024) as s").rows[0]!.s as string
    expect(big.length).toBe(3 * 1024 * 1024)
    const rows = conn.query('select g, md5(g::text) as h from generate_series(1, 20000) g').rows
    expect(rows.length).toBe(20000)
    expect(rows[19999]).toEqual({ g: 20000, h: expect.any(String) })
    expect(conn.query('select 1 as one').rows).toEqual([{ one: 1 }])
  })

  it('answers calls made right after a reply and calls made after the worker went back to its event loop', () => {
    for (const gap of [0, 0, 3, 0, 10, 0]) {
      if (gap > 0) pause(gap)
      expect(conn.query('select $1::int8 as v', [BigInt(gap) + 2n ** 40n]).rows[0]!.v).toBe(BigInt(gap) + 2n ** 40n)
    }
  })

  it('keeps Buffers, Dates, nulls and nested JSON exact both ways', () => {
    const at = new Date(Date.UTC(2024, 1, 29, 12, 30, 45, 123))
    const bytes = Buffer.from([0, 1, 2, 255])
    const doc = { a: [1, { b: null }], s: 'ü\u0000x'.replace('\u0000', ''), n: -0.5 }
    const r = conn.query('select $1::bytea as b, $2::timestamptz as d, $3::jsonb as j, $4::text as z', [bytes, at, doc, null]).rows[0]!
    expect(Buffer.isBuffer(r.b)).toBe(true)
    expect(r.b).toEqual(bytes)
    expect(r.d).toBeInstanceOf(Date)
    expect((r.d as Date).getTime()).toBe(at.getTime())
    expect(r.j).toEqual(doc)
    expect(r.z).toBeNull()
  })

  it('reports server errors through the buffer with their class and fields', () => {
    let err: unknown
    try {
      conn.query('select 1/0')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(sync.DivisionByZero)
    expect((err as { code: string }).code).toBe('22012')
    expect(conn.query('select 2 as two').rows).toEqual([{ two: 2 }])
  })

  it('answers calls made after the server ended the connection (the worker still listens once its connection is closed)', async () => {
    const victim = sync.connectSync(optionsFor('scram') as Parameters<SyncApi['connectSync']>[0])
    try {
      expect(victim.query('select 1 as one').rows).toEqual([{ one: 1 }])
      const admin = await connect(optionsFor('superuser'))
      try {
        await admin.query('select pg_terminate_backend($1)', [victim.processId])
      } finally {
        await admin.close()
      }
      // The worker sees the connection end (CLOSED) meanwhile; every call after it fails at once, none hangs.
      for (let i = 0; i < 3; i++) {
        const started = Date.now()
        expect(() => victim.query('select 2')).toThrow()
        expect(Date.now() - started).toBeLessThan(5000)
        pause(20)
      }
      expect(victim.closed).toBe(true)
    } finally {
      victim.close()
    }
  })
})
