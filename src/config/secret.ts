// Keeps a password out of logs: printing, inspecting or JSON-serialising a
// Secret shows a mask; only reveal() gives the value back.

import { inspect } from 'node:util'

const MASK = '********'

export class Secret {
  readonly #value: string
  constructor(value: string) {
    this.#value = value
  }
  reveal(): string {
    return this.#value
  }
  toString(): string {
    return MASK
  }
  toJSON(): string {
    return MASK
  }
  [inspect.custom](): string {
    return MASK
  }
}
