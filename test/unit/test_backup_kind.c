/*-------------------------------------------------------------------------
 * test_backup_kind.c
 *	  Unit tests of backupKindDecide (src/backup/backup_kind.c): whether an
 *	  incremental that was asked for is taken as a full backup instead.
 *
 * Covers: a full asked stays a full; a named parent and strict never
 * change the kind (whatever the newest backup is); without a parent, a
 * full instead when there is no backup, when the newest one's chain does
 * not resolve (with its error, or a default), when it is of another
 * cluster, and when its chain holds pg_dr.backup_chain_max backups (at
 * the bound, beyond it; one below it stays an incremental); the order of
 * the reasons (no chain before another cluster before the bound); a bound
 * of 0 never forces a full; backupKindMayChange says when the newest
 * backup need be read at all.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "backup/backup_kind.h"
#include "tap.h"

/* an incremental asked without a parent, on a sound newest backup */
static BackupKindInput
sound(void)
{
	BackupKindInput in;

	memset(&in, 0, sizeof(in));
	in.incremental = true;
	in.chainMax = 32;
	in.latestFound = true;
	in.latestId = "20261203-100000I";
	in.latestChainOk = true;
	in.latestSameCluster = true;
	in.latestChainLength = 5;
	return in;
}

static void
testUnchanged(void)
{
	BackupKindInput in = sound();
	BackupKindDecision d;

	backupKindDecide(&in, &d);
	ok(d.incremental && !d.fullInstead && d.reason[0] == '\0',
	   "a sound newest backup: an incremental");
	in.latestChainLength = 31;
	backupKindDecide(&in, &d);
	ok(d.incremental && !d.fullInstead, "one below the bound: an incremental");

	in = sound();
	in.incremental = false;
	in.latestFound = false;
	ok(!backupKindMayChange(&in), "a full asked: nothing to read");
	backupKindDecide(&in, &d);
	ok(!d.incremental && !d.fullInstead, "a full asked: a full, not 'instead'");

	in = sound();
	in.parentGiven = true;
	in.latestFound = false;
	in.latestChainLength = 1000;
	ok(!backupKindMayChange(&in), "a named parent: nothing to read");
	backupKindDecide(&in, &d);
	ok(d.incremental && !d.fullInstead, "a named parent: never a full instead");

	in = sound();
	in.strict = true;
	in.latestFound = false;
	ok(!backupKindMayChange(&in), "strict: nothing to read");
	backupKindDecide(&in, &d);
	ok(d.incremental && !d.fullInstead,
	   "strict without a backup: an incremental (which fails as before)");
	in = sound();
	in.strict = true;
	in.latestChainLength = 100;
	backupKindDecide(&in, &d);
	ok(d.incremental && !d.fullInstead, "strict past the bound: an incremental");

	in = sound();
	ok(backupKindMayChange(&in), "no parent, not strict: the newest is read");
	in.chainMax = 0;
	in.latestChainLength = 100000;
	backupKindDecide(&in, &d);
	ok(d.incremental && !d.fullInstead, "a bound of 0 never forces a full");
}

static void
testFullInstead(void)
{
	BackupKindInput in = sound();
	BackupKindDecision d;

	in.latestFound = false;
	in.latestId = NULL;
	backupKindDecide(&in, &d);
	ok(!d.incremental && d.fullInstead, "no backup: a full instead");
	is_str(d.reason, "there is no backup to base an incremental backup on",
		   "no backup: the reason");

	in = sound();
	in.latestChainOk = false;
	in.latestChainError = "backup \"20261201-000000F\", the parent of \"20261203-100000I\", does not exist";
	in.latestSameCluster = false;	/* unknown without a chain */
	backupKindDecide(&in, &d);
	ok(!d.incremental && d.fullInstead, "a broken chain: a full instead");
	is_str(d.reason,
		   "the newest backup, 20261203-100000I, cannot be built on: backup \"20261201-000000F\", the parent of \"20261203-100000I\", does not exist",
		   "a broken chain: the reason names the backup and the error");
	in.latestChainError = NULL;
	backupKindDecide(&in, &d);
	is_str(d.reason,
		   "the newest backup, 20261203-100000I, cannot be built on: its chain is broken",
		   "a broken chain without an error: a default reason");

	in = sound();
	in.latestSameCluster = false;
	in.latestChainLength = 100;
	backupKindDecide(&in, &d);
	ok(!d.incremental && d.fullInstead, "another cluster: a full instead");
	is_str(d.reason, "the newest backup, 20261203-100000I, is of another cluster",
		   "another cluster is said before the bound");

	in = sound();
	in.latestChainLength = 32;
	backupKindDecide(&in, &d);
	ok(!d.incremental && d.fullInstead, "at the bound: a full instead");
	is_str(d.reason,
		   "the chain of the newest backup, 20261203-100000I, already holds 32 backups (pg_dr.backup_chain_max = 32)",
		   "at the bound: the reason names the chain and the setting");
	in.latestChainLength = 40;
	backupKindDecide(&in, &d);
	ok(!d.incremental && d.fullInstead, "past the bound (the setting was lowered): a full instead");
}

int
main(void)
{
	testUnchanged();
	testFullInstead();
	return tapDone();
}
