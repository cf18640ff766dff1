// Why new operations may not be written now. Each hold is a named gate,
// released exactly once: a statement being described (later statements need
// its description or must queue behind it), a cancel settling (a late
// CancelRequest must not reach a later query), a request that has the
// connection to itself (a stream's portal, a COPY). Releasing a gate twice,
// or one never held, is a bug in the engine and throws (except once the
// connection has ended, when its requests fail in any order).

export type GateReason = 'describe' | 'cancel' | 'exclusive'

export interface Gate {
  readonly reason: GateReason
}

export class Gates {
  private readonly held = new Set<Gate>()
  /** The connection ended: what it held is forgotten, and late releases (requests failing) are expected. */
  private ended = false

  hold(reason: GateReason): Gate {
    const gate = { reason }
    this.held.add(gate)
    return gate
  }

  release(gate: Gate): void {
    if (!this.held.delete(gate) && !this.ended) throw new Error(`pgline internal error: a ${gate.reason} gate released twice`)
  }

  get holding(): boolean {
    return this.held.size > 0
  }

  /** The strongest reason writes wait now, for state and inspection. */
  get reason(): GateReason | undefined {
    let r: GateReason | undefined
    for (const g of this.held) {
      if (g.reason === 'exclusive') return 'exclusive'
      if (g.reason === 'cancel' || r === undefined) r = g.reason
    }
    return r
  }

  /** Forgets every gate: the connection ended. */
  end(): void {
    this.ended = true
    this.held.clear()
  }
}
