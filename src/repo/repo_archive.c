/*-------------------------------------------------------------------------
 * repo_archive.c
 *	  Archived WAL files read back and checked (see repo_archive.h).
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
