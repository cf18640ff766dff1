// Compile-time checks of the rowMode typing: `tsc --noEmit` (npm test's
// first step) fails if they break; at run time these calls are never made.
import { describe, expectTypeOf, it } from 'vitest'
import type { Columns, ColumnsResult, Connection, Pool, PoolLease, Result, Row, RowStream, Transaction, Pipeline } from '../../src/index.js'
import type { SyncConnection } from '../../src/sync/index.js'

declare const conn: Connection
declare const pool: Pool
declare const lease: PoolLease
declare const tx: Transaction
declare const pipe: Pipeline
declare const sync: SyncConnection
declare const mode: 'object' | 'array' | 'columns'

describe('rowMode typing', () => {
  it('types rows as objects by default, arrays with array, columns with columns', () => {
    const check = () => {
      expectTypeOf(conn.query('select 1')).toEqualTypeOf<Promise<Result<Row>>>()
      expectTypeOf(conn.query<{ n: number }>('select 1 as n')).toEqualTypeOf<Promise<Result<{ n: number }>>>()
      expectTypeOf(conn.query('select 1', [], { rowMode: 'object' })).toEqualTypeOf<Promise<Result<Row>>>()
      expectTypeOf(conn.query('select 1', [], { rowMode: 'array' })).toEqualTypeOf<Promise<Result<unknown[]>>>()
      expectTypeOf(conn.query('select 1', undefined, { rowMode: 'array', prepare: false })).toEqualTypeOf<Promise<Result<unknown[]>>>()
      expectTypeOf(conn.query<[number, string]>('select 1, $1', ['x'], { rowMode: 'array' })).toEqualTypeOf<Promise<Result<[number, string]>>>()
      expectTypeOf(conn.query('select 1', [], { rowMode: 'columns' })).toEqualTypeOf<Promise<ColumnsResult>>()
      expectTypeOf<ColumnsResult['columns']>().toEqualTypeOf<Columns>()
      // A rowMode only known at run time: the general signature.
      expectTypeOf(conn.query('select 1', [], { rowMode: mode })).toEqualTypeOf<Promise<Result<Row>>>()

      expectTypeOf(conn.simpleQuery('select 1', { rowMode: 'array' })).toEqualTypeOf<Promise<Result<unknown[]>[]>>()
      expectTypeOf(conn.simpleQuery('select 1', { rowMode: 'columns' })).toEqualTypeOf<Promise<ColumnsResult[]>>()
      expectTypeOf(conn.stream('select 1', [], { rowMode: 'array' })).toEqualTypeOf<RowStream<unknown[]>>()
      expectTypeOf(conn.stream('select 1')).toEqualTypeOf<RowStream<Row>>()
      expectTypeOf(pool.query('select 1', [], { rowMode: 'array', acquireTimeout: 1 })).toEqualTypeOf<Promise<Result<unknown[]>>>()
      expectTypeOf(pool.query('select 1', [], { rowMode: 'columns' })).toEqualTypeOf<Promise<ColumnsResult>>()
      expectTypeOf(pool.query('select 1')).toEqualTypeOf<Promise<Result<Row>>>()
      expectTypeOf(lease.query('select 1', [], { rowMode: 'array' })).toEqualTypeOf<Promise<Result<unknown[]>>>()
      expectTypeOf(tx.query('select 1', [], { rowMode: 'array' })).toEqualTypeOf<Promise<Result<unknown[]>>>()
      expectTypeOf(tx.query('select 1', [], { rowMode: 'columns' })).toEqualTypeOf<Promise<ColumnsResult>>()
      expectTypeOf(tx.stream('select 1', [], { rowMode: 'array' })).toEqualTypeOf<RowStream<unknown[]>>()
      expectTypeOf(pipe.query('select 1', [], { rowMode: 'array' })).toEqualTypeOf<Promise<Result<unknown[]>>>()
      expectTypeOf(sync.query('select 1', [], { rowMode: 'array' })).toEqualTypeOf<Result<unknown[]>>()
      expectTypeOf(sync.query('select 1', [], { rowMode: 'columns' })).toEqualTypeOf<ColumnsResult>()
      expectTypeOf(sync.query('select 1')).toEqualTypeOf<Result<Row>>()
    }
    const prepared = async () => {
      const st = await conn.prepare('select 1')
      expectTypeOf(st.execute([], { rowMode: 'array' })).toEqualTypeOf<Promise<Result<unknown[]>>>()
      expectTypeOf(st.execute([], { rowMode: 'columns' })).toEqualTypeOf<Promise<ColumnsResult>>()
      expectTypeOf(st.execute()).toEqualTypeOf<Promise<Result<Row>>>()
    }
    expectTypeOf(check).toBeFunction()
    expectTypeOf(prepared).toBeFunction()
  })
})
