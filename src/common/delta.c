/*-------------------------------------------------------------------------
 * delta.c
 *	  Block deltas (format in delta.h): a streaming writer and a strict
 *	  streaming reader.
 *
 * The reader checks everything restore relies on before a page is
 * applied: the magic, a block size PostgreSQL can have, a base (PGDRDLT2)
 * of at least one page that fits in the file, block numbers
 * strictly ascending and each page wholly inside fileSize (a page past it
 * would make the restored file longer than the manifest says), the count
 * in the end record, and nothing after it.  Reading on to the end of the
 * input matters: for an encoded object, only the end verifies the content
 * (codec.h).  The writer refuses what the reader would refuse.
 *
 * Memory: one page and a read buffer.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/delta.h"

/* Bytes taken from the read function at a time. */
#define DELTA_READ_BUFFER		(64 * 1024)

#define DELTA_BLOCK_SIZE_MIN	1024
#define DELTA_BLOCK_SIZE_MAX	32768

struct DeltaWriter
{
	DeltaWriteFn fn;
	void	   *arg;
	uint32		blockSize;
	uint64		fileSize;
	int64		lastBlock;		/* -1 before the first page */
	uint32		count;
	bool		failed;
	bool		ended;
};

struct DeltaReader
{
	DeltaReadFn fn;
	void	   *arg;
	uint32		blockSize;
	uint64		fileSize;
	uint32		baseBlocks;
	int64		lastBlock;
	uint32		count;
	bool		done;			/* valid end record seen */
	bool		failed;
	bool		eof;
	char	   *page;
	char	   *buf;
	size_t		bufLen;
	size_t		bufPos;
};

static inline void
deltaPutLe32(uint8 *p, uint32 v)
{
	p[0] = (uint8) v;
	p[1] = (uint8) (v >> 8);
	p[2] = (uint8) (v >> 16);
	p[3] = (uint8) (v >> 24);
}

static inline uint32
deltaGetLe32(const uint8 *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) |
		((uint32) p[2] << 16) | ((uint32) p[3] << 24);
}

static bool
deltaBlockSizeValid(uint32 blockSize)
{
	return blockSize >= DELTA_BLOCK_SIZE_MIN &&
		blockSize <= DELTA_BLOCK_SIZE_MAX &&
		(blockSize & (blockSize - 1)) == 0;
}

/* Does page blockno lie wholly inside the file? */
static bool
deltaPageInside(uint32 blockno, uint32 blockSize, uint64 fileSize)
{
	return ((uint64) blockno + 1) * blockSize <= fileSize;
}

/* ---------------------------------------------------------------------
 * Writer
 * ---------------------------------------------------------------------
 */

DeltaWriter *
deltaWriterNew(DeltaWriteFn fn, void *arg, uint32 blockSize, uint64 fileSize,
			   DrError *err)
{
	return deltaWriterNewBase(fn, arg, blockSize, fileSize, 0, err);
}

DeltaWriter *
deltaWriterNewBase(DeltaWriteFn fn, void *arg, uint32 blockSize,
				   uint64 fileSize, uint32 baseBlocks, DrError *err)
{
	DeltaWriter *writer;
	uint8		header[DELTA_HEADER_SIZE + 4];
	size_t		headerSize = DELTA_HEADER_SIZE;

	if (!deltaBlockSizeValid(blockSize))
	{
		drErrorSet(err, DR_ERR_INVALID, "invalid delta block size %u", blockSize);
		return NULL;
	}
	if ((uint64) baseBlocks * blockSize > fileSize)
	{
		drErrorSet(err, DR_ERR_INVALID,
				   "delta base of %u pages does not fit in the file size " UINT64_FORMAT,
				   baseBlocks, fileSize);
		return NULL;
	}

	memcpy(header, baseBlocks > 0 ? DELTA_MAGIC_BASE : DELTA_MAGIC, 8);
	deltaPutLe32(header + 8, blockSize);
	deltaPutLe32(header + 12, (uint32) fileSize);
	deltaPutLe32(header + 16, (uint32) (fileSize >> 32));
	if (baseBlocks > 0)
	{
		deltaPutLe32(header + DELTA_HEADER_SIZE, baseBlocks);
		headerSize += 4;
	}
	if (!fn(arg, header, headerSize, err))
		return NULL;

	writer = palloc0(sizeof(DeltaWriter));
	writer->fn = fn;
	writer->arg = arg;
	writer->blockSize = blockSize;
	writer->fileSize = fileSize;
	writer->lastBlock = -1;
	return writer;
}

bool
deltaWritePage(DeltaWriter *writer, uint32 blockno, const void *page,
			   DrError *err)
{
	uint8		head[4];

	if (writer->failed || writer->ended)
		return drErrorSet(err, DR_ERR_INVALID,
						  "delta writer cannot take a page after %s",
						  writer->failed ? "a failure" : "its end");
	if (blockno == DELTA_END_BLOCK || (int64) blockno <= writer->lastBlock)
		return drErrorSet(err, DR_ERR_INVALID,
						  "delta page %u is not after page " INT64_FORMAT ": pages must be written in strictly ascending order",
						  blockno, writer->lastBlock);
	if (!deltaPageInside(blockno, writer->blockSize, writer->fileSize))
		return drErrorSet(err, DR_ERR_INVALID,
						  "delta page %u lies past the file size " UINT64_FORMAT,
						  blockno, writer->fileSize);

	deltaPutLe32(head, blockno);
	if (!writer->fn(writer->arg, head, sizeof(head), err) ||
		!writer->fn(writer->arg, page, writer->blockSize, err))
	{
		writer->failed = true;
		return false;
	}
	writer->lastBlock = blockno;
	writer->count++;
	return true;
}

bool
deltaWriterEnd(DeltaWriter *writer, uint32 *count, DrError *err)
{
	uint8		end[8];

	if (writer->failed || writer->ended)
		return drErrorSet(err, DR_ERR_INVALID,
						  "delta writer cannot end after %s",
						  writer->failed ? "a failure" : "its end");
	deltaPutLe32(end, DELTA_END_BLOCK);
	deltaPutLe32(end + 4, writer->count);
	if (!writer->fn(writer->arg, end, sizeof(end), err))
	{
		writer->failed = true;
		return false;
	}
	writer->ended = true;
	if (count)
		*count = writer->count;
	return true;
}

void
deltaWriterFree(DeltaWriter *writer)
{
	if (writer)
		pfree(writer);
}

/* ---------------------------------------------------------------------
 * Reader
 * ---------------------------------------------------------------------
 */

static bool deltaCorrupt(DeltaReader *reader, DrError *err,
						 const char *fmt,...) pg_attribute_printf(3, 4);

static bool
deltaCorrupt(DeltaReader *reader, DrError *err, const char *fmt,...)
{
	char		message[256];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	reader->failed = true;
	return drErrorSet(err, DR_ERR_CORRUPT, "block delta is corrupt: %s", message);
}

/*
 * Fill the read buffer.  Returns the bytes now available (0 at the end of
 * the input), -1 on error.
 */
static ssize_t
deltaFill(DeltaReader *reader, DrError *err)
{
	ssize_t		n;

	if (reader->bufPos < reader->bufLen)
		return reader->bufLen - reader->bufPos;
	if (reader->eof)
		return 0;
	n = reader->fn(reader->arg, reader->buf, DELTA_READ_BUFFER, err);
	if (n < 0)
	{
		reader->failed = true;
		return -1;
	}
	if (n == 0)
		reader->eof = true;
	reader->bufLen = n;
	reader->bufPos = 0;
	return n;
}

/* Exactly len bytes, or an error (a short input is a truncated delta). */
static bool
deltaReadExact(DeltaReader *reader, void *dst, size_t len, DrError *err)
{
	char	   *out = dst;

	while (len > 0)
	{
		ssize_t		avail = deltaFill(reader, err);
		size_t		take;

		if (avail < 0)
			return false;
		if (avail == 0)
			return deltaCorrupt(reader, err, "truncated");
		take = Min(len, (size_t) avail);
		memcpy(out, reader->buf + reader->bufPos, take);
		reader->bufPos += take;
		out += take;
		len -= take;
	}
	return true;
}

DeltaReader *
deltaReaderNew(DeltaReadFn fn, void *arg, DrError *err)
{
	DeltaReader *reader = palloc0(sizeof(DeltaReader));
	uint8		header[DELTA_HEADER_SIZE];

	reader->fn = fn;
	reader->arg = arg;
	reader->lastBlock = -1;
	reader->buf = palloc(DELTA_READ_BUFFER);

	if (!deltaReadExact(reader, header, sizeof(header), err))
		goto fail;
	if (memcmp(header, DELTA_MAGIC_BASE, 8) == 0)
	{
		uint8		base[4];

		if (!deltaReadExact(reader, base, sizeof(base), err))
			goto fail;
		reader->baseBlocks = deltaGetLe32(base);
		if (reader->baseBlocks == 0)
		{
			deltaCorrupt(reader, err, "a base of 0 pages");
			goto fail;
		}
	}
	else if (memcmp(header, DELTA_MAGIC, 8) != 0)
	{
		deltaCorrupt(reader, err, "bad magic");
		goto fail;
	}
	reader->blockSize = deltaGetLe32(header + 8);
	reader->fileSize = (uint64) deltaGetLe32(header + 12) |
		((uint64) deltaGetLe32(header + 16) << 32);
	if (!deltaBlockSizeValid(reader->blockSize))
	{
		deltaCorrupt(reader, err, "invalid block size %u", reader->blockSize);
		goto fail;
	}
	if ((uint64) reader->baseBlocks * reader->blockSize > reader->fileSize)
	{
		deltaCorrupt(reader, err, "a base of %u pages does not fit in the file size " UINT64_FORMAT,
					 reader->baseBlocks, reader->fileSize);
		goto fail;
	}
	reader->page = palloc(reader->blockSize);
	return reader;

fail:
	deltaReaderFree(reader);
	return NULL;
}

uint32
deltaReaderBlockSize(const DeltaReader *reader)
{
	return reader->blockSize;
}

uint64
deltaReaderFileSize(const DeltaReader *reader)
{
	return reader->fileSize;
}

uint32
deltaReaderBaseBlocks(const DeltaReader *reader)
{
	return reader->baseBlocks;
}

int
deltaReaderNext(DeltaReader *reader, uint32 *blockno, const void **page,
				DrError *err)
{
	uint8		head[4];
	uint32		block;

	if (reader->failed)
	{
		drErrorSet(err, DR_ERR_INVALID, "delta reader failed earlier");
		return -1;
	}
	if (reader->done)
		return 0;

	if (!deltaReadExact(reader, head, sizeof(head), err))
		return -1;
	block = deltaGetLe32(head);

	if (block == DELTA_END_BLOCK)
	{
		uint32		count;
		ssize_t		more;

		if (!deltaReadExact(reader, head, sizeof(head), err))
			return -1;
		count = deltaGetLe32(head);
		if (count != reader->count)
		{
			deltaCorrupt(reader, err, "end record counts %u pages, the delta has %u",
						 count, reader->count);
			return -1;
		}
		/* nothing may follow; reaching the end verifies an encoded object */
		more = deltaFill(reader, err);
		if (more < 0)
			return -1;
		if (more > 0)
		{
			deltaCorrupt(reader, err, "data after the end record");
			return -1;
		}
		reader->done = true;
		return 0;
	}

	if ((int64) block <= reader->lastBlock)
	{
		deltaCorrupt(reader, err, "page %u is not after page " INT64_FORMAT,
					 block, reader->lastBlock);
		return -1;
	}
	if (!deltaPageInside(block, reader->blockSize, reader->fileSize))
	{
		deltaCorrupt(reader, err, "page %u lies past the file size " UINT64_FORMAT,
					 block, reader->fileSize);
		return -1;
	}
	if (!deltaReadExact(reader, reader->page, reader->blockSize, err))
		return -1;
	reader->lastBlock = block;
	reader->count++;
	*blockno = block;
	*page = reader->page;
	return 1;
}

void
deltaReaderFree(DeltaReader *reader)
{
	if (reader == NULL)
		return;
	if (reader->page)
		pfree(reader->page);
	pfree(reader->buf);
	pfree(reader);
}

void
deltaPageXor(void *dst, const void *src, uint32 len)
{
	uint64	   *d = dst;
	const uint64 *s = src;

	Assert(len % sizeof(uint64) == 0);
	for (uint32 i = 0; i < len / sizeof(uint64); i++)
		d[i] ^= s[i];
}
