/*-------------------------------------------------------------------------
 * ha_conninfo.h
 *	  How a node's connection string is shown: with its passwords hidden.
 *	  A node's conninfo (dr_node_register) may hold a password; it is kept
 *	  in pgdr.nodes, which only the extension's owner reads, and every
 *	  other place it appears (the audit record, messages) shows it through
 *	  haConninfoRedact.  Pure, compiled into the CLI build and unit tested
 *	  (test/unit/test_ha_conninfo.c).
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_CONNINFO_H
#define DR_HA_CONNINFO_H

#define HA_CONNINFO_REDACTED	"********"

/*
 * conninfo with the value of every password and sslpassword keyword (in
 * "key=value" form, quoted or not) and, in URI form
 * (postgresql://user:secret@host/db?password=x), the userinfo's password
 * and those query parameters replaced by HA_CONNINFO_REDACTED; palloc'd.
 * Text it cannot read (an unterminated quote) is hidden from there on.
 */
extern char *haConninfoRedact(const char *conninfo);

#endif							/* DR_HA_CONNINFO_H */
