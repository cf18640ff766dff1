// Kysely on pgline through its node-postgres module (README, "node-postgres compatibility").
// DATABASE_URL=postgres://... node examples/pg-kysely.mjs
import { Kysely, PostgresDialect, sql } from 'kysely'
import { Pool, Cursor } from 'pgline/pg'

const db = new Kysely({ dialect: new PostgresDialect({ pool: new Pool({ connectionString: process.env.DATABASE_URL }), cursor: Cursor }) })
const { rows } = await sql`select 41 + 1 as answer`.execute(db)
console.log(rows[0].answer)
await db.destroy()
