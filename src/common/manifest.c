/*-------------------------------------------------------------------------
 * manifest.c
 *	  The backup manifest (format in manifest.h): a streaming writer and a
 *	  strict streaming reader.
 *
 * The reader trusts nothing: the manifest decides which files a restore
 * writes where, so every line is checked completely (fields, their order,
 * escapes, numbers, paths without "." or ".." components) and anything
 * unexpected is DR_ERR_CORRUPT with the line number.  Files must come in
 * strictly ascending order, which is what lets restore merge the manifests
 * of a backup chain as streams; the end line's counts catch a manifest cut
 * short at a line boundary, and data after the end line is refused, so a
 * reader that saw the end line also saw the whole object (for an encoded
 * object: read to its verified end, see codec.h).
 *
 * The writer refuses, with DR_ERR_INVALID, everything the reader would
 * refuse, so that the backup engine fails while writing a bad manifest
 * instead of leaving a backup nobody can read.
 *
 * Memory: one line buffer (MANIFEST_LINE_MAX) and a read buffer, whatever
 * the number of files.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include <limits.h>

#include "common/hex.h"
#include "common/manifest.h"
#include "lib/stringinfo.h"

/* Bytes taken from the read function at a time. */
#define MANIFEST_READ_BUFFER	(64 * 1024)

/* Longest file path (decoded); PostgreSQL's own limit is far below. */
#define MANIFEST_PATH_MAX		4096

/* Most fields of one line (a file line has 11). */
#define MANIFEST_FIELDS_MAX		16

/* Longest field value shown in an error message. */
#define MANIFEST_SHOW_MAX		64

/* Where a writer or reader is in the manifest: sections come in order. */
typedef enum ManifestSection
{
	MANIFEST_SECTION_START = 0,
	MANIFEST_SECTION_HEADER,	/* header lines done */
	MANIFEST_SECTION_TABLESPACE,
	MANIFEST_SECTION_DIR,
	MANIFEST_SECTION_FILE,
	MANIFEST_SECTION_WAL,
	MANIFEST_SECTION_END		/* end line done */
} ManifestSection;

struct ManifestWriter
{
	ManifestWriteFn fn;
	void	   *arg;
	ManifestSection section;
	bool		incremental;
	uint64		partSize;		/* of the header */
	bool		failed;			/* a write failed: refuse everything after */
	StringInfoData line;
	StringInfoData lastPath;	/* previous file path, for the order check */
	StringInfoData lastDir;		/* previous directory, likewise */
	char		lastWal[MANIFEST_WAL_NAME_LEN + 1];
	uint64		dirs;
	uint64		files;
	uint64		wal;
};

struct ManifestReader
{
	ManifestReadFn fn;
	void	   *arg;
	char	   *name;			/* what it reads, for messages; NULL = none */

	/* input */
	char	   *buf;
	size_t		bufLen;
	size_t		bufPos;
	bool		eof;

	/* the current line, NUL-terminated, without its newline */
	char	   *line;
	size_t		lineLen;
	int			lineNo;

	ManifestHeader header;
	uint32		version;		/* of the manifest read: 1 or 2 */
	ManifestSection section;
	bool		failed;			/* sticky: never report "end" after an error */

	/* decoded strings of the current entry */
	char	   *path;
	char	   *location;

	/* order checks */
	char	   *lastPath;
	bool		haveLastPath;
	char	   *lastDir;
	bool		haveLastDir;
	char		lastWal[MANIFEST_WAL_NAME_LEN + 1];
	uint64		dirs;
	uint64		files;
	uint64		wal;
};

/* Header keywords, in the order the format requires them. */
static const char *const manifestHeaderKeys[] = {
	"pg_dr-manifest",
	"backup-id",
	"kind",
	"parent",
	"label",
	"timeline",
	"start-lsn",
	"stop-lsn",
	"start-time",
	"stop-time",
	"system-identifier",
	"pg-version",
	"key-id",
	"data-checksums",
	"block-size",
	"segment-size",
	"part-size",				/* version 2 */
};

/* Header lines of a version 1 manifest: all but part-size. */
#define MANIFEST_HEADER_KEYS_V1	(lengthof(manifestHeaderKeys) - 1)

/* ---------------------------------------------------------------------
 * Shared helpers
 * ---------------------------------------------------------------------
 */

/* Bytes written as themselves; everything else is %XX. */
static bool
manifestCharPlain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' ||
		c == '+' || c == '-';
}

static bool
manifestPowerOfTwo(uint64 v, uint64 min, uint64 max)
{
	return v >= min && v <= max && (v & (v - 1)) == 0;
}

static bool
manifestBlockSizeValid(uint64 v)
{
	return manifestPowerOfTwo(v, 1024, 32768);
}

static bool
manifestSegmentSizeValid(uint64 v)
{
	return manifestPowerOfTwo(v, 1024 * 1024, 1024 * 1024 * 1024);
}

bool
manifestPartSizeValid(uint64 partSize, uint32 blockSize)
{
	return blockSize > 0 && partSize >= blockSize &&
		partSize <= MANIFEST_PART_SIZE_MAX && partSize % blockSize == 0;
}

void
manifestPartRange(const ManifestFile *file, uint64 partSize, uint32 k,
				  uint64 *offset, uint64 *length)
{
	Assert(file->parts >= 2 && k < file->parts);
	*offset = (uint64) k * partSize;
	if (k + 1 < file->parts)
		*length = partSize;
	else
		*length = file->size - *offset;
}

/* parts and size of a file entry agree with the part size (manifest.h)? */
static bool
manifestPartsValid(const ManifestFile *file, uint64 partSize)
{
	if (file->parts == 0)
		return true;
	return file->parts >= 2 && file->store == MANIFEST_STORE_FULL &&
		file->size >= (uint64) (file->parts - 1) * partSize;
}

static void
manifestEscape(StringInfo buf, const char *s)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (manifestCharPlain(*p))
			appendStringInfoChar(buf, (char) *p);
		else
		{
			char		escape[3];

			hexEncode(p, 1, HEX_UPPER, escape);
			appendStringInfoChar(buf, '%');
			appendStringInfoString(buf, escape);
		}
	}
}

/* Lower-case hex of len bytes (at most a SHA-256). */
static void
manifestHexAppend(StringInfo buf, const uint8 *bytes, size_t len)
{
	char		hex[2 * CODEC_SHA256_SIZE + 1];

	Assert(len <= CODEC_SHA256_SIZE);
	hexEncode(bytes, len, HEX_LOWER, hex);
	appendStringInfoString(buf, hex);
}

bool
manifestPathValid(const char *path)
{
	const char *component = path;
	size_t		total = strlen(path);

	if (total == 0 || total > MANIFEST_PATH_MAX || path[0] == '/')
		return false;
	for (;;)
	{
		const char *slash = strchr(component, '/');
		size_t		len = slash ? (size_t) (slash - component) : strlen(component);

		if (len == 0 || (len == 1 && component[0] == '.') ||
			(len == 2 && component[0] == '.' && component[1] == '.'))
			return false;
		if (slash == NULL)
			return true;
		component = slash + 1;
	}
}

bool
manifestWalNameValid(const char *name)
{
	return hexIs(name, MANIFEST_WAL_NAME_LEN, HEX_UPPER) &&
		name[MANIFEST_WAL_NAME_LEN] == '\0';
}

/* ---------------------------------------------------------------------
 * Public helpers
 * ---------------------------------------------------------------------
 */

void
manifestLsnFormat(uint64 lsn, char *buf, size_t len)
{
	snprintf(buf, len, "%X/%X", (uint32) (lsn >> 32), (uint32) lsn);
}

/* 1 to 8 hex digits (either case, as PostgreSQL's pg_lsn accepts). */
static const char *
manifestLsnHalf(const char *p, uint32 *value)
{
	int			digits = 0;
	uint32		v = 0;

	for (; digits < 9; p++, digits++)
	{
		int			d = hexDigit(*p, HEX_ANY);

		if (d < 0)
			break;
		v = (v << 4) | (uint32) d;
	}
	if (digits == 0 || digits > 8)
		return NULL;
	*value = v;
	return p;
}

bool
manifestLsnParse(const char *text, uint64 *lsn)
{
	uint32		hi;
	uint32		lo;
	const char *p = manifestLsnHalf(text, &hi);

	if (p == NULL || *p != '/')
		return false;
	p = manifestLsnHalf(p + 1, &lo);
	if (p == NULL || *p != '\0')
		return false;
	*lsn = ((uint64) hi << 32) | lo;
	return true;
}

bool
manifestBundleEntryValid(const ManifestFile *file)
{
	/* an entry is a whole encoded object: at least its header */
	return file->store != MANIFEST_STORE_PARENT &&
		file->objectSize >= CODEC_HEADER_SIZE &&
		file->bundleOffset <= PG_UINT64_MAX - file->objectSize;
}

const char *
manifestStoreName(ManifestStore store)
{
	switch (store)
	{
		case MANIFEST_STORE_FULL:
			return "full";
		case MANIFEST_STORE_PARENT:
			return "parent";
		case MANIFEST_STORE_DELTA:
			return "delta";
	}
	return "unknown";
}

/* Two digits at p, between min and max. */
static bool
manifestIdNumber(const char *p, int min, int max)
{
	int			v;

	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return false;
	v = (p[0] - '0') * 10 + (p[1] - '0');
	return v >= min && v <= max;
}

bool
manifestBackupIdValid(const char *id)
{
	/* YYYYMMDD-HHMMSS then F or I: 16 characters */
	if (id == NULL || strlen(id) != 16)
		return false;
	for (int i = 0; i < 4; i++)
		if (id[i] < '0' || id[i] > '9')
			return false;
	return manifestIdNumber(id + 4, 1, 12) && manifestIdNumber(id + 6, 1, 31) &&
		id[8] == '-' && manifestIdNumber(id + 9, 0, 23) &&
		manifestIdNumber(id + 11, 0, 59) && manifestIdNumber(id + 13, 0, 60) &&
		(id[15] == 'F' || id[15] == 'I');
}

/* ---------------------------------------------------------------------
 * Writer
 * ---------------------------------------------------------------------
 */

ManifestWriter *
manifestWriterNew(ManifestWriteFn fn, void *arg)
{
	ManifestWriter *writer = palloc0(sizeof(ManifestWriter));

	writer->fn = fn;
	writer->arg = arg;
	initStringInfo(&writer->line);
	initStringInfo(&writer->lastPath);
	initStringInfo(&writer->lastDir);
	return writer;
}

void
manifestWriterFree(ManifestWriter *writer)
{
	if (writer == NULL)
		return;
	pfree(writer->line.data);
	pfree(writer->lastPath.data);
	pfree(writer->lastDir.data);
	pfree(writer);
}

/* Refuse a call out of order or after a failure. */
static bool
manifestWriterCheck(ManifestWriter *writer, ManifestSection min,
					ManifestSection max, const char *what, DrError *err)
{
	if (writer->failed)
		return drErrorSet(err, DR_ERR_INVALID,
						  "manifest writer failed earlier: cannot write %s", what);
	if (writer->section < min || writer->section > max)
		return drErrorSet(err, DR_ERR_INVALID,
						  "manifest %s written out of order", what);
	return true;
}

/* Send the line built in writer->line, with its newline. */
static bool
manifestWriterEmit(ManifestWriter *writer, DrError *err)
{
	if (writer->line.len + 1 > MANIFEST_LINE_MAX)
		return drErrorSet(err, DR_ERR_INVALID,
						  "manifest line would be longer than %d bytes",
						  MANIFEST_LINE_MAX);
	appendStringInfoChar(&writer->line, '\n');
	if (!writer->fn(writer->arg, writer->line.data, writer->line.len, err))
	{
		writer->failed = true;
		return false;
	}
	resetStringInfo(&writer->line);
	return true;
}

bool
manifestWriteHeader(ManifestWriter *writer, const ManifestHeader *h,
					DrError *err)
{
	StringInfo	line = &writer->line;
	char		lsn[32];

	if (!manifestWriterCheck(writer, MANIFEST_SECTION_START,
							 MANIFEST_SECTION_START, "header", err))
		return false;

	if (!manifestBackupIdValid(h->backupId))
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid backup id \"%s\" for the manifest", h->backupId);
	if ((h->backupId[15] == 'I') != h->incremental)
		return drErrorSet(err, DR_ERR_INVALID,
						  "backup id \"%s\" does not match its kind (%s)",
						  h->backupId, h->incremental ? "incremental" : "full");
	if (h->incremental &&
		(!manifestBackupIdValid(h->parentId) ||
		 strcmp(h->parentId, h->backupId) == 0))
		return drErrorSet(err, DR_ERR_INVALID,
						  "incremental backup \"%s\" has an invalid parent id \"%s\"",
						  h->backupId, h->parentId);
	if (!h->incremental && h->parentId[0] != '\0')
		return drErrorSet(err, DR_ERR_INVALID,
						  "full backup \"%s\" cannot have a parent", h->backupId);
	if (h->timeline == 0)
		return drErrorSet(err, DR_ERR_INVALID, "timeline 0 is not valid");
	if (h->stopLsn < h->startLsn)
		return drErrorSet(err, DR_ERR_INVALID,
						  "stop LSN is before the start LSN");
	if (h->pgVersion <= 0)
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid server version %d", h->pgVersion);
	if (!manifestBlockSizeValid(h->blockSize))
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid block size %u", h->blockSize);
	if (!manifestSegmentSizeValid(h->segmentSize))
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid WAL segment size %u", h->segmentSize);
	if (!manifestPartSizeValid(h->partSize, h->blockSize))
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid part size " UINT64_FORMAT " (block size %u)",
						  h->partSize, h->blockSize);

	appendStringInfo(line, "pg_dr-manifest %d", MANIFEST_VERSION);
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "backup-id %s", h->backupId);
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "kind %s", h->incremental ? "incremental" : "full");
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "parent %s", h->incremental ? h->parentId : "-");
	if (!manifestWriterEmit(writer, err))
		return false;

	/* a label of "-" is written escaped, since "-" means "no label" */
	appendStringInfoString(line, "label ");
	if (h->label == NULL)
		appendStringInfoChar(line, '-');
	else if (strcmp(h->label, "-") == 0)
		appendStringInfoString(line, "%2D");
	else
		manifestEscape(line, h->label);
	if (!manifestWriterEmit(writer, err))
		return false;

	appendStringInfo(line, "timeline %u", h->timeline);
	if (!manifestWriterEmit(writer, err))
		return false;
	manifestLsnFormat(h->startLsn, lsn, sizeof(lsn));
	appendStringInfo(line, "start-lsn %s", lsn);
	if (!manifestWriterEmit(writer, err))
		return false;
	manifestLsnFormat(h->stopLsn, lsn, sizeof(lsn));
	appendStringInfo(line, "stop-lsn %s", lsn);
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "start-time " INT64_FORMAT, h->startTime);
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "stop-time " INT64_FORMAT, h->stopTime);
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "system-identifier " UINT64_FORMAT,
					 h->systemIdentifier);
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "pg-version %d", h->pgVersion);
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfoString(line, "key-id ");
	if (h->hasKey)
		manifestHexAppend(line, h->keyId, CODEC_KEY_ID_SIZE);
	else
		appendStringInfoChar(line, '-');
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "data-checksums %s", h->dataChecksums ? "on" : "off");
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "block-size %u", h->blockSize);
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "segment-size %u", h->segmentSize);
	if (!manifestWriterEmit(writer, err))
		return false;
	appendStringInfo(line, "part-size " UINT64_FORMAT, h->partSize);
	if (!manifestWriterEmit(writer, err))
		return false;

	writer->partSize = h->partSize;
	writer->incremental = h->incremental;
	writer->section = MANIFEST_SECTION_HEADER;
	return true;
}

bool
manifestWriteTablespace(ManifestWriter *writer, const ManifestTablespace *ts,
						DrError *err)
{
	if (!manifestWriterCheck(writer, MANIFEST_SECTION_HEADER,
							 MANIFEST_SECTION_TABLESPACE, "tablespace", err))
		return false;
	if (ts->oid == 0)
		return drErrorSet(err, DR_ERR_INVALID, "tablespace oid 0 is not valid");
	if (ts->location == NULL || ts->location[0] != '/')
		return drErrorSet(err, DR_ERR_INVALID,
						  "location of tablespace %u must be an absolute path",
						  ts->oid);

	appendStringInfo(&writer->line, "tablespace %u ", ts->oid);
	manifestEscape(&writer->line, ts->location);
	if (!manifestWriterEmit(writer, err))
		return false;
	writer->section = MANIFEST_SECTION_TABLESPACE;
	return true;
}

bool
manifestWriteDir(ManifestWriter *writer, const ManifestDir *dir, DrError *err)
{
	if (!manifestWriterCheck(writer, MANIFEST_SECTION_HEADER,
							 MANIFEST_SECTION_DIR, "dir", err))
		return false;
	if (dir->path == NULL || !manifestPathValid(dir->path))
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid directory \"%s\" for the manifest",
						  dir->path ? dir->path : "");
	if (writer->section == MANIFEST_SECTION_DIR &&
		strcmp(dir->path, writer->lastDir.data) <= 0)
		return drErrorSet(err, DR_ERR_INVALID,
						  "manifest directory \"%s\" is not after \"%s\": directories must be written in strictly ascending order",
						  dir->path, writer->lastDir.data);
	if (dir->mode > 07777)
		return drErrorSet(err, DR_ERR_INVALID,
						  "mode %o of \"%s\" is more than permission bits",
						  dir->mode, dir->path);

	appendStringInfoString(&writer->line, "dir ");
	manifestEscape(&writer->line, dir->path);
	appendStringInfo(&writer->line, " mode=%04o", dir->mode);
	if (!manifestWriterEmit(writer, err))
		return false;

	resetStringInfo(&writer->lastDir);
	appendStringInfoString(&writer->lastDir, dir->path);
	writer->dirs++;
	writer->section = MANIFEST_SECTION_DIR;
	return true;
}

bool
manifestWriteFile(ManifestWriter *writer, const ManifestFile *file,
				  DrError *err)
{
	StringInfo	line = &writer->line;

	if (!manifestWriterCheck(writer, MANIFEST_SECTION_HEADER,
							 MANIFEST_SECTION_FILE, "file", err))
		return false;
	if (file->path == NULL || !manifestPathValid(file->path))
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid path \"%s\" for the manifest",
						  file->path ? file->path : "");
	if (writer->section == MANIFEST_SECTION_FILE &&
		strcmp(file->path, writer->lastPath.data) <= 0)
		return drErrorSet(err, DR_ERR_INVALID,
						  "manifest file \"%s\" is not after \"%s\": files must be written in strictly ascending order",
						  file->path, writer->lastPath.data);
	if (file->mode > 07777)
		return drErrorSet(err, DR_ERR_INVALID,
						  "mode %o of \"%s\" is more than permission bits",
						  file->mode, file->path);
	switch (file->store)
	{
		case MANIFEST_STORE_FULL:
			break;
		case MANIFEST_STORE_PARENT:
			if (file->objectSize != 0)
				return drErrorSet(err, DR_ERR_INVALID,
								  "file \"%s\" is stored as \"parent\" but has an object size",
								  file->path);
			/* FALLTHROUGH */
		case MANIFEST_STORE_DELTA:
			if (!writer->incremental)
				return drErrorSet(err, DR_ERR_INVALID,
								  "file \"%s\" of a full backup cannot be stored as \"%s\"",
								  file->path, manifestStoreName(file->store));
			break;
		default:
			return drErrorSet(err, DR_ERR_INVALID,
							  "file \"%s\" has an invalid store %d",
							  file->path, (int) file->store);
	}
	if (file->bundled && !manifestBundleEntryValid(file))
		return drErrorSet(err, DR_ERR_INVALID,
						  "file \"%s\" cannot be a bundle entry (store \"%s\", object size " UINT64_FORMAT ", offset " UINT64_FORMAT ")",
						  file->path, manifestStoreName(file->store),
						  file->objectSize, file->bundleOffset);

	if (file->bundled && file->parts > 0)
		return drErrorSet(err, DR_ERR_INVALID,
						  "file \"%s\" cannot be both in parts and a bundle entry",
						  file->path);
	if (!manifestPartsValid(file, writer->partSize))
		return drErrorSet(err, DR_ERR_INVALID,
						  "file \"%s\" cannot be stored in %u parts of " UINT64_FORMAT " bytes (size " UINT64_FORMAT ", store %s)",
						  file->path, file->parts, writer->partSize, file->size,
						  manifestStoreName(file->store));

	appendStringInfoString(line, "file ");
	manifestEscape(line, file->path);
	appendStringInfo(line, " size=" UINT64_FORMAT " mode=%04o mtime=" INT64_FORMAT " sha256=",
					 file->size, file->mode, file->mtime);
	manifestHexAppend(line, file->sha256, CODEC_SHA256_SIZE);
	appendStringInfo(line, " store=%s object-size=" UINT64_FORMAT " blocks=%u corrupt=%u",
					 manifestStoreName(file->store), file->objectSize,
					 file->blocks, file->corrupt);
	if (file->bundled)
		appendStringInfo(line, " bundle=%u:" UINT64_FORMAT,
						 file->bundle, file->bundleOffset);
	if (file->parts > 0)
		appendStringInfo(line, " parts=%u", file->parts);
	if (!manifestWriterEmit(writer, err))
		return false;

	resetStringInfo(&writer->lastPath);
	appendStringInfoString(&writer->lastPath, file->path);
	writer->files++;
	writer->section = MANIFEST_SECTION_FILE;
	return true;
}

bool
manifestWriteWal(ManifestWriter *writer, const ManifestWal *wal, DrError *err)
{
	if (!manifestWriterCheck(writer, MANIFEST_SECTION_HEADER,
							 MANIFEST_SECTION_WAL, "WAL segment", err))
		return false;
	if (!manifestWalNameValid(wal->name))
		return drErrorSet(err, DR_ERR_INVALID,
						  "invalid WAL segment name \"%s\" for the manifest",
						  wal->name);
	if (writer->section == MANIFEST_SECTION_WAL &&
		strcmp(wal->name, writer->lastWal) <= 0)
		return drErrorSet(err, DR_ERR_INVALID,
						  "manifest WAL segment \"%s\" is not after \"%s\": segments must be written in strictly ascending order",
						  wal->name, writer->lastWal);

	appendStringInfo(&writer->line, "wal %s size=" UINT64_FORMAT " sha256=",
					 wal->name, wal->size);
	manifestHexAppend(&writer->line, wal->sha256, CODEC_SHA256_SIZE);
	if (!manifestWriterEmit(writer, err))
		return false;

	strlcpy(writer->lastWal, wal->name, sizeof(writer->lastWal));
	writer->wal++;
	writer->section = MANIFEST_SECTION_WAL;
	return true;
}

bool
manifestWriterEnd(ManifestWriter *writer, DrError *err)
{
	if (!manifestWriterCheck(writer, MANIFEST_SECTION_HEADER,
							 MANIFEST_SECTION_WAL, "end line", err))
		return false;
	appendStringInfo(&writer->line, "end dirs=" UINT64_FORMAT " files=" UINT64_FORMAT
					 " wal=" UINT64_FORMAT, writer->dirs, writer->files, writer->wal);
	if (!manifestWriterEmit(writer, err))
		return false;
	writer->section = MANIFEST_SECTION_END;
	return true;
}

/* ---------------------------------------------------------------------
 * Reader
 * ---------------------------------------------------------------------
 */

static bool manifestCorrupt(ManifestReader *reader, DrError *err,
							const char *fmt,...) pg_attribute_printf(3, 4);

/* DR_ERR_CORRUPT naming the manifest and the current line. */
static bool
manifestCorrupt(ManifestReader *reader, DrError *err, const char *fmt,...)
{
	char		message[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	reader->failed = true;
	return drErrorSet(err, DR_ERR_CORRUPT, "%s line %d: %s",
					  reader->name ? reader->name : "manifest",
					  reader->lineNo, message);
}

/*
 * A field as it may be shown in a message: anything but printable ASCII as
 * \xNN and cut after MANIFEST_SHOW_MAX bytes, so that a damaged manifest
 * cannot send control characters to a terminal.  Static buffer: one use
 * per message.
 */
static const char *
manifestShow(const char *s)
{
	static char shown[MANIFEST_SHOW_MAX * 4 + 4];
	size_t		used = 0;
	int			n = 0;

	for (const unsigned char *p = (const unsigned char *) s; *p; p++, n++)
	{
		if (n == MANIFEST_SHOW_MAX)
		{
			strcpy(shown + used, "...");
			return shown;
		}
		if (*p >= 0x20 && *p < 0x7F && *p != '"' && *p != '\\')
			shown[used++] = (char) *p;
		else
			used += snprintf(shown + used, 5, "\\x%02x", *p);
	}
	shown[used] = '\0';
	return shown;
}

/*
 * Read the next line into reader->line.  1: a line; 0: clean end of input
 * (nothing after the last newline); -1: error.
 */
static int
manifestReadLine(ManifestReader *reader, DrError *err)
{
	reader->lineLen = 0;
	reader->lineNo++;
	for (;;)
	{
		char	   *start;
		char	   *newline;
		size_t		take;

		if (reader->bufPos == reader->bufLen)
		{
			ssize_t		n;

			if (reader->eof)
				n = 0;
			else
				n = reader->fn(reader->arg, reader->buf, MANIFEST_READ_BUFFER, err);
			if (n < 0)
			{
				reader->failed = true;
				return -1;
			}
			if (n == 0)
			{
				reader->eof = true;
				if (reader->lineLen == 0)
					return 0;
				manifestCorrupt(reader, err, "truncated: no newline at the end");
				return -1;
			}
			reader->bufLen = n;
			reader->bufPos = 0;
		}

		start = reader->buf + reader->bufPos;
		newline = memchr(start, '\n', reader->bufLen - reader->bufPos);
		take = newline ? (size_t) (newline - start) : reader->bufLen - reader->bufPos;
		/* the line, its newline included, must fit MANIFEST_LINE_MAX */
		if (reader->lineLen + take + 1 > MANIFEST_LINE_MAX)
		{
			manifestCorrupt(reader, err, "longer than %d bytes", MANIFEST_LINE_MAX);
			return -1;
		}
		memcpy(reader->line + reader->lineLen, start, take);
		reader->lineLen += take;
		reader->bufPos += take;
		if (newline)
		{
			reader->bufPos++;
			reader->line[reader->lineLen] = '\0';
			if (memchr(reader->line, '\0', reader->lineLen) != NULL)
			{
				manifestCorrupt(reader, err, "holds a NUL byte");
				return -1;
			}
			return 1;
		}
	}
}

/* Split the current line in place at single spaces. */
static int
manifestSplit(ManifestReader *reader, char **fields)
{
	int			count = 0;
	char	   *p = reader->line;

	for (;;)
	{
		char	   *space = strchr(p, ' ');

		if (count == MANIFEST_FIELDS_MAX)
			return count + 1;	/* too many: callers refuse it */
		fields[count++] = p;
		if (space == NULL)
			return count;
		*space = '\0';
		p = space + 1;
	}
}

/* Decimal, no sign, no leading zero (the writer never makes one). */
static bool
manifestParseUint64(const char *s, uint64 *value)
{
	uint64		v = 0;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			return false;
		if (v > (PG_UINT64_MAX - (uint64) (*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64) (*s - '0');
	}
	*value = v;
	return true;
}

static bool
manifestParseUint32(const char *s, uint32 *value)
{
	uint64		v;

	if (!manifestParseUint64(s, &v) || v > PG_UINT32_MAX)
		return false;
	*value = (uint32) v;
	return true;
}

static bool
manifestParseInt64(const char *s, int64 *value)
{
	uint64		v;
	bool		negative = (s[0] == '-');

	if (!manifestParseUint64(negative ? s + 1 : s, &v))
		return false;
	if (negative)
	{
		if (v == 0 || v > (uint64) PG_INT64_MAX + 1)
			return false;
		*value = (v == (uint64) PG_INT64_MAX + 1) ? PG_INT64_MIN : -(int64) v;
	}
	else
	{
		if (v > (uint64) PG_INT64_MAX)
			return false;
		*value = (int64) v;
	}
	return true;
}

static bool
manifestParseOctal(const char *s, uint32 *value)
{
	uint32		v = 0;
	int			digits = 0;

	for (; *s; s++, digits++)
	{
		if (*s < '0' || *s > '7' || digits == 6)
			return false;
		v = v * 8 + (uint32) (*s - '0');
	}
	if (digits == 0)
		return false;
	*value = v;
	return true;
}

/*
 * Decode a percent-escaped field into out (room for strlen(s) + 1 bytes).
 * Only the plain characters and %XX with upper-case hex are accepted, and
 * %00 is not (a C string cannot hold it).
 */
static bool
manifestUnescape(const char *s, char *out)
{
	for (; *s; s++)
	{
		if (manifestCharPlain((unsigned char) *s))
			*out++ = *s;
		else if (*s == '%')
		{
			int			hi = hexDigit(s[1], HEX_UPPER);
			int			lo = hi < 0 ? -1 : hexDigit(s[2], HEX_UPPER);

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			*out++ = (char) ((hi << 4) | lo);
			s += 2;
		}
		else
			return false;
	}
	*out = '\0';
	return true;
}

/*
 * key=value fields of a record.  Every key must be known and present
 * once; the order does not matter.
 */
typedef struct ManifestKeyValue
{
	const char *key;
	const char *value;			/* NULL until seen */
} ManifestKeyValue;

static bool
manifestKeyValues(ManifestReader *reader, char **fields, int count,
				  ManifestKeyValue *kv, int kvCount, DrError *err)
{
	for (int i = 0; i < count; i++)
	{
		char	   *eq = strchr(fields[i], '=');
		int			k;

		if (eq == NULL)
			return manifestCorrupt(reader, err, "field \"%s\" is not key=value",
								   manifestShow(fields[i]));
		*eq = '\0';
		for (k = 0; k < kvCount; k++)
			if (strcmp(kv[k].key, fields[i]) == 0)
				break;
		if (k == kvCount)
			return manifestCorrupt(reader, err, "unknown key \"%s\"",
								   manifestShow(fields[i]));
		if (kv[k].value != NULL)
			return manifestCorrupt(reader, err, "key \"%s\" appears twice",
								   kv[k].key);
		kv[k].value = eq + 1;
	}
	for (int k = 0; k < kvCount; k++)
		if (kv[k].value == NULL)
			return manifestCorrupt(reader, err, "key \"%s\" is missing",
								   kv[k].key);
	return true;
}

static bool
manifestBadValue(ManifestReader *reader, const char *key, const char *value,
				 DrError *err)
{
	return manifestCorrupt(reader, err, "invalid %s \"%s\"", key,
						   manifestShow(value));
}

/* One header line: "<key> <value>", value stored in *value. */
static bool
manifestHeaderLine(ManifestReader *reader, int index, char **value,
				   DrError *err)
{
	char	   *fields[MANIFEST_FIELDS_MAX + 1];
	int			count;
	int			rc = manifestReadLine(reader, err);

	if (rc < 0)
		return false;
	if (rc == 0)
	{
		if (index == 0)
			return manifestCorrupt(reader, err, "the manifest is empty");
		return manifestCorrupt(reader, err,
							   "truncated: the manifest ends before its header is complete");
	}

	count = manifestSplit(reader, fields);
	if (index == 0 && strcmp(fields[0], manifestHeaderKeys[0]) != 0)
		return manifestCorrupt(reader, err, "not a pg_dr manifest");
	if (strcmp(fields[0], manifestHeaderKeys[index]) != 0)
		return manifestCorrupt(reader, err, "expected \"%s\", found \"%s\"",
							   manifestHeaderKeys[index], manifestShow(fields[0]));
	if (count != 2)
		return manifestCorrupt(reader, err, "\"%s\" takes exactly one value",
							   manifestHeaderKeys[index]);
	*value = fields[1];
	return true;
}

static bool
manifestReadHeader(ManifestReader *reader, DrError *err)
{
	ManifestHeader *h = &reader->header;
	char	   *v;
	uint32		u32;
	uint64		u64;
	int			i = 0;

	/* pg_dr-manifest */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestParseUint32(v, &u32))
		return manifestBadValue(reader, "manifest version", v, err);
	if (u32 < MANIFEST_VERSION_MIN || u32 > MANIFEST_VERSION)
		return manifestCorrupt(reader, err,
							   "manifest version %u is not supported (this pg_dr reads versions %d to %d)",
							   u32, MANIFEST_VERSION_MIN, MANIFEST_VERSION);
	reader->version = u32;

	/* backup-id */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestBackupIdValid(v))
		return manifestBadValue(reader, "backup id", v, err);
	strlcpy(h->backupId, v, sizeof(h->backupId));

	/* kind */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (strcmp(v, "full") == 0)
		h->incremental = false;
	else if (strcmp(v, "incremental") == 0)
		h->incremental = true;
	else
		return manifestBadValue(reader, "kind", v, err);
	if ((h->backupId[15] == 'I') != h->incremental)
		return manifestCorrupt(reader, err,
							   "kind \"%s\" does not match backup id \"%s\"",
							   v, h->backupId);

	/* parent */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (h->incremental)
	{
		if (!manifestBackupIdValid(v))
			return manifestBadValue(reader, "parent backup id", v, err);
		if (strcmp(v, h->backupId) == 0)
			return manifestCorrupt(reader, err, "backup \"%s\" is its own parent", v);
		strlcpy(h->parentId, v, sizeof(h->parentId));
	}
	else
	{
		if (strcmp(v, "-") != 0)
			return manifestCorrupt(reader, err,
								   "a full backup has no parent, found \"%s\"",
								   manifestShow(v));
		h->parentId[0] = '\0';
	}

	/* label */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (strcmp(v, "-") == 0)
		h->label = NULL;
	else
	{
		h->label = palloc(strlen(v) + 1);
		if (!manifestUnescape(v, h->label))
			return manifestBadValue(reader, "label", v, err);
	}

	/* timeline */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestParseUint32(v, &h->timeline) || h->timeline == 0)
		return manifestBadValue(reader, "timeline", v, err);

	/* start-lsn, stop-lsn */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestLsnParse(v, &h->startLsn))
		return manifestBadValue(reader, "start LSN", v, err);
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestLsnParse(v, &h->stopLsn))
		return manifestBadValue(reader, "stop LSN", v, err);
	if (h->stopLsn < h->startLsn)
		return manifestCorrupt(reader, err, "stop LSN is before the start LSN");

	/* start-time, stop-time */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestParseInt64(v, &h->startTime))
		return manifestBadValue(reader, "start time", v, err);
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestParseInt64(v, &h->stopTime))
		return manifestBadValue(reader, "stop time", v, err);

	/* system-identifier */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestParseUint64(v, &h->systemIdentifier))
		return manifestBadValue(reader, "system identifier", v, err);

	/* pg-version */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestParseUint32(v, &u32) || u32 == 0 || u32 > INT_MAX)
		return manifestBadValue(reader, "server version", v, err);
	h->pgVersion = (int) u32;

	/* key-id */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (strcmp(v, "-") == 0)
	{
		h->hasKey = false;
		memset(h->keyId, 0, sizeof(h->keyId));
	}
	else
	{
		if (!hexDecode(v, HEX_LOWER, h->keyId, CODEC_KEY_ID_SIZE))
			return manifestBadValue(reader, "key id", v, err);
		h->hasKey = true;
	}

	/* data-checksums */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (strcmp(v, "on") == 0)
		h->dataChecksums = true;
	else if (strcmp(v, "off") == 0)
		h->dataChecksums = false;
	else
		return manifestBadValue(reader, "data-checksums value", v, err);

	/* block-size, segment-size */
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestParseUint64(v, &u64) || !manifestBlockSizeValid(u64))
		return manifestBadValue(reader, "block size", v, err);
	h->blockSize = (uint32) u64;
	if (!manifestHeaderLine(reader, i++, &v, err))
		return false;
	if (!manifestParseUint64(v, &u64) || !manifestSegmentSizeValid(u64))
		return manifestBadValue(reader, "WAL segment size", v, err);
	h->segmentSize = (uint32) u64;

	/* part-size (version 2); a version 1 backup has no file in parts */
	if (reader->version >= 2)
	{
		if (!manifestHeaderLine(reader, i++, &v, err))
			return false;
		if (!manifestParseUint64(v, &u64) ||
			!manifestPartSizeValid(u64, h->blockSize))
			return manifestBadValue(reader, "part size", v, err);
		h->partSize = u64;
		Assert(i == lengthof(manifestHeaderKeys));
	}
	else
	{
		h->partSize = 0;
		Assert(i == MANIFEST_HEADER_KEYS_V1);
	}
	reader->section = MANIFEST_SECTION_HEADER;
	return true;
}

ManifestReader *
manifestReaderNew(ManifestReadFn fn, void *arg, DrError *err)
{
	return manifestReaderNewNamed(fn, arg, NULL, err);
}

ManifestReader *
manifestReaderNewNamed(ManifestReadFn fn, void *arg, const char *name,
					   DrError *err)
{
	ManifestReader *reader = palloc0(sizeof(ManifestReader));

	reader->fn = fn;
	reader->arg = arg;
	reader->name = name ? pstrdup(name) : NULL;
	reader->buf = palloc(MANIFEST_READ_BUFFER);
	reader->line = palloc(MANIFEST_LINE_MAX);
	reader->path = palloc(MANIFEST_LINE_MAX);
	reader->location = palloc(MANIFEST_LINE_MAX);
	reader->lastPath = palloc(MANIFEST_LINE_MAX);
	reader->lastDir = palloc(MANIFEST_LINE_MAX);

	if (!manifestReadHeader(reader, err))
	{
		manifestReaderFree(reader);
		return NULL;
	}
	return reader;
}

const ManifestHeader *
manifestReaderHeader(const ManifestReader *reader)
{
	return &reader->header;
}

void
manifestReaderFree(ManifestReader *reader)
{
	if (reader == NULL)
		return;
	if (reader->header.label)
		pfree(reader->header.label);
	if (reader->name)
		pfree(reader->name);
	pfree(reader->buf);
	pfree(reader->line);
	pfree(reader->path);
	pfree(reader->location);
	pfree(reader->lastPath);
	pfree(reader->lastDir);
	pfree(reader);
}

/* A record must not come after a later section started. */
static bool
manifestSectionEnter(ManifestReader *reader, ManifestSection section,
					 const char *what, DrError *err)
{
	if (reader->section > section)
		return manifestCorrupt(reader, err, "%s line out of order", what);
	reader->section = section;
	return true;
}

static bool
manifestReadTablespace(ManifestReader *reader, char **fields, int count,
					   ManifestEntry *entry, DrError *err)
{
	ManifestTablespace *ts = &entry->tablespace;

	if (!manifestSectionEnter(reader, MANIFEST_SECTION_TABLESPACE,
							  "tablespace", err))
		return false;
	if (count != 3)
		return manifestCorrupt(reader, err,
							   "a tablespace line has an oid and a location");
	if (!manifestParseUint32(fields[1], &ts->oid) || ts->oid == 0)
		return manifestBadValue(reader, "tablespace oid", fields[1], err);
	if (!manifestUnescape(fields[2], reader->location) ||
		reader->location[0] != '/')
		return manifestBadValue(reader, "tablespace location", fields[2], err);
	ts->location = reader->location;
	entry->kind = MANIFEST_ENTRY_TABLESPACE;
	return true;
}

static bool
manifestReadDir(ManifestReader *reader, char **fields, int count,
				ManifestEntry *entry, DrError *err)
{
	ManifestDir *dir = &entry->dir;
	ManifestKeyValue kv[] = {{"mode", NULL}};

	if (!manifestSectionEnter(reader, MANIFEST_SECTION_DIR, "dir", err))
		return false;
	if (count < 2)
		return manifestCorrupt(reader, err, "a dir line needs a path");
	if (!manifestUnescape(fields[1], reader->path) ||
		!manifestPathValid(reader->path))
		return manifestBadValue(reader, "path", fields[1], err);
	if (reader->haveLastDir && strcmp(reader->path, reader->lastDir) <= 0)
		return manifestCorrupt(reader, err,
							   "directory \"%s\" is not after the one before: directories must be in strictly ascending order",
							   manifestShow(reader->path));
	if (!manifestKeyValues(reader, fields + 2, count - 2, kv, lengthof(kv), err))
		return false;
	if (!manifestParseOctal(kv[0].value, &dir->mode) || dir->mode > 07777)
		return manifestBadValue(reader, "mode", kv[0].value, err);
	dir->path = reader->path;

	strcpy(reader->lastDir, reader->path);
	reader->haveLastDir = true;
	reader->dirs++;
	entry->kind = MANIFEST_ENTRY_DIR;
	return true;
}

/* "<bundle>:<offset>", both decimal (manifest.h). */
static bool
manifestParseBundle(const char *s, uint32 *bundle, uint64 *offset)
{
	const char *colon = strchr(s, ':');
	char		number[16];

	if (colon == NULL || colon - s >= (ptrdiff_t) sizeof(number))
		return false;
	memcpy(number, s, colon - s);
	number[colon - s] = '\0';
	return manifestParseUint32(number, bundle) &&
		manifestParseUint64(colon + 1, offset);
}

static bool
manifestReadFile(ManifestReader *reader, char **fields, int count,
				 ManifestEntry *entry, DrError *err)
{
	ManifestFile *file = &entry->file;
	ManifestKeyValue kv[] = {
		{"size", NULL}, {"mode", NULL}, {"mtime", NULL}, {"sha256", NULL},
		{"store", NULL}, {"object-size", NULL}, {"blocks", NULL},
		{"corrupt", NULL}
	};
	const char *bundle = NULL;

	if (!manifestSectionEnter(reader, MANIFEST_SECTION_FILE, "file", err))
		return false;
	if (count < 2)
		return manifestCorrupt(reader, err, "a file line needs a path");
	if (!manifestUnescape(fields[1], reader->path) ||
		!manifestPathValid(reader->path))
		return manifestBadValue(reader, "path", fields[1], err);
	if (reader->haveLastPath && strcmp(reader->path, reader->lastPath) <= 0)
		return manifestCorrupt(reader, err,
							   "file \"%s\" is not after the one before: files must be in strictly ascending order",
							   manifestShow(reader->path));
	/* parts=<n> (version 2, optional): the last field when present */
	file->parts = 0;
	if (reader->version >= 2 && count > 2 &&
		strncmp(fields[count - 1], "parts=", 6) == 0)
	{
		if (!manifestParseUint32(fields[count - 1] + 6, &file->parts) ||
			file->parts < 2)
			return manifestBadValue(reader, "parts", fields[count - 1] + 6, err);
		count--;
	}

	/*
	 * The optional bundle field (version 2 on; in a version 1 manifest it
	 * is an unknown key), taken out before the fields every line has.
	 */
	for (int i = 2; reader->version >= 2 && i < count; i++)
	{
		if (strncmp(fields[i], "bundle=", 7) != 0)
			continue;
		if (bundle != NULL)
			return manifestCorrupt(reader, err, "key \"bundle\" appears twice");
		bundle = fields[i] + 7;
		memmove(&fields[i], &fields[i + 1], (count - i - 1) * sizeof(char *));
		count--;
		i--;
	}
	if (!manifestKeyValues(reader, fields + 2, count - 2, kv, lengthof(kv), err))
		return false;

	file->path = reader->path;
	if (!manifestParseUint64(kv[0].value, &file->size))
		return manifestBadValue(reader, "size", kv[0].value, err);
	if (!manifestParseOctal(kv[1].value, &file->mode) || file->mode > 07777)
		return manifestBadValue(reader, "mode", kv[1].value, err);
	if (!manifestParseInt64(kv[2].value, &file->mtime))
		return manifestBadValue(reader, "mtime", kv[2].value, err);
	if (!hexDecode(kv[3].value, HEX_LOWER, file->sha256, CODEC_SHA256_SIZE))
		return manifestBadValue(reader, "sha256", kv[3].value, err);
	if (strcmp(kv[4].value, "full") == 0)
		file->store = MANIFEST_STORE_FULL;
	else if (strcmp(kv[4].value, "parent") == 0)
		file->store = MANIFEST_STORE_PARENT;
	else if (strcmp(kv[4].value, "delta") == 0)
		file->store = MANIFEST_STORE_DELTA;
	else
		return manifestBadValue(reader, "store", kv[4].value, err);
	if (!manifestParseUint64(kv[5].value, &file->objectSize))
		return manifestBadValue(reader, "object-size", kv[5].value, err);
	if (!manifestParseUint32(kv[6].value, &file->blocks))
		return manifestBadValue(reader, "blocks", kv[6].value, err);
	if (!manifestParseUint32(kv[7].value, &file->corrupt))
		return manifestBadValue(reader, "corrupt", kv[7].value, err);

	if (file->store != MANIFEST_STORE_FULL && !reader->header.incremental)
		return manifestCorrupt(reader, err,
							   "file of a full backup stored as \"%s\"",
							   manifestStoreName(file->store));
	if (file->store == MANIFEST_STORE_PARENT && file->objectSize != 0)
		return manifestCorrupt(reader, err,
							   "file stored as \"parent\" has an object size");
	if (!manifestPartsValid(file, reader->header.partSize))
		return manifestCorrupt(reader, err,
							   "file \"%s\" of " UINT64_FORMAT " bytes stored as \"%s\" cannot be in %u parts of " UINT64_FORMAT " bytes",
							   manifestShow(reader->path), file->size,
							   manifestStoreName(file->store), file->parts,
							   reader->header.partSize);
	file->bundled = false;
	file->bundle = 0;
	file->bundleOffset = 0;
	file->bound = reader->version >= 3;
	if (bundle != NULL)
	{
		if (!manifestParseBundle(bundle, &file->bundle, &file->bundleOffset))
			return manifestBadValue(reader, "bundle", bundle, err);
		file->bundled = true;
		if (!manifestBundleEntryValid(file))
			return manifestCorrupt(reader, err,
								   "file stored as \"%s\" with object size " UINT64_FORMAT " cannot be a bundle entry",
								   manifestStoreName(file->store),
								   file->objectSize);
	}
	if (file->bundled && file->parts > 0)
		return manifestCorrupt(reader, err,
							   "file \"%s\" is both in parts and a bundle entry",
							   manifestShow(reader->path));

	strcpy(reader->lastPath, reader->path);
	reader->haveLastPath = true;
	reader->files++;
	entry->kind = MANIFEST_ENTRY_FILE;
	return true;
}

static bool
manifestReadWal(ManifestReader *reader, char **fields, int count,
				ManifestEntry *entry, DrError *err)
{
	ManifestWal *wal = &entry->wal;
	ManifestKeyValue kv[] = {{"size", NULL}, {"sha256", NULL}};

	if (!manifestSectionEnter(reader, MANIFEST_SECTION_WAL, "wal", err))
		return false;
	if (count < 2)
		return manifestCorrupt(reader, err, "a wal line needs a segment name");
	if (!manifestWalNameValid(fields[1]))
		return manifestBadValue(reader, "WAL segment name", fields[1], err);
	if (reader->lastWal[0] != '\0' && strcmp(fields[1], reader->lastWal) <= 0)
		return manifestCorrupt(reader, err,
							   "WAL segment \"%s\" is not after \"%s\": segments must be in strictly ascending order",
							   fields[1], reader->lastWal);
	if (!manifestKeyValues(reader, fields + 2, count - 2, kv, lengthof(kv), err))
		return false;
	strlcpy(wal->name, fields[1], sizeof(wal->name));
	if (!manifestParseUint64(kv[0].value, &wal->size))
		return manifestBadValue(reader, "size", kv[0].value, err);
	if (!hexDecode(kv[1].value, HEX_LOWER, wal->sha256, CODEC_SHA256_SIZE))
		return manifestBadValue(reader, "sha256", kv[1].value, err);

	strlcpy(reader->lastWal, wal->name, sizeof(reader->lastWal));
	reader->wal++;
	entry->kind = MANIFEST_ENTRY_WAL;
	return true;
}

/* The end line, then nothing more. */
static bool
manifestReadEnd(ManifestReader *reader, char **fields, int count,
				DrError *err)
{
	ManifestKeyValue kv[] = {{"dirs", NULL}, {"files", NULL}, {"wal", NULL}};
	uint64		dirs;
	uint64		files;
	uint64		wal;
	int			rc;

	if (!manifestKeyValues(reader, fields + 1, count - 1, kv, lengthof(kv), err))
		return false;
	if (!manifestParseUint64(kv[0].value, &dirs))
		return manifestBadValue(reader, "directory count", kv[0].value, err);
	if (!manifestParseUint64(kv[1].value, &files))
		return manifestBadValue(reader, "file count", kv[1].value, err);
	if (!manifestParseUint64(kv[2].value, &wal))
		return manifestBadValue(reader, "WAL segment count", kv[2].value, err);
	if (dirs != reader->dirs)
		return manifestCorrupt(reader, err,
							   "the end line counts " UINT64_FORMAT " directories, the manifest has " UINT64_FORMAT,
							   dirs, reader->dirs);
	if (files != reader->files)
		return manifestCorrupt(reader, err,
							   "the end line counts " UINT64_FORMAT " files, the manifest has " UINT64_FORMAT,
							   files, reader->files);
	if (wal != reader->wal)
		return manifestCorrupt(reader, err,
							   "the end line counts " UINT64_FORMAT " WAL segments, the manifest has " UINT64_FORMAT,
							   wal, reader->wal);

	/*
	 * Read on to the end of the input: it must hold nothing more, and for
	 * an encoded object only reaching the end verifies what came before.
	 */
	rc = manifestReadLine(reader, err);
	if (rc < 0)
		return false;
	if (rc > 0)
		return manifestCorrupt(reader, err, "data after the end line");
	reader->section = MANIFEST_SECTION_END;
	return true;
}

int
manifestReaderNext(ManifestReader *reader, ManifestEntry *entry, DrError *err)
{
	char	   *fields[MANIFEST_FIELDS_MAX + 1];
	int			count;
	int			rc;

	if (reader->failed)
	{
		drErrorSet(err, DR_ERR_INVALID, "manifest reader failed earlier");
		return -1;
	}
	if (reader->section == MANIFEST_SECTION_END)
		return 0;

	rc = manifestReadLine(reader, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
	{
		manifestCorrupt(reader, err, "truncated: the manifest has no end line");
		return -1;
	}

	memset(entry, 0, sizeof(ManifestEntry));
	count = manifestSplit(reader, fields);
	if (count > MANIFEST_FIELDS_MAX)
	{
		manifestCorrupt(reader, err, "too many fields");
		return -1;
	}
	if (strcmp(fields[0], "file") == 0)
		rc = manifestReadFile(reader, fields, count, entry, err) ? 1 : -1;
	else if (strcmp(fields[0], "wal") == 0)
		rc = manifestReadWal(reader, fields, count, entry, err) ? 1 : -1;
	else if (strcmp(fields[0], "tablespace") == 0)
		rc = manifestReadTablespace(reader, fields, count, entry, err) ? 1 : -1;
	else if (strcmp(fields[0], "dir") == 0)
		rc = manifestReadDir(reader, fields, count, entry, err) ? 1 : -1;
	else if (strcmp(fields[0], "end") == 0)
		rc = manifestReadEnd(reader, fields, count, err) ? 0 : -1;
	else
	{
		manifestCorrupt(reader, err, "unknown record \"%s\"",
						manifestShow(fields[0]));
		rc = -1;
	}
	if (rc < 0)
		reader->failed = true;
	return rc;
}
