/*-------------------------------------------------------------------------
 * test_manifest.c
 *	  Unit tests of src/common/manifest.c: the backup manifest writer and
 *	  reader.
 *
 * Covers: round trip of every header field, tablespace, dir, file (each
 * store) and WAL field, through a reader fed in chunks of every size from
 * 1 byte; labels (none, "-", empty, odd bytes) and paths with odd bytes
 * (space, %, newline, quote, non-UTF-8) escaped and read back; the
 * writer's refusals (bad ids and kinds, parents, paths with "..", "." or
 * empty components, absolute paths, descending or repeated paths, dirs and
 * WAL segments out of order, sections out of order, modes past 07777,
 * parent or delta files in a full backup, parent files with an object
 * size, lines past MANIFEST_LINE_MAX, anything after a failed write); the
 * reader's refusals, each with its line number (empty input, not a
 * manifest, another version, every header line malformed or out of place,
 * extra values, unknown records and keys, repeated and missing keys, bad
 * numbers, modes, hashes, escapes and paths, sections and entries out of
 * order, count mismatches on the end line, data after the end line, no
 * newline at the end, NUL bytes, lines too long, no end line); every
 * truncation of a valid manifest refused; read errors passed on and
 * sticky; named readers; the LSN, backup id, store name, path and WAL
 * name helpers.  Version 2: part-size and parts= round trip (written as
 * version 2, parts= last), version 1 still read (no part size), version 2
 * without part-size, parts= in version 1, bad part sizes, parts=1, parts
 * of a delta, a size below its parts refused by the reader and the writer;
 * the part layout (manifestPartRange).
 * Bundles: the writer writes the bundle field (full and delta files),
 * which reads back; version 1 manifests (the good manifest below) still
 * read, without bundles, and the field is an unknown key in them; malformed
 * bundle fields (missing or extra parts, signs, leading zeroes, overflows,
 * repeated), bundle entries stored as parent, smaller than a codec header
 * or ending past 2^64 refused by reader and writer; version 4 refused.
 * Version 3 (the one written): files read from it must have bound
 * objects (ManifestFile.bound), files of versions 1 and 2 need not.
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/manifest.h"
#include "lib/stringinfo.h"
#include "tap.h"
#include "test_support.h"

#define SHA_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SHA_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define KEY_A "000102030405060708090a0b0c0d0e0f"

/* A valid manifest, line by line (1-based numbers in the comments). */
static const char *const goodLines[] = {
	"pg_dr-manifest 1",			/* 1 */
	"backup-id 20240102-030405I",	/* 2 */
	"kind incremental",			/* 3 */
	"parent 20240101-000000F",	/* 4 */
	"label nightly%20run",		/* 5 */
	"timeline 1",				/* 6 */
	"start-lsn 0/2000028",		/* 7 */
	"stop-lsn 0/2000100",		/* 8 */
	"start-time 1704164645",	/* 9 */
	"stop-time 1704164700",		/* 10 */
	"system-identifier 7300000000000000001",	/* 11 */
	"pg-version 150004",		/* 12 */
	"key-id " KEY_A,			/* 13 */
	"data-checksums on",		/* 14 */
	"block-size 8192",			/* 15 */
	"segment-size 16777216",	/* 16 */
	"tablespace 16390 /srv/ts%201",	/* 17 */
	"dir base mode=0700",		/* 18 */
	"dir base/5 mode=0700",		/* 19 */
	"file PG_VERSION size=3 mode=0600 mtime=1 sha256=" SHA_A
	" store=full object-size=100 blocks=0 corrupt=0",	/* 20 */
	"file base/5/16384 size=16384 mode=0600 mtime=-5 sha256=" SHA_B
	" store=delta object-size=50 blocks=1 corrupt=2",	/* 21 */
	"file base/5/16385 size=8192 mode=0640 mtime=7 sha256=" SHA_A
	" store=parent object-size=0 blocks=0 corrupt=0",	/* 22 */
	"wal 000000010000000000000002 size=16777216 sha256=" SHA_B,	/* 23 */
	"end dirs=2 files=3 wal=1",	/* 24 */
};

/* The good manifest with line n (1-based) replaced (NULL: removed). */
static char *
goodText(int n, const char *replacement)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < (int) lengthof(goodLines); i++)
	{
		const char *line = (i + 1 == n) ? replacement : goodLines[i];

		if (line == NULL)
			continue;
		appendStringInfoString(&buf, line);
		appendStringInfoChar(&buf, '\n');
	}
	return track(buf.data);
}

/*
 * Read text to the end.  Returns 0 (valid end), -1 (error in err); counts
 * entries.
 */
static int
readAll(const char *text, size_t len, size_t chunk, const char *name,
		int *entries, DrError *err)
{
	MemReader	src = {text, len, 0, chunk, false};
	ManifestReader *reader;
	ManifestEntry entry;
	int			rc;

	*entries = 0;
	drErrorClear(err);
	reader = name ? manifestReaderNewNamed(memRead, &src, name, err)
		: manifestReaderNew(memRead, &src, err);
	if (reader == NULL)
		return -1;
	while ((rc = manifestReaderNext(reader, &entry, err)) == 1)
		(*entries)++;
	if (rc == 0 && manifestReaderNext(reader, &entry, err) != 0)
		rc = 2;					/* end must stay the end */
	manifestReaderFree(reader);
	return rc;
}

/* Expect DR_ERR_CORRUPT at line lineNo with want in the message. */
static void
expectCorrupt(const char *what, const char *text, int lineNo, const char *want)
{
	DrError		err;
	int			entries;
	char		prefix[64];
	int			rc = readAll(text, strlen(text), 0, NULL, &entries, &err);

	snprintf(prefix, sizeof(prefix), "manifest line %d: ", lineNo);
	ok(rc == -1 && err.code == DR_ERR_CORRUPT, "%s: corrupt", what);
	if (!ok(strncmp(err.message, prefix, strlen(prefix)) == 0 &&
			strstr(err.message, want) != NULL, "%s: line %d, \"%s\"", what,
			lineNo, want))
		diag("message: %s", err.message);
}

static void
testHelpers(void)
{
	char		buf[32];
	uint64		lsn;

	manifestLsnFormat(0, buf, sizeof(buf));
	is_str(buf, "0/0", "LSN 0");
	manifestLsnFormat(((uint64) 0x1A << 32) | 0x2B3C4D, buf, sizeof(buf));
	is_str(buf, "1A/2B3C4D", "LSN format like PostgreSQL");
	manifestLsnFormat(PG_UINT64_MAX, buf, sizeof(buf));
	is_str(buf, "FFFFFFFF/FFFFFFFF", "largest LSN");
	ok(manifestLsnParse("1A/2B3C4D", &lsn) && lsn == (((uint64) 0x1A << 32) | 0x2B3C4D),
	   "LSN parse");
	ok(manifestLsnParse("1a/2b3c4d", &lsn) && lsn == (((uint64) 0x1A << 32) | 0x2B3C4D),
	   "LSN parse, lower case");
	ok(manifestLsnParse("FFFFFFFF/FFFFFFFF", &lsn) && lsn == PG_UINT64_MAX,
	   "largest LSN parses");
	ok(!manifestLsnParse("1/", &lsn) && !manifestLsnParse("/1", &lsn) &&
	   !manifestLsnParse("123456789/0", &lsn) && !manifestLsnParse("1/2x", &lsn) &&
	   !manifestLsnParse("12", &lsn) && !manifestLsnParse("", &lsn) &&
	   !manifestLsnParse("1/2/3", &lsn) && !manifestLsnParse(" 1/2", &lsn),
	   "malformed LSNs refused");

	ok(manifestBackupIdValid("20240101-000000F") &&
	   manifestBackupIdValid("20241231-235960I"), "backup ids");
	ok(!manifestBackupIdValid("20241301-000000F") &&
	   !manifestBackupIdValid("20240100-000000F") &&
	   !manifestBackupIdValid("20240101-240000F") &&
	   !manifestBackupIdValid("20240101-006000F") &&
	   !manifestBackupIdValid("20240101-000000f") &&
	   !manifestBackupIdValid("20240101-000000X") &&
	   !manifestBackupIdValid("20240101 000000F") &&
	   !manifestBackupIdValid("20240101-000000FF") &&
	   !manifestBackupIdValid("2024010-000000F") &&
	   !manifestBackupIdValid("") && !manifestBackupIdValid(NULL) &&
	   !manifestBackupIdValid("../../etc/passw"),
	   "malformed backup ids refused");

	is_str(manifestStoreName(MANIFEST_STORE_FULL), "full", "store name full");
	is_str(manifestStoreName(MANIFEST_STORE_PARENT), "parent", "store name parent");
	is_str(manifestStoreName(MANIFEST_STORE_DELTA), "delta", "store name delta");

	ok(manifestPathValid("base/5/16384") && manifestPathValid("a") &&
	   manifestPathValid("..a/b..") && manifestPathValid("a/.b"),
	   "valid paths");
	ok(!manifestPathValid("") && !manifestPathValid("/etc/passwd") &&
	   !manifestPathValid("a//b") && !manifestPathValid("a/") &&
	   !manifestPathValid("..") && !manifestPathValid("a/../b") &&
	   !manifestPathValid("./a") && !manifestPathValid("a/."),
	   "unsafe paths refused");

	ok(manifestWalNameValid("000000010000000000000002"), "WAL name");
	ok(!manifestWalNameValid("00000001000000000000000") &&
	   !manifestWalNameValid("0000000100000000000000020") &&
	   !manifestWalNameValid("00000001000000000000000a") &&
	   !manifestWalNameValid("00000002.history"), "bad WAL names refused");
}

static ManifestHeader
headerMake(bool incremental)
{
	ManifestHeader h;

	memset(&h, 0, sizeof(h));
	strcpy(h.backupId, incremental ? "20240102-030405I" : "20240101-000000F");
	h.incremental = incremental;
	if (incremental)
		strcpy(h.parentId, "20240101-000000F");
	h.label = NULL;
	h.timeline = 3;
	h.startLsn = ((uint64) 1 << 32) | 0x28;
	h.stopLsn = ((uint64) 2 << 32) | 0x100;
	h.startTime = 1704164645;
	h.stopTime = -1;
	h.systemIdentifier = PG_UINT64_MAX;
	h.pgVersion = 150004;
	h.hasKey = true;
	for (int i = 0; i < CODEC_KEY_ID_SIZE; i++)
		h.keyId[i] = (uint8) (i * 17);
	h.dataChecksums = true;
	h.blockSize = 8192;
	h.segmentSize = 16 * 1024 * 1024;
	h.partSize = 1024 * 1024;
	return h;
}

static ManifestFile
fileMake(const char *path, ManifestStore store, int seed)
{
	ManifestFile f;

	memset(&f, 0, sizeof(f));
	f.path = (char *) path;
	f.size = (uint64) seed * 8192;
	f.mode = 0600 + seed % 8;
	f.mtime = 1700000000 + seed;
	for (int i = 0; i < CODEC_SHA256_SIZE; i++)
		f.sha256[i] = (uint8) (i + seed);
	f.store = store;
	f.objectSize = store == MANIFEST_STORE_PARENT ? 0 : (uint64) seed * 100 + 1;
	f.blocks = store == MANIFEST_STORE_DELTA ? (uint32) seed : 0;
	f.corrupt = (uint32) seed % 3;
	/* some whole files in 3 parts of 1 MiB (headerMake's part size) */
	if (store == MANIFEST_STORE_FULL && seed > 1 && seed % 3 == 1)
	{
		f.parts = 3;
		f.size = 2 * 1024 * 1024 + (uint64) seed * 8192;
	}
	return f;
}

/*
 * The good manifest as version 2: partLine (the part-size line) after line
 * 16, so that lines 17 on are one further down.
 */
static char *
goodTextV2Part(const char *partLine, int n, const char *replacement)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < (int) lengthof(goodLines); i++)
	{
		const char *line = (i + 1 == n) ? replacement : goodLines[i];

		if (i == 0)
			line = "pg_dr-manifest 2";
		if (line == NULL)
			continue;
		appendStringInfoString(&buf, line);
		appendStringInfoChar(&buf, '\n');
		if (i + 1 == 16)
		{
			appendStringInfoString(&buf, partLine);
			appendStringInfoChar(&buf, '\n');
		}
	}
	return track(buf.data);
}

/* The same with part-size 1 MiB. */
static char *
goodTextV2(int n, const char *replacement)
{
	return goodTextV2Part("part-size 1048576", n, replacement);
}

/* Read text; the header's part size and the parts of the n-th entry. */
static bool
readParts(const char *text, int n, uint64 *partSize, uint32 *parts)
{
	MemReader	src = {text, strlen(text), 0, 0, false};
	ManifestReader *reader;
	ManifestEntry entry;
	DrError		err;
	int			rc;
	int			i = 0;

	*parts = PG_UINT32_MAX;
	reader = manifestReaderNew(memRead, &src, &err);
	if (reader == NULL)
		return false;
	*partSize = manifestReaderHeader(reader)->partSize;
	while ((rc = manifestReaderNext(reader, &entry, &err)) == 1)
		if (i++ == n)
			*parts = entry.file.parts;
	manifestReaderFree(reader);
	return rc == 0;
}

/*
 * Version 2: part-size and parts= read back, version 1 read with no part
 * size, bad part sizes and parts refused (reader and writer), and the part
 * layout helper.
 */
static void
testParts(void)
{
	uint64		partSize;
	uint32		parts;
	char	   *text;
	const char *fileHead = "file PG_VERSION mode=0600 mtime=1 sha256=" SHA_A
		" object-size=100 blocks=0 corrupt=0 ";
	StringInfoData out;
	ManifestWriter *writer;
	ManifestHeader h = headerMake(false);
	ManifestFile f;
	DrError		err;
	uint64		offset;
	uint64		length;

	ok(readParts(goodText(0, NULL), 3, &partSize, &parts) && partSize == 0 &&
	   parts == 0, "version 1 still reads: no part size, no parts");
	ok(readParts(goodTextV2(0, NULL), 3, &partSize, &parts) &&
	   partSize == 1024 * 1024 && parts == 0,
	   "version 2 reads: part size, a file without parts");
	text = goodTextV2(20, tsprintf("%ssize=2097152 store=full parts=3", fileHead));
	ok(readParts(text, 3, &partSize, &parts) && parts == 3,
	   "parts=3 read back (last part empty: size = 2 parts)");
	text = goodTextV2(20, tsprintf("%ssize=5000000 store=full parts=2", fileHead));
	ok(readParts(text, 3, &partSize, &parts) && parts == 2,
	   "the last part may be longer than the part size (the file grew)");

	text = goodTextV2Part("part-size 1000", 0, NULL);
	expectCorrupt("part size not a multiple of the block size", text, 17,
				  "invalid part size");
	text = goodTextV2Part("part-size 0", 0, NULL);
	expectCorrupt("part size 0", text, 17, "invalid part size");
	text = goodTextV2Part("part-size 2147483648", 0, NULL);
	expectCorrupt("part size above 1 GiB", text, 17, "invalid part size");
	text = goodTextV2(20, tsprintf("%ssize=2097152 store=full parts=1", fileHead));
	expectCorrupt("parts=1", text, 21, "invalid parts");
	text = goodTextV2(20, tsprintf("%ssize=2097152 store=full parts=x", fileHead));
	expectCorrupt("parts not a number", text, 21, "invalid parts");
	text = goodTextV2(20, tsprintf("%ssize=2097151 store=full parts=3", fileHead));
	expectCorrupt("size below its parts", text, 21, "cannot be in 3 parts");
	text = goodTextV2(21, "file base/5/16384 size=2097152 mode=0600 mtime=-5 sha256=" SHA_B
					  " store=delta object-size=50 blocks=1 corrupt=2 parts=2");
	expectCorrupt("a delta in parts", text, 22, "stored as \"delta\" cannot be in 2 parts");
	text = goodTextV2(20, tsprintf("%sparts=3 size=2097152 store=full", fileHead));
	expectCorrupt("parts= not last", text, 21, "unknown key \"parts\"");

	/* the writer refuses what the reader would */
	initStringInfo(&out);
	writer = manifestWriterNew(sbWrite, &out);
	h.partSize = 12345;
	ok(!manifestWriteHeader(writer, &h, &err) && strstr(err.message, "invalid part size"),
	   "writer: part size not a multiple of the block size refused");
	h.partSize = 0;
	ok(!manifestWriteHeader(writer, &h, &err), "writer: part size 0 refused");
	h.partSize = 1024 * 1024;
	ok(manifestWriteHeader(writer, &h, &err), "writer: header with part size 1 MiB");
	f = fileMake("a", MANIFEST_STORE_FULL, 1);
	f.parts = 1;
	ok(!manifestWriteFile(writer, &f, &err) && strstr(err.message, "cannot be stored in 1 parts"),
	   "writer: parts=1 refused");
	f.parts = 2;
	f.size = 1024 * 1024 - 1;
	ok(!manifestWriteFile(writer, &f, &err), "writer: size below its parts refused");
	f.size = 1024 * 1024;
	ok(manifestWriteFile(writer, &f, &err), "writer: 2 parts, the last one empty");
	manifestWriterFree(writer);

	/* the layout */
	memset(&f, 0, sizeof(f));
	f.parts = 3;
	f.size = 2 * 8192 + 100;
	manifestPartRange(&f, 8192, 0, &offset, &length);
	ok(offset == 0 && length == 8192, "part 0: the first part size bytes");
	manifestPartRange(&f, 8192, 2, &offset, &length);
	ok(offset == 16384 && length == 100, "last part: the rest");
	f.size = 5 * 8192;
	manifestPartRange(&f, 8192, 2, &offset, &length);
	ok(offset == 16384 && length == 3 * 8192, "last part: longer when the file grew");
}

/* The odd paths, in strcmp order. */
static const char *const oddPaths[] = {
	"a b/c%d",
	"base/1/1",
	"base/1/1_fsm",
	"base/1/1_vm",
	"caf\xc3\xa9/\xff\xfe",
	"new\nline/quote\"back\\slash",
	"x+y-z.w_v",
};

static void
testRoundTrip(void)
{
	StringInfoData text;
	ManifestWriter *writer;
	ManifestHeader h = headerMake(true);
	ManifestTablespace ts1 = {16390, "/srv/ts 1"};
	ManifestTablespace ts2 = {16391, "/srv/\xe9t\xe9%"};
	ManifestDir dir1 = {"base", 0700};
	ManifestDir dir2 = {"pg_wal/archive_status", 0750};
	ManifestWal wal1;
	ManifestWal wal2;
	ManifestStore stores[] = {MANIFEST_STORE_FULL, MANIFEST_STORE_PARENT,
	MANIFEST_STORE_DELTA};
	DrError		err;
	bool		allOk = true;
	size_t		chunk;
	bool		chunksOk = true;

	memset(&wal1, 0, sizeof(wal1));
	strcpy(wal1.name, "000000030000000100000000");
	wal1.size = 16 * 1024 * 1024;
	memset(wal1.sha256, 0xAB, CODEC_SHA256_SIZE);
	wal2 = wal1;
	strcpy(wal2.name, "000000030000000100000001");
	wal2.sha256[5] = 0;

	h.label = "odd label: 'quoted' \"double\" 100% \n\x01";
	initStringInfo(&text);
	writer = manifestWriterNew(sbWrite, &text);
	allOk &= manifestWriteHeader(writer, &h, &err);
	allOk &= manifestWriteTablespace(writer, &ts1, &err);
	allOk &= manifestWriteTablespace(writer, &ts2, &err);
	allOk &= manifestWriteDir(writer, &dir1, &err);
	allOk &= manifestWriteDir(writer, &dir2, &err);
	for (int i = 0; i < (int) lengthof(oddPaths); i++)
	{
		ManifestFile f = fileMake(oddPaths[i], stores[i % 3], i + 1);

		allOk &= manifestWriteFile(writer, &f, &err);
	}
	allOk &= manifestWriteWal(writer, &wal1, &err);
	allOk &= manifestWriteWal(writer, &wal2, &err);
	allOk &= manifestWriterEnd(writer, &err);
	manifestWriterFree(writer);
	if (!ok(allOk, "writer accepts every kind of record"))
		diag("%s", err.message);
	ok(strstr(text.data, "\nlabel odd%20label%3A%20%27quoted%27%20%22double%22%20100%25%20%0A%01\n") != NULL,
	   "label is percent-escaped with upper-case hex");
	ok(strstr(text.data, "\nfile new%0Aline/quote%22back%5Cslash size=") != NULL,
	   "newline, quote and backslash in a path are escaped");
	ok(strstr(text.data, "\nfile caf%C3%A9/%FF%FE size=") != NULL,
	   "bytes above 0x7F are escaped");
	ok(strncmp(text.data, "pg_dr-manifest 3\n", 17) == 0 &&
	   strstr(text.data, "\nsegment-size 16777216\npart-size 1048576\n") != NULL,
	   "version 3, part-size after segment-size");
	ok(strstr(text.data, " corrupt=1 parts=3\n") != NULL,
	   "parts= is the last field of a file in parts");
	ok(strstr(text.data, "\nfile x+y-z.w_v size=") != NULL,
	   "plain characters stay as they are");
	ok(strstr(text.data, " mode=0601 ") != NULL, "mode is octal");
	ok(strstr(text.data, "\nstart-lsn 1/28\nstop-lsn 2/100\n") != NULL, "LSNs as X/X");
	ok(strstr(text.data, "\nend dirs=2 files=7 wal=2\n") != NULL, "end line counts");
	for (size_t i = 0; i < (size_t) text.len; i++)
		if (text.data[i] != '\n' && ((unsigned char) text.data[i] < 0x20 ||
									 (unsigned char) text.data[i] > 0x7E))
		{
			allOk = false;
			break;
		}
	ok(allOk, "the manifest is printable ASCII, one record a line");

	/* read back, whole and in every small chunk size */
	for (chunk = 0; chunk <= 64; chunk = chunk == 0 ? 1 : chunk * 2 + 1)
	{
		MemReader	src = {text.data, (size_t) text.len, 0, chunk, false};
		ManifestReader *reader = manifestReaderNew(memRead, &src, &err);
		const ManifestHeader *r;
		ManifestEntry e;
		int			n = 0;
		int			rc;
		bool		same = true;

		if (reader == NULL)
		{
			chunksOk = false;
			diag("%s", err.message);
			continue;
		}
		r = manifestReaderHeader(reader);
		if (chunk == 0)
		{
			is_str(r->backupId, h.backupId, "backup id");
			ok(r->incremental, "kind");
			is_str(r->parentId, h.parentId, "parent");
			is_str(r->label, h.label, "label with odd bytes");
			is_int(r->timeline, 3, "timeline");
			ok(r->startLsn == h.startLsn && r->stopLsn == h.stopLsn, "LSNs");
			ok(r->startTime == h.startTime && r->stopTime == -1, "times, negative too");
			ok(r->systemIdentifier == PG_UINT64_MAX, "system identifier, largest");
			is_int(r->pgVersion, 150004, "server version");
			ok(r->hasKey && memcmp(r->keyId, h.keyId, CODEC_KEY_ID_SIZE) == 0, "key id");
			ok(r->dataChecksums, "data checksums");
			is_int(r->blockSize, 8192, "block size");
			is_int(r->segmentSize, 16 * 1024 * 1024, "segment size");
			ok(r->partSize == 1024 * 1024, "part size");
		}
		while ((rc = manifestReaderNext(reader, &e, &err)) == 1)
		{
			if (n == 0)
				same &= e.kind == MANIFEST_ENTRY_TABLESPACE && e.tablespace.oid == 16390 &&
					strcmp(e.tablespace.location, ts1.location) == 0;
			else if (n == 1)
				same &= e.kind == MANIFEST_ENTRY_TABLESPACE && e.tablespace.oid == 16391 &&
					strcmp(e.tablespace.location, ts2.location) == 0;
			else if (n == 2)
				same &= e.kind == MANIFEST_ENTRY_DIR && strcmp(e.dir.path, "base") == 0 &&
					e.dir.mode == 0700;
			else if (n == 3)
				same &= e.kind == MANIFEST_ENTRY_DIR &&
					strcmp(e.dir.path, "pg_wal/archive_status") == 0 && e.dir.mode == 0750;
			else if (n < 4 + (int) lengthof(oddPaths))
			{
				int			i = n - 4;
				ManifestFile f = fileMake(oddPaths[i], stores[i % 3], i + 1);

				same &= e.kind == MANIFEST_ENTRY_FILE &&
					strcmp(e.file.path, f.path) == 0 && e.file.size == f.size &&
					e.file.mode == f.mode && e.file.mtime == f.mtime &&
					memcmp(e.file.sha256, f.sha256, CODEC_SHA256_SIZE) == 0 &&
					e.file.store == f.store && e.file.objectSize == f.objectSize &&
					e.file.blocks == f.blocks && e.file.corrupt == f.corrupt &&
					e.file.parts == f.parts;
			}
			else
			{
				const ManifestWal *w = (n == 4 + (int) lengthof(oddPaths)) ? &wal1 : &wal2;

				same &= e.kind == MANIFEST_ENTRY_WAL && strcmp(e.wal.name, w->name) == 0 &&
					e.wal.size == w->size &&
					memcmp(e.wal.sha256, w->sha256, CODEC_SHA256_SIZE) == 0;
			}
			n++;
		}
		same &= rc == 0 && n == 4 + (int) lengthof(oddPaths) + 2;
		if (chunk == 0)
			ok(same, "every tablespace, dir, file and WAL field read back");
		chunksOk &= same && manifestReaderNext(reader, &e, &err) == 0;
		manifestReaderFree(reader);
	}
	ok(chunksOk, "read back the same fed 1, 3, 7, ... 63 bytes at a time");

	/* every truncation is refused, never taken for a shorter manifest */
	allOk = true;
	for (int len = 0; len < text.len; len++)
	{
		int			entries;

		if (readAll(text.data, len, 0, NULL, &entries, &err) != -1 ||
			err.code != DR_ERR_CORRUPT)
		{
			diag("truncation at %d bytes: %s", len, err.message);
			allOk = false;
			break;
		}
	}
	ok(allOk, "each of the %d truncations is corrupt", text.len);
	pfree(text.data);
}

/* Labels: none, "-", empty; a full backup without key or checksums. */
static void
testLabels(void)
{
	const char *labels[] = {NULL, "-", "", "a", "--"};
	bool		allOk = true;

	for (int i = 0; i < (int) lengthof(labels); i++)
	{
		StringInfoData text;
		ManifestHeader h = headerMake(false);
		ManifestWriter *writer;
		ManifestReader *reader;
		MemReader	src;
		DrError		err;

		h.label = (char *) labels[i];
		h.hasKey = false;
		h.dataChecksums = false;
		initStringInfo(&text);
		writer = manifestWriterNew(sbWrite, &text);
		allOk &= manifestWriteHeader(writer, &h, &err) &&
			manifestWriterEnd(writer, &err);
		manifestWriterFree(writer);
		memset(&src, 0, sizeof(src));
		src.data = text.data;
		src.len = text.len;
		reader = manifestReaderNew(memRead, &src, &err);
		if (reader == NULL)
		{
			diag("%s", err.message);
			allOk = false;
		}
		else
		{
			const ManifestHeader *r = manifestReaderHeader(reader);
			ManifestEntry e;

			allOk &= labels[i] == NULL ? r->label == NULL :
				(r->label != NULL && strcmp(r->label, labels[i]) == 0);
			allOk &= !r->incremental && r->parentId[0] == '\0' && !r->hasKey &&
				!r->dataChecksums && manifestReaderNext(reader, &e, &err) == 0;
			manifestReaderFree(reader);
		}
		if (i == 1)
			ok(strstr(text.data, "\nlabel %2D\n") != NULL, "the label \"-\" is written %%2D");
		if (i == 0)
			ok(strstr(text.data, "\nlabel -\n") != NULL &&
			   strstr(text.data, "\nkey-id -\ndata-checksums off\n") != NULL,
			   "no label, no key, no checksums");
		pfree(text.data);
	}
	ok(allOk, "labels NULL, \"-\", \"\", \"a\", \"--\" read back as written");
}

static void
testWriterRefusals(void)
{
	StringInfoData text;
	ManifestWriter *writer;
	ManifestHeader h;
	ManifestFile f;
	ManifestDir d;
	ManifestWal w;
	ManifestTablespace ts;
	DrError		err;
	char	   *longPath;

	initStringInfo(&text);

#define FRESH(incr) \
	do { \
		resetStringInfo(&text); \
		writer = manifestWriterNew(sbWrite, &text); \
		h = headerMake(incr); \
	} while (0)

	FRESH(true);
	f = fileMake("a", MANIFEST_STORE_FULL, 1);
	ok(!manifestWriteFile(writer, &f, &err) && err.code == DR_ERR_INVALID,
	   "file before the header refused");
	ok(!manifestWriterEnd(writer, &err), "end before the header refused");
	strcpy(h.backupId, "20240102-030405F");
	ok(!manifestWriteHeader(writer, &h, &err) && strstr(err.message, "does not match its kind"),
	   "incremental with an F id refused");
	h = headerMake(true);
	strcpy(h.parentId, "bogus");
	ok(!manifestWriteHeader(writer, &h, &err) && strstr(err.message, "invalid parent"),
	   "incremental with a bad parent refused");
	strcpy(h.parentId, h.backupId);
	ok(!manifestWriteHeader(writer, &h, &err), "incremental that is its own parent refused");
	h = headerMake(false);
	strcpy(h.parentId, "20231231-000000F");
	ok(!manifestWriteHeader(writer, &h, &err) && strstr(err.message, "cannot have a parent"),
	   "full with a parent refused");
	h = headerMake(false);
	strcpy(h.backupId, "2024");
	ok(!manifestWriteHeader(writer, &h, &err) && strstr(err.message, "invalid backup id"),
	   "bad backup id refused");
	h = headerMake(false);
	h.timeline = 0;
	ok(!manifestWriteHeader(writer, &h, &err), "timeline 0 refused");
	h = headerMake(false);
	h.stopLsn = h.startLsn - 1;
	ok(!manifestWriteHeader(writer, &h, &err), "stop LSN before start refused");
	h = headerMake(false);
	h.blockSize = 8000;
	ok(!manifestWriteHeader(writer, &h, &err), "block size not a power of two refused");
	h = headerMake(false);
	h.segmentSize = 512 * 1024;
	ok(!manifestWriteHeader(writer, &h, &err), "segment size below 1 MB refused");
	h = headerMake(false);
	h.pgVersion = 0;
	ok(!manifestWriteHeader(writer, &h, &err), "server version 0 refused");
	is_int(text.len, 0, "refused headers wrote nothing");
	manifestWriterFree(writer);

	/* a full backup */
	FRESH(false);
	ok(manifestWriteHeader(writer, &h, &err), "full header");
	ok(!manifestWriteHeader(writer, &h, &err), "a second header refused");
	ts.oid = 0;
	ts.location = "/x";
	ok(!manifestWriteTablespace(writer, &ts, &err), "tablespace oid 0 refused");
	ts.oid = 5;
	ts.location = "relative";
	ok(!manifestWriteTablespace(writer, &ts, &err), "relative tablespace location refused");
	f = fileMake("a", MANIFEST_STORE_PARENT, 1);
	ok(!manifestWriteFile(writer, &f, &err) && strstr(err.message, "full backup"),
	   "store=parent in a full backup refused");
	f = fileMake("a", MANIFEST_STORE_DELTA, 1);
	ok(!manifestWriteFile(writer, &f, &err), "store=delta in a full backup refused");
	f = fileMake("a", MANIFEST_STORE_FULL, 1);
	f.mode = 0100600;
	ok(!manifestWriteFile(writer, &f, &err) && strstr(err.message, "permission bits"),
	   "file type bits in the mode refused");
	d.path = "base";
	d.mode = 010700;
	ok(!manifestWriteDir(writer, &d, &err), "directory mode past 07777 refused");
	{
		const char *bad[] = {"", "/abs", "a//b", "a/../b", "..", "a/.", "a/"};

		bool		all = true;

		for (int i = 0; i < (int) lengthof(bad); i++)
		{
			f = fileMake(bad[i], MANIFEST_STORE_FULL, 1);
			d.path = (char *) bad[i];
			d.mode = 0700;
			all &= !manifestWriteFile(writer, &f, &err) && err.code == DR_ERR_INVALID &&
				!manifestWriteDir(writer, &d, &err);
		}
		ok(all, "unsafe paths refused for files and dirs");
	}
	d.path = "b";
	d.mode = 0700;
	ok(manifestWriteDir(writer, &d, &err), "dir b");
	d.path = "a";
	ok(!manifestWriteDir(writer, &d, &err) && strstr(err.message, "strictly ascending"),
	   "dir before the previous one refused");
	d.path = "b";
	ok(!manifestWriteDir(writer, &d, &err), "repeated dir refused");
	f = fileMake("m", MANIFEST_STORE_FULL, 1);
	ok(manifestWriteFile(writer, &f, &err), "file m");
	ok(!manifestWriteDir(writer, &d, &err), "dir after a file refused");
	ts.oid = 5;
	ts.location = "/x";
	ok(!manifestWriteTablespace(writer, &ts, &err), "tablespace after a file refused");
	ok(!manifestWriteFile(writer, &f, &err) && strstr(err.message, "strictly ascending"),
	   "repeated file refused");
	f = fileMake("l", MANIFEST_STORE_FULL, 1);
	ok(!manifestWriteFile(writer, &f, &err), "file before the previous one refused");
	longPath = palloc(MANIFEST_LINE_MAX + 1);
	memset(longPath, 'z', MANIFEST_LINE_MAX);
	longPath[MANIFEST_LINE_MAX - 200] = '\0';
	f = fileMake(longPath, MANIFEST_STORE_FULL, 1);
	ok(!manifestWriteFile(writer, &f, &err), "a path making the line too long refused");
	pfree(longPath);
	memset(&w, 0, sizeof(w));
	strcpy(w.name, "000000010000000000000002");
	ok(manifestWriteWal(writer, &w, &err), "wal segment");
	ok(!manifestWriteWal(writer, &w, &err), "repeated wal segment refused");
	strcpy(w.name, "000000010000000000000001");
	ok(!manifestWriteWal(writer, &w, &err), "wal segment out of order refused");
	strcpy(w.name, "00000001000000000000000x");
	ok(!manifestWriteWal(writer, &w, &err), "bad wal name refused");
	f = fileMake("z", MANIFEST_STORE_FULL, 1);
	ok(!manifestWriteFile(writer, &f, &err), "file after wal refused");
	ok(manifestWriterEnd(writer, &err), "end");
	ok(!manifestWriterEnd(writer, &err), "a second end refused");
	manifestWriterFree(writer);

	/* an incremental: parent with an object size */
	FRESH(true);
	ok(manifestWriteHeader(writer, &h, &err), "incremental header");
	f = fileMake("a", MANIFEST_STORE_PARENT, 1);
	f.objectSize = 10;
	ok(!manifestWriteFile(writer, &f, &err) && strstr(err.message, "object size"),
	   "store=parent with an object size refused");
	manifestWriterFree(writer);

	/* a failed write is final */
	failAfter = 3;
	writer = manifestWriterNew(failingWrite, NULL);
	h = headerMake(false);
	ok(!manifestWriteHeader(writer, &h, &err) && err.code == DR_ERR_IO,
	   "a write failure is passed on");
	ok(!manifestWriterEnd(writer, &err) && strstr(err.message, "failed earlier"),
	   "nothing is written after a failure");
	manifestWriterFree(writer);
	pfree(text.data);
#undef FRESH
}

static void
testReaderRefusals(void)
{
	char	   *text;
	DrError		err;
	int			entries;
	char	   *big;

	/* the good manifest reads */
	text = goodText(0, NULL);
	ok(readAll(text, strlen(text), 0, NULL, &entries, &err) == 0 && entries == 7,
	   "the good manifest reads, 7 entries");

	expectCorrupt("empty", "", 1, "the manifest is empty");
	expectCorrupt("not a manifest", "hello world\n", 1, "not a pg_dr manifest");
	text = goodText(1, "pg_dr-manifest 4");
	expectCorrupt("version 4", text, 1, "manifest version 4 is not supported");
	text = goodText(1, "pg_dr-manifest 2");
	expectCorrupt("version 2 without part-size", text, 17,
				  "expected \"part-size\", found \"tablespace\"");
	text = goodText(20, "file PG_VERSION size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0 parts=2");
	expectCorrupt("parts= in version 1", text, 20, "unknown key \"parts\"");
	text = goodText(1, "pg_dr-manifest 0");
	expectCorrupt("version 0", text, 1, "manifest version 0 is not supported");
	text = goodText(1, "pg_dr-manifest one");
	expectCorrupt("version not a number", text, 1, "invalid manifest version");
	text = goodText(2, "kind incremental");
	expectCorrupt("header line out of place", text, 2, "expected \"backup-id\", found \"kind\"");
	text = goodText(2, "backup-id 20240102-030405X");
	expectCorrupt("bad backup id", text, 2, "invalid backup id");
	text = goodText(2, "backup-id 20240102-030405I extra");
	expectCorrupt("extra value", text, 2, "takes exactly one value");
	text = goodText(2, "backup-id");
	expectCorrupt("no value", text, 2, "takes exactly one value");
	text = goodText(3, "kind full");
	expectCorrupt("kind not matching the id", text, 3, "does not match backup id");
	text = goodText(3, "kind partial");
	expectCorrupt("unknown kind", text, 3, "invalid kind");
	text = goodText(4, "parent -");
	expectCorrupt("incremental without parent", text, 4, "invalid parent backup id");
	text = goodText(4, "parent 20240102-030405I");
	expectCorrupt("own parent", text, 4, "is its own parent");
	text = goodText(5, "label a%2zb");
	expectCorrupt("bad escape", text, 5, "invalid label");
	text = goodText(5, "label a%2db");
	expectCorrupt("lower-case escape", text, 5, "invalid label");
	text = goodText(5, "label a%00b");
	expectCorrupt("escaped NUL", text, 5, "invalid label");
	text = goodText(5, "label a'b");
	expectCorrupt("unescaped character", text, 5, "invalid label");
	text = goodText(5, "label a%4");
	expectCorrupt("cut escape", text, 5, "invalid label");
	text = goodText(6, "timeline 0");
	expectCorrupt("timeline 0", text, 6, "invalid timeline");
	text = goodText(6, "timeline 4294967296");
	expectCorrupt("timeline too large", text, 6, "invalid timeline");
	text = goodText(7, "start-lsn 0-2000028");
	expectCorrupt("bad LSN", text, 7, "invalid start LSN");
	text = goodText(8, "stop-lsn 0/2000000");
	expectCorrupt("stop before start", text, 8, "stop LSN is before the start LSN");
	text = goodText(9, "start-time 12a");
	expectCorrupt("bad time", text, 9, "invalid start time");
	text = goodText(9, "start-time -0");
	expectCorrupt("minus zero", text, 9, "invalid start time");
	text = goodText(10, "stop-time 9223372036854775808");
	expectCorrupt("time overflow", text, 10, "invalid stop time");
	text = goodText(11, "system-identifier 18446744073709551616");
	expectCorrupt("system identifier overflow", text, 11, "invalid system identifier");
	text = goodText(11, "system-identifier 0123");
	expectCorrupt("leading zero", text, 11, "invalid system identifier");
	text = goodText(11, "system-identifier +123");
	expectCorrupt("sign", text, 11, "invalid system identifier");
	text = goodText(12, "pg-version 0");
	expectCorrupt("server version 0", text, 12, "invalid server version");
	text = goodText(13, "key-id 000102030405060708090A0B0C0D0E0F");
	expectCorrupt("upper-case key id", text, 13, "invalid key id");
	text = goodText(13, "key-id 0001");
	expectCorrupt("short key id", text, 13, "invalid key id");
	text = goodText(14, "data-checksums yes");
	expectCorrupt("bad checksums value", text, 14, "invalid data-checksums value");
	text = goodText(15, "block-size 8000");
	expectCorrupt("bad block size", text, 15, "invalid block size");
	text = goodText(15, "block-size 65536");
	expectCorrupt("block size too large", text, 15, "invalid block size");
	text = goodText(16, "segment-size 12345");
	expectCorrupt("bad segment size", text, 16, "invalid WAL segment size");
	text = tsprintf("%s", "pg_dr-manifest 1\nbackup-id 20240102-030405I\nkind incremental\n");
	expectCorrupt("truncated header", text, 4, "truncated");

	/* records */
	text = goodText(17, "tablespace 0 /srv/x");
	expectCorrupt("tablespace oid 0", text, 17, "invalid tablespace oid");
	text = goodText(17, "tablespace 16390 srv/x");
	expectCorrupt("relative tablespace", text, 17, "invalid tablespace location");
	text = goodText(17, "tablespace 16390");
	expectCorrupt("tablespace without location", text, 17, "an oid and a location");
	text = goodText(17, "bogus record");
	expectCorrupt("unknown record", text, 17, "unknown record \"bogus\"");
	text = goodText(17, "bogus\x01\x1b[31m");
	expectCorrupt("control characters shown escaped", text, 17,
				  "unknown record \"bogus\\x01\\x1b[31m\"");
	text = goodText(19, "tablespace 16391 /srv/y");
	expectCorrupt("tablespace after dirs", text, 19, "tablespace line out of order");
	text = goodText(19, "dir ba mode=0700");
	expectCorrupt("dirs out of order", text, 19, "strictly ascending");
	text = goodText(19, "dir base mode=0700");
	expectCorrupt("dir repeated", text, 19, "strictly ascending");
	text = goodText(19, "dir base/5 mode=0800");
	expectCorrupt("bad dir mode", text, 19, "invalid mode");
	text = goodText(19, "dir base/5 mode=07000 mode=0700");
	expectCorrupt("repeated key", text, 19, "key \"mode\" appears twice");
	text = goodText(19, "dir base/../5 mode=0700");
	expectCorrupt("dir with ..", text, 19, "invalid path");
	text = goodText(22, "dir z mode=0700");
	expectCorrupt("dir after files", text, 22, "dir line out of order");
	text = goodText(20, "file %2Fetc%2Fpasswd size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0");
	expectCorrupt("absolute path (escaped)", text, 20, "invalid path");
	text = goodText(20, "file ../x size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0");
	expectCorrupt("path with ..", text, 20, "invalid path");
	text = goodText(20, "file PG_VERSION size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0 color=blue");
	expectCorrupt("unknown key", text, 20, "unknown key \"color\"");
	text = goodText(20, "file PG_VERSION size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0");
	expectCorrupt("missing key", text, 20, "key \"corrupt\" is missing");
	text = goodText(20, "file PG_VERSION size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt");
	expectCorrupt("not key=value", text, 20, "is not key=value");
	text = goodText(20, "file PG_VERSION size=03 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0");
	expectCorrupt("size with a leading zero", text, 20, "invalid size");
	text = goodText(20, "file PG_VERSION size=3 mode=0800 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0");
	expectCorrupt("mode not octal", text, 20, "invalid mode");
	text = goodText(20, "file PG_VERSION size=3 mode=10600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0");
	expectCorrupt("mode past 07777", text, 20, "invalid mode");
	text = goodText(20, "file PG_VERSION size=3 mode=0600 mtime=1 sha256=" KEY_A
					" store=full object-size=100 blocks=0 corrupt=0");
	expectCorrupt("short sha256", text, 20, "invalid sha256");
	text = goodText(20, "file PG_VERSION size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=copy object-size=100 blocks=0 corrupt=0");
	expectCorrupt("unknown store", text, 20, "invalid store");
	text = goodText(20, "file PG_VERSION size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=4294967296 corrupt=0");
	expectCorrupt("blocks overflow", text, 20, "invalid blocks");
	text = goodText(20, "file PG_VERSION  size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0");
	expectCorrupt("two spaces", text, 20, "is not key=value");
	text = goodText(21, "file PG_VERSION size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0");
	expectCorrupt("repeated file", text, 21, "strictly ascending");
	text = goodText(21, "file Aaa size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0");
	expectCorrupt("file out of order", text, 21, "strictly ascending");
	text = goodText(22, "file base/5/16385 size=8192 mode=0640 mtime=7 sha256=" SHA_A
					" store=parent object-size=1 blocks=0 corrupt=0");
	expectCorrupt("parent with an object size", text, 22, "has an object size");
	text = goodText(23, "wal 00000001000000000000000 size=1 sha256=" SHA_B);
	expectCorrupt("bad wal name", text, 23, "invalid WAL segment name");
	text = goodText(23, "wal 000000010000000000000002 size=1 sha256=" SHA_B " extra=1");
	expectCorrupt("unknown wal key", text, 23, "unknown key \"extra\"");
	text = goodText(24, "end dirs=2 files=4 wal=1");
	expectCorrupt("file count mismatch", text, 24, "counts 4 files, the manifest has 3");
	text = goodText(24, "end dirs=3 files=3 wal=1");
	expectCorrupt("dir count mismatch", text, 24, "counts 3 directories");
	text = goodText(24, "end dirs=2 files=3 wal=0");
	expectCorrupt("wal count mismatch", text, 24, "counts 0 WAL segments");
	text = goodText(24, "end files=3 wal=1");
	expectCorrupt("end without dirs", text, 24, "key \"dirs\" is missing");
	text = goodText(24, NULL);
	expectCorrupt("no end line", text, 24, "no end line");

	/* the full backup has only whole files */
		{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "pg_dr-manifest 1\nbackup-id 20240101-000000F\nkind full\n"
							   "parent -\nlabel -\ntimeline 1\nstart-lsn 0/1\nstop-lsn 0/2\n"
							   "start-time 1\nstop-time 2\nsystem-identifier 1\npg-version 150004\n"
							   "key-id -\ndata-checksums off\nblock-size 8192\nsegment-size 16777216\n"
							   "file a size=1 mode=0600 mtime=1 sha256=" SHA_A
							   " store=parent object-size=0 blocks=0 corrupt=0\n"
							   "end dirs=0 files=1 wal=0\n");
		expectCorrupt("parent in a full backup", buf.data, 17, "file of a full backup");
		pfree(buf.data);
	}

	/* after the end line */
	text = tsprintf("%sextra\n", goodText(0, NULL));
	expectCorrupt("data after the end line", text, 25, "data after the end line");
	text = tsprintf("%s\n", goodText(0, NULL));
	expectCorrupt("empty line after the end", text, 25, "data after the end line");
	text = goodText(0, NULL);
	text[strlen(text) - 1] = '\0';
	expectCorrupt("no newline at the end", text, 24, "no newline at the end");

	/* NUL bytes and long lines */
	{
		char	   *good = goodText(0, NULL);
		size_t		len = strlen(good);
		char	   *p = strstr(good, "nightly");

		*p = '\0';
		ok(readAll(good, len, 0, NULL, &entries, &err) == -1 &&
		   strstr(err.message, "line 5: holds a NUL byte") != NULL,
		   "a NUL byte is corrupt, with its line");
	}
	big = palloc(MANIFEST_LINE_MAX + 10);
	memset(big, 'a', MANIFEST_LINE_MAX + 9);
	big[MANIFEST_LINE_MAX + 9] = '\0';
	text = goodText(5, tsprintf("label %s", big));
	expectCorrupt("line too long", text, 5, "longer than 16384 bytes");
	big[MANIFEST_LINE_MAX - 7] = '\0';	/* "label " + this + '\n' = the max */
	text = goodText(5, tsprintf("label %s", big));
	ok(readAll(text, strlen(text), 0, NULL, &entries, &err) == 0,
	   "a line of exactly MANIFEST_LINE_MAX bytes reads");
	pfree(big);

	/* read errors pass through and stick; names lead messages */
	{
		char	   *good = goodText(0, NULL);
		MemReader	src = {good, 100, 0, 0, true};
		ManifestReader *reader = manifestReaderNew(memRead, &src, &err);

		ok(reader == NULL && err.code == DR_ERR_IO &&
		   strcmp(err.message, "simulated read failure") == 0,
		   "a read failure is passed on unchanged");
		src.len = strlen(good) - 10;
		src.pos = 0;
		reader = manifestReaderNew(memRead, &src, &err);
		if (reader != NULL)
		{
			ManifestEntry e;

			while (manifestReaderNext(reader, &e, &err) == 1)
				;
			ok(err.code == DR_ERR_IO, "a read failure in the body is passed on");
			ok(manifestReaderNext(reader, &e, &err) == -1 &&
			   strstr(err.message, "failed earlier"), "and the reader stays failed");
			manifestReaderFree(reader);
		}
		text = goodText(6, "timeline x");
		ok(readAll(text, strlen(text), 0, "manifest of backup \"X\"", &entries, &err) == -1 &&
		   strncmp(err.message, "manifest of backup \"X\" line 6: ", 31) == 0,
		   "a named reader's messages start with its name");
	}
}

/* The file line of goodLines[19] (a full file) with extra appended. */
static char *
bundleLine(const char *extra)
{
	return tsprintf("file PG_VERSION size=3 mode=0600 mtime=1 sha256=" SHA_A
					" store=full object-size=100 blocks=0 corrupt=0%s", extra);
}

/* Read text; the file entries' bundle fields into out (up to 3). */
static int
readFiles(const char *text, ManifestFile *out, DrError *err)
{
	MemReader	src = {text, strlen(text), 0, 0, false};
	ManifestReader *reader;
	ManifestEntry entry;
	int			files = 0;
	int			rc;

	drErrorClear(err);
	reader = manifestReaderNew(memRead, &src, err);
	if (reader == NULL)
		return -1;
	while ((rc = manifestReaderNext(reader, &entry, err)) == 1)
	{
		if (entry.kind == MANIFEST_ENTRY_FILE && files < 3)
		{
			out[files] = entry.file;
			out[files].path = NULL;
			files++;
		}
	}
	manifestReaderFree(reader);
	return rc;
}

static void
testBundles(void)
{
	StringInfoData text;
	ManifestWriter *writer;
	ManifestHeader h = headerMake(true);
	ManifestFile full = fileMake("base/1/1", MANIFEST_STORE_FULL, 1);
	ManifestFile delta = fileMake("base/1/2", MANIFEST_STORE_DELTA, 2);
	ManifestFile alone = fileMake("base/1/3", MANIFEST_STORE_FULL, 3);
	ManifestFile parent = fileMake("base/1/4", MANIFEST_STORE_PARENT, 4);
	ManifestFile files[3];
	DrError		err;
	bool		allOk = true;

	/* written: version 2, bundle fields on full and delta files */
	full.bundled = true;
	full.bundle = 0;
	full.bundleOffset = 0;
	delta.bundled = true;
	delta.bundle = PG_UINT32_MAX;
	delta.bundleOffset = PG_UINT64_MAX - delta.objectSize;
	initStringInfo(&text);
	writer = manifestWriterNew(sbWrite, &text);
	allOk &= manifestWriteHeader(writer, &h, &err);
	allOk &= manifestWriteFile(writer, &full, &err);
	allOk &= manifestWriteFile(writer, &delta, &err);
	allOk &= manifestWriteFile(writer, &alone, &err);
	allOk &= manifestWriterEnd(writer, &err);
	manifestWriterFree(writer);
	if (!ok(allOk, "writer accepts bundle entries stored full and delta"))
		diag("%s", err.message);
	ok(strncmp(text.data, "pg_dr-manifest 3\n", 17) == 0,
	   "the writer writes version 3");
	ok(strstr(text.data, " corrupt=1 bundle=0:0\n") != NULL,
	   "bundle field of the first entry of bundle 0");
	ok(strstr(text.data, " bundle=4294967295:18446744073709551414\n") != NULL,
	   "bundle field with the largest number and offset");
	ok(strstr(text.data, "file base/1/3 ") != NULL &&
	   strstr(strstr(text.data, "file base/1/3 "), "bundle=") == NULL,
	   "no bundle field for a standalone object");

	memset(files, 0, sizeof(files));
	ok(readFiles(text.data, files, &err) == 0, "version 3 with bundles reads");
	ok(files[0].bound && files[1].bound && files[2].bound,
	   "version 3: every file's objects must be bound to their names");
	ok(files[0].bundled && files[0].bundle == 0 && files[0].bundleOffset == 0 &&
	   files[0].objectSize == full.objectSize,
	   "bundle 0 offset 0 reads back");
	ok(files[1].bundled && files[1].bundle == PG_UINT32_MAX &&
	   files[1].bundleOffset == PG_UINT64_MAX - delta.objectSize &&
	   files[1].store == MANIFEST_STORE_DELTA,
	   "a delta entry's bundle number and offset read back");
	ok(!files[2].bundled && files[2].bundle == 0 && files[2].bundleOffset == 0,
	   "a file without the field is not bundled");

	pfree(text.data);

	/* the writer refuses what cannot be a bundle entry */
	{
		ManifestFile bad[3];
		const char *why[] = {"stored as parent", "smaller than a codec header",
		"ending past 2^64"};

		bad[0] = parent;
		bad[1] = full;
		bad[1].objectSize = CODEC_HEADER_SIZE - 1;
		bad[2] = full;
		bad[2].bundleOffset = PG_UINT64_MAX - full.objectSize + 1;
		bad[0].bundled = true;
		for (int i = 0; i < 3; i++)
		{
			initStringInfo(&text);
			writer = manifestWriterNew(sbWrite, &text);
			(void) manifestWriteHeader(writer, &h, &err);
			drErrorClear(&err);
			ok(!manifestWriteFile(writer, &bad[i], &err) &&
			   err.code == DR_ERR_INVALID &&
			   strstr(err.message, "cannot be a bundle entry") != NULL,
			   "writer refuses a bundle entry %s", why[i]);
			manifestWriterFree(writer);
			pfree(text.data);
		}
	}

	/* version 1 still reads; there the field is unknown */
	{
		char	   *v1 = goodText(20, bundleLine(" bundle=1:0"));

		ok(readFiles(goodText(0, NULL), files, &err) == 0 && !files[0].bundled &&
		   !files[1].bundled, "a version 1 manifest reads, nothing bundled");
		ok(!files[0].bound && !files[1].bound,
		   "version 1: objects are read unbound");
		expectCorrupt("bundle in version 1", v1, 20, "unknown key \"bundle\"");
	}

	/* version 2: the good manifest with bundle fields */
	{
		char	   *t = goodTextV2(20, bundleLine(" bundle=7:4096"));
		ok(readFiles(t, files, &err) == 0 && files[0].bundled &&
		   files[0].bundle == 7 && files[0].bundleOffset == 4096,
		   "version 2: bundle=7:4096 reads");
		ok(!files[0].bound, "version 2: whole objects and entries are read unbound");
		t = goodTextV2(20, bundleLine(""));
		ok(readFiles(t, files, &err) == 0 && !files[0].bundled,
		   "version 2 without bundle fields reads");
		t = goodTextV2(20, tsprintf("file PG_VERSION size=3 mode=0600 mtime=1 bundle=2:5 sha256=" SHA_A
								  " store=full object-size=100 blocks=0 corrupt=0"));
		ok(readFiles(t, files, &err) == 0 && files[0].bundled &&
		   files[0].bundle == 2 && files[0].bundleOffset == 5,
		   "version 2: the field is found wherever it is on the line");
	}
	{
		struct
		{
			const char *field;
			const char *want;
		}			bad[] = {
			{" bundle=3", "invalid bundle \"3\""},
			{" bundle=", "invalid bundle \"\""},
			{" bundle=:5", "invalid bundle"},
			{" bundle=3:", "invalid bundle"},
			{" bundle=a:1", "invalid bundle"},
			{" bundle=1:0x10", "invalid bundle"},
			{" bundle=01:2", "invalid bundle"},
			{" bundle=1:02", "invalid bundle"},
			{" bundle=-1:2", "invalid bundle"},
			{" bundle=1:2:3", "invalid bundle"},
			{" bundle=4294967296:0", "invalid bundle"},
			{" bundle=1:18446744073709551616", "invalid bundle"},
			{" bundle=99999999999999999999:0", "invalid bundle"},
			{" bundle=1:18446744073709551516", "cannot be a bundle entry"},
			{" bundle=1:0 bundle=1:0", "key \"bundle\" appears twice"},
		};

		for (int i = 0; i < (int) lengthof(bad); i++)
		{
			char	   *t = goodTextV2(20, bundleLine(bad[i].field));
			expectCorrupt(tsprintf("bundle field \"%s\"", bad[i].field), t, 21,
						  bad[i].want);
		}
	}
	{
		char	   *t = goodTextV2(22, "file base/5/16385 size=8192 mode=0640 mtime=7 sha256=" SHA_A
								 " store=parent object-size=0 blocks=0 corrupt=0 bundle=1:0");
		expectCorrupt("bundle entry stored as parent", t, 23,
					  "stored as \"parent\" with object size 0 cannot be a bundle entry");
		t = goodTextV2(20, "file PG_VERSION size=3 mode=0600 mtime=1 sha256=" SHA_A
					 " store=full object-size=63 blocks=0 corrupt=0 bundle=1:0");
		expectCorrupt("bundle entry smaller than a codec header", t, 21,
					  "with object size 63 cannot be a bundle entry");
	}
}

int
main(void)
{
	testHelpers();
	testRoundTrip();
	testParts();
	testLabels();
	testWriterRefusals();
	testReaderRefusals();
	testBundles();
	trackFree();
	return tapDone();
}
