/*-------------------------------------------------------------------------
 * test_support.h
 *	  Helpers the C unit tests share (include after tap.h): allocations
 *	  freed together, a temporary directory, whole files read, written and
 *	  damaged, a posix repository's configuration, readers and writers over
 *	  memory, hex test vectors.
 *
 * Header-only, like tap.h: each test is one translation unit and uses what
 * it needs (static inline, so an unused helper costs nothing).
 *-------------------------------------------------------------------------
 */
#ifndef DR_TEST_SUPPORT_H
#define DR_TEST_SUPPORT_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/hex.h"
#include "common/manifest.h"
#include "storage/storage.h"
#include "lib/stringinfo.h"

/*
 * Allocations of the tests themselves, freed together at the end
 * (trackFree), so that LeakSanitizer reports only what the code under test
 * leaks.
 */
static void *testAllocs[8192];
static int	testAllocCount = 0;

static inline void *
track(void *p)
{
	if (testAllocCount == lengthof(testAllocs))
		abort();
	testAllocs[testAllocCount++] = p;
	return p;
}

#define tsprintf(...) ((char *) track(psprintf(__VA_ARGS__)))

static inline void
trackFree(void)
{
	while (testAllocCount > 0)
		pfree(testAllocs[--testAllocCount]);
}

/*
 * Create the test's temporary directory from template (a "...XXXXXX"
 * array, filled in); without it no test can run, so bail out.
 */
static inline void
testTmpRootMake(char *template)
{
	if (mkdtemp(template) == NULL)
	{
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
}

/* rm -rf path (the temporary directory, at the end). */
static inline void
testTreeRemove(const char *path)
{
	char	   *cmd = psprintf("rm -rf '%s'", path);

	if (system(cmd) != 0)
		diag("could not remove %s", path);
	pfree(cmd);
}

/* A whole file, terminated, tracked; NULL if it cannot be read. */
static inline char *
fileRead(const char *path, size_t *len)
{
	int			fd = open(path, O_RDONLY);
	struct stat st;
	char	   *buf;

	if (fd < 0 || fstat(fd, &st) < 0)
	{
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = track(palloc(st.st_size + 1));
	*len = read(fd, buf, st.st_size);
	buf[*len] = '\0';
	close(fd);
	return buf;
}

/* Write len bytes to path (created 0600 if missing, truncated). */
static inline void
fileWriteLen(const char *path, const void *data, size_t len)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t) len)
		diag("could not write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static inline void
fileWrite(const char *path, const char *text)
{
	fileWriteLen(path, text, strlen(text));
}

/* Flip one bit of the byte in the middle of a file (an object damaged). */
static inline void
fileByteFlip(const char *path)
{
	int			fd = open(path, O_RDWR);
	struct stat st;
	char		c;

	if (fd < 0 || fstat(fd, &st) < 0 ||
		pread(fd, &c, 1, st.st_size / 2) != 1)
		diag("cannot flip a byte of %s", path);
	c ^= 0x20;
	if (pwrite(fd, &c, 1, st.st_size / 2) != 1)
		diag("cannot flip a byte of %s", path);
	if (fd >= 0)
		close(fd);
}

/*
 * The configuration of posix repository 1 at path, encrypted with the
 * passphrase in keyFile (NULL: unencrypted), zstd level 3.  Its strings
 * are palloc'd copies (configRepoClear frees them).
 */
static inline ConfigRepo
testConfigRepo(const char *path, const char *keyFile)
{
	ConfigRepo	config;
	DrError		err;

	storageDriversRegister();
	memset(&config, 0, sizeof(config));
	config.index = 1;
	config.driver = configDriverFind("posix");
	if (!configRepoSet(&config, "path", path, &err))
		diag("testConfigRepo: %s", err.message);
	config.cipher = keyFile ? CONFIG_CIPHER_AES256GCM : CONFIG_CIPHER_NONE;
	config.cipherKeyFile = keyFile ? pstrdup(keyFile) : NULL;
	config.compressLevel = 3;
	return config;
}

/*
 * The header of a full backup of a PostgreSQL 15 cluster with checksums
 * (timeline 1, one WAL segment's worth of LSNs, fixed times and system
 * identifier), encrypted with the data key keyId; callers change what
 * their test is about.
 */
static inline void
testBackupHeader(ManifestHeader *h, const char *id, const char *label,
				 const uint8 *keyId, uint32 blockSize)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->backupId, id);
	h->label = unconstify(char *, label);
	h->timeline = 1;
	h->startLsn = 0x2000028;
	h->stopLsn = 0x2000100;
	h->startTime = 1704067200;
	h->stopTime = 1704067260;
	h->systemIdentifier = 7300000000000000001ULL;
	h->pgVersion = 150004;
	h->hasKey = true;
	memcpy(h->keyId, keyId, CODEC_KEY_ID_SIZE);
	h->dataChecksums = true;
	h->blockSize = blockSize;
	h->segmentSize = 16 * 1024 * 1024;
	h->partSize = (uint64) blockSize * 4;
}

/* The item of a parsed configuration named name, or NULL. */
static inline const ConfigItem *
itemFind(const DrConfig *config, const char *name)
{
	for (int i = 0; i < config->itemCount; i++)
		if (strcmp(config->items[i].name, name) == 0)
			return &config->items[i];
	return NULL;
}

/* A read source over memory, handing out at most chunk bytes at a time. */
typedef struct MemReader
{
	const char *data;
	size_t		len;
	size_t		pos;
	size_t		chunk;			/* 0 = as much as asked for */
	bool		fail;			/* fail once the data is used up */
} MemReader;

static inline ssize_t
memRead(void *arg, void *buf, size_t len, DrError *err)
{
	MemReader  *src = arg;
	size_t		n = Min(len, src->len - src->pos);

	if (src->chunk > 0)
		n = Min(n, src->chunk);
	if (n == 0 && src->fail)
	{
		drErrorSet(err, DR_ERR_IO, "simulated read failure");
		return -1;
	}
	memcpy(buf, src->data + src->pos, n);
	src->pos += n;
	return (ssize_t) n;
}

/* A sink appending to a StringInfo. */
static inline bool
sbWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	appendBinaryStringInfo((StringInfo) arg, buf, len);
	return true;
}

static int	failAfter;

/* A sink that fails after failAfter calls. */
static inline bool
failingWrite(void *arg, const void *buf, size_t len, DrError *err)
{
	if (failAfter-- <= 0)
		return drErrorSet(err, DR_ERR_IO, "simulated write failure");
	return true;
}

/*
 * Decode a test vector of lower-case hex into out (strlen(hex) / 2 bytes).
 * A malformed vector is a broken test, not a failed check: bail out.
 */
static inline void
testHexDecode(const char *hex, uint8 *out)
{
	if (!hexDecode(hex, HEX_LOWER, out, strlen(hex) / 2))
	{
		printf("Bail out! malformed hex test vector \"%s\"\n", hex);
		exit(1);
	}
}

#endif							/* DR_TEST_SUPPORT_H */
