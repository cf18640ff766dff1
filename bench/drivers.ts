// The drivers under test, each behind the same small interface so every
// workload runs the same SQL through each of them.

import pg from 'pg'
import postgres from 'postgres'
import { connect } from '../src/index.js'

export interface BenchTarget {
  host: string
  port: number
  user: string
  password: string
  database: string
}

export interface Handle {
  /** `select id, name, email, created_at from users where id = $1` */
  pointSelect(id: number): Promise<unknown>
  close(): Promise<void>
}

export interface Driver {
  name: string
  open(t: BenchTarget): Promise<Handle>
}

export const POINT_SELECT = 'select id, name, email, created_at from users where id = $1'

export const drivers: Driver[] = [
  {
    name: 'pgline',
    async open(t) {
      const conn = await connect(t)
      return {
        pointSelect: (id) => conn.query(POINT_SELECT, [id]),
        close: () => conn.close(),
      }
    },
  },
  {
    name: 'pg',
    async open(t) {
      const client = new pg.Client(t)
      await client.connect()
      return {
        pointSelect: (id) => client.query(POINT_SELECT, [id]),
        close: () => client.end(),
      }
    },
  },
  {
    name: 'pg (named statement)',
    async open(t) {
      const client = new pg.Client(t)
      await client.connect()
      return {
        pointSelect: (id) => client.query({ name: 'point_select', text: POINT_SELECT, values: [id] }),
        close: () => client.end(),
      }
    },
  },
  {
    name: 'postgres.js',
    async open(t) {
      const sql = postgres({ ...t, username: t.user, max: 1, onnotice: () => {} })
      return {
        pointSelect: (id) => sql`select id, name, email, created_at from users where id = ${id}`,
        close: () => sql.end(),
      }
    },
  },
]
