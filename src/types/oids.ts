// OIDs of built-in types (pg_type.oid), fixed since the types were added to
// the catalog. Array types are named <TYPE>_ARRAY (PostgreSQL calls them _int4 ...).

export const BOOL = 16
export const BYTEA = 17
export const CHAR = 18
export const NAME = 19
export const INT8 = 20
export const INT2 = 21
export const INT4 = 23
export const TEXT = 25
export const OID = 26
// Not `JSON`: importing that name would shadow the global JSON object.
export const JSON_TYPE = 114
export const BOX = 603
export const FLOAT4 = 700
export const FLOAT8 = 701
export const UNKNOWN = 705
export const BPCHAR = 1042
export const VARCHAR = 1043
export const DATE = 1082
export const TIMESTAMP = 1114
export const TIMESTAMPTZ = 1184
export const NUMERIC = 1700
export const JSONB = 3802

export const JSON_ARRAY = 199
export const BOOL_ARRAY = 1000
export const BYTEA_ARRAY = 1001
export const CHAR_ARRAY = 1002
export const NAME_ARRAY = 1003
export const INT2_ARRAY = 1005
export const INT4_ARRAY = 1007
export const TEXT_ARRAY = 1009
export const BPCHAR_ARRAY = 1014
export const VARCHAR_ARRAY = 1015
export const INT8_ARRAY = 1016
export const BOX_ARRAY = 1020
export const FLOAT4_ARRAY = 1021
export const FLOAT8_ARRAY = 1022
export const OID_ARRAY = 1028
export const TIMESTAMP_ARRAY = 1115
export const DATE_ARRAY = 1182
export const TIMESTAMPTZ_ARRAY = 1185
export const NUMERIC_ARRAY = 1231
export const JSONB_ARRAY = 3807
