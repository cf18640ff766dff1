'use strict'
// The drop-in `pg`: pgline's node-postgres module under pg's name. One module
// instance whether it is required or imported (Node's require(esm)).
module.exports = require('pgline/pg')
