/*-------------------------------------------------------------------------
 * manifest.h
 *	  The backup manifest: what a backup holds, written last.
 *
 * A backup exists when, and only when, its manifest exists.  The backup
 * engine writes every data object first and the manifest last, atomically
 * (storage never shows a half-written object).  Readers (restore, verify,
 * dr_repository_sync, `pg_dr info`) trust nothing in backup/<id>/ that the
 * manifest does not name.
 *
 * Repository layout of one backup (see also repo.h):
 *	 backup/<id>/manifest		this manifest (encoded like every object:
 *								compressed, encrypted, authenticated)
 *	 backup/<id>/data/<path>	one object per stored file not in a bundle;
 *								<path> is relative to the data directory
 *								("base/5/16384",
 *								"pg_tblspc/16390/PG_15_.../16391/16392",
 *								"backup_label")
 *	 backup/<id>/part/<path>/<k>	part k (0, 1, ...) of a file stored in
 *								parts (version 2, see below), instead of
 *								data/<path>
 *	 backup/<id>/bundle/<n>		(version 2) small files packed together:
 *								entries laid end to end, each one exactly
 *								the encoded object its file would have had
 *								alone (codec.h: its own header, chunks and
 *								trailer, so each entry is authenticated
 *								and decoded by itself); <n> is decimal.
 *								Nothing else is in a bundle: no index, no
 *								padding; the manifest locates each entry
 *	 backup/<id>/wal/<segment>	WAL from the start to the stop segment, so
 *								the backup restores to consistency alone
 *
 * Backup ids: "YYYYMMDD-HHMMSSF" (full) or "YYYYMMDD-HHMMSSI" (incremental),
 * UTC start time; they sort in time order and say their kind.
 *
 * Format, version 2 (written since large files are stored in parts and
 * small files in bundles; version 1, the same without part-size, parts=
 * and bundle=, is still read): UTF-8 text, one record per line, fields separated by
 * one space; strings (paths, label, locations) are percent-escaped: every
 * byte outside [A-Za-z0-9._/+-] becomes %XX (upper-case hex).  Order:
 *
 *	 pg_dr-manifest 2
 *	 backup-id <id>
 *	 kind full|incremental
 *	 parent <id>|-
 *	 label <escaped>|-
 *	 timeline <n>
 *	 start-lsn <X/X>
 *	 stop-lsn <X/X>
 *	 start-time <unix seconds>
 *	 stop-time <unix seconds>
 *	 system-identifier <n>
 *	 pg-version <n>					(PG_VERSION_NUM of the server)
 *	 key-id <hex>|-					(data key of every object of the backup)
 *	 data-checksums on|off
 *	 block-size <n>
 *	 segment-size <n>				(WAL segment size in bytes)
 *	 part-size <n>					(version 2: bytes per part of the files
 *	      stored in parts; a multiple of block-size, at most 1 GiB)
 *	 tablespace <oid> <escaped location>	(zero or more)
 *	 dir <escaped path> mode=<octal>	(every directory of the data
 *	      directory, empty ones included -- pg_notify, pg_wal/archive_status
 *	      ... must exist for the server to start; ascending; zero or more)
 *	 file <escaped path> size=<n> mode=<octal> mtime=<n> sha256=<hex>
 *	      store=full|parent|delta object-size=<n> blocks=<n> corrupt=<n>
 *	      [bundle=<n>:<offset>] [parts=<n>]
 *	      (one line; zero or more, paths strictly ascending by strcmp;
 *	      bundle= and parts=, version 2 only, are the last fields when
 *	      present, in this order, and never both)
 *	 wal <segment> size=<n> sha256=<hex>	(zero or more, ascending)
 *	 end dirs=<n> files=<n> wal=<n>
 *
 * store=full: data/<path> holds the whole file.  store=parent: the file is
 * unchanged since the parent backup (content = the parent's content for the
 * same path; no object here).  store=delta: data/<path> holds a block delta
 * (delta.h) to apply over the parent's content.  size is that of the file
 * as restored; sha256 that of the file as the backup read it -- for a
 * store=delta or store=parent file, restore cannot compare it with the
 * reconstructed file (pages whose only change is a hint bit, which is not
 * WAL-logged without data checksums or wal_log_hints, keep the parent's
 * copy; that is harmless), so restore checks sha256 only for files it
 * writes from a full object alone; sha256 is all zeroes for a relation
 * file an incremental read in part (the WAL summaries named the pages to
 * read, backup/backup_walsum.c): nobody read it whole, and nothing
 * compares it (restore with delta rewrites such a file); object-size is
 * the stored (encoded) size
 * (0 for parent); blocks is the number of pages the object holds (delta),
 * corrupt the number of pages that failed checksum verification.
 *
 * Files in parts (version 2): parts=<n> (n >= 2, store=full only) says the
 * file is stored as the n objects part/<path>/0 .. part/<path>/<n-1>
 * instead of data/<path>, so that several backup workers read one large
 * file at once and several restore jobs write it at once.  Part k holds
 * the file's bytes from offset k * part-size: exactly part-size bytes for
 * every part but the last, and the rest of the file for the last one
 * (size >= (n-1) * part-size; the last part may be longer than part-size
 * when the file grew while the backup read it, or empty when it shrank).
 * A part read after the file shrank below its range is padded with zeroes
 * to part-size: those bytes were past the file's end, and WAL replay
 * truncates the file again, as it does for a file copied whole while it
 * shrank.  n is chosen when the backup lists the file (the files larger
 * than part-size then).  For such a file:
 *	 - sha256 is the SHA-256 of the concatenation of the parts' SHA-256
 *	   digests (32 bytes each, part 0 first), each that of the part's plain
 *	   bytes (the object's content): no single reader sees the whole file,
 *	   and each part's digest is what the codec computes anyway;
 *	 - object-size is the total of the parts' stored sizes;
 *	 - each part object is bound (codec.h) to its name, so that in an
 *	   encrypted repository a part cannot stand in for another.
 * Restore and verify check every part's length against the layout above,
 * the digests against sha256 and the total stored size against
 * object-size.  store=delta and store=parent are never in parts in this
 * version (a block delta is written whole, over the parent's file in
 * parts or whole; see backup_file.c).
 *
 * bundle=<n>:<offset> (version 2, optional; store=full or store=delta
 * only): the file's object is not data/<path> but the object-size bytes
 * at byte offset <offset> of bundle/<n> (both decimal); what those bytes
 * hold, and how they are checked, is exactly what data/<path> would hold.
 * The backup engine bundles files below pg_dr.backup_bundle_limit.
 *
 * Version 3 (written since every object of a file is bound): the same
 * lines as version 2.  What changes is a promise about the objects: each
 * object of a file -- data/<path>, a bundle entry, each part -- is bound
 * (codec.h) to the name data/<path> (a part: part/<path>/<k>, as in
 * version 2), so that in an encrypted repository no object and no bundle
 * entry can stand in for another, a block delta included (a delta cannot
 * be checked against sha256, see above).  Readers require the binding of
 * every object of a version 3 backup (ManifestFile.bound); the whole
 * objects and bundle entries of version 1 and 2 backups are unbound, and
 * read as they were.
 *
 * Memory: the writer and the reader stream; neither holds more than one
 * line, whatever the number of files.
 *-------------------------------------------------------------------------
 */
#ifndef DR_MANIFEST_H
#define DR_MANIFEST_H

#include "common/codec.h"
#include "common/error.h"

#define MANIFEST_VERSION		3	/* written */
#define MANIFEST_VERSION_MIN	1	/* oldest still read */
#define MANIFEST_PART_SIZE_MAX	((uint64) 1024 * 1024 * 1024)
#define MANIFEST_ID_MAX			32
#define MANIFEST_WAL_NAME_LEN	24
#define MANIFEST_LINE_MAX		(16 * 1024)

typedef enum ManifestStore
{
	MANIFEST_STORE_FULL = 1,
	MANIFEST_STORE_PARENT,
	MANIFEST_STORE_DELTA
} ManifestStore;

typedef struct ManifestHeader
{
	char		backupId[MANIFEST_ID_MAX + 1];
	bool		incremental;
	char		parentId[MANIFEST_ID_MAX + 1];	/* "" for a full backup */
	char	   *label;			/* NULL when none */
	uint32		timeline;
	uint64		startLsn;
	uint64		stopLsn;
	int64		startTime;
	int64		stopTime;
	uint64		systemIdentifier;
	int			pgVersion;
	bool		hasKey;
	uint8		keyId[CODEC_KEY_ID_SIZE];
	bool		dataChecksums;
	uint32		blockSize;
	uint32		segmentSize;
	uint64		partSize;		/* version 2; 0 when read from version 1 */
} ManifestHeader;

typedef struct ManifestTablespace
{
	uint32		oid;
	char	   *location;
} ManifestTablespace;

typedef struct ManifestDir
{
	char	   *path;
	uint32		mode;
} ManifestDir;

typedef struct ManifestFile
{
	char	   *path;
	uint64		size;
	uint32		mode;
	int64		mtime;
	uint8		sha256[CODEC_SHA256_SIZE];
	ManifestStore store;
	uint64		objectSize;
	uint32		blocks;
	uint32		corrupt;
	uint32		parts;			/* 0: one object (data/<path>); else >= 2 */
	bool		bundled;		/* bundle=: an entry of bundle/<bundle> */
	uint32		bundle;
	uint64		bundleOffset;	/* of the entry's first byte */
	bool		bound;			/* read from version 3: its objects must be
								 * bound to their names (ignored by the
								 * writer, which always writes version 3) */
} ManifestFile;

typedef struct ManifestWal
{
	char		name[MANIFEST_WAL_NAME_LEN + 1];
	uint64		size;
	uint8		sha256[CODEC_SHA256_SIZE];
} ManifestWal;

typedef enum ManifestEntryKind
{
	MANIFEST_ENTRY_TABLESPACE = 1,
	MANIFEST_ENTRY_DIR,
	MANIFEST_ENTRY_FILE,
	MANIFEST_ENTRY_WAL
} ManifestEntryKind;

/* One record read back; strings live until the next manifestReaderNext. */
typedef struct ManifestEntry
{
	ManifestEntryKind kind;
	ManifestTablespace tablespace;
	ManifestDir dir;
	ManifestFile file;
	ManifestWal wal;
} ManifestEntry;

/* Where the writer's text goes / where the reader's comes from. */
typedef bool (*ManifestWriteFn) (void *arg, const void *buf, size_t len,
								 DrError *err);
typedef ssize_t (*ManifestReadFn) (void *arg, void *buf, size_t len,
								   DrError *err);

typedef struct ManifestWriter ManifestWriter;
typedef struct ManifestReader ManifestReader;

/*
 * Writer.  Header first, then tablespaces, dirs (ascending), files (strictly ascending paths:
 * DR_ERR_INVALID otherwise), WAL segments (ascending), then End.  Free
 * abandons a writer without an end line.
 */
extern ManifestWriter *manifestWriterNew(ManifestWriteFn fn, void *arg);
extern bool manifestWriteHeader(ManifestWriter *writer,
								const ManifestHeader *header, DrError *err);
extern bool manifestWriteTablespace(ManifestWriter *writer,
									const ManifestTablespace *tablespace,
									DrError *err);
extern bool manifestWriteDir(ManifestWriter *writer, const ManifestDir *dir,
							 DrError *err);
extern bool manifestWriteFile(ManifestWriter *writer, const ManifestFile *file,
							  DrError *err);
extern bool manifestWriteWal(ManifestWriter *writer, const ManifestWal *wal,
							 DrError *err);
extern bool manifestWriterEnd(ManifestWriter *writer, DrError *err);
extern void manifestWriterFree(ManifestWriter *writer);

/*
 * Reader.  New reads the header lines (DR_ERR_CORRUPT naming the line for
 * anything malformed or out of order).  Next returns 1 with an entry, 0 at a
 * valid end line (counts checked), -1 on error.
 */
extern ManifestReader *manifestReaderNew(ManifestReadFn fn, void *arg,
										 DrError *err);
extern const ManifestHeader *manifestReaderHeader(const ManifestReader *reader);
extern int	manifestReaderNext(ManifestReader *reader, ManifestEntry *entry,
							   DrError *err);
extern void manifestReaderFree(ManifestReader *reader);

/* Helpers shared by the backup engine and the CLI. */
extern void manifestLsnFormat(uint64 lsn, char *buf, size_t len);	/* "X/X" */
extern bool manifestLsnParse(const char *text, uint64 *lsn);
extern const char *manifestStoreName(ManifestStore store);
/*
 * Can file be a bundle entry: stored full or delta, with an object size of
 * at least a codec header, and an end offset that fits in 64 bits?
 */
extern bool manifestBundleEntryValid(const ManifestFile *file);
/* Is id a well-formed backup id? */
extern bool manifestBackupIdValid(const char *id);
/* Is partSize a valid part-size for blockSize (see above)? */
extern bool manifestPartSizeValid(uint64 partSize, uint32 blockSize);
/*
 * Where part k of a file in parts lies in the file: its offset and its
 * length (see above; file->parts >= 2, k < file->parts).
 */
extern void manifestPartRange(const ManifestFile *file, uint64 partSize,
							  uint32 k, uint64 *offset, uint64 *length);

/*
 * Added with the implementation (manifest.c); the format above is
 * unchanged.  Details the format leaves to the implementation:
 *	 - mode holds permission bits only (07777 at most), written as %04o;
 *	 - a label of exactly "-" is written "%2D" (a bare "-" means no label),
 *	   an empty label as an empty field;
 *	 - a line, its newline included, is at most MANIFEST_LINE_MAX bytes;
 *	 - file paths are relative, without empty, "." or ".." components;
 *	 - manifestWriterEnd does not free the writer: call manifestWriterFree
 *	   afterwards, whatever End returned.
 */

/*
 * The same as manifestReaderNew, with name (such as "manifest of backup
 * \"20240101-000000F\"") leading its error messages instead of
 * "manifest".
 */
extern ManifestReader *manifestReaderNewNamed(ManifestReadFn fn, void *arg,
											  const char *name, DrError *err);
/* Is path acceptable as a manifest file path (see above)? */
extern bool manifestPathValid(const char *path);
/* Is name a WAL segment name (24 upper-case hex digits)? */
extern bool manifestWalNameValid(const char *name);

#endif							/* DR_MANIFEST_H */
