/*-------------------------------------------------------------------------
 * ha_nodes.c
 *	  The registry of nodes, pgdr.nodes (see ha_nodes.h).  Every statement
 *	  names its schema and operators: it runs as the extension's owner.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "ha/ha_nodes.h"

void
haNodeRegister(const char *name, const char *conninfo, int priority,
			   const char *location)
{
	Oid			argtypes[4] = {TEXTOID, TEXTOID, INT4OID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	uint64		inserted;

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(conninfo);
	values[2] = Int32GetDatum(priority);
	if (location != NULL)
		values[3] = CStringGetTextDatum(location);
	else
		nulls[3] = 'n';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* a name taken is the caller's mistake, not a unique violation */
	if (SPI_execute_with_args("INSERT INTO pgdr.nodes (name, conninfo, priority, location)"
							  " VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
							  4, argtypes, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into pgdr.nodes");
	inserted = SPI_processed;
	SPI_finish();
	if (inserted == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("node \"%s\" is already registered", name),
				 errhint("Unregister it first with dr_node_unregister('%s'), or choose another name.",
						 name)));
}

void
haNodeUnregister(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	uint64		deleted;

	values[0] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("DELETE FROM pgdr.nodes WHERE name OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from pgdr.nodes");
	deleted = SPI_processed;
	SPI_finish();
	if (deleted == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no node \"%s\" is registered", name),
				 errhint("SELECT name FROM dr_nodes lists the registered nodes.")));
}
