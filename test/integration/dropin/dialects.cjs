'use strict'
// pgline's own dialects loaded with require() (see scenarios.cjs).
const s = require('./scenarios.cjs')

s.dialects(
  {
    // pgline first: it has a `sql` of its own, and `sql` here is Kysely's.
    ...require('pgline'),
    ...require('kysely'),
    ...require('pgline/kysely'),
    ...require('pgline/drizzle'),
    ...require('drizzle-orm/pg-core'),
    eq: require('drizzle-orm').eq,
    ...require('pgline/prisma'),
  },
  process.env.DATABASE_URL,
  `dcjs_${process.pid}`,
).then(
  () => console.log('dialects cjs: done'),
  (err) => {
    console.error(err)
    process.exitCode = 1
  },
)
