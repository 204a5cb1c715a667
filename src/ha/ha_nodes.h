/*-------------------------------------------------------------------------
 * ha_nodes.h
 *	  The registry of the cluster's nodes: pgdr.nodes, written only here
 *	  (dr_node_register / dr_node_unregister through api/ha.c).  Server
 *	  half: SPI, in the caller's transaction, as the extension's owner
 *	  (the caller pins search_path: apiAsOwnerBegin).
 *
 * What the registry holds is what an administrator said: a name, how
 * peers reach the node, its priority as a failover candidate, where it
 * is.  What a node is doing (role, LSNs, health) is observed, and no
 * watcher observes it yet: dr_nodes says "unknown" and why (docs/ha.md).
 *-------------------------------------------------------------------------
 */
#ifndef DR_HA_NODES_H
#define DR_HA_NODES_H

#define HA_NODE_NAME_MAX		63
#define HA_NODE_PRIORITY_MAX	1000
#define HA_NODE_PRIORITY_DEFAULT	100

/*
 * Add a node; ERROR 42710 (duplicate_object) when one of that name is
 * registered.  location may be NULL.
 */
extern void haNodeRegister(const char *name, const char *conninfo,
						   int priority, const char *location);

/* Remove a node; ERROR 42704 (undefined_object) when none has that name. */
extern void haNodeUnregister(const char *name);

#endif							/* DR_HA_NODES_H */
