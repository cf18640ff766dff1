// fast-check generators shared by the protocol property tests (the
// differential test and the decoder fuzz): wire integers and field
// descriptions over a string generator of the caller's choosing.
import fc from 'fast-check'
import type { FieldDescription } from '../../src/protocol/messages.js'

export const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
export const u32 = fc.nat({ max: 0xffffffff })
export const i16 = fc.integer({ min: -(2 ** 15), max: 2 ** 15 - 1 })
export const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a))

export function fieldDescription(name: fc.Arbitrary<string>): fc.Arbitrary<FieldDescription> {
  return fc.record({
    name,
    tableOid: u32,
    columnId: i16,
    typeOid: u32,
    typeSize: i16,
    typeModifier: i32,
    format: fc.constantFrom<0 | 1>(0, 1),
  })
}
