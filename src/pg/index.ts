// pgline/pg: a module shaped like node-postgres (`pg`), for the ORMs and
// libraries that speak its interface (Kysely, Drizzle, Knex, TypeORM,
// Sequelize...), running on pgline. See README, "node-postgres compatibility".

import { Client, escapeIdentifier, escapeLiteral } from './client.js'
import { defaults } from './defaults.js'
import { DatabaseError } from './errors.js'
import { Pool } from './pool.js'
import { Query } from './query.js'
import { Result } from './result.js'
import { Cursor, QueryStream } from './cursor.js'
import { arrayParser, builtins, getTypeParser, setTypeParser, TypeOverrides } from './types.js'

export { Client, escapeIdentifier, escapeLiteral } from './client.js'
export type { QueryConfig, Submittable } from './client.js'
export type { ClientConfig, SslConfig } from './config.js'
export { defaults } from './defaults.js'
export { DatabaseError } from './errors.js'
export { Pool } from './pool.js'
export { Query } from './query.js'
export type { QueryInit } from './query.js'
export type { PoolClient, PoolConfig } from './pool.js'
export { Result } from './result.js'
export type { FieldDef, QueryResult } from './result.js'
export { TypeOverrides } from './types.js'
export { PostgresInterval } from './parsers.js'
export { Cursor, QueryStream } from './cursor.js'
export type { CursorConfig, QueryStreamConfig } from './cursor.js'
export { prepareValue } from './values.js'

/** node-postgres's `types` (pg-types). */
export const types = { getTypeParser, setTypeParser, arrayParser, builtins }

/** No native bindings: pgline is the fast path. */
export const native = null


/** The same object as a default export, as `require('pg')` gives. */
const pg = { Client, Pool, DatabaseError, Result, Query, TypeOverrides, types, defaults, native, escapeIdentifier, escapeLiteral, Cursor, QueryStream }
export default pg
