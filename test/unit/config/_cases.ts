// Connection strings and what libpq's documentation says they mean. Shared
// by conninfo.test.ts (always) and libpq-compare.test.ts (which also feeds
// them to the real libpq when it is installed).

/** Inputs where pgline deliberately differs from libpq, and why. */
export const DELIBERATE_DIFFERENCES: Record<string, string> = {
  'POSTGRESQL://h/db': 'pgline reads the URI scheme case-insensitively (RFC 3986); libpq only knows lowercase',
  'postgres://u:p@ss@h/db': 'pgline refuses an unencoded "@" after the credentials (the host name would expose part of the password); libpq looks up the host "ss@h"',
}

export const KEY_VALUE_CASES: [string, Record<string, string>][] = [
  ['host=localhost port=5432 dbname=mydb connect_timeout=10', { host: 'localhost', port: '5432', dbname: 'mydb', connect_timeout: '10' }],
  ['host = a port= 5432  dbname =x', { host: 'a', port: '5432', dbname: 'x' }],
  ['\thost=a\nport=1\r\n', { host: 'a', port: '1' }],
  ["dbname='my db' password='it\\'s'", { dbname: 'my db', password: "it's" }],
  ["password='a\\\\b'", { password: 'a\\b' }],
  ['host=a\\ b', { host: 'a b' }],
  ["host='a'port=5", { host: 'a', port: '5' }], // a closing quote ends the value
  ["host=a'b", { host: "a'b" }], // a quote inside an unquoted value is literal
  ['host=a host=b', { host: 'b' }], // repeated keys: the last wins
  ["dbname='a=b'", { dbname: 'a=b' }],
  ['dbname=a=b', { dbname: 'a=b' }],
  ["host=''", { host: '' }],
  ['host=', { host: '' }],
  ['host= port=5', { host: 'port=5' }], // whitespace after '=' is skipped, as in libpq
  ["application_name='日本 語'", { application_name: '日本 語' }],
  ['', {}],
  ['   ', {}],
]

export const KEY_VALUE_ERRORS: [string, RegExp][] = [
  ['host', /missing "=" after "host"/],
  ['bogus=1', /unknown connection parameter "bogus".*known parameters: host, hostaddr, port, dbname/],
  ['HOST=a', /unknown connection parameter "HOST" .*did you mean "host"/],
  ['sslmod=require', /did you mean "sslmode"/],
  ["host='abc", /unterminated quoted string in the value of host/],
  ['=x', /unknown connection parameter ""/],
]

export const URI_CASES: [string, Record<string, string>][] = [
  // The examples of the libpq documentation.
  ['postgresql://', {}],
  ['postgresql://localhost', { host: 'localhost' }],
  ['postgresql://localhost:5433', { host: 'localhost', port: '5433' }],
  ['postgresql://localhost/mydb', { host: 'localhost', dbname: 'mydb' }],
  ['postgresql://user@localhost', { user: 'user', host: 'localhost' }],
  ['postgresql://user:secret@localhost', { user: 'user', password: 'secret', host: 'localhost' }],
  [
    'postgresql://other@localhost/otherdb?connect_timeout=10&application_name=myapp',
    { user: 'other', host: 'localhost', dbname: 'otherdb', connect_timeout: '10', application_name: 'myapp' },
  ],
  [
    'postgresql://host1:123,host2:456/somedb?target_session_attrs=any&application_name=myapp',
    { host: 'host1,host2', port: '123,456', dbname: 'somedb', target_session_attrs: 'any', application_name: 'myapp' },
  ],
  ['postgresql:///mydb?host=localhost&port=5433', { dbname: 'mydb', host: 'localhost', port: '5433' }],
  ['postgresql://user@localhost:5433/mydb?options=-c%20synchronous_commit%3Doff', { user: 'user', host: 'localhost', port: '5433', dbname: 'mydb', options: '-c synchronous_commit=off' }],
  ['postgresql://[2001:db8::1234]/database', { host: '2001:db8::1234', dbname: 'database' }],
  ['postgresql:///dbname?host=/var/lib/postgresql', { dbname: 'dbname', host: '/var/lib/postgresql' }],
  ['postgresql://%2Fvar%2Flib%2Fpostgresql/dbname', { host: '/var/lib/postgresql', dbname: 'dbname' }],
  // Odd cases.
  ['postgresql://%2Fvar%2Frun%2Fpostgresql/db', { host: '/var/run/postgresql', dbname: 'db' }],
  ['postgres:///db?host=/tmp', { dbname: 'db', host: '/tmp' }],
  ['postgres://[::1]:5433/db', { host: '::1', port: '5433', dbname: 'db' }],
  ['postgres://[fe80::1%25eth0]:5432/db', { host: 'fe80::1%eth0', port: '5432', dbname: 'db' }],
  ['postgres://[::1]:5433,[::2]/db', { host: '::1,::2', port: '5433,', dbname: 'db' }],
  ['postgres://h1,h2/db', { host: 'h1,h2', port: ',', dbname: 'db' }], // empty entries mean the default port
  ['postgres://h1:5432,h2:5433/db', { host: 'h1,h2', port: '5432,5433', dbname: 'db' }],
  ['postgres://u%40x:p%3Aw%2F%25@h/d%20b', { user: 'u@x', password: 'p:w/%', host: 'h', dbname: 'd b' }],
  ['postgres://u:p:q@h', { user: 'u', password: 'p:q', host: 'h' }],
  ['postgres://u:@h', { user: 'u', host: 'h' }], // an empty password is not set
  ['postgres://:pw@h', { password: 'pw', host: 'h' }],
  ['postgres://h/db?application_name=a+b', { host: 'h', dbname: 'db', application_name: 'a+b' }], // '+' is not a space
  ['postgres://h/db?port=5&port=6', { host: 'h', dbname: 'db', port: '6' }],
  ['postgres://h/db?host=', { host: '', dbname: 'db' }], // a query parameter overrides the host part
  ['postgres://h/db?dbname=other', { host: 'h', dbname: 'other' }],
  ['postgres://h/?dbname=', { host: 'h', dbname: '' }],
  ['postgres://h/db?ssl=true', { host: 'h', dbname: 'db', sslmode: 'require' }],
  ['postgres://h:/db', { host: 'h', dbname: 'db' }],
  ['postgres://h/db?', { host: 'h', dbname: 'db' }],
  ['postgres://h/db?options=a&', { host: 'h', dbname: 'db', options: 'a' }],
  ['postgres://h/d%C3%A9j%C3%A0', { host: 'h', dbname: 'déjà' }],
  ['POSTGRESQL://h/db', { host: 'h', dbname: 'db' }], // the scheme is case-insensitive (RFC 3986)
]

export const URI_ERRORS: [string, RegExp][] = [
  ['postgres://h/db?bogus=1', /unknown connection parameter "bogus" in the connection URI query.*known parameters:/],
  ['postgres://h/db?ssl=false', /unknown connection parameter "ssl"/], // only ssl=true is understood
  ['postgres://h/db?a', /query parameter "a" has no "="/],
  ['postgres://h/db?&a=b', /query parameter "" has no "="/],
  ['postgres://h/db?a=b=c', /more than one "="/],
  ['postgres://h/%zz', /bad percent-encoding in the database name/],
  ['postgres://h/d%00b', /%00 is not allowed in the database name/],
  ['postgres://[::1/db', /missing "]"/],
  ['postgres://[]/db', /may not be empty/],
  ['postgres://[::1]x/db', /unexpected "x" after "]"/],
  ['postgres://u:p@ss@h/db', /percent-encode "@"/],
]
