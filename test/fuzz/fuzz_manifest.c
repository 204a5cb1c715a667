/*-------------------------------------------------------------------------
 * fuzz_manifest.c
 *	  libFuzzer target for the manifest reader (src/common/manifest.c).
 *
 * The input is taken as a manifest, read through manifestReaderNew and
 * manifestReaderNext fed in small pieces.  Whatever it holds, the reader
 * must either fail with DR_ERR_CORRUPT and a message naming a line, or
 * return entries whose invariants hold (safe paths, ascending order,
 * sections in order); never crash, leak or read out of bounds (the target
 * is built with ASan and UBSan).  A manifest the reader accepts must also
 * be accepted by the writer, entry for entry, and what the writer writes
 * must read back to the same entries: reader and writer agree on the
 * format.
 *
 *	 make fuzz && build/fuzz/fuzz_manifest -max_len=4096
 *-------------------------------------------------------------------------
 */
#include "common/dr_c.h"

#include "common/manifest.h"
#include "lib/stringinfo.h"

extern int	LLVMFuzzerTestOneInput(const uint8 *data, size_t size);

typedef struct FuzzSource
{
	const uint8 *data;
	size_t		len;
	size_t		pos;
} FuzzSource;

/* Abort (so libFuzzer reports the input) when an invariant does not hold. */
static void
fuzzCheck(bool cond)
{
	if (!cond)
		abort();
}

/* Hand out the input in pieces of varying size, as a decoder would. */
static ssize_t
fuzzRead(void *arg, void *buf, size_t len, DrError *err)
{
	FuzzSource *src = arg;
	size_t		n = Min(len, src->len - src->pos);

	n = Min(n, (size_t) 1 + (src->pos % 97));
	memcpy(buf, src->data + src->pos, n);
	src->pos += n;
	return (ssize_t) n;
}

static bool
fuzzWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	appendBinaryStringInfo((StringInfo) arg, buf, len);
	return true;
}

static void
fuzzCheckHeaders(const ManifestHeader *a, const ManifestHeader *b)
{
	fuzzCheck(strcmp(a->backupId, b->backupId) == 0 &&
			  a->incremental == b->incremental &&
			  strcmp(a->parentId, b->parentId) == 0 &&
			  (a->label == NULL) == (b->label == NULL) &&
			  (a->label == NULL || strcmp(a->label, b->label) == 0) &&
			  a->timeline == b->timeline && a->startLsn == b->startLsn &&
			  a->stopLsn == b->stopLsn && a->startTime == b->startTime &&
			  a->stopTime == b->stopTime &&
			  a->systemIdentifier == b->systemIdentifier &&
			  a->pgVersion == b->pgVersion && a->hasKey == b->hasKey &&
			  memcmp(a->keyId, b->keyId, CODEC_KEY_ID_SIZE) == 0 &&
			  a->dataChecksums == b->dataChecksums &&
			  a->blockSize == b->blockSize && a->segmentSize == b->segmentSize);
}

static void
fuzzCheckEntries(const ManifestEntry *a, const ManifestEntry *b)
{
	fuzzCheck(a->kind == b->kind);
	switch (a->kind)
	{
		case MANIFEST_ENTRY_TABLESPACE:
			fuzzCheck(a->tablespace.oid == b->tablespace.oid &&
					  strcmp(a->tablespace.location, b->tablespace.location) == 0);
			break;
		case MANIFEST_ENTRY_DIR:
			fuzzCheck(strcmp(a->dir.path, b->dir.path) == 0 &&
					  a->dir.mode == b->dir.mode);
			break;
		case MANIFEST_ENTRY_FILE:
			fuzzCheck(strcmp(a->file.path, b->file.path) == 0 &&
					  a->file.size == b->file.size && a->file.mode == b->file.mode &&
					  a->file.mtime == b->file.mtime &&
					  memcmp(a->file.sha256, b->file.sha256, CODEC_SHA256_SIZE) == 0 &&
					  a->file.store == b->file.store &&
					  a->file.objectSize == b->file.objectSize &&
					  a->file.blocks == b->file.blocks &&
					  a->file.corrupt == b->file.corrupt);
			break;
		case MANIFEST_ENTRY_WAL:
			fuzzCheck(strcmp(a->wal.name, b->wal.name) == 0 &&
					  a->wal.size == b->wal.size &&
					  memcmp(a->wal.sha256, b->wal.sha256, CODEC_SHA256_SIZE) == 0);
			break;
	}
}

/* The entry's invariants, and the writer takes it. */
static bool
fuzzEntryCheck(const ManifestEntry *e, ManifestWriter *writer, StringInfo last,
			   DrError *err)
{
	switch (e->kind)
	{
		case MANIFEST_ENTRY_TABLESPACE:
			fuzzCheck(e->tablespace.oid != 0 && e->tablespace.location[0] == '/');
			return manifestWriteTablespace(writer, &e->tablespace, err);
		case MANIFEST_ENTRY_DIR:
			fuzzCheck(manifestPathValid(e->dir.path) && e->dir.mode <= 07777);
			return manifestWriteDir(writer, &e->dir, err);
		case MANIFEST_ENTRY_FILE:
			fuzzCheck(manifestPathValid(e->file.path) && e->file.mode <= 07777);
			fuzzCheck(strcmp(e->file.path, last->data) > 0 || last->len == 0);
			resetStringInfo(last);
			appendStringInfoString(last, e->file.path);
			return manifestWriteFile(writer, &e->file, err);
		case MANIFEST_ENTRY_WAL:
			fuzzCheck(manifestWalNameValid(e->wal.name));
			return manifestWriteWal(writer, &e->wal, err);
	}
	fuzzCheck(false);
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8 *data, size_t size)
{
	FuzzSource	src = {data, size, 0};
	FuzzSource	again = {data, size, 0};
	FuzzSource	copy;
	ManifestReader *reader;
	ManifestReader *original;
	ManifestReader *rewritten;
	ManifestWriter *writer;
	ManifestEntry entry;
	ManifestEntry entry2;
	StringInfoData text;
	StringInfoData last;
	DrError		err;
	int			rc;
	bool		writerOk;

	drErrorClear(&err);
	reader = manifestReaderNew(fuzzRead, &src, &err);
	if (reader == NULL)
	{
		fuzzCheck(err.code == DR_ERR_CORRUPT &&
				  strncmp(err.message, "manifest line ", 14) == 0);
		return 0;
	}

	initStringInfo(&text);
	initStringInfo(&last);
	writer = manifestWriterNew(fuzzWrite, &text);
	writerOk = manifestWriteHeader(writer, manifestReaderHeader(reader), &err);
	fuzzCheck(writerOk);
	while ((rc = manifestReaderNext(reader, &entry, &err)) == 1)
	{
		if (writerOk && !fuzzEntryCheck(&entry, writer, &last, &err))
		{
			/* only a line that the writer's canonical form makes longer */
			fuzzCheck(strstr(err.message, "longer than") != NULL);
			writerOk = false;
		}
	}
	if (rc < 0)
		fuzzCheck(err.code == DR_ERR_CORRUPT &&
				  strncmp(err.message, "manifest line ", 14) == 0);
	else
		fuzzCheck(manifestReaderNext(reader, &entry, &err) == 0);
	manifestReaderFree(reader);

	if (rc == 0 && writerOk)
	{
		/* what the writer made reads back as the original */
		fuzzCheck(manifestWriterEnd(writer, &err));
		copy.data = (const uint8 *) text.data;
		copy.len = text.len;
		copy.pos = 0;
		original = manifestReaderNew(fuzzRead, &again, &err);
		rewritten = manifestReaderNew(fuzzRead, &copy, &err);
		fuzzCheck(original != NULL && rewritten != NULL);
		fuzzCheckHeaders(manifestReaderHeader(original), manifestReaderHeader(rewritten));
		for (;;)
		{
			int			rc1 = manifestReaderNext(original, &entry, &err);
			int			rc2 = manifestReaderNext(rewritten, &entry2, &err);

			fuzzCheck(rc1 == rc2 && rc1 >= 0);
			if (rc1 == 0)
				break;
			fuzzCheckEntries(&entry, &entry2);
		}
		manifestReaderFree(original);
		manifestReaderFree(rewritten);
	}
	manifestWriterFree(writer);
	pfree(text.data);
	pfree(last.data);
	return 0;
}
