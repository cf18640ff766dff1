/*
 * The C ceiling of the wide-read workload: libpq fetching the same query the
 * drivers run, in text format (PQexec), every value touched (its length and
 * first byte summed), timed with clock_gettime. Built by bench/ceiling.ts at
 * bench time into a scratch directory, never committed as a binary:
 *
 *   cc -O2 -I$(pg_config --includedir) wide.c -o wide -L$(pg_config --libdir) -lpq
 *
 * Usage: wide SQL EXPECTED_ROWS MS. Connects with libpq's environment
 * (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE), runs the query once
 * untimed, then back to back until MS milliseconds of timed runs, and prints
 * one line: rows=N seconds=S runs=R checksum=C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <libpq-fe.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s SQL EXPECTED_ROWS MS\n", argv[0]);
		return 2;
	}
	const char *sql = argv[1];
	long expected = atol(argv[2]);
	double budget = atof(argv[3]) / 1000.0;

	PGconn *conn = PQconnectdb("");
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}

	unsigned long long checksum = 0;
	long rows = 0;
	double seconds = 0;
	int runs = 0;
	for (int i = -1;; i++) {
		double t0 = now();
		PGresult *res = PQexec(conn, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			fprintf(stderr, "query: %s", PQerrorMessage(conn));
			PQclear(res);
			PQfinish(conn);
			return 1;
		}
		int nrows = PQntuples(res);
		int nfields = PQnfields(res);
		if (nrows != expected) {
			fprintf(stderr, "query returned %d rows, expected %ld\n", nrows, expected);
			PQclear(res);
			PQfinish(conn);
			return 1;
		}
		for (int r = 0; r < nrows; r++) {
			for (int f = 0; f < nfields; f++) {
				if (PQgetisnull(res, r, f))
					continue;
				const char *v = PQgetvalue(res, r, f);
				checksum += (unsigned long long) PQgetlength(res, r, f) + (unsigned char) v[0];
			}
		}
		PQclear(res);
		double t1 = now();
		if (i < 0)
			continue; /* the warm-up run */
		seconds += t1 - t0;
		rows += nrows;
		runs++;
		if (seconds >= budget)
			break;
	}
	printf("rows=%ld seconds=%.6f runs=%d checksum=%llu\n", rows, seconds, runs, checksum);
	PQfinish(conn);
	return 0;
}
