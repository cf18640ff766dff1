// The connection pool: see README "## Pool".
export { Pool, PoolLease } from './pool.js'
export type { AcquireOptions, PoolErrorSource, PoolOptions, PoolQueryOptions, PoolStats, PoolTransactionOptions } from './pool.js'
export { ConnectionLeak, PoolClosed, PoolError, PoolExhausted, PoolTimeout } from './errors.js'
export { MultiplexingRefused } from './multiplex.js'
export type { ReplicaOptions, Target } from './replicas.js'
