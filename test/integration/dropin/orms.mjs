// The ORMs loaded with import, on the drop-in pg (see scenarios.cjs).
import { createRequire } from 'node:module'
import pg from 'pg'
import { Pool } from 'pgline/pg'
import { Kysely, PostgresDialect, sql as kyselySql } from 'kysely'
import Cursor from 'pg-cursor'
import { drizzle } from 'drizzle-orm/node-postgres'
import { sql, eq } from 'drizzle-orm'
import * as core from 'drizzle-orm/pg-core'
import knex from 'knex'
import 'reflect-metadata'
import * as typeorm from 'typeorm'
import * as sequelize from 'sequelize'
import * as mikro from '@mikro-orm/core'
import { PostgreSqlDriver } from '@mikro-orm/postgresql'

const s = createRequire(import.meta.url)('./scenarios.cjs')
if (pg.Pool !== Pool) throw new Error('import pg is not the drop-in')
const url = process.env.DATABASE_URL
const only = process.argv[2]
const t = `esm_${process.pid}`
if (!only || only === 'kysely') await s.kysely({ Kysely, PostgresDialect, sql: kyselySql, pg, Cursor }, url, `${t}_ky`)
if (!only || only === 'drizzle') await s.drizzle({ drizzle, sql, eq, ...core }, url, `${t}_dz`)
if (!only || only === 'knex') await s.knex({ knex }, url, `${t}_kx`)
if (!only || only === 'typeorm') await s.typeorm(typeorm, url, `${t}_to`)
if (!only || only === 'sequelize') await s.sequelize(sequelize, url, `${t}_sq`)
if (!only || only === 'mikroorm') await s.mikroorm({ ...mikro, PostgreSqlDriver }, url, `${t}_mo`)
console.log('esm: done')
