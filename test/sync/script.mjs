// A plain Node script using only the sync API, as a user would (no async code,
// no explicit process.exit). The test spawns it with the connection options
// in PGLINE_SYNC_TEST_OPTIONS and checks its output and exit code. It leaves
// one connection open on purpose: that must not keep the process alive.
import { connectSync, InterfaceError, UniqueViolation } from 'pgline/sync'

const options = JSON.parse(process.env.PGLINE_SYNC_TEST_OPTIONS ?? '{}')
const print = (o) => console.log(JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('hex') : v)))

const conn = connectSync(options)
const r = conn.query('select $1::int + 1 as n, 9007199254740993::int8 as big, $2::bytea as bytes', [41, Buffer.from('deadbeef', 'hex')])
// JSON.stringify calls Buffer#toJSON before the replacer: hex-encode by hand.
print({ step: 'query', rows: r.rows.map((row) => ({ ...row, bytes: row.bytes.toString('hex') })) })

conn.query('create temp table script_t (id int primary key)')
const inserted = conn.transaction((tx) => {
  tx.query('insert into script_t values (1), (2)')
  return tx.query('select count(*)::int as n from script_t').rows[0].n
})
print({ step: 'transaction', inserted, committed: conn.query('select count(*)::int as n from script_t').rows[0].n })

try {
  conn.query('insert into script_t values (1)')
} catch (err) {
  print({ step: 'error', class: err.constructor.name, instanceOf: err instanceof UniqueViolation, code: err.code })
}

conn.close()
let closedError
try {
  conn.query('select 1')
} catch (err) {
  closedError = err instanceof InterfaceError ? 'InterfaceError' : String(err)
}
print({ step: 'closed', closed: conn.closed, error: closedError })

const leftOpen = connectSync(options)
leftOpen.query('select 1')
print({ step: 'left open', closed: leftOpen.closed })
