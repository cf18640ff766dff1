export type { Decoder, EncodedParam } from './codec.js'
export { TypeMap, defaultTypeMap } from './type-map.js'
export { registerDefaults } from './defaults.js'
export * from './oids.js'
