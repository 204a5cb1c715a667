/*-------------------------------------------------------------------------
 * pg_dr.h
 *	  What the extension's server parts share: the version, the safe
 *	  search_path, pg_dr.config_file and drEreport().
 *-------------------------------------------------------------------------
 */
#ifndef PG_DR_H
#define PG_DR_H

#define PG_DR_VERSION			"0.1.0"

/*
 * The search_path of every SQL text pg_dr runs with privileges other than
 * the caller's (as the extension owner, or in the pg_dr worker): nothing a
 * user can create is found in it (pg_temp is never searched for functions
 * and operators, and every relation pg_dr names is schema-qualified).
 */
#define DR_SAFE_SEARCH_PATH		"pg_catalog, pg_temp"

/*
 * pg_dr.config_file: path of the configuration shared with the CLI, read
 * by every part (defined in pg_dr.c).  The other settings are defined and
 * declared by the part that reads them (<part>SettingsDefine()).
 */
extern char *drConfigFile;

/*
 * Raise a DrError from shared code as an ereport with the SQLSTATE that
 * fits its code (dr_ereport.c).  Does not return when elevel >= ERROR.
 */
struct DrError;
extern void drEreport(int elevel, const struct DrError *err);

#endif							/* PG_DR_H */
