/*-------------------------------------------------------------------------
 * wal_summarize.c
 *	  The WAL decoder behind WAL summaries: PostgreSQL's xlogreader over
 *	  whole segments, read from pg_wal or from the repository's archive,
 *	  each record's block references and relation-level events gathered
 *	  into a WalSummary (wal_summary.h).
 *
 * The reader keeps the last two segments it read in memory (a record that
 * crosses a segment boundary reads the two in turn).  What a record means
 * for the summary:
 *	 - every block reference (XLogRecGetBlockTagExtended): that block;
 *	 - XLOG_SMGR_CREATE: the fork was created (its relfilenode may have
 *	   been another relation's in the parent);
 *	 - XLOG_SMGR_TRUNCATE: the main fork's limit block (the map forks are
 *	   never vouched for anyway);
 *	 - commit and abort records with dropped relations: limit 0 on every
 *	   fork of each;
 *	 - XLOG_DBASE_CREATE_* and XLOG_DBASE_DROP: the whole database
 *	   directory (CREATE DATABASE ... STRATEGY FILE_COPY copies files
 *	   without WAL);
 *	 - XLOG_PARAMETER_CHANGE: not vouched.  The record does not say what
 *	   the parameters were before, so a change of wal_level cannot be
 *	   told from another change; the record is written only at a restart
 *	   that changed one of them, so the cost is a full read once.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogreader.h"
#include "access/xlogrecord.h"
#include "catalog/pg_control.h"
#include "catalog/storage_xlog.h"
#include "commands/dbcommands_xlog.h"
#include "storage/fd.h"

#include "archive/wal_summarize.h"
#include "repo/repo_archive.h"

/* One segment in memory. */
typedef struct SumSegment
{
	bool		valid;
	uint64		segno;
	char	   *data;			/* segSize bytes */
	uint64		used;			/* for the choice of which to replace */
} SumSegment;

typedef struct SumState
{
	const WalSummarizeParam *param;
	SumSegment	segs[2];
	uint64		clock;
	DrError		loadErr;		/* why a segment could not be had */
	bool		loadFailed;
} SumState;

typedef struct SumBuffer
{
	char	   *data;
	uint64		size;
	uint64		len;
} SumBuffer;

static bool
sumBufferWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	SumBuffer  *b = arg;

	if (b->len + len > b->size)
		return drErrorSet(err, DR_ERR_CORRUPT, "archived segment is longer than %llu bytes",
						  (unsigned long long) b->size);
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	return true;
}

/* Segment segno from pg_wal; DR_ERR_NOT_FOUND when it is not there. */
static bool
sumLoadLocal(const WalSummarizeParam *p, uint64 segno, char *buf, DrError *err)
{
	char		name[MAXFNAMELEN];
	char		path[MAXPGPATH];
	int			fd;
	uint64		done = 0;

	XLogFileName(name, p->tli, segno, p->segSize);
	snprintf(path, sizeof(path), XLOGDIR "/%s", name);
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return drErrorSet(err, errno == ENOENT ? DR_ERR_NOT_FOUND : DR_ERR_IO,
						  "could not open file \"%s\": %m", path);
	while (done < p->segSize)
	{
		ssize_t		n = pg_pread(fd, buf + done, p->segSize - done, (off_t) done);

		if (n <= 0)
		{
			int			save = errno;

			CloseTransientFile(fd);
			errno = save;
			if (n == 0)
				return drErrorSet(err, DR_ERR_NOT_FOUND, "file \"%s\" is shorter than a segment",
								  path);
			return drErrorSet(err, DR_ERR_IO, "could not read file \"%s\": %m", path);
		}
		done += n;
	}
	CloseTransientFile(fd);
	return true;
}

/* Segment segno from the archive, checked to be that segment. */
static bool
sumLoadArchive(const WalSummarizeParam *p, uint64 segno, char *buf, DrError *err)
{
	char		name[MAXFNAMELEN];
	RepoArchiveExpect expect;
	SumBuffer	b = {buf, p->segSize, 0};
	CodecSink	sink = {sumBufferWrite, &b};

	XLogFileName(name, p->tli, segno, p->segSize);
	expect.segSize = p->segSize;
	expect.systemIdentifier = p->systemIdentifier;
	return repoArchiveRead(p->repo, name, &expect, sink, NULL, err);
}

static bool
sumLoad(SumState *st, uint64 segno, char *buf, DrError *err)
{
	const WalSummarizeParam *p = st->param;

	if (p->localFirst && sumLoadLocal(p, segno, buf, err))
		return true;
	if (p->localFirst && err->code != DR_ERR_NOT_FOUND)
		return false;
	if (p->repo != NULL)
		return sumLoadArchive(p, segno, buf, err);
	return p->localFirst ? false :
		drErrorSet(err, DR_ERR_NOT_FOUND, "no place to read WAL from");
}

/* The xlogreader's page reader: one page of a segment held in memory. */
static int
sumPageRead(XLogReaderState *reader, XLogRecPtr targetPagePtr, int reqLen,
			XLogRecPtr targetRecPtr, char *readBuf)
{
	SumState   *st = reader->private_data;
	uint32		segSize = st->param->segSize;
	XLogSegNo	segno;
	SumSegment *seg = NULL;

	XLByteToSeg(targetPagePtr, segno, segSize);
	for (int i = 0; i < 2; i++)
		if (st->segs[i].valid && st->segs[i].segno == segno)
			seg = &st->segs[i];
	if (seg == NULL)
	{
		/* replace the one used least recently */
		seg = st->segs[0].used <= st->segs[1].used ? &st->segs[0] : &st->segs[1];
		seg->valid = false;
		if (seg->data == NULL)
			seg->data = palloc(segSize);
		if (!sumLoad(st, segno, seg->data, &st->loadErr))
		{
			st->loadFailed = true;
			return XLREAD_FAIL;
		}
		seg->valid = true;
		seg->segno = segno;
	}
	seg->used = ++st->clock;
	memcpy(readBuf, seg->data + XLogSegmentOffset(targetPagePtr, segSize),
		   XLOG_BLCKSZ);
	reader->seg.ws_tli = st->param->tli;
	reader->seg.ws_segno = segno;
	return XLOG_BLCKSZ;
}

static void
sumKey(WalSummaryKey *key, const RelFileNode *rnode, ForkNumber fork)
{
	key->spcOid = rnode->spcNode;
	key->dbOid = rnode->dbNode;
	key->relNumber = rnode->relNode;
	key->fork = (uint8) fork;
}

/* Every fork of each dropped relation: limit 0. */
static void
sumDropped(WalSummaryBuilder *b, const RelFileNode *nodes, int nrels)
{
	for (int i = 0; i < nrels; i++)
		for (ForkNumber fork = 0; fork <= MAX_FORKNUM; fork++)
		{
			WalSummaryKey key;

			sumKey(&key, &nodes[i], fork);
			walSummaryAddLimit(b, &key, 0);
		}
}

/* What one record means for the summary. */
static void
sumRecord(XLogReaderState *reader, WalSummaryBuilder *b)
{
	RmgrId		rmid = XLogRecGetRmid(reader);
	uint8		info = XLogRecGetInfo(reader) & ~XLR_INFO_MASK;
	char	   *data = XLogRecGetData(reader);

	for (int id = 0; id <= XLogRecMaxBlockId(reader); id++)
	{
		RelFileNode rnode;
		ForkNumber	fork;
		BlockNumber block;
		WalSummaryKey key;

		if (!XLogRecGetBlockTagExtended(reader, id, &rnode, &fork, &block, NULL))
			continue;
		sumKey(&key, &rnode, fork);
		walSummaryAddBlock(b, &key, block);
	}

	if (rmid == RM_SMGR_ID && info == XLOG_SMGR_CREATE)
	{
		xl_smgr_create *xlrec = (xl_smgr_create *) data;
		WalSummaryKey key;

		sumKey(&key, &xlrec->rnode, xlrec->forkNum);
		walSummaryAddCreate(b, &key);
	}
	else if (rmid == RM_SMGR_ID && info == XLOG_SMGR_TRUNCATE)
	{
		xl_smgr_truncate *xlrec = (xl_smgr_truncate *) data;
		WalSummaryKey key;

		if (xlrec->flags & SMGR_TRUNCATE_HEAP)
		{
			sumKey(&key, &xlrec->rnode, MAIN_FORKNUM);
			walSummaryAddLimit(b, &key, xlrec->blkno);
		}
		/* the maps are truncated to a length of their own: any block */
		if (xlrec->flags & SMGR_TRUNCATE_FSM)
		{
			sumKey(&key, &xlrec->rnode, FSM_FORKNUM);
			walSummaryAddLimit(b, &key, 0);
		}
		if (xlrec->flags & SMGR_TRUNCATE_VM)
		{
			sumKey(&key, &xlrec->rnode, VISIBILITYMAP_FORKNUM);
			walSummaryAddLimit(b, &key, 0);
		}
	}
	else if (rmid == RM_XACT_ID)
	{
		uint8		op = info & XLOG_XACT_OPMASK;

		if (op == XLOG_XACT_COMMIT || op == XLOG_XACT_COMMIT_PREPARED)
		{
			xl_xact_parsed_commit parsed;

			ParseCommitRecord(XLogRecGetInfo(reader), (xl_xact_commit *) data,
							  &parsed);
			sumDropped(b, parsed.xnodes, parsed.nrels);
		}
		else if (op == XLOG_XACT_ABORT || op == XLOG_XACT_ABORT_PREPARED)
		{
			xl_xact_parsed_abort parsed;

			ParseAbortRecord(XLogRecGetInfo(reader), (xl_xact_abort *) data,
							 &parsed);
			sumDropped(b, parsed.xnodes, parsed.nrels);
		}
	}
	else if (rmid == RM_DBASE_ID)
	{
		if (info == XLOG_DBASE_CREATE_FILE_COPY)
		{
			xl_dbase_create_file_copy_rec *xlrec = (xl_dbase_create_file_copy_rec *) data;

			walSummaryAddDatabase(b, xlrec->tablespace_id, xlrec->db_id);
		}
		else if (info == XLOG_DBASE_CREATE_WAL_LOG)
		{
			xl_dbase_create_wal_log_rec *xlrec = (xl_dbase_create_wal_log_rec *) data;

			walSummaryAddDatabase(b, xlrec->tablespace_id, xlrec->db_id);
		}
		else if (info == XLOG_DBASE_DROP)
		{
			xl_dbase_drop_rec *xlrec = (xl_dbase_drop_rec *) data;

			for (int i = 0; i < xlrec->ntablespaces; i++)
				walSummaryAddDatabase(b, xlrec->tablespace_ids[i], xlrec->db_id);
		}
	}
	else if (rmid == RM_XLOG_ID && info == XLOG_PARAMETER_CHANGE)
		walSummaryNotVouched(b, "a parameter change (wal_level may have changed)");
}

/* The records of [start, stopLsn) through reader; see walSummarize. */
static WalSummary *
sumRead(XLogReaderState *reader, SumState *st, DrError *err)
{
	const WalSummarizeParam *param = st->param;
	WalSummaryBuilder *b;
	XLogRecPtr	start = param->startLsn;
	XLogRecPtr	end;

	if (start == InvalidXLogRecPtr)
	{
		XLogRecPtr	segStart;

		XLogSegNoOffsetToRecPtr(param->firstSegno, 0, param->segSize, segStart);
		start = XLogFindNextRecord(reader, segStart);
		if (start == InvalidXLogRecPtr)
		{
			if (st->loadFailed)
			{
				*err = st->loadErr;
				return NULL;
			}
			/* nothing decodes in that segment: not vouched */
			b = walSummaryBuilderNew(param->tli, segStart);
			walSummaryNotVouched(b, "no record could be found in the segment");
			return walSummaryBuilderEnd(b, Max(segStart, param->stopLsn));
		}
	}
	b = walSummaryBuilderNew(param->tli, start);
	end = start;
	if (start < param->stopLsn)
	{
		XLogBeginRead(reader, start);
		for (;;)
		{
			char	   *errormsg = NULL;
			XLogRecord *record = XLogReadRecord(reader, &errormsg);

			if (record == NULL)
			{
				if (st->loadFailed)
				{
					*err = st->loadErr;
					return NULL;
				}
				walSummaryNotVouched(b, errormsg ? errormsg :
									 "a record could not be read");
				end = param->stopLsn;
				break;
			}
			if (reader->ReadRecPtr >= param->stopLsn)
			{
				end = reader->ReadRecPtr;
				break;
			}
			sumRecord(reader, b);
			end = reader->EndRecPtr;
			if (end >= param->stopLsn)
				break;
		}
	}
	return walSummaryBuilderEnd(b, end);
}

WalSummary *
walSummarize(const WalSummarizeParam *param, DrError *err)
{
	SumState	st;
	XLogReaderState *reader;
	WalSummary *volatile result = NULL;

	memset(&st, 0, sizeof(st));
	st.param = param;
	reader = XLogReaderAllocate(param->segSize, NULL,
								XL_ROUTINE(.page_read = sumPageRead,
										   .segment_open = NULL,
										   .segment_close = NULL),
								&st);
	if (reader == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed while allocating a WAL reading processor.")));

	/* the reader and the segments (32 MB) go whatever happens */
	PG_TRY();
	{
		result = sumRead(reader, &st, err);
	}
	PG_FINALLY();
	{
		XLogReaderFree(reader);
		for (int i = 0; i < 2; i++)
			if (st.segs[i].data)
				pfree(st.segs[i].data);
	}
	PG_END_TRY();
	return result;
}
