// Every built-in family, registered into a map. Kept apart from type-map.ts so
// families depend on the TypeMap type only, never on the module that builds
// the default map.
import type { TypeMap } from './type-map.js'
import { register as registerBool } from './bool.js'
import { register as registerBytea } from './bytea.js'
import { register as registerDatetime } from './datetime.js'
import { register as registerFloat } from './float.js'
import { register as registerInt } from './int.js'
import { register as registerJson } from './json.js'
import { register as registerNumeric } from './numeric.js'
import { register as registerText } from './text.js'
import { BOX, BOX_ARRAY } from './oids.js'

export function registerDefaults(map: TypeMap): void {
  registerInt(map)
  registerFloat(map)
  registerNumeric(map)
  registerBool(map)
  registerText(map)
  registerBytea(map)
  registerJson(map)
  registerDatetime(map)
  // box has no codec yet (its values read as strings), but its arrays use ';'
  // between elements because ',' occurs inside every box value.
  map.registerArray(BOX, BOX_ARRAY, ';')
}
