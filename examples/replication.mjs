// Change data capture with logical replication (README, "Logical replication").
// DATABASE_URL=postgres://... node examples/replication.mjs
// The server needs wal_level=logical; the role needs REPLICATION (or to be a superuser).
import { Connection, ReplicationConnection, replicate } from 'pgline'

const url = process.env.DATABASE_URL
const db = await Connection.connect(url)
await db.simpleQuery(`
  create table if not exists orders (id int primary key, total numeric);
  drop publication if exists orders_pub;
  create publication orders_pub for table orders`)

// A slot keeps the server's place for this consumer, across restarts.
const rc = await ReplicationConnection.connect(url)
const { rows } = await db.query('select 1 from pg_replication_slots where slot_name = $1', ['orders_slot'])
if (rows.length === 0) await rc.createSlot('orders_slot', { snapshot: 'nothing' })

const stream = await replicate(url, { slot: 'orders_slot', publications: ['orders_pub'] })
await db.query('insert into orders values ($1, $2) on conflict (id) do update set total = $2', [1, '9.99'])

for await (const change of stream) {
  if (change.kind === 'insert' || change.kind === 'update') console.log(change.kind, change.relation.name, change.new)
  if (change.kind === 'delete') console.log('delete', change.relation.name, change.old)
  if (change.kind === 'commit') {
    stream.acknowledge(change.endLsn) // stored: the slot will not send this transaction again
    break // leaving the loop stops the stream and closes its connection
  }
}

// A slot nobody reads holds WAL on the server: drop it when done for good.
await rc.dropSlot('orders_slot')
await rc.close()
await db.close()
