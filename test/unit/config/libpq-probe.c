/*
 * Asks the installed libpq what it makes of a connection string, for
 * libpq-compare.test.ts (built by the test at run time; never shipped).
 *
 *   probe version              PQlibVersion()
 *   probe keywords             the keywords this libpq knows, one a line
 *   probe parse <conninfo>     PQconninfoParse: the keywords set, or ERROR
 *   probe resolve <conninfo>   PQconnectStart + PQconninfo: the values after
 *                              the service file, PG* variables and defaults,
 *                              PQpass, and STATUS when the start failed
 *
 * Lines are "name<TAB>hex(value)" so any byte survives.
 */
#include <stdio.h>
#include <string.h>
#include <libpq-fe.h>

static void hex(const char *s)
{
	for (; *s; s++)
		printf("%02x", (unsigned char) *s);
}

static void line(const char *name, const char *value)
{
	printf("%s\t", name);
	hex(value);
	printf("\n");
}

static void dump(PQconninfoOption *o)
{
	for (; o->keyword; o++)
		if (o->val)
			line(o->keyword, o->val);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "version") == 0)
	{
		printf("%d\n", PQlibVersion());
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "keywords") == 0)
	{
		PQconninfoOption *o = PQconndefaults();
		for (; o && o->keyword; o++)
			printf("%s\n", o->keyword);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "parse") == 0)
	{
		char *err = NULL;
		PQconninfoOption *o = PQconninfoParse(argv[2], &err);
		if (!o)
			line("ERROR", err ? err : "");
		else
			dump(o);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "resolve") == 0)
	{
		PGconn *c = PQconnectStart(argv[2]);
		const char *pass;
		if (!c)
			return 3;
		if (PQstatus(c) == CONNECTION_BAD)
			line("STATUS", PQerrorMessage(c));
		pass = PQpass(c);
		if (pass)
			line("PQPASS", pass);
		dump(PQconninfo(c));
		PQfinish(c);
		return 0;
	}
	fprintf(stderr, "usage: probe version|keywords|parse <s>|resolve <s>\n");
	return 2;
}
