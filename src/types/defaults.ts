// Every built-in family, registered into a map. Kept apart from type-map.ts so
// families depend on the TypeMap type only, never on the module that builds
// the default map.
import type { TypeMap } from './type-map.js'
import { register as registerBit } from './bit.js'
import { register as registerBool } from './bool.js'
import { register as registerBytea } from './bytea.js'
import { register as registerDatetime } from './datetime.js'
import { register as registerFloat } from './float.js'
import { register as registerGeometry } from './geometry.js'
import { register as registerInt } from './int.js'
import { register as registerInterval } from './interval.js'
import { register as registerJson } from './json.js'
import { register as registerNetwork } from './network.js'
import { register as registerNumeric } from './numeric.js'
import { register as registerRange } from './range.js'
import { register as registerText } from './text.js'
import { register as registerTime } from './time.js'
import { register as registerUuid } from './uuid.js'

export function registerDefaults(map: TypeMap): void {
  registerInt(map)
  registerFloat(map)
  registerNumeric(map)
  registerBool(map)
  registerText(map)
  registerBytea(map)
  registerJson(map)
  registerDatetime(map)
  registerTime(map)
  registerInterval(map)
  registerUuid(map)
  registerNetwork(map)
  registerBit(map)
  registerGeometry(map)
  // Last: ranges are built on the element types above.
  registerRange(map)
}
