'use strict'
// The ORMs loaded with require(), on the drop-in pg (see scenarios.cjs).
const s = require('./scenarios.cjs')

async function main() {
  const url = process.env.DATABASE_URL
  const pg = require('pg')
  if (pg.Pool !== require('pgline/pg').Pool) throw new Error('require("pg") is not the drop-in')
  const only = process.argv[2]
  const t = `cjs_${process.pid}`
  if (!only || only === 'kysely') {
    const k = require('kysely')
    await s.kysely({ Kysely: k.Kysely, PostgresDialect: k.PostgresDialect, sql: k.sql, pg, Cursor: require('pg-cursor') }, url, `${t}_ky`)
  }
  if (!only || only === 'drizzle') {
    const core = require('drizzle-orm/pg-core')
    const orm = require('drizzle-orm')
    await s.drizzle({ drizzle: require('drizzle-orm/node-postgres').drizzle, sql: orm.sql, eq: orm.eq, ...core }, url, `${t}_dz`)
  }
  if (!only || only === 'knex') await s.knex({ knex: require('knex') }, url, `${t}_kx`)
  if (!only || only === 'typeorm') {
    require('reflect-metadata')
    await s.typeorm(require('typeorm'), url, `${t}_to`)
  }
  if (!only || only === 'sequelize') await s.sequelize(require('sequelize'), url, `${t}_sq`)
  if (!only || only === 'mikroorm') await s.mikroorm({ ...require('@mikro-orm/core'), PostgreSqlDriver: require('@mikro-orm/postgresql').PostgreSqlDriver }, url, `${t}_mo`)
  console.log('cjs: done')
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
