/*-------------------------------------------------------------------------
 * test_delta.c
 *	  Unit tests of src/common/delta.c: block delta writer and reader.
 *
 * Covers: the byte layout of header, page records and end record; round
 * trip of pages, block numbers, block size and file size, read whole and
 * fed in small chunks; an empty delta; files over 4 GB (the 64-bit file
 * size); the writer's refusals (block sizes, pages repeated, out of order,
 * past the file size or numbered 0xFFFFFFFF, anything after the end or a
 * failed write); the reader's refusals (bad magic, bad block size, every
 * truncation, pages out of order or past the file size, a wrong count,
 * data after the end record) and read errors passed on and sticky;
 * PGDRDLT2 (a base of XORed pages): layout, round trip, base 0 as
 * PGDRDLT1, a base larger than the file refused by writer and reader, a
 * base of 0 pages and a truncated base field refused.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/delta.h"
#include "lib/stringinfo.h"
#include "tap.h"
#include "test_support.h"

#define BLCK	8192

static void
pageFill(char *page, uint32 blockno)
{
	for (int i = 0; i < BLCK; i++)
		page[i] = (char) (blockno * 31 + i);
}

/* A delta of fileSize with pages at blocks[0..count). */
static void
deltaMake(StringInfo out, uint64 fileSize, const uint32 *blocks, int count)
{
	DrError		err;
	DeltaWriter *writer;
	char		page[BLCK];
	uint32		written;

	resetStringInfo(out);
	writer = deltaWriterNew(sbWrite, out, BLCK, fileSize, &err);
	for (int i = 0; i < count; i++)
	{
		pageFill(page, blocks[i]);
		if (!deltaWritePage(writer, blocks[i], page, &err))
			diag("deltaWritePage: %s", err.message);
	}
	if (!deltaWriterEnd(writer, &written, &err))
		diag("deltaWriterEnd: %s", err.message);
	deltaWriterFree(writer);
}

/* Read data to the end: 0 (valid) or -1; pages counted and checked. */
static int
deltaReadAll(const char *data, size_t len, size_t chunk, int *pages,
			 bool *same, DrError *err)
{
	MemReader	src = {data, len, 0, chunk, false};
	DeltaReader *reader;
	int			rc;
	uint32		blockno;
	const void *page;
	char		expect[BLCK];

	*pages = 0;
	*same = true;
	drErrorClear(err);
	reader = deltaReaderNew(memRead, &src, err);
	if (reader == NULL)
		return -1;
	while ((rc = deltaReaderNext(reader, &blockno, &page, err)) == 1)
	{
		pageFill(expect, blockno);
		*same &= memcmp(page, expect, BLCK) == 0;
		(*pages)++;
	}
	deltaReaderFree(reader);
	return rc;
}

static void
putLe32(char *p, uint32 v)
{
	p[0] = (char) v;
	p[1] = (char) (v >> 8);
	p[2] = (char) (v >> 16);
	p[3] = (char) (v >> 24);
}

static void
expectCorrupt(const char *what, const char *data, size_t len, const char *want)
{
	DrError		err;
	int			pages;
	bool		same;

	ok(deltaReadAll(data, len, 0, &pages, &same, &err) == -1 &&
	   err.code == DR_ERR_CORRUPT && strstr(err.message, want) != NULL,
	   "%s: corrupt, \"%s\"", what, want);
	if (err.code != DR_ERR_CORRUPT || strstr(err.message, want) == NULL)
		diag("message: %s", err.message);
}

static void
testRoundTrip(void)
{
	StringInfoData buf;
	uint32		blocks[] = {0, 1, 7, 100, 101};
	DrError		err;
	MemReader	src;
	DeltaReader *reader;
	int			pages;
	bool		same;
	bool		chunksOk = true;
	uint64		bigSize = (uint64) 5 * 1024 * 1024 * 1024;
	uint32		bigBlock = (uint32) (bigSize / BLCK) - 1;

	initStringInfo(&buf);
	deltaMake(&buf, 102 * BLCK, blocks, lengthof(blocks));
	is_int(buf.len, DELTA_HEADER_SIZE + 5 * (4 + BLCK) + 8, "size: header, 5 records, end");
	ok(memcmp(buf.data, "PGDRDLT1", 8) == 0, "magic");
	ok((uint8) buf.data[8] == 0x00 && (uint8) buf.data[9] == 0x20 &&
	   buf.data[10] == 0 && buf.data[11] == 0, "block size, little-endian");
	ok((uint8) buf.data[12] == 0x00 && (uint8) buf.data[13] == 0xC0 &&
	   (uint8) buf.data[14] == 0x0C && buf.data[15] == 0 && buf.data[19] == 0,
	   "file size, 8 bytes little-endian");
	ok(buf.data[DELTA_HEADER_SIZE + 4 + BLCK] == 1, "second record is block 1");
	ok(memcmp(buf.data + buf.len - 8, "\xff\xff\xff\xff\x05\x00\x00\x00", 8) == 0,
	   "end record: 0xFFFFFFFF and the count");

	memset(&src, 0, sizeof(src));
	src.data = buf.data;
	src.len = buf.len;
	reader = deltaReaderNew(memRead, &src, &err);
	ok(reader != NULL && deltaReaderBlockSize(reader) == BLCK &&
	   deltaReaderFileSize(reader) == 102 * BLCK, "reader: block size and file size");
	deltaReaderFree(reader);

	ok(deltaReadAll(buf.data, buf.len, 0, &pages, &same, &err) == 0 && pages == 5 && same,
	   "every page read back");
	for (size_t chunk = 1; chunk < 64; chunk = chunk * 2 + 1)
		chunksOk &= deltaReadAll(buf.data, buf.len, chunk, &pages, &same, &err) == 0 &&
			pages == 5 && same;
	ok(chunksOk, "the same, fed 1, 3, 7 ... 63 bytes at a time");

	/* every truncation is corrupt */
	{
		bool		all = true;

		for (int len = 0; len < buf.len; len += (len < 64 ? 1 : 997))
			all &= deltaReadAll(buf.data, len, 0, &pages, &same, &err) == -1 &&
				err.code == DR_ERR_CORRUPT;
		all &= deltaReadAll(buf.data, buf.len - 1, 0, &pages, &same, &err) == -1;
		ok(all, "truncations are corrupt");
	}

	deltaMake(&buf, 0, NULL, 0);
	ok(buf.len == DELTA_HEADER_SIZE + 8 &&
	   deltaReadAll(buf.data, buf.len, 0, &pages, &same, &err) == 0 && pages == 0,
	   "an empty delta (a file cut to 0 bytes)");

	deltaMake(&buf, bigSize, &bigBlock, 1);
	memset(&src, 0, sizeof(src));
	src.data = buf.data;
	src.len = buf.len;
	reader = deltaReaderNew(memRead, &src, &err);
	ok(reader != NULL && deltaReaderFileSize(reader) == bigSize &&
	   deltaReadAll(buf.data, buf.len, 0, &pages, &same, &err) == 0 && pages == 1 && same,
	   "a 5 GB file, its last page");
	deltaReaderFree(reader);
	pfree(buf.data);
}

static void
testWriterRefusals(void)
{
	StringInfoData buf;
	DeltaWriter *writer;
	DrError		err;
	char		page[BLCK];
	uint32		count;

	memset(page, 0, sizeof(page));
	initStringInfo(&buf);
	ok(deltaWriterNew(sbWrite, &buf, 0, 0, &err) == NULL &&
	   deltaWriterNew(sbWrite, &buf, 1000, 0, &err) == NULL &&
	   deltaWriterNew(sbWrite, &buf, 512, 0, &err) == NULL &&
	   deltaWriterNew(sbWrite, &buf, 65536, 0, &err) == NULL &&
	   err.code == DR_ERR_INVALID && buf.len == 0, "bad block sizes refused");
	writer = deltaWriterNew(sbWrite, &buf, 1024, 0, &err);
	ok(writer != NULL, "1 kB blocks");
	deltaWriterFree(writer);
	resetStringInfo(&buf);

	writer = deltaWriterNew(sbWrite, &buf, BLCK, 10 * BLCK + 100, &err);
	ok(deltaWritePage(writer, 3, page, &err), "page 3");
	ok(!deltaWritePage(writer, 3, page, &err) && err.code == DR_ERR_INVALID,
	   "page 3 again refused");
	ok(!deltaWritePage(writer, 2, page, &err), "page 2 after 3 refused");
	ok(deltaWritePage(writer, 9, page, &err), "page 9, last whole page");
	ok(!deltaWritePage(writer, 10, page, &err) && strstr(err.message, "past the file size"),
	   "page 10, partly past the file size, refused");
	ok(!deltaWritePage(writer, DELTA_END_BLOCK, page, &err), "block 0xFFFFFFFF refused");
	ok(deltaWriterEnd(writer, &count, &err) && count == 2, "end, 2 pages");
	ok(!deltaWritePage(writer, 11, page, &err) && !deltaWriterEnd(writer, &count, &err),
	   "nothing after the end");
	deltaWriterFree(writer);

	failAfter = 2;
	writer = deltaWriterNew(failingWrite, NULL, BLCK, 10 * BLCK, &err);
	ok(writer != NULL && !deltaWritePage(writer, 1, page, &err) && err.code == DR_ERR_IO,
	   "a write failure is passed on");
	ok(!deltaWritePage(writer, 2, page, &err) && !deltaWriterEnd(writer, &count, &err) &&
	   strstr(err.message, "failure"), "nothing after a failed write");
	deltaWriterFree(writer);
	failAfter = 0;
	ok(deltaWriterNew(failingWrite, NULL, BLCK, 0, &err) == NULL && err.code == DR_ERR_IO,
	   "a failure writing the header is passed on");
	pfree(buf.data);
}

static void
testReaderRefusals(void)
{
	StringInfoData buf;
	uint32		blocks[] = {1, 2};
	char	   *copy;
	DrError		err;
	int			pages;
	bool		same;
	const size_t rec = 4 + BLCK;

	initStringInfo(&buf);
	deltaMake(&buf, 4 * BLCK, blocks, 2);
	copy = palloc(buf.len + 16);

	memcpy(copy, buf.data, buf.len);
	copy[0] = 'X';
	expectCorrupt("bad magic", copy, buf.len, "bad magic");

	memcpy(copy, buf.data, buf.len);
	putLe32(copy + 8, 3000);
	expectCorrupt("bad block size", copy, buf.len, "invalid block size 3000");

	memcpy(copy, buf.data, buf.len);
	putLe32(copy + DELTA_HEADER_SIZE + rec, 1);
	expectCorrupt("page repeated", copy, buf.len, "page 1 is not after page 1");

	memcpy(copy, buf.data, buf.len);
	putLe32(copy + DELTA_HEADER_SIZE + rec, 0);
	expectCorrupt("pages out of order", copy, buf.len, "page 0 is not after page 1");

	memcpy(copy, buf.data, buf.len);
	putLe32(copy + DELTA_HEADER_SIZE + rec, 4);
	expectCorrupt("page past the file size", copy, buf.len, "past the file size");

	memcpy(copy, buf.data, buf.len);
	putLe32(copy + buf.len - 4, 3);
	expectCorrupt("wrong count", copy, buf.len, "end record counts 3 pages, the delta has 2");

	memcpy(copy, buf.data, buf.len);
	copy[buf.len] = 0;
	expectCorrupt("data after the end record", copy, buf.len + 1, "data after the end record");

	expectCorrupt("empty", "", 0, "truncated");

	{
		MemReader	src = {buf.data, buf.len - 8, 0, 0, true};
		DeltaReader *reader = deltaReaderNew(memRead, &src, &err);
		uint32		blockno;
		const void *page;

		ok(reader != NULL && deltaReaderNext(reader, &blockno, &page, &err) == 1 &&
		   deltaReaderNext(reader, &blockno, &page, &err) == 1 &&
		   deltaReaderNext(reader, &blockno, &page, &err) == -1 && err.code == DR_ERR_IO,
		   "a read failure is passed on");
		ok(deltaReaderNext(reader, &blockno, &page, &err) == -1 &&
		   strstr(err.message, "failed earlier"), "and the reader stays failed");
		deltaReaderFree(reader);
	}
	ok(deltaReadAll(buf.data, buf.len, 0, &pages, &same, &err) == 0,
	   "the original still reads");
	pfree(copy);
	pfree(buf.data);
}

/* PGDRDLT2: the base of XORed pages, written and read back, or refused. */
static void
testBase(void)
{
	StringInfoData buf;
	DrError		err;
	DeltaWriter *writer;
	DeltaReader *reader;
	MemReader	src;
	char		page[BLCK];
	uint32		blockno;
	const void *got;
	int			pages;
	bool		same;
	char	   *copy;

	initStringInfo(&buf);
	writer = deltaWriterNewBase(sbWrite, &buf, BLCK, 5 * BLCK, 3, &err);
	ok(writer != NULL, "writer with a base of 3 pages of 5");
	pageFill(page, 1);
	ok(deltaWritePage(writer, 1, page, &err), "a page inside the base");
	pageFill(page, 4);
	ok(deltaWritePage(writer, 4, page, &err), "a page past the base");
	ok(deltaWriterEnd(writer, NULL, &err), "end");
	deltaWriterFree(writer);
	ok(buf.len == DELTA_HEADER_SIZE + 4 + 2 * (4 + BLCK) + 8, "header 4 bytes longer");
	ok(memcmp(buf.data, DELTA_MAGIC_BASE, 8) == 0, "magic PGDRDLT2");

	src = (MemReader) {buf.data, buf.len, 0, 3, false};
	reader = deltaReaderNew(memRead, &src, &err);
	ok(reader != NULL && deltaReaderBaseBlocks(reader) == 3 &&
	   deltaReaderFileSize(reader) == 5 * BLCK, "read back: base 3, 5 pages");
	ok(deltaReaderNext(reader, &blockno, &got, &err) == 1 && blockno == 1 &&
	   deltaReaderNext(reader, &blockno, &got, &err) == 1 && blockno == 4 &&
	   deltaReaderNext(reader, &blockno, &got, &err) == 0, "pages 1 and 4, then the end");
	deltaReaderFree(reader);
	ok(deltaReadAll(buf.data, buf.len, 0, &pages, &same, &err) == 0 && pages == 2 && same,
	   "pages read back unchanged (the XOR is the caller's)");

	/* a PGDRDLT1 delta has no base */
	resetStringInfo(&buf);
	writer = deltaWriterNewBase(sbWrite, &buf, BLCK, 5 * BLCK, 0, &err);
	ok(writer != NULL && deltaWriterEnd(writer, NULL, &err) &&
	   memcmp(buf.data, DELTA_MAGIC, 8) == 0, "base 0: PGDRDLT1");
	deltaWriterFree(writer);
	src = (MemReader) {buf.data, buf.len, 0, 0, false};
	reader = deltaReaderNew(memRead, &src, &err);
	ok(reader != NULL && deltaReaderBaseBlocks(reader) == 0, "PGDRDLT1: base 0");
	deltaReaderFree(reader);

	/* refusals */
	resetStringInfo(&buf);
	ok(deltaWriterNewBase(sbWrite, &buf, BLCK, 5 * BLCK, 6, &err) == NULL &&
	   err.code == DR_ERR_INVALID, "writer: a base larger than the file refused");
	ok(buf.len == 0, "and nothing written");

	writer = deltaWriterNewBase(sbWrite, &buf, BLCK, 5 * BLCK, 3, &err);
	ok(deltaWriterEnd(writer, NULL, &err), "a valid one to damage");
	deltaWriterFree(writer);
	copy = palloc(buf.len);
	memcpy(copy, buf.data, buf.len);
	putLe32(copy + DELTA_HEADER_SIZE, 6);
	expectCorrupt("base past the file", copy, buf.len, "does not fit in the file size");
	putLe32(copy + DELTA_HEADER_SIZE, 0);
	expectCorrupt("base of 0 pages", copy, buf.len, "a base of 0 pages");
	expectCorrupt("base field truncated", buf.data, DELTA_HEADER_SIZE + 2, "truncated");
	pfree(copy);
	pfree(buf.data);
}

int
main(void)
{
	testRoundTrip();
	testBase();
	testWriterRefusals();
	testReaderRefusals();
	return tapDone();
}
