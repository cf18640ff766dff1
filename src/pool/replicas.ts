// Read replicas: a pool over a primary and its standbys keeps a pool per
// target, each finding its servers by target_session_attrs over the same
// host list (libpq's rules: 'read-write' is the primary, 'standby' a server
// in recovery, 'prefer-standby' a standby if one answers, else any). A
// statement or a checkout names the target it wants:
//   'primary' (the default): where writes go;
//   'standby': a standby, or an error naming every host and why;
//   'prefer-standby': a standby when one is reachable at connect time, else
//   the primary (its pool is made on first use; a connection it opened to
//   the primary stays until retired, even once a standby is back).
// The standby pool balances its connections over the standbys at random. A
// standby that goes away takes its connections with it; the role's pool
// reconnects with its backoff, to another standby if there is one. After a
// promotion the primary pool's next connections find the new primary (the
// old one's connections fail when it goes). A connection's role is checked
// when it opens: one that changes role while open (a promoted standby)
// keeps serving its pool until maxLifetime retires it.

import type { ConnectionOptions } from '../client/connection.js'

export type Target = 'primary' | 'standby' | 'prefer-standby'

const TARGETS: readonly string[] = ['primary', 'standby', 'prefer-standby']

export function checkTarget(value: unknown): Target {
  if (value === undefined) return 'primary'
  if (typeof value === 'string' && TARGETS.includes(value)) return value as Target
  throw new TypeError(`target must be 'primary', 'standby' or 'prefer-standby', got ${typeof value === 'string' ? JSON.stringify(value) : typeof value}`)
}

export interface ReplicaOptions {
  /** Connections the standby pool may open (default: the pool's max). */
  standbyMax?: number
  /** Spread the standby connections over the standbys at random (default true). */
  loadBalance?: boolean
}

/** The connection options of a target's pool. */
export function targetOptions(base: ConnectionOptions, target: Target, replicas: ReplicaOptions): ConnectionOptions {
  if (target === 'primary') return { ...base, targetSessionAttrs: 'read-write' }
  const loadBalanceHosts = replicas.loadBalance === false ? 'disable' : 'random'
  return { ...base, targetSessionAttrs: target, loadBalanceHosts }
}
