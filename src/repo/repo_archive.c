/*-------------------------------------------------------------------------
 * repo_archive.c
 *	  Archived WAL files read back and checked, and the one iterator over
 *	  the archive (see repo_archive.h).
 *
 * The object is decoded through one buffer, which is filled before it is
 * handed on, so that the first page header of a segment is whole when it
 * is checked and the sink never sees a byte of a segment found to be
 * another one.  Every error is a sentence that names the WAL file: the
 * callers print it as it is (wal-get), or as one problem of a walk
 * (verification).
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "access/xlog_internal.h"

#include "common/hex.h"
#include "common/wal.h"
#include "repo/repo_archive.h"
#include "repo/repo_backup.h"

#define ARCHIVE_READ_BUFFER		(1024 * 1024)

StaticAssertDecl(ARCHIVE_READ_BUFFER >= sizeof(XLogLongPageHeaderData),
				 "the first page header fits in the first buffer");

/* A segment, or its ".partial": what begins with a segment's page header. */
static bool
repoArchiveIsSegment(const char *name)
{
	size_t		len = strlen(name);

	return len == WAL_NAME_LEN ||
		(len == WAL_NAME_LEN + strlen(".partial") &&
		 strcmp(name + WAL_NAME_LEN, ".partial") == 0);
}

/* Fill buf from the object: fewer than len bytes only at its end. */
static ssize_t
repoArchiveFill(RepoObjectRead *read, char *buf, size_t len, DrError *err)
{
	size_t		got = 0;

	while (got < len)
	{
		ssize_t		n = repoObjectRead(read, buf + got, len - got, err);

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += n;
	}
	return (ssize_t) got;
}

bool
repoArchiveRead(Repo *repo, const char *name, const RepoArchiveExpect *expect,
				CodecSink sink, CodecResult *result, DrError *err)
{
	const char *what = repoArchiveIsSegment(name) ? "WAL segment" : "WAL file";
	char	   *path;
	RepoObjectRead *read;
	CodecResult local;
	char	   *buf;
	bool		first = true;
	bool		bound;
	uint32		segSize = expect->segSize;

	path = repoArchiveWalPath(name, err);
	if (path == NULL)
		return false;
	read = repoObjectReadBegin(repo, path, err);
	pfree(path);
	if (read == NULL)
	{
		if (err->code == DR_ERR_NOT_FOUND)
			drErrorSet(err, DR_ERR_NOT_FOUND,
					   "%s %s is missing from the archive", what, name);
		else
			drErrorPrefix(err, "%s %s is damaged: ", what, name);
		return false;
	}

	buf = palloc(ARCHIVE_READ_BUFFER);
	for (;;)
	{
		ssize_t		n = repoArchiveFill(read, buf, ARCHIVE_READ_BUFFER, err);

		if (n < 0)
		{
			drErrorPrefix(err, "%s %s is damaged: ", what, name);
			goto fail;
		}
		if (first)
		{
			/*
			 * The page header first: a segment copied to another's name
			 * is reported as the segment it is, which tells more than its
			 * binding can.
			 */
			if (repoArchiveIsSegment(name))
			{
				if (!walSegmentHeaderCheck(name, buf, n, segSize,
										   expect->systemIdentifier, NULL, err))
					goto fail;
				if (segSize == 0)
					segSize = ((XLogLongPageHeader) buf)->xlp_seg_size;
			}
			if (!repoObjectReadBindingCheck(read, name, &bound, err))
			{
				drErrorPrefix(err, "%s %s is not the file of that name: ",
							  what, name);
				goto fail;
			}
			first = false;
		}
		if (n == 0)
			break;
		if (sink.write != NULL && !sink.write(sink.arg, buf, n, err))
			goto fail;
		/* a short fill ended with the decoder's verified end */
		if ((size_t) n < ARCHIVE_READ_BUFFER)
			break;
	}
	pfree(buf);

	/* End frees the handle whatever it returns */
	if (!repoObjectReadEnd(read, result ? result : &local, err))
	{
		drErrorPrefix(err, "%s %s is damaged: ", what, name);
		return false;
	}
	if (!result)
		result = &local;
	if (repoArchiveIsSegment(name) && result->rawSize != segSize)
		return drErrorSet(err, DR_ERR_CORRUPT,
						  "%s %s holds " UINT64_FORMAT " bytes, not a segment of %u bytes",
						  what, name, result->rawSize, segSize);
	return true;

fail:
	pfree(buf);
	repoObjectReadFree(read);
	return false;
}

/* A CodecSink into a growing buffer of at most maxLen bytes. */
typedef struct RepoArchiveBuffer
{
	char	   *data;
	size_t		len;
	size_t		size;
	size_t		maxLen;
	const char *name;
} RepoArchiveBuffer;

static bool
repoArchiveBufferWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	RepoArchiveBuffer *b = arg;

	if (len > b->maxLen - b->len)
		return drErrorSet(err, DR_ERR_INVALID,
						  "WAL file %s is larger than %zu bytes", b->name,
						  b->maxLen);
	if (b->len + len + 1 > b->size)
	{
		b->size = Max(b->size * 2, b->len + len + 1);
		b->data = repalloc(b->data, b->size);
	}
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	return true;
}

char *
repoArchiveGetBuffer(Repo *repo, const char *name, size_t *len, size_t maxLen,
					 DrError *err)
{
	RepoArchiveExpect expect = {0};
	RepoArchiveBuffer b;
	CodecSink sink;

	b.size = 1024;
	b.data = palloc(b.size);
	b.len = 0;
	b.maxLen = maxLen;
	b.name = name;
	sink.write = repoArchiveBufferWrite;
	sink.arg = &b;
	if (!repoArchiveRead(repo, name, &expect, sink, NULL, err))
	{
		pfree(b.data);
		return NULL;
	}
	b.data[b.len] = '\0';
	*len = b.len;
	return b.data;
}

/*
 * The iterator over archive/wal (repoArchiveIterOpen).  Two paged
 * listings at most are open: the top of the archive, and the log
 * directory whose entry the top listing returned last.  Names are read
 * here only; nothing is opened.
 */

/* "<tli><log>": the name of a log directory */
#define ARCHIVE_DIR_LEN			16
/* The smallest segment size: names valid for any size parse with it. */
#define ARCHIVE_SEGSIZE_ANY		(1024 * 1024)
/* The kinds found in a log directory */
#define ARCHIVE_IN_DIR	(REPO_ARCHIVE_SEGMENT | REPO_ARCHIVE_PARTIAL | \
						 REPO_ARCHIVE_BACKUP | REPO_ARCHIVE_UNKNOWN | \
						 REPO_ARCHIVE_SUMMARY)

/*
 * A filter pinned to one timeline and a range of segments spanning at most
 * this many log directories, asking for no entry of the top, goes to the
 * directories by name: the top of the archive is not listed.
 */
#define ARCHIVE_DIRECT_MAX		16

struct RepoArchiveIter
{
	Storage    *storage;
	RepoArchiveIterParam param;
	StorageListParam listParam;
	StorageList *top;			/* NULL when going to directories by name */
	uint64		nextLog;		/* by name: the next directory's log */
	uint64		lastLog;		/* by name: the last one */
	StorageList *sub;			/* the log directory being listed, or NULL */
	char		dir[ARCHIVE_DIR_LEN + 1];	/* its name */
	char	   *path;			/* of the entry returned last */
	RepoArchiveEntry entry;
};

/* Segments of one log directory */
static uint64
repoArchiveSegsPerLog(uint32 segSize)
{
	return UINT64CONST(0x100000000) / segSize;
}

/* A segment name, parsed with the iterator's size (or any size). */
static bool
repoArchiveSegmentParse(const RepoArchiveIter *iter, const char *name,
						uint32 *tli, uint64 *segno)
{
	uint32		segSize = iter->param.segSize ? iter->param.segSize :
		ARCHIVE_SEGSIZE_ANY;

	if (!walSegmentNameParse(name, segSize, tli, segno))
		return false;
	if (iter->param.segSize == 0)
		*segno = 0;
	return true;
}

/* Whether the filter's timelines include tli. */
static bool
repoArchiveTliWanted(const RepoArchiveIterParam *param, uint32 tli)
{
	return (param->tliMin == 0 || tli >= param->tliMin) &&
		(param->tliMax == 0 || tli <= param->tliMax);
}

/* Whether the filter's segment range meets [first, last]. */
static bool
repoArchiveSegWanted(const RepoArchiveIterParam *param, uint64 first,
					 uint64 last)
{
	if (param->segSize == 0)
		return true;
	return last >= param->segFrom &&
		(param->segTo == 0 || first <= param->segTo);
}

/* Kind of a name at the top of archive/wal; tli and segno set for it. */
static RepoArchiveKind
repoArchiveTopKind(const RepoArchiveIter *iter, const StorageInfo *info,
				   uint32 *tli, uint64 *segno)
{
	if (info->isDir)
	{
		char		probe[WAL_NAME_LEN + 1];

		if (strlen(info->name) != ARCHIVE_DIR_LEN)
			return REPO_ARCHIVE_UNKNOWN;
		snprintf(probe, sizeof(probe), "%s00000000", info->name);
		if (!repoArchiveSegmentParse(iter, probe, tli, segno))
			return REPO_ARCHIVE_UNKNOWN;
		return REPO_ARCHIVE_DIR;
	}
	if (walHistoryNameParse(info->name, tli))
		return REPO_ARCHIVE_HISTORY;
	return REPO_ARCHIVE_UNKNOWN;
}

/* Kind of a name in log directory iter->dir; tli and segno set for it. */
static RepoArchiveKind
repoArchiveDirKind(const RepoArchiveIter *iter, const StorageInfo *info,
				   uint32 *tli, uint64 *segno)
{
	char		segment[WAL_NAME_LEN + 1];
	const char *rest;
	RepoArchiveKind kind;

	if (info->isDir || strlen(info->name) < WAL_NAME_LEN ||
		strncmp(info->name, iter->dir, ARCHIVE_DIR_LEN) != 0)
		return REPO_ARCHIVE_UNKNOWN;
	rest = info->name + WAL_NAME_LEN;
	if (rest[0] == '\0')
		kind = REPO_ARCHIVE_SEGMENT;
	else if (strcmp(rest, ".partial") == 0)
		kind = REPO_ARCHIVE_PARTIAL;
	else if (strcmp(rest, ".summary") == 0)
		kind = REPO_ARCHIVE_SUMMARY;
	else if (strlen(rest) == 16 && rest[0] == '.' &&
			 hexIs(rest + 1, 8, HEX_UPPER) && strcmp(rest + 9, ".backup") == 0)
		kind = REPO_ARCHIVE_BACKUP;
	else
		return REPO_ARCHIVE_UNKNOWN;
	memcpy(segment, info->name, WAL_NAME_LEN);
	segment[WAL_NAME_LEN] = '\0';
	if (!repoArchiveSegmentParse(iter, segment, tli, segno))
		return REPO_ARCHIVE_UNKNOWN;
	return kind;
}

char *
repoArchiveSummaryPath(const char *segment, DrError *err)
{
	if (strlen(segment) != WAL_NAME_LEN || !hexIs(segment, WAL_NAME_LEN, HEX_UPPER))
	{
		drErrorSet(err, DR_ERR_INVALID, "\"%s\" is not the name of a WAL segment",
				   segment);
		return NULL;
	}
	return psprintf("%s/%.*s/%s.summary", REPO_ARCHIVE_WAL_DIR, ARCHIVE_DIR_LEN,
					segment, segment);
}

/* Make iter->entry the entry of info, in dir (NULL: the top). */
static void
repoArchiveEntrySet(RepoArchiveIter *iter, const StorageInfo *info,
					const char *dir, RepoArchiveKind kind, uint32 tli,
					uint64 segno)
{
	RepoArchiveEntry *entry = &iter->entry;

	if (iter->path)
		pfree(iter->path);
	iter->path = dir ?
		psprintf("%s/%s/%s", REPO_ARCHIVE_WAL_DIR, dir, info->name) :
		psprintf("%s/%s", REPO_ARCHIVE_WAL_DIR, info->name);
	memset(entry, 0, sizeof(*entry));
	entry->kind = kind;
	entry->name = info->name;
	entry->path = iter->path;
	entry->dir = dir;
	entry->isDir = info->isDir;
	if (kind != REPO_ARCHIVE_UNKNOWN)
	{
		entry->tli = tli;
		entry->segno = segno;
	}
	entry->size = info->size;
	entry->mtime = info->mtime;
}

RepoArchiveIter *
repoArchiveIterOpen(Repo *repo, const RepoArchiveIterParam *param,
					DrError *err)
{
	RepoArchiveIter *iter;
	RepoArchiveIterParam all = {0};

	if (param == NULL)
		param = &all;
	if (param->segSize != 0 && !walSegmentSizeValid(param->segSize))
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "invalid WAL segment size for listing the archive: %u bytes",
				   param->segSize);
		return NULL;
	}
	if (param->segSize == 0 && (param->segFrom != 0 || param->segTo != 0))
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "a range of WAL segments of the archive needs the segment size");
		return NULL;
	}
	if ((param->tliMax != 0 && param->tliMin > param->tliMax) ||
		(param->segTo != 0 && param->segFrom > param->segTo))
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "the range to list of the archive is empty (it ends before it begins)");
		return NULL;
	}

	iter = palloc0(sizeof(RepoArchiveIter));
	iter->storage = repoStorage(repo);
	iter->param = *param;
	if (iter->param.kinds == 0)
		iter->param.kinds = REPO_ARCHIVE_ALL;
	iter->listParam.pageSize = param->pageSize;
	if (!(iter->param.kinds & (REPO_ARCHIVE_DIR | REPO_ARCHIVE_HISTORY |
							   REPO_ARCHIVE_UNKNOWN)) &&
		param->tliMin != 0 && param->tliMin == param->tliMax &&
		param->segSize != 0 && param->segTo != 0 &&
		param->segTo / repoArchiveSegsPerLog(param->segSize) -
		param->segFrom / repoArchiveSegsPerLog(param->segSize) <
		ARCHIVE_DIRECT_MAX)
	{
		iter->nextLog = param->segFrom / repoArchiveSegsPerLog(param->segSize);
		iter->lastLog = param->segTo / repoArchiveSegsPerLog(param->segSize);
		/* no directory has a greater log (its name has 8 hex digits) */
		iter->lastLog = Min(iter->lastLog, (uint64) PG_UINT32_MAX);
		return iter;
	}
	iter->top = storageListOpen(iter->storage, REPO_ARCHIVE_WAL_DIR,
								&iter->listParam, err);
	if (iter->top == NULL)
	{
		pfree(iter);
		return NULL;
	}
	return iter;
}

bool
repoArchiveIterNext(RepoArchiveIter *iter, const RepoArchiveEntry **entry,
					DrError *err)
{
	const RepoArchiveIterParam *param = &iter->param;
	const StorageInfo *info;
	RepoArchiveKind kind;
	uint32		tli = 0;
	uint64		segno = 0;

	*entry = NULL;
	for (;;)
	{
		/* the files of the log directory returned last */
		if (iter->sub)
		{
			if (!storageListNext(iter->sub, &info, err))
				return false;
			if (info == NULL)
			{
				storageListClose(iter->sub);
				iter->sub = NULL;
				continue;
			}
			kind = repoArchiveDirKind(iter, info, &tli, &segno);
			if (!(param->kinds & kind))
				continue;
			if (kind != REPO_ARCHIVE_UNKNOWN &&
				(!repoArchiveTliWanted(param, tli) ||
				 !repoArchiveSegWanted(param, segno, segno)))
				continue;
			repoArchiveEntrySet(iter, info, iter->dir, kind, tli, segno);
			*entry = &iter->entry;
			return true;
		}

		if (iter->top == NULL)
		{
			char	   *path;

			/* by name: a directory that is not there lists nothing */
			if (iter->nextLog > iter->lastLog)
				return true;	/* the end */
			snprintf(iter->dir, sizeof(iter->dir), "%08X%08X",
					 param->tliMin, (uint32) iter->nextLog++);
			path = psprintf("%s/%s", REPO_ARCHIVE_WAL_DIR, iter->dir);
			iter->sub = storageListOpen(iter->storage, path, &iter->listParam,
										err);
			pfree(path);
			if (iter->sub == NULL)
				return false;
			continue;
		}
		if (!storageListNext(iter->top, &info, err))
			return false;
		if (info == NULL)
			return true;		/* the end */
		kind = repoArchiveTopKind(iter, info, &tli, &segno);
		if (kind == REPO_ARCHIVE_DIR)
		{
			uint64		last = param->segSize ?
				segno + repoArchiveSegsPerLog(param->segSize) - 1 : 0;

			if (!repoArchiveTliWanted(param, tli) ||
				!repoArchiveSegWanted(param, segno, last))
				continue;		/* not even listed */
			if (param->kinds & ARCHIVE_IN_DIR)
			{
				char	   *path = psprintf("%s/%s", REPO_ARCHIVE_WAL_DIR,
											info->name);

				strlcpy(iter->dir, info->name, sizeof(iter->dir));
				iter->sub = storageListOpen(iter->storage, path,
											&iter->listParam, err);
				pfree(path);
				if (iter->sub == NULL)
					return false;
			}
			if (!(param->kinds & REPO_ARCHIVE_DIR))
				continue;
		}
		else if (!(param->kinds & kind) ||
				 (kind == REPO_ARCHIVE_HISTORY &&
				  !repoArchiveTliWanted(param, tli)))
			continue;
		repoArchiveEntrySet(iter, info, NULL, kind, tli, segno);
		*entry = &iter->entry;
		return true;
	}
}

void
repoArchiveIterClose(RepoArchiveIter *iter)
{
	if (iter == NULL)
		return;
	storageListClose(iter->sub);
	storageListClose(iter->top);
	if (iter->path)
		pfree(iter->path);
	pfree(iter);
}
