// pgline's own dialects loaded with import (see scenarios.cjs).
import { createRequire } from 'node:module'
import { Kysely, sql } from 'kysely'
import { PglineDialect } from 'pgline/kysely'
import { drizzle } from 'pgline/drizzle'
import { pgTable, serial, text, bigint } from 'drizzle-orm/pg-core'
import { eq } from 'drizzle-orm'
import { Pool, UniqueViolation } from 'pgline'
import { PrismaPgline } from 'pgline/prisma'

const s = createRequire(import.meta.url)('./scenarios.cjs')
await s.dialects({ Kysely, sql, PglineDialect, drizzle, pgTable, serial, text, bigint, eq, Pool, UniqueViolation, PrismaPgline }, process.env.DATABASE_URL, `desm_${process.pid}`)
console.log('dialects esm: done')
